"""'Request access' wherever a person is refused (issue 21): the 403 page, My permissions' not-granted
cells, the simulator's deny — each pre-filled with the action and project refused."""

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from accounts import authz
from accounts.enforcement import Refused
from accounts.management.commands.seed_demo import demo_id
from imsperm import errors

from .conftest import user

pytestmark = pytest.mark.usefixtures("demo")
LINK = re.compile(r'href="(/iam/access-requests/new/[^"]*)"[^>]*data-testid="request-access"')


def _link(response) -> str | None:
    """Where the 403 page's "Request access" button goes (None: no button)."""
    assert response.status_code == 403
    found = LINK.search(response.content.decode())
    return found[1].replace("&amp;", "&") if found else None


def _answered(exception, username="viewer"):
    request = RequestFactory().get("/somewhere/")
    request.user = user(username)
    return errors.permission_denied(request, exception)


def test_an_image_refused_in_a_project_asks_for_that_action_there(as_user):
    image = demo_id("cn-north-4-ubuntu-system-00")
    response = as_user("viewer").post(f"/images/{image}/delete/?project=cn-north-4")
    assert _link(response) == "/iam/access-requests/new/?action=ims%3Aimages%3Adelete&project=cn-north-4"


def test_a_deny_offers_the_plain_form_a_grant_would_not_lift_it(as_user):
    image = demo_id("cn-north-4-dev-centos-system-00")
    response = as_user("developer").post(f"/images/{image}/delete/?project=cn-north-4_dev")
    assert "explicitly" in response.content.decode()
    assert _link(response) == "/iam/access-requests/new/"


def test_a_service_refusal_carries_its_decision_to_the_403_page():
    decision = authz.decide(user("viewer"), "iam:groups:createGroup")
    assert decision.outcome == "implicit_deny"
    response = _answered(Refused(decision, actor=user("viewer")))
    assert _link(response) == "/iam/access-requests/new/?action=iam%3Agroups%3AcreateGroup"


def test_the_link_follows_the_decision_not_the_words_of_the_refusal():
    """A 403 whose sentence merely reads like an implicit deny carries no decision: the plain form."""
    sentence = PermissionDenied("Denied in cn-north-4: no grant allows ims:images:delete (implicit deny).")
    assert _link(_answered(sentence)) == "/iam/access-requests/new/"
    assert _link(_answered(PermissionDenied())) == "/iam/access-requests/new/"


def test_no_button_for_someone_who_may_not_ask():
    decision = authz.decide(user("newcomer"), "iam:users:listUsers")
    assert _link(_answered(Refused(decision, actor=user("newcomer")), "newcomer")) is None


def test_the_403_page_links_to_the_form_pre_filled(as_user):
    response = as_user("viewer").get("/iam/users/")
    assert response.status_code == 403
    assert 'href="/iam/access-requests/new/?action=iam%3Ausers%3AlistUsers"' in response.content.decode()


def test_my_permissions_offers_to_ask_in_a_not_granted_cell(as_user):
    page = as_user("developer").get("/me/permissions/").content.decode()
    assert "/iam/access-requests/new/?action=ims%3Aimages%3Alist&amp;project=cn-north-4\"" in page
    assert "/iam/access-requests/new/?action=iam%3Ausers%3AlistUsers" in page


def test_the_simulator_offers_to_ask_after_an_implicit_deny(as_user):
    page = as_user("iam-admin").get("/iam/simulator/", {"subject": "user", "user": "viewer",
                                                        "actions": "ims:images:delete",
                                                        "project": "cn-north-4"}).content.decode()
    assert "/iam/access-requests/new/?action=ims%3Aimages%3Adelete&amp;project=cn-north-4" in page
    assert user("viewer")
