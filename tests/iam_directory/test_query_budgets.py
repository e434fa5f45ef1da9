"""List pages cost the same number of queries for a few rows as for many (no query per row)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import audit, services

from .conftest import group, user

pytestmark = pytest.mark.usefixtures("demo")

BUDGET = 10


def queries(browser, url):
    browser.get(url)  # warm the per-process permission cache like a running console
    with CaptureQueriesContext(connection) as captured:
        assert browser.get(url).status_code == 200
    return len(captured)


def grow_users():
    for number in range(20):
        created, _ = services.user_create(actor=None, username=f"many{number:02d}", password="imsperm-demo")
        services.group_add_member(actor=None, group=group("viewers"), user=created)


def grow_groups():
    for number in range(20):
        created = services.group_create(actor=None, name=f"team{number:02d}")
        services.group_add_member(actor=None, group=created, user=user(("viewer", "newcomer", "developer")[number % 3]))


def grow_events():
    for number in range(40):
        audit.record(actor=user("admin"), action="iam:users:getUser", message=f"event {number}",
                     details={"before": {"n": number}})


@pytest.mark.parametrize(("url", "grow"), [
    ("/iam/users/", grow_users),
    ("/iam/users/?q=a&active=yes", grow_users),
    ("/iam/groups/", grow_groups),
    ("/iam/audit/", grow_events),
    ("/iam/audit/?outcome=allowed", grow_events),
])
@pytest.mark.parametrize("persona", ["admin", "iam-admin"])
def test_list_pages_have_a_constant_query_count(url, grow, persona, as_user, django_assert_max_num_queries):
    browser = as_user(persona)
    few = queries(browser, url)
    grow()
    many = queries(browser, url)
    assert few == many
    with django_assert_max_num_queries(BUDGET):
        browser.get(url)


@pytest.mark.parametrize("url_of", [
    lambda: f"/iam/users/{user('viewer').pk}/",
    lambda: f"/iam/groups/{group('viewers').pk}/",
    lambda: f"/iam/groups/{group('north-ops').pk}/permissions/",
    lambda: f"/iam/groups/{group('north-ops').pk}/permissions/attach/",
])
def test_detail_pages_stay_within_the_budget(url_of, as_user, django_assert_max_num_queries):
    browser = as_user("iam-admin")
    browser.get(url_of())
    with django_assert_max_num_queries(BUDGET):
        browser.get(url_of())
