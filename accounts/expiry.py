"""How a grant's end (`Grant.expires`) reads, in the person's zone and language:
'until 18:00 GMT+08:00 (in 3 h)', 'until 2026-12-31 18:00 GMT+08:00 (in 5 d)'."""

from __future__ import annotations

import math
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext, override

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


class Until(str):
    """A grant's end as `until_text` wrote it in English at `now` (the text stored in the audit log), that
    reads again in the reader's language and time zone (`localized`), still measured from `now`: how far off
    the end was when it was written. accounts.wording stores it as the two moments."""

    moment: datetime
    now: datetime

    def __new__(cls, moment: datetime, now: datetime):
        with override("en"):
            text = super().__new__(cls, until_text(moment, now))
        text.moment, text.now = moment, now
        return text

    def __reduce__(self):
        return Until, (self.moment, self.now)

    def localized(self) -> str:
        return until_text(self.moment, self.now)


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
