"""Template helpers of the image browser."""

import json

from django import template
from django.utils.http import urlencode

register = template.Library()


@register.filter
def get_item(mapping, key):
    """mapping[key], or "" when absent (filter values in the toolbar)."""
    return (mapping or {}).get(key, "")


@register.simple_tag(takes_context=True)
def querystring_for(context, query, **changes):
    """The list URL's query string for `query` with `changes`, keeping the current project (shareable)."""
    params = {"project": context["project"].name, **query.params(**changes)}
    return "?" + urlencode(params)


@register.filter
def as_json(value):
    """Audit details as compact JSON, the way they are stored."""
    return json.dumps(value, ensure_ascii=False, default=str)
