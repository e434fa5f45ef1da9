"""Every directory page four ways: anonymous, forbidden, allowed, and an unknown id (404).

Expectations are written out by hand from the personas' grants (tests/conftest.py): admin is in the admin
group and iam-admin holds Security Administrator (iam:*:*) on All resources; ims-admin and viewer hold
only IMS policies, so every IAM page refuses them.
"""

import pytest
from django.test import Client

from .conftest import group, policy, user

pytestmark = pytest.mark.usefixtures("demo")

UNKNOWN = 987654


def urls(ids):
    """Every page reachable by GET, with real ids."""
    return {
        "user-list": "/iam/users/",
        "user-create": "/iam/users/new/",
        "user-detail": f"/iam/users/{ids['user']}/",
        "user-edit": f"/iam/users/{ids['user']}/edit/",
        "user-password": f"/iam/users/{ids['user']}/password/",
        "user-delete": f"/iam/users/{ids['user']}/delete/",
        "group-list": "/iam/groups/",
        "group-create": "/iam/groups/new/",
        "group-detail": f"/iam/groups/{ids['group']}/",
        "group-edit": f"/iam/groups/{ids['group']}/edit/",
        "group-delete": f"/iam/groups/{ids['group']}/delete/",
        "group-candidates": f"/iam/groups/{ids['group']}/members/candidates/?q=v",
        "group-permissions": f"/iam/groups/{ids['group']}/permissions/",
        "group-attach": f"/iam/groups/{ids['group']}/permissions/attach/",
        "group-detach": f"/iam/groups/{ids['group']}/permissions/detach/?policies={ids['policy']}",
        "audit": "/iam/audit/",
        "audit-export": "/iam/audit/export.csv",
    }


# page               anonymous  admin  iam-admin  ims-admin  viewer
EXPECTED = """
user-list            login      200    200        403        403
user-create          login      200    200        403        403
user-detail          login      200    200        403        403
user-edit            login      200    200        403        403
user-password        login      200    200        403        403
user-delete          login      200    200        403        403
group-list           login      200    200        403        403
group-create         login      200    200        403        403
group-detail         login      200    200        403        403
group-edit           login      200    200        403        403
group-delete         login      200    200        403        403
group-candidates     login      200    200        403        403
group-permissions    login      200    200        403        403
group-attach         login      200    200        403        403
group-detach         login      200    200        403        403
audit                login      200    200        403        403
audit-export         login      200    200        403        403
"""
PERSONAS = ["anonymous", "admin", "iam-admin", "ims-admin", "viewer"]
CASES = [
    (row.split()[0], persona, expected)
    for row in EXPECTED.strip().splitlines()
    for persona, expected in zip(PERSONAS, row.split()[1:], strict=True)
]


@pytest.fixture
def ids():
    return {"user": user("viewer").pk, "group": group("north-ops").pk, "policy": policy("IMS Administrator").pk}


@pytest.mark.parametrize(("page", "persona", "expected"), CASES)
def test_page_answers_each_persona(page, persona, expected, ids, as_user, client):
    browser = client if persona == "anonymous" else as_user(persona)
    response = browser.get(urls(ids)[page])
    if expected == "login":
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/")
    else:
        assert response.status_code == int(expected)
    if expected == "403":
        assert b"You are not allowed to do this" in response.content
        assert b"implicit deny" in response.content


# Pages with an id: an unknown id is 404 for those allowed the page, still 403 for those who are not.
ID_PAGES = ["user-detail", "user-edit", "user-password", "user-delete", "group-detail", "group-edit",
            "group-delete", "group-candidates", "group-permissions", "group-attach", "group-detach"]


@pytest.mark.parametrize("page", ID_PAGES)
@pytest.mark.parametrize(("persona", "expected"), [("admin", 404), ("iam-admin", 404), ("viewer", 403)])
def test_an_unknown_id_is_not_found(page, persona, expected, as_user, ids):
    unknown = {"user": UNKNOWN, "group": UNKNOWN, "policy": ids["policy"]}
    assert as_user(persona).get(urls(unknown)[page]).status_code == expected


def post_urls(ids):
    """Every write endpoint with the data a browser would send."""
    return {
        "user-create": ("/iam/users/new/", {"username": "zed", "password_mode": "generate", "is_active": "on"}),
        "user-edit": (f"/iam/users/{ids['user']}/edit/", {"username": "viewer", "email": "v@example.com"}),
        "user-set-active": (f"/iam/users/{ids['user']}/active/", {"active": "0"}),
        "user-password": (f"/iam/users/{ids['user']}/password/", {"password_mode": "generate"}),
        "user-delete": (f"/iam/users/{ids['user']}/delete/", {}),
        "user-group-add": (f"/iam/users/{ids['user']}/groups/add/", {"group": ids["group"]}),
        "user-group-remove": (f"/iam/users/{ids['user']}/groups/{ids['viewers']}/remove/", {}),
        "group-create": ("/iam/groups/new/", {"name": "zed-group"}),
        "group-edit": (f"/iam/groups/{ids['group']}/edit/", {"name": "north-ops", "description": "x"}),
        "group-delete": (f"/iam/groups/{ids['group']}/delete/", {}),
        "group-member-add": (f"/iam/groups/{ids['group']}/members/add/", {"user": ids["user"]}),
        "group-member-remove": (f"/iam/groups/{ids['viewers']}/members/{ids['user']}/remove/", {}),
        "group-attach": (f"/iam/groups/{ids['group']}/permissions/attach/",
                         {"step": "confirm", "policies": ids["readonly"], "scope": "all"}),
        "group-detach": (f"/iam/groups/{ids['group']}/permissions/detach/",
                         {"policies": [ids["policy"], ids["server"]]}),
    }


@pytest.fixture
def post_ids(ids):
    return {**ids, "viewers": group("viewers").pk, "readonly": policy("IMS ReadOnlyAccess").pk,
            "server": policy("Server Administrator").pk}


@pytest.mark.parametrize("endpoint", list(post_urls({k: 1 for k in (
    "user", "group", "policy", "viewers", "readonly", "server")})))
def test_writes_refuse_anonymous_and_forbidden_users_and_change_nothing(endpoint, post_ids, client, as_user):
    url, data = post_urls(post_ids)[endpoint]
    anonymous = client.post(url, data)
    assert anonymous.status_code == 302 and anonymous.url.startswith("/accounts/login/")
    forbidden = as_user("viewer").post(url, data)
    assert forbidden.status_code == 403
    assert user("viewer").is_active and group("north-ops").grants.count() == 3
    assert not group("north-ops").memberships.filter(user__username="viewer").exists()


@pytest.mark.parametrize("endpoint", ["user-set-active", "user-delete", "group-delete", "group-member-add",
                                      "group-detach"])
def test_writes_to_an_unknown_id_are_not_found(endpoint, post_ids, as_user):
    unknown = {**post_ids, "user": UNKNOWN, "group": UNKNOWN}
    url, data = post_urls(unknown)[endpoint]
    assert as_user("admin").post(url, data).status_code == 404


def test_forms_refuse_a_post_without_the_csrf_token():
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user("admin"))
    response = browser.post("/iam/users/new/", {"username": "zed", "password_mode": "generate"})
    assert response.status_code == 403
    response = browser.post(f"/iam/groups/{group('north-ops').pk}/permissions/detach/",
                            {"policies": [policy("Server Administrator").pk]})
    assert response.status_code == 403
    assert not user_exists("zed")
    assert group("north-ops").grants.count() == 3


def test_forms_accept_a_post_with_the_csrf_token():
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user("admin"))
    page = browser.get("/iam/groups/new/")
    token = page.cookies["csrftoken"].value
    response = browser.post("/iam/groups/new/", {"name": "with-token", "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def user_exists(name):
    from accounts.models import User

    return User.objects.filter(username=name).exists()


def test_the_navigation_links_the_directory_pages(as_user):
    page = as_user("iam-admin").get("/iam/users/").content.decode()
    assert 'href="/iam/users/"' in page and 'href="/iam/groups/"' in page and 'href="/iam/audit/"' in page
