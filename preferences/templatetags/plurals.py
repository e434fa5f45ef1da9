"""`pluralize` for every language the console speaks: English gets Django's suffixes ("image"/"images",
"is"/"are"); a language without plural suffixes (Simplified Chinese) gets none, so a translated message
may carry the suffix's placeholder and show nothing for it. A template builtin after Django's own
filters, so it replaces `pluralize` everywhere."""

from django import template
from django.template.defaultfilters import pluralize as english_pluralize
from django.utils.translation import get_language

register = template.Library()

# Languages whose words take no plural suffix: the suffix is dropped.
WITHOUT_PLURAL_SUFFIXES = ("zh",)


@register.filter(is_safe=False)
def pluralize(value, arg="s"):
    if (get_language() or "").startswith(WITHOUT_PLURAL_SUFFIXES):
        return ""
    return english_pluralize(value, arg)
