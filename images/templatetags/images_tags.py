"""Template helpers of the image browser."""

import functools
import json
import re
from dataclasses import dataclass, fields
from html import escape as html_escape

from django import template
from django.urls import get_script_prefix
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import get_language

from accounts.process_cache import ProcessCache
from accounts.selectors import all_projects
from images.links import image_url
from images.operations import Control

register = template.Library()


@register.simple_tag(takes_context=True)
def querystring_for(context, query, **changes):
    """The list URL's query string for `query` with `changes`, keeping the current project (shareable)."""
    return query.query_string(context["project"], **changes)


@register.filter
def as_json(value):
    """Audit details as compact JSON, the way they are stored."""
    return json.dumps(value, ensure_ascii=False, default=str)


# --- row menus: each distinct control drawn once per page -------------------------------------------

# Stand-ins for the one image-specific value a control shows (its id, inside URLs, and its name):
# control characters no id, URL or image name contains, left alone by HTML escaping.
_SLOT_PK, _SLOT_NAME = "\x01pk\x01", "\x01name\x01"
_SLOTS = re.compile("\x01(pk|name)\x01")


@dataclass(frozen=True)
class _StandInImage:
    pk: str = _SLOT_PK
    name: str = _SLOT_NAME

    def get_absolute_url(self):
        return image_url("detail", self.pk)


@register.simple_tag(takes_context=True)
def row_controls(context, controls, image, in_menu=False):
    """A row's controls, as `images/_control.html` draws them, without rendering it for every row.

    A page of rows repeats the same few controls (same operation, same state, same reason) with only
    the image changing. Each distinct control is rendered once per page with a stand-in image, then
    each row's id and (escaped) name are filled in: the same HTML as including the template per row,
    at a string substitution's cost. The template stays the one description of a control.
    """
    drawn = context.render_context.setdefault("images_row_controls", {})
    values = {"pk": html_escape(str(image.pk)), "name": html_escape(image.name)}
    parts = []
    for control in controls:
        key = (control.operation.name, control.reason, bool(in_menu))
        html = drawn.get(key)
        if html is None:
            template = context.template.engine.get_template("images/_control.html")
            stand_in = _StandInImage()
            shown = Control(control.operation, control.operation.url(stand_in), control.reason)
            with context.push(control=shown, image=stand_in, in_menu=in_menu):
                html = drawn[key] = template.render(context)
        parts.append(_SLOTS.sub(lambda match: values[match.group(1)], html))
    return mark_safe("".join(parts))  # the template escaped everything; the slots got escaped values


# --- list rows: each shape of row drawn once per page -------------------------------------------------

_ROW_SLOTS = re.compile("\x01(\\w+)\x01")


@functools.cache
def _drawn_fields(row_class) -> tuple[str, ...]:
    """The fields of a row class the row template reads (the image and its controls go through `menu`)."""
    return tuple(field.name for field in fields(row_class) if field.name not in ("image", "controls"))


@register.simple_tag(takes_context=True)
def image_rows(context, rows):
    """The image list's rows (images.views.Row), as `images/_row.html` draws each, rendering it once per
    shape of row instead of once per row.

    A row's shape is its booleans and which of its texts are empty: all the template's conditions can
    see. Each shape is rendered once per page with stand-ins for the texts (the field's name between
    control characters the template's markup never holds), then each row's texts, escaped as the
    template escapes them, are put in their place in one pass (a text is never read for stand-ins):
    the same HTML as rendering the template per row, at a substitution's cost.
    """
    drawn = context.render_context.setdefault("images_rows", {})
    template = context.template.engine.get_template("images/_row.html")
    parts = []
    for row in rows:
        texts = {name: getattr(row, name) for name in _drawn_fields(type(row))}
        texts["menu"] = row_controls(context, row.controls, row.image, in_menu=True) if row.controls else ""
        shape = tuple(value if value.__class__ is bool else not value for value in texts.values())
        html = drawn.get(shape)
        if html is None:
            stand_in = {name: value if value.__class__ is bool else f"\x01{name}\x01" if value else ""
                        for name, value in texts.items()}
            with context.push(row=stand_in):
                html = drawn[shape] = template.render(context)
        values = {name: value if isinstance(value, SafeData) else html_escape(value)
                  for name, value in texts.items() if value.__class__ is not bool}
        parts.append(_ROW_SLOTS.sub(lambda match, values=values: values[match.group(1)], html))
    return mark_safe("".join(parts))  # the template escaped everything; the stand-ins got escaped texts


# --- the project switcher: drawn once per process for each state it can show --------------------------

_SWITCHERS: ProcessCache[str] = ProcessCache("project switchers", 256)


@register.simple_tag(takes_context=True)
def project_switcher(context):
    """`images/_switcher.html` (every project, grouped by region; those the user holds nothing in
    disabled), rendered once per process for each state it shows: the projects and their regions as read
    at the current authorization stamp, the current project, the projects the user holds anything in
    (from the grants of the current stamp), the language. With fifty projects it is a page's largest
    fragment; keyed by what it shows rather than by the stamp itself, a grant change elsewhere (the load
    test's administrator flips one every second) does not draw it again for everyone."""
    request, project = context["request"], context["project"]
    grants = request.authorization.grants
    shown = tuple((each.pk, each.name, each.region.code, each.region.name) for each in all_projects(request))
    key = (shown, project.pk, grants.project_names_with_any_permission, get_script_prefix(), get_language())
    return _SWITCHERS.get_or_build(
        key, lambda: context.template.engine.get_template("images/_switcher.html").render(context))
