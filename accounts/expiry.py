"""How a grant's end (`Grant.expires`) reads: 'until 18:00 (in 3 h)', 'until 31 Dec 18:00 (in 5 d)'."""

from __future__ import annotations

import math
from datetime import datetime

from django.utils import timezone

from . import authz


def until_text(moment: datetime | None, now: datetime | None = None) -> str:
    """The end of a grant, for pages: the time (with the date unless it is today) and how far off it is."""
    if moment is None:
        return ""
    now = now or authz.clock()
    local, today = timezone.localtime(moment), timezone.localtime(now)
    when = local.strftime("%H:%M") if local.date() == today.date() else local.strftime("%-d %b %Y %H:%M")
    return f"until {when} ({distance(moment - now)})"


def distance(delta) -> str:
    """'in 3 h', 'in 20 min', 'in 5 d', 'ended' for a past end."""
    seconds = delta.total_seconds()
    if seconds <= 0:
        return "ended"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"in {minutes} min"
    hours = round(minutes / 60)
    if hours < 48:
        return f"in {hours} h"
    return f"in {round(hours / 24)} d"
