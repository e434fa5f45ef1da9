"""'Request access' wherever a person is refused (issue 21): the 403 page, My permissions' not-granted
cells, the simulator's deny — each pre-filled with the action and project refused."""

import pytest

from accounts import access_requests, authz
from accounts.policy import ACTION_NAMES

from .conftest import user

pytestmark = pytest.mark.usefixtures("demo")


def test_a_refusal_names_what_to_ask_for():
    for action in sorted(ACTION_NAMES)[:5]:
        for where in (None, "cn-north-4_dev"):
            summary = authz.Explanation(action, where, "implicit_deny").summary
            assert access_requests.refused_request(summary) == {"action": action, "project": where or ""}
    # A Deny, or a refusal that names no grant, is not something a grant would change.
    assert access_requests.refused_request("Denied in x explicitly: DenyImageDeletion") is None
    assert access_requests.refused_request("Refused: adding members to x would hand over") is None


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
