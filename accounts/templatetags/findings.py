"""Template filters for validator findings in the person's language (`{{ finding.message|localized }}`)."""

from django import template

from accounts import findings

register = template.Library()


@register.filter
def localized(message) -> str:
    """A validator message translated; JSON paths, keys and quoted values verbatim."""
    return findings.localized(message)


@register.filter
def tier_label(tier: str) -> str:
    """"Error", "Warning" or "Suggestion" in the person's language."""
    return findings.tier_label(tier)


@register.filter
def tier_word(tier: str) -> str:
    """"error", "warning" or "suggestion", lower case, in the person's language."""
    return findings.tier_word(tier)


@register.filter
def tier_count(items, tier: str) -> str:
    """"2 errors", "1 warning", "3 suggestions" in the person's language."""
    return findings.tier_count(len(items), tier)
