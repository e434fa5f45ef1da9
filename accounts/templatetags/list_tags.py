"""Filters of the list pages: an action name that may break at its colons on a narrow screen."""

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def colon_breaks(value) -> str:
    """`ims:images:delete` escaped, with a <wbr> after each colon: a phone wraps it between its parts,
    never in the middle of a word; copied text and screen readers are unchanged."""
    return mark_safe(conditional_escape(str(value)).replace(":", ":<wbr>"))
