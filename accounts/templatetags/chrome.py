"""The page chrome drawn once per process for each state it can show (issue 23).

    {% chrome user.is_authenticated request.preferences.theme … %} … {% endchrome %}

renders its part of a template once per process for each value of the expressions it names (with the
active language, script prefix and URL configuration), through the house's one process cache, and fills
in what differs on every request: the CSRF token, the CSP nonce, the request's path and the user's name
(each read as it is, `{{ request.path }}`, never through a filter). The names are the
block's inputs: every other value the block reads must be among them (a decision too, such as whether
the access-request badge is shown: `{% access_request_badge_shown as … %}`, the decision itself rather
than the authorization stamp, so a grant change is seen on the very next request and an unrelated one
does not redraw every person's chrome). A block holding a template `{% block %}`
is refused when parsed: a page's block is not an input the key could name.

Each per-request value is drawn by the block's own template with a stand-in (control characters no
token, nonce, path or markup holds, left alone by HTML escaping), then replaced by the real value,
escaped as the template escapes it: the same HTML as rendering the block, at a substitution's cost. The
token and nonce are computed only when the block holds them, as rendering would (asking for either has
effects: the CSRF cookie is renewed, the nonce goes into the CSP header).
"""

from __future__ import annotations

import itertools
import re
from html import escape as html_escape

from django import template
from django.template.loader_tags import BlockNode
from django.urls import get_script_prefix, get_urlconf
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from accounts.process_cache import ProcessCache

register = template.Library()

_FRAGMENTS: ProcessCache[str] = ProcessCache("page chrome", 1024)
_SLOT = "\x02{}\x02"
_SLOTS = re.compile("\x02(csrf|nonce|path|username)\x02")
# Each parsed block its own number: a template parsed again (DEBUG's uncached loader) never reads
# another parse's fragments.
_serial = itertools.count()


def _frozen(value):
    """An input as part of a key: lists and dicts (a page's filters) as tuples."""
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, dict):
        return tuple((key, _frozen(item)) for key, item in value.items())
    return value


class _WithSlot:
    """An object as the block sees it: one attribute (the request's path, the user's username) a stand-in,
    everything else the object's own."""

    def __init__(self, wrapped, attribute: str):
        self._wrapped, self._attribute = wrapped, attribute

    def __getattr__(self, name):
        if name == self._attribute:
            return _SLOT.format(name)
        return getattr(self._wrapped, name)


class ChromeNode(template.Node):
    def __init__(self, nodelist, inputs):
        self.nodelist, self.inputs, self.serial = nodelist, inputs, next(_serial)

    def render(self, context):
        request = context.get("request")
        csrf, nonce, user = context.get("csrf_token"), context.get("csp_nonce"), context.get("user")
        key = (self.serial, get_language(), get_script_prefix(), get_urlconf(), request is None, csrf is None,
               nonce is None, user is None, *(_frozen(value.resolve(context)) for value in self.inputs))
        html = _FRAGMENTS.get(key)
        if html is None:
            stand_ins = {"csrf_token": None if csrf is None else _SLOT.format("csrf"),
                         "csp_nonce": None if nonce is None else _SLOT.format("nonce"),
                         "request": None if request is None else _WithSlot(request, "path"),
                         "user": None if user is None else _WithSlot(user, "username")}
            with context.push(**stand_ins):
                html = _FRAGMENTS.put(key, self.nodelist.render(context))
        values = {}

        def real(match):
            name = match.group(1)
            if name not in values:
                values[name] = html_escape(str(csrf if name == "csrf" else nonce if name == "nonce"
                                               else request.path if name == "path" else user.username))
            return values[name]

        return mark_safe(_SLOTS.sub(real, html))  # the template escaped everything; the slots got escaped values


@register.tag("chrome")
def do_chrome(parser, token):
    inputs = [parser.compile_filter(bit) for bit in token.split_contents()[1:]]
    nodelist = parser.parse(("endchrome",))
    parser.delete_first_token()
    if nodelist.get_nodes_by_type(BlockNode):
        raise template.TemplateSyntaxError("{% chrome %} cannot hold a {% block %}: its key could not name it.")
    return ChromeNode(nodelist, inputs)
