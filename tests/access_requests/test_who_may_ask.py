"""Asking for access is governed like every other action: it needs iam:accessRequests:create (the system
policy IAM AccessRequestSelfService holds it; seed_demo grants it to the groups who work with images), so a
newcomer with no grant is refused, audited, and offered no "Request access" link; My permissions shows
exactly what the server allows. The side menu highlights one entry on My access requests."""

import re
from datetime import timedelta

import pytest

from accounts.enforcement import Refused
from accounts.models import AccessRequest, AuditEvent, Grant, Policy
from accounts.services import access_requests as service

from .conftest import project, user

pytestmark = pytest.mark.usefixtures("demo")
NEW, MINE = "/iam/access-requests/new/", "/iam/access-requests/mine/"
ASK = "iam:accessRequests:create"
FORM = {"what": "action:ims:images:delete", "project": "cn-north-4", "duration": "8h",
        "justification": "Clean up the broken test images"}


def refusals(who):
    return AuditEvent.objects.filter(outcome="denied", action=ASK, actor_name=who)


def test_the_self_service_policy_is_a_system_policy_allowing_only_asking():
    policy = Policy.objects.get(name="IAM AccessRequestSelfService")
    assert policy.is_system and policy.kind == "policy"
    assert policy.document["Statement"] == [{"Effect": "Allow", "Action": [ASK]}]
    held_by = set(Grant.objects.filter(policy=policy, all_resources=True).values_list("group__name", flat=True))
    assert {"viewers", "developers", "ims-admins"} <= held_by


def test_a_newcomer_is_refused_asking_by_the_service_and_it_is_audited():
    assert service.ask(actor=user("viewer"), action="ims:images:delete", project=project("cn-north-4"),
                       duration=timedelta(hours=8), justification="I need it").status == AccessRequest.Status.PENDING
    before = refusals("newcomer").count()
    with pytest.raises(Refused, match=re.escape(f"no grant allows {ASK}")):
        service.ask(actor=user("newcomer"), action="ims:images:delete", project=project("cn-north-4"),
                    duration=timedelta(hours=8), justification="I need it")
    assert not AccessRequest.objects.filter(requester__username="newcomer").exists()
    assert refusals("newcomer").count() == before + 1


def test_asking_follows_the_grant_a_viewer_may_and_a_newcomer_is_refused(as_user):
    viewer = as_user("viewer")
    assert viewer.get(NEW).status_code == 200
    assert viewer.post(NEW, FORM).status_code == 302
    assert AccessRequest.objects.get(requester__username="viewer").status == AccessRequest.Status.PENDING

    newcomer = as_user("newcomer")
    assert newcomer.get(NEW).status_code == 403
    response = newcomer.post(NEW, FORM)
    assert response.status_code == 403
    assert ASK in response.content.decode()
    assert not AccessRequest.objects.filter(requester__username="newcomer").exists()
    assert refusals("newcomer").exists()  # repeats within a minute are counted on one event


def ask_cell(page):
    cell = re.search(r'<td class="cell[^"]*" data-project="" data-actions="' + re.escape(ASK)
                     + r'"\s+data-allowed="(\w+)"', page)
    assert cell, "My permissions shows no cell for asking"
    return cell[1]


def test_my_permissions_shows_asking_as_the_server_decides_it(as_user):
    assert ask_cell(as_user("viewer").get("/me/permissions/").content.decode()) == "true"
    assert ask_cell(as_user("newcomer").get("/me/permissions/").content.decode()) == "false"


def test_the_request_access_link_is_drawn_only_for_those_who_may_ask(as_user, django_assert_max_num_queries):
    browser = as_user("viewer")
    browser.get("/me/permissions/")
    with django_assert_max_num_queries(12):  # decided once per request, not per cell
        assert browser.get("/me/permissions/").content.decode().count('data-testid="request-access"') > 20
    viewer_403 = as_user("viewer").get("/iam/users/")
    assert viewer_403.status_code == 403 and 'data-testid="request-access"' in viewer_403.content.decode()
    viewer_grid = as_user("viewer").get("/me/permissions/").content.decode()
    assert NEW + "?action=iam%3Ausers%3AlistUsers" in viewer_grid

    newcomer_403 = as_user("newcomer").get("/iam/users/")
    assert newcomer_403.status_code == 403
    assert 'data-testid="request-access"' not in newcomer_403.content.decode()
    assert "Ask an administrator" in newcomer_403.content.decode()
    newcomer_grid = as_user("newcomer").get("/me/permissions/").content.decode()
    assert NEW not in newcomer_grid
    mine = as_user("newcomer").get(MINE).content.decode()
    assert NEW not in mine and "ask your administrator" in mine


def test_the_side_menu_highlights_only_my_access_requests_on_my_requests(as_user):
    page = as_user("admin").get(MINE).content.decode()
    current = re.findall(r'<a href="([^"]+)" aria-current="page"', page)
    assert current == [MINE]
    queue = as_user("admin").get("/iam/access-requests/").content.decode()
    assert re.findall(r'<a href="([^"]+)" aria-current="page"', queue) == ["/iam/access-requests/"]
