"""{{ value|moment }} (minutes), {{ value|moment:"seconds" }}, {{ value|moment:"date" }}: see preferences.moments."""

from django import template
from django.utils import timezone

from preferences.moments import moment_html

register = template.Library()


@register.filter
def moment(value, style="minutes"):
    return moment_html(value, style)


@register.simple_tag
def now_moment():
    """The present moment, labelled as every other time."""
    return moment_html(timezone.now())


@register.filter
def moment_label(value, style="minutes"):
    """The label alone, for an attribute (a title): 2026-12-06 18:02 GMT+08:00."""
    from preferences.moments import label

    return label(value, style) if value else ""
