"""The copy of a person's preferences that pages read: kept in their session, so a page costs no query
for it. Loaded at sign-in (signals), refreshed by every change made through this console's pages; a
session older than this copy loads it once."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC
from zoneinfo import ZoneInfo

SESSION_KEY = "imsperm_preferences"


@dataclass(frozen=True)
class Shown:
    """What pages need: the zone's name ("" = not chosen yet, UTC shown), theme, last project's name."""

    user_id: int | None = None
    time_zone: str = ""
    theme: str = "auto"
    last_project: str = ""
    language: str = ""

    @property
    def zone(self):
        return ZoneInfo(self.time_zone) if self.time_zone else UTC

    @property
    def zone_name(self) -> str:
        return self.time_zone or "UTC"


ANONYMOUS = Shown()


def shown_from(preference) -> Shown:
    return Shown(user_id=preference.user_id, time_zone=preference.time_zone, theme=preference.theme,
                 last_project=preference.last_project.name if preference.last_project else "",
                 language=preference.language)


def remember(request, preference) -> Shown:
    """Keep the preferences in the session (after sign-in or a change) and on the request."""
    shown = shown_from(preference)
    request.session[SESSION_KEY] = asdict(shown)
    request.preferences = shown
    return shown


def shown_for(request) -> Shown:
    """The signed-in person's preferences from the session; loaded (one query) if the session has none."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ANONYMOUS
    data = request.session.get(SESSION_KEY)
    if isinstance(data, dict) and data.get("user_id") == user.pk:
        try:
            return Shown(**data)
        except TypeError:
            pass
    from .services import preference_of

    return remember(request, preference_of(user))
