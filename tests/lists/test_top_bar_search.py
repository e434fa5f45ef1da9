"""The top bar's search finds an image, user, group or policy by name or id and shows only what the
person may open: for every persona, a thing is listed exactly when its page opens for them (the engine
decides both). The results page and the dropdown cost a fixed number of queries, whatever matches."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.management.commands.seed_demo import PERSONAS
from accounts.models import Policy, User, UserGroup
from images.models import Image

pytestmark = pytest.mark.usefixtures("demo")

NAMES = [persona[0] for persona in PERSONAS]
IMAGES = ["cn-north-4-centos-data-01",  # private in cn-north-4, shared (pending) with ap-southeast-1
          "ap-southeast-1-debian-system-00",  # private in ap-southeast-1, shared (accepted) with cn-north-4
          "cn-north-4-dev-centos-system-00",  # private in cn-north-4_dev
          "eu-west-101-euleros-system-00",  # private in eu-west-101, shared (pending) with cn-north-4
          "CentOS-x86-public", "Market-CentOS-LAMP"]  # public and marketplace


def hits(response) -> set[str]:
    return set(re.findall(r'data-hit="([^"]+)"', response.content.decode()))


def targets():
    found = [("image", name, Image.objects.get(name=name)) for name in IMAGES]
    found += [("user", "developer", User.objects.get(username="developer")),
              ("group", "north-ops", UserGroup.objects.get(name="north-ops")),
              ("policy", "IMS ReadOnlyAccess", Policy.objects.get(name="IMS ReadOnlyAccess"))]
    return found


@pytest.mark.parametrize("persona", NAMES)
def test_each_persona_sees_exactly_what_they_may_open(persona, as_user):
    browser = as_user(persona)
    for kind, name, thing in targets():
        listed = f"{kind}:{name}" in hits(browser.get("/search/", {"q": name}))
        opens = browser.get(thing.get_absolute_url()).status_code == 200
        assert listed == opens, f"{persona} {'sees' if listed else 'misses'} {kind} {name}; its page answers " \
                                f"{'200' if opens else 'no'}"


@pytest.mark.parametrize("persona", NAMES)
def test_every_result_a_persona_gets_opens_for_them(persona, as_user):
    browser = as_user(persona)
    shown = {}  # each result's URL, with the first search that showed it
    for text in ("cn-north", "view", "a", "admin", "public"):
        for response in (browser.get("/search/", {"q": text}),
                         browser.get("/search/", {"q": text, "preview": "1"}, HTTP_HX_REQUEST="true")):
            for url in re.findall(r'<a href="([^"]+)" data-hit=', response.content.decode()):
                shown.setdefault(url, text)
    # A URL shown by several searches (the dropdown and the results page list the same things) is opened once:
    # whether a page opens for the persona depends on what they hold, which opening a page never changes.
    for url, text in shown.items():
        assert browser.get(url).status_code == 200, f"{persona} was shown {url} for {text!r}"


def test_ids_find_things_too(as_user):
    browser = as_user("admin")
    image = Image.objects.get(name="CentOS-x86-public")
    assert hits(browser.get("/search/", {"q": str(image.pk)})) == {"image:CentOS-x86-public"}
    group = UserGroup.objects.get(name="north-ops")
    assert "group:north-ops" in hits(browser.get("/search/", {"q": str(group.pk)}))


def test_the_dropdown_is_a_fragment_and_nothing_is_said_plainly(as_user):
    browser = as_user("newcomer")
    response = browser.get("/search/", {"q": "viewer", "preview": "1"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert "<html" not in page and "Nothing you may open matches" in page
    assert as_user("admin").get("/search/", {"q": "x" * 5000}).status_code == 200  # cut, never an error


def test_the_top_bar_has_the_box_for_signed_in_people_only(as_user, client):
    assert 'data-testid="topbar-search"' in as_user("viewer").get("/me/permissions/").content.decode()
    assert 'data-testid="topbar-search"' not in client.get("/accounts/login/").content.decode()


def _queries(browser, params, **headers):
    browser.get("/search/", params, **headers)
    with CaptureQueriesContext(connection) as captured:
        assert browser.get("/search/", params, **headers).status_code == 200
    return len(captured)


@pytest.mark.parametrize("preview", [False, True])
def test_search_costs_the_same_queries_for_few_and_many_matches(preview, as_user, django_assert_max_num_queries):
    headers = {"HTTP_HX_REQUEST": "true"} if preview else {}
    params = {"q": "zz", **({"preview": "1"} if preview else {})}
    browser = as_user("admin")
    services.user_create(actor=None, username="zz-one", password="imsperm-demo")
    few = _queries(browser, params, **headers)
    for number in range(30):
        services.user_create(actor=None, username=f"zz{number:02d}", password="imsperm-demo")
        services.group_create(actor=None, name=f"zz-group-{number:02d}")
    many = _queries(browser, params, **headers)
    assert few == many
    with django_assert_max_num_queries(12):
        browser.get("/search/", params, **headers)
