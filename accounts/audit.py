"""Audit events: one named function writes them, so every write and refusal looks alike."""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from .models import AuditEvent
from .wording import to_json

refusals_log = logging.getLogger("imsperm.refusals")

# A refusal repeated within this window is counted on its first event instead of written again.
REPEAT_WINDOW = timedelta(seconds=60)
# Details added to every event recorded inside `tagged(...)` (an import's id on each of its changes).
_tags: ContextVar[dict | None] = ContextVar("audit_tags", default=None)


@contextmanager
def tagged(**details):
    """Add these details to every event recorded in the block (e.g. `import_id` of one import)."""
    token = _tags.set({**(_tags.get() or {}), **details})
    try:
        yield
    finally:
        _tags.reset(token)


def record(
    *,
    actor,
    action: str,
    target=None,
    target_type: str = "",
    target_id: str = "",
    target_repr: str = "",
    project=None,
    outcome: str = AuditEvent.Outcome.ALLOWED,
    message: str = "",
    details: dict | None = None,
) -> AuditEvent:
    """Append one audit event. `target` (a model instance) fills type, id and repr.

    A refusal identical to one recorded less than REPEAT_WINDOW ago (same user, action, target,
    project) bumps that event's `repeat_count` instead, so a flood of refused requests stays one
    row a minute. Every label is cut to its column here, in one place: a refused 300-character
    path or a long "policy → group" label is still recorded (PostgreSQL would refuse it whole).
    """
    if target is not None:
        target_type = target_type or target._meta.model_name
        target_id = target_id or str(target.pk)
        target_repr = target_repr or str(target)
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    fields = {
        "actor": actor if authenticated else None,
        "action": _fit("action", action),
        "target_type": _fit("target_type", target_type),
        "target_id": _fit("target_id", target_id),
        "target_repr": _fit("target_repr", target_repr),
        "project": _fit("project", getattr(project, "name", project) or ""),
        "outcome": outcome,
    }
    actor_name = actor.get_username() if authenticated else (getattr(actor, "username", "") or "system")
    if outcome == AuditEvent.Outcome.DENIED:
        _log_refusal(fields, actor_name, message)
        if authenticated:
            repeated = _count_repeat(fields)
            if repeated is not None:
                return repeated
    return AuditEvent.objects.create(
        **fields,
        actor_name=_fit("actor_name", actor_name),
        message=_fit("message", message),
        wording=to_json(message),
        details={**(_tags.get() or {}), **(details or {})},
    )


def changes(before: dict, after: dict) -> dict:
    """An update's details: the fields of `after` whose value differs from `before`, each side's value
    (in `after`'s order). The one shape every service's change event carries."""
    changed = [key for key in after if before.get(key) != after.get(key)]
    return {"before": {key: before.get(key) for key in changed}, "after": {key: after[key] for key in changed}}


def _log_refusal(fields: dict, actor_name: str, message: str) -> None:
    """One JSON line per refusal, repeats included (the audit log counts repeats on one row)."""
    line = {"event": "refused", "user": actor_name, "message": message[:512]}
    line.update({key: fields[key] for key in ("action", "target_type", "target_id", "target_repr", "project")})
    refusals_log.info(json.dumps(line))


def _count_repeat(fields: dict) -> AuditEvent | None:
    """Count a repeat on the recent identical event, if any (one indexed lookup, one update)."""
    now = timezone.now()
    event = AuditEvent.objects.filter(**fields, created_at__gte=now - REPEAT_WINDOW).first()
    if event is None:
        return None
    AuditEvent.objects.filter(pk=event.pk).update(repeat_count=F("repeat_count") + 1, last_seen_at=now)
    event.repeat_count += 1
    event.last_seen_at = now
    return event


def _fit(field: str, value: str) -> str:
    """`value` cut to its column's max_length, marked with an ellipsis when cut."""
    limit = AuditEvent._meta.get_field(field).max_length
    return value if len(value) <= limit else value[: limit - 1] + "…"
