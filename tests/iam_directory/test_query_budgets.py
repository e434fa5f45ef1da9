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


# The user page also works out which groups it may offer (the escalation rule: two queries) and
# whether the person has MFA on (one): three more, whatever the number of groups and grants.
USER_PAGE_BUDGET = BUDGET + 3
# The group page also asks whether removing a member would lift a Deny the actor does not hold
# (the group's grants and their projects: two queries, whatever their number).
GROUP_PAGE_BUDGET = BUDGET + 2


@pytest.mark.parametrize(("url_of", "budget"), [
    (lambda: f"/iam/users/{user('viewer').pk}/", USER_PAGE_BUDGET),
    (lambda: f"/iam/groups/{group('viewers').pk}/", GROUP_PAGE_BUDGET),
    (lambda: f"/iam/groups/{group('north-ops').pk}/permissions/", BUDGET),
    (lambda: f"/iam/groups/{group('north-ops').pk}/permissions/attach/", BUDGET),
])
def test_detail_pages_stay_within_the_budget(url_of, budget, as_user, django_assert_max_num_queries):
    browser = as_user("iam-admin")
    browser.get(url_of())
    with django_assert_max_num_queries(budget):
        browser.get(url_of())


def test_the_user_page_offers_groups_in_constant_queries(as_user):
    from accounts.models import Policy

    browser = as_user("iam-admin")
    url = f"/iam/users/{user('newcomer').pk}/"
    few = queries(browser, url)
    for number in range(15):
        created = services.group_create(actor=None, name=f"offered{number:02d}")
        name = "IMS ReadOnlyAccess" if number % 2 else "Security Administrator"
        services.grant_attach(actor=None, group=created, all_resources=True, policies=[Policy.objects.get(name=name)])
    assert queries(browser, url) == few <= USER_PAGE_BUDGET
