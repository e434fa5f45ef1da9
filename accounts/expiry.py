"""How a grant's end (`Grant.expires`) reads, in the person's zone and language:
'until 18:00 GMT+08:00 (in 3 h)', 'until 2026-12-31 18:00 GMT+08:00 (in 5 d)'."""

from __future__ import annotations

import math
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext

from preferences.moments import offset_label

from . import authz


def until_text(moment: datetime | None, now: datetime | None = None) -> str:
    """The end of a grant, for pages: the time (with the date unless it is today), its zone, how far off."""
    if moment is None:
        return ""
    now = now or authz.clock()
    local, today = timezone.localtime(moment), timezone.localtime(now)
    when = local.strftime("%H:%M") if local.date() == today.date() else local.strftime("%Y-%m-%d %H:%M")
    return gettext("until %(when)s %(zone)s (%(distance)s)") % {
        "when": when, "zone": offset_label(local), "distance": distance(moment - now)}


def distance(delta) -> str:
    """'in 3 h', 'in 20 min', 'in 5 d', 'ended' for a past end."""
    seconds = delta.total_seconds()
    if seconds <= 0:
        return gettext("ended")
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return gettext("in %(count)d min") % {"count": minutes}
    hours = round(minutes / 60)
    if hours < 48:
        return gettext("in %(count)d h") % {"count": hours}
    return gettext("in %(count)d d") % {"count": round(hours / 24)}
