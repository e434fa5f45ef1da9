"""Writes of a person's own preferences: each in a transaction, each change audited
("preferences:update", before and after). Only the person changes their own preferences."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy

from accounts import audit

from .models import UserPreference, validate_time_zone

AUDIT_ACTION = "preferences:update"
FIELDS = ("time_zone", "theme", "language", "last_project")


def preference_of(user) -> UserPreference:
    """The person's preferences, made with the defaults on first need."""
    preference, _ = UserPreference.objects.select_related("last_project").get_or_create(user=user)
    return preference


def _value(preference: UserPreference, field: str):
    if field == "last_project":
        return preference.last_project.name if preference.last_project else None
    return getattr(preference, field)


def _clean(changes: dict) -> dict:
    """Refuse a bad value at its field (a ValidationError keyed by field), before anything is written."""
    errors = {}
    if "time_zone" in changes:
        try:
            validate_time_zone(changes["time_zone"])
        except ValidationError as error:
            errors["time_zone"] = error.error_list
    if "theme" in changes and changes["theme"] not in UserPreference.Theme.values:
        errors["theme"] = [ValidationError(gettext_lazy("Choose auto, light or dark."))]
    if "language" in changes and changes["language"] not in {"", *dict(settings.LANGUAGES)}:
        errors["language"] = [ValidationError(gettext_lazy("Choose a language the console offers."))]
    if errors:
        raise ValidationError(errors)
    return changes


@transaction.atomic
def update_preferences(*, actor, **changes) -> UserPreference:
    """Change some of the actor's own preferences (time_zone, theme, language, last_project). Nothing
    changed, nothing written; otherwise one save and one audit event naming what changed."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValidationError(gettext_lazy("Unknown preference: %(names)s."),
                              params={"names": ", ".join(sorted(unknown))})
    _clean(changes)
    preference = preference_of(actor)
    before = {field: _value(preference, field) for field in changes}
    for field, value in changes.items():
        setattr(preference, field, value)
    after = {field: _value(preference, field) for field in changes}
    if before == after:
        return preference
    preference.save(update_fields=[*changes, "updated_at"])
    audit.record(actor=actor, action=AUDIT_ACTION, target=actor, details=audit.changes(before, after))
    return preference


def detect_time_zone(*, actor, zone: str) -> UserPreference:
    """The browser's zone, at the first sign-in: kept only while the person has none yet; a zone the
    server does not know gives UTC."""
    preference = preference_of(actor)
    if preference.time_zone:
        return preference
    try:
        validate_time_zone(zone)
    except ValidationError:
        zone = ""
    return update_preferences(actor=actor, time_zone=zone or "UTC")
