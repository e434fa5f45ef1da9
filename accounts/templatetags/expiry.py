"""`{{ moment|until }}`: a grant's end as the grids, who-can, group and policy pages show it."""

from django import template

from accounts.expiry import until_text

register = template.Library()


@register.filter
def until(moment) -> str:
    """'until 18:00 (in 3 h)'; '' for no end."""
    return until_text(moment)
