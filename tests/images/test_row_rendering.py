"""The list draws each shape of row once per page with stand-ins and fills in each row's escaped texts
(images_tags.image_rows): its HTML must be exactly what rendering `images/_row.html` for every row writes,
whatever the texts hold, and the row template may apply no filter to a row's field (a filter would see
the stand-in, not the value)."""

import dataclasses
import re
from types import SimpleNamespace

import pytest
from django.template import engines
from django.template.base import Lexer, TokenType
from django.test import RequestFactory
from django.utils.safestring import mark_safe

from accounts import authz
from accounts.models import Project, User
from images import selectors
from images.views import Row, _rows, _tag_chips

pytestmark = pytest.mark.usefixtures("demo")

ONCE_PER_SHAPE = engines["django"].from_string("{% load images_tags %}{% image_rows rows %}")
ONE_ROW = engines["django"].from_string('{% include "images/_row.html" %}')
ONE_MENU = engines["django"].from_string(
    '{% for control in controls %}{% include "images/_control.html" with in_menu=True %}{% endfor %}')
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')

HOSTILE = [
    '<script>alert("x")</script>',
    "\"double\" 'single' `back`",
    "{{ row.name }} {% if row.can_open %}yes{% endif %}",
    "\x01name\x01 \x01pk\x01 \x01menu\x01 \x01tags\x01 \x01nosuchfield\x01",
    "&amp; &lt;b&gt; &#x27;",
    "Ünïcødé 名前 🚀 \u202eevil\u202c",
    "",
]
TEXT_FIELDS = ("name", "open_reason", "encryption_key_id", "share_status", "platform", "os_version",
               "project_name", "status_label", "kind_label")


def _request(user):
    request = RequestFactory().get("/images/")
    request.user = user
    return request


def _normalised(html: str) -> str:
    return TOKEN.sub('name="csrfmiddlewaretoken" value="…"', html)  # each {% csrf_token %} masks anew


def _per_row(rows, request, bulk) -> str:
    """Each row rendered on its own: the template, its menu drawn control by control with the row's image."""
    parts = []
    for row in rows:
        menu = ONE_MENU.render({"controls": row.controls, "image": row.image, "next_url": "/images/?q=\"<x>\""},
                               request)
        fields = {field.name: getattr(row, field.name) for field in dataclasses.fields(row)}
        parts.append(ONE_ROW.render({"row": {**fields, "menu": mark_safe(menu)}, "bulk": bulk}, request))
    return _normalised("".join(parts))


def _once_per_shape(rows, request, bulk) -> str:
    return _normalised(ONCE_PER_SHAPE.render({"rows": rows, "bulk": bulk, "next_url": "/images/?q=\"<x>\""},
                                             request))


def _hostile_rows(username, tab):
    user = User.objects.get(username=username)
    project = Project.objects.get(name="cn-north-4")
    page = selectors.image_page(project, selectors.ImageQuery(tab=tab, size=20, filters={}))
    rows = _rows(authz.authorization_for(user), page.rows, project)
    assert rows
    hostile = []
    for number, row in enumerate(rows):
        texts = {field: HOSTILE[(number + offset) % len(HOSTILE)] for offset, field in enumerate(TEXT_FIELDS)}
        texts["name"] = texts["name"] or HOSTILE[0]  # a name is never empty
        tags = [SimpleNamespace(key=HOSTILE[(number + k) % len(HOSTILE)] or "k", value=HOSTILE[k % len(HOSTILE)])
                for k in range(number % 3)]
        row.image.name = texts["name"]  # the menu's confirmation and labels read the image's own name
        hostile.append(dataclasses.replace(row, tags=_tag_chips(tags), protected=bool(number % 2), **texts))
    return user, hostile


@pytest.mark.parametrize("bulk", [True, False])
@pytest.mark.parametrize(("username", "tab"), [("admin", "private"), ("ims-admin", "private"),
                                               ("developer", "shared"), ("viewer", "public"),
                                               ("admin", "awaiting")])
def test_hostile_texts_give_the_templates_html_byte_for_byte(username, tab, bulk):
    user, rows = _hostile_rows(username, tab)
    request = _request(user)
    drawn = _once_per_shape(rows, request, bulk)
    assert drawn == _per_row(rows, request, bulk)
    assert "<script>" not in drawn and "&lt;script&gt;" in drawn
    assert "{{ row.name }} {% if row.can_open %}yes{% endif %}" in drawn  # a text is never rendered as a template
    assert "\x01" in drawn  # the texts' own stand-in characters come through as they are, escaped…
    assert "\x01name\x01 \x01pk\x01" in drawn  # …and never replaced by another row's text
    assert "&amp;amp; &amp;lt;b&amp;gt;" in drawn  # escaped once, not twice, not left raw
    assert "名前 🚀" in drawn


def test_a_row_drawn_alone_equals_the_template(db):
    user, rows = _hostile_rows("admin", "private")
    request = _request(user)
    for row in rows[:5]:
        assert _once_per_shape([row], request, True) == _per_row([row], request, True)


def _row_fields_with_filters(source: str) -> list[str]:
    """Each use of a `row.` variable that carries a filter, in variables and in tags' arguments."""
    found = []
    for token in Lexer(source).tokenize():
        if token.token_type in (TokenType.VAR, TokenType.BLOCK):
            found += re.findall(r"\brow(?:\.\w+)*\s*\|\s*\w+", token.contents)
    return found


def test_the_row_template_applies_no_filter_to_row_fields():
    template = engines["django"].engine.get_template("images/_row.html")
    assert "row.name" in template.source
    assert _row_fields_with_filters(template.source) == []
    field_names = {field.name for field in dataclasses.fields(Row)} | {"menu"}
    used = set(re.findall(r"\brow\.(\w+)", template.source))
    assert used <= field_names, used - field_names  # only the row's own fields, no attribute lookups on them


@pytest.mark.parametrize("source", ["{{ row.name|upper }}", "{{ row.name | lower }}",
                                    "{% if row.tags|length %}x{% endif %}",
                                    "{% with n=row.size_label|default:'-' %}{{ n }}{% endwith %}"])
def test_the_guard_sees_a_filter(source):
    assert _row_fields_with_filters(source)
