"""The list draws each distinct row control once per page and fills in the image (images_tags.row_controls):
its HTML must be exactly what including `images/_control.html` for every row writes."""

import re

import pytest
from django.template import engines
from django.test import RequestFactory

from accounts import authz
from accounts.models import Project, User
from images import selectors
from images.models import Image
from images.operations import controls_for
from images.views import ROW_OPERATIONS

pytestmark = pytest.mark.usefixtures("demo")

PER_ROW = engines["django"].from_string(
    "{% for image, controls in rows %}<li>{% for control in controls %}"
    '{% include "images/_control.html" with image=image in_menu=True %}{% endfor %}</li>{% endfor %}')
ONCE_PER_PAGE = engines["django"].from_string(
    "{% load images_tags %}{% for image, controls in rows %}<li>"
    "{% row_controls controls image in_menu=True %}</li>{% endfor %}")
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def _draw(template, rows, user):
    request = RequestFactory().get("/images/")
    request.user = user
    html = template.render({"rows": rows, "next_url": "/images/?q=a&b=\"c\""}, request)
    return TOKEN.sub('name="csrfmiddlewaretoken" value="…"', html)  # each {% csrf_token %} masks anew


@pytest.mark.parametrize("username", ["admin", "ims-admin", "developer", "viewer", "north-ops"])
@pytest.mark.parametrize("tab", ["private", "public", "shared", "awaiting"])
def test_row_controls_are_the_templates_html_for_every_row(username, tab):
    user = User.objects.get(username=username)
    authorization = authz.authorization_for(user)
    project = Project.objects.get(name="cn-north-4")
    page = selectors.image_page(project, selectors.ImageQuery(tab=tab, size=50, filters={}))
    rows = [(image, controls_for(authorization, image, project, ROW_OPERATIONS, applicable_only=True))
            for image in page.rows]
    if username in ("admin", "ims-admin") and tab == "private":
        assert sum(len(controls) for _, controls in rows) > len(rows)  # the comparison is not of empty menus
    assert _draw(ONCE_PER_PAGE, rows, user) == _draw(PER_ROW, rows, user)


def test_a_name_with_markup_is_escaped_once_in_every_row():
    user = User.objects.get(username="admin")
    project = Project.objects.get(name="cn-north-4")
    images = list(Image.objects.filter(project=project, image_type="private").exclude(status="deleted")[:3])
    images[1].name = 'evil "<b>&amp;\x01name\x01'  # in memory only: names with markup (and a slot's text)
    rows = [(image, controls_for(authz.authorization_for(user), image, project, ROW_OPERATIONS)) for image in images]
    drawn = _draw(ONCE_PER_PAGE, rows, user)
    assert drawn == _draw(PER_ROW, rows, user)
    assert "<b>" not in drawn and "&lt;b&gt;&amp;amp;" in drawn
