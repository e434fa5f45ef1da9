"""How a moment reads on a page: in the person's zone, labelled with its offset
("2026-12-06 18:02 GMT+08:00"), the exact UTC instant on hover. Every page's times come from here
(the `moment` filter, the image list's rows); CSV exports stay in UTC (`utc_text`)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone
from django.utils.html import format_html

FORMATS = {"minutes": "%Y-%m-%d %H:%M", "seconds": "%Y-%m-%d %H:%M:%S", "date": "%Y-%m-%d"}


def offset_label(local: datetime) -> str:
    """GMT+08:00, GMT-03:30, GMT+00:00."""
    minutes = int(local.utcoffset().total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"GMT{sign}{hours:02}:{rest:02}"


def label(value: datetime, style: str = "minutes") -> str:
    """The moment in the active zone (the person's), with its offset unless only the date is shown."""
    local = timezone.localtime(value)
    text = local.strftime(FORMATS.get(style, FORMATS["minutes"]))
    return text if style == "date" else f"{text} {offset_label(local)}"


def utc_text(value: datetime) -> str:
    """The exact instant in UTC: 2026-12-06 10:02:07 UTC."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def utc_iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def moment_html(value, style: str = "minutes") -> str:
    """<time datetime="…Z" title="… UTC">label</time>; "" for no moment (so `|default:"never"` works)."""
    if not isinstance(value, datetime):
        return ""
    return format_html('<time datetime="{}" title="{}" data-moment>{}</time>',
                       utc_iso(value), utc_text(value), label(value, style))
