"""User groups through their pages: list, create, edit, delete, members, and the Permissions tab with the
attach flow (scope, dependencies shown before confirming) and detach (refused dependents, the cascade)."""

import re

import pytest

from accounts import authz
from accounts.models import AuditEvent, Grant, UserGroup

from .conftest import group, policy, project, user

pytestmark = pytest.mark.usefixtures("demo")


def scopes(of_group):
    return {
        g.policy.name: ("All resources" if g.all_resources else sorted(p.name for p in g.projects.all()))
        for g in Grant.objects.filter(group=of_group).select_related("policy").prefetch_related("projects")
    }


def test_the_list_shows_groups_with_counts(as_user):
    page = as_user("admin").get("/iam/groups/").content.decode()
    assert re.findall(r'data-group="([^"]+)"', page) == ["admin", "developers", "iam-admins", "ims-admins",
                                                          "north-ops", "viewers"]
    row = re.search(r'data-group="north-ops">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r"<td[^>]*>(\d+)</td>", row) == ["1", "3"]


def test_the_list_searches(as_user):
    page = as_user("admin").get("/iam/groups/?q=image", HTTP_HX_REQUEST="true",
                                HTTP_HX_TARGET="group-results").content.decode()
    assert re.findall(r'data-group="([^"]+)"', page) == ["ims-admins", "viewers"]
    assert "<html" not in page


def test_create_edit_and_delete_a_group(as_user):
    browser = as_user("iam-admin")
    response = browser.post("/iam/groups/new/", {"name": "auditors", "description": "Read the logs"})
    auditors = UserGroup.objects.get(name="auditors")
    assert response.url == f"/iam/groups/{auditors.pk}/"
    assert browser.post("/iam/groups/new/", {"name": "auditors"}).status_code == 422
    browser.post(f"/iam/groups/{auditors.pk}/edit/", {"name": "log-readers", "description": "Read the logs",
                                                     "revision": auditors.revision})
    assert group("log-readers").pk == auditors.pk
    assert "Delete user group log-readers?" in browser.get(f"/iam/groups/{auditors.pk}/delete/").content.decode()
    assert browser.post(f"/iam/groups/{auditors.pk}/delete/").url == "/iam/groups/"
    assert not UserGroup.objects.filter(pk=auditors.pk).exists()


def test_the_builtin_admin_group_cannot_be_renamed_or_deleted(as_user):
    browser = as_user("admin")
    admin_group = group("admin")
    page = browser.get(f"/iam/groups/{admin_group.pk}/").content.decode()
    assert 'data-action="iam:groups:deleteGroup"' not in page
    browser.post(f"/iam/groups/{admin_group.pk}/edit/", {"name": "root", "description": "x",
                                                        "revision": admin_group.revision})
    assert group("admin").description == "x"  # the disabled name field keeps "admin"
    page = browser.post(f"/iam/groups/{admin_group.pk}/delete/", follow=True).content.decode()
    assert "The built-in admin group cannot be deleted." in page
    assert UserGroup.objects.filter(name="admin").exists()


def test_members_are_searched_added_and_removed(ops, as_user):
    browser = as_user("iam-admin")
    found = browser.get(f"/iam/groups/{ops.pk}/members/candidates/?q=view", HTTP_HX_REQUEST="true").content.decode()
    assert re.findall(r'data-candidate="([^"]+)"', found) == ["viewer"]
    viewer = user("viewer")
    browser.post(f"/iam/groups/{ops.pk}/members/add/", {"user": viewer.pk})
    page = browser.get(f"/iam/groups/{ops.pk}/").content.decode()
    assert "viewer added to ops." in page and 'data-member="viewer"' in page
    found = browser.get(f"/iam/groups/{ops.pk}/members/candidates/?q=view").content.decode()
    assert "No user outside the group matches" in found
    browser.post(f"/iam/groups/{ops.pk}/members/{viewer.pk}/remove/")
    assert not ops.memberships.exists()


def test_the_permissions_tab_lists_grants_with_their_scope_and_dependents(as_user):
    page = as_user("iam-admin").get(f"/iam/groups/{group('north-ops').pk}/permissions/").content.decode()
    rows = dict(re.findall(r'data-grant="([^"]+)">(.*?)</tr>', page, re.S))
    assert list(rows) == ["IMS Administrator", "Server Administrator", "Tenant Administrator"]
    assert "cn-north-4" in rows["Server Administrator"]
    assert "Server Administrator" in rows["IMS Administrator"]  # needed by
    assert "IMS Administrator" in rows["Tenant Administrator"]
    viewers = as_user("admin").get(f"/iam/groups/{group('viewers').pk}/permissions/").content.decode()
    assert "All resources" in viewers


def test_the_attach_picker_offers_roles_policies_and_projects_by_region(ops, as_user):
    page = as_user("iam-admin").get(f"/iam/groups/{ops.pk}/permissions/attach/").content.decode()
    for heading in ("System roles", "System policies", "Custom policies", "CN North-Beijing4", "AP-Hong Kong"):
        assert heading in page
    assert "DenyImageDeletion" in page and "Read-only permissions for IMS" in page
    assert "always granted on All resources" in page


def test_attaching_server_administrator_on_cn_north_4_shows_and_attaches_its_dependencies(ops, as_user):
    browser = as_user("admin")
    choice = {"policies": policy("Server Administrator").pk, "scope": "projects",
              "projects": project("cn-north-4").pk}
    review = browser.post(f"/iam/groups/{ops.pk}/permissions/attach/", {**choice, "step": "review"}, follow=True)
    text = review.content.decode()
    assert review.status_code == 200
    assert "Server Administrator needs IMS Administrator, which needs Tenant Administrator" in text
    assert re.findall(r'data-attach="([^"]+)"', text) == ["Server Administrator", "IMS Administrator",
                                                          "Tenant Administrator"]
    assert scopes(ops) == {}  # nothing attached before confirming
    done = browser.post(f"/iam/groups/{ops.pk}/permissions/attach/", {**choice, "step": "confirm"}, follow=True)
    assert scopes(ops) == {"Server Administrator": ["cn-north-4"], "IMS Administrator": ["cn-north-4"],
                           "Tenant Administrator": ["cn-north-4"]}
    assert "Dependencies attached with the same scope: IMS Administrator and Tenant Administrator" in (
        done.content.decode())
    events = AuditEvent.objects.filter(action="iam:permissions:grantPermission", actor_name="admin")
    assert sorted(e.details["policy"] for e in events) == ["IMS Administrator", "Server Administrator",
                                                          "Tenant Administrator"]


def test_a_project_scope_without_projects_is_refused_on_the_form(ops, as_user):
    response = as_user("admin").post(f"/iam/groups/{ops.pk}/permissions/attach/", {
        "policies": policy("IMS FullAccess").pk, "scope": "projects", "step": "review"})
    assert response.status_code == 422
    assert "Choose at least one project, or the scope All resources." in response.content.decode()
    assert scopes(ops) == {}


def test_an_iam_only_policy_is_attached_on_all_resources_and_the_review_says_so(ops, as_user):
    choice = {"policies": policy("Security Administrator").pk, "scope": "projects",
              "projects": project("cn-north-4").pk}
    browser = as_user("admin")
    review = browser.post(f"/iam/groups/{ops.pk}/permissions/attach/", {**choice, "step": "review"}, follow=True)
    assert "IAM is global, so it is granted on All resources" in review.content.decode()
    browser.post(f"/iam/groups/{ops.pk}/permissions/attach/", {**choice, "step": "confirm"})
    assert scopes(ops) == {"Security Administrator": "All resources"}


def test_detaching_a_needed_dependency_is_refused_and_lists_its_dependents(as_user):
    north_ops = group("north-ops")
    browser = as_user("iam-admin")
    url = f"/iam/groups/{north_ops.pk}/permissions/detach/"
    confirm = browser.get(url, {"policies": policy("IMS Administrator").pk}).content.decode()
    blockers = re.search(r'data-testid="blockers">(.*?)</div>', confirm, re.S).group(1)
    assert "Server Administrator" in blockers
    assert "Detach IMS Administrator, Server Administrator" in confirm
    refused = browser.post(url, {"policies": policy("IMS Administrator").pk})
    assert refused.status_code == 409
    assert "Server Administrator still depends on what you are detaching" in refused.content.decode()
    assert len(scopes(north_ops)) == 3


def test_the_cascade_detaches_the_dependents_in_the_same_step(as_user):
    north_ops = group("north-ops")
    member = user("north-ops")
    assert authz.decide(member, "ims:images:delete", project="cn-north-4").allowed
    response = as_user("iam-admin").post(f"/iam/groups/{north_ops.pk}/permissions/detach/", {
        "policies": [policy("IMS Administrator").pk, policy("Server Administrator").pk]}, follow=True)
    assert "Detached IMS Administrator, Server Administrator from north-ops." in response.content.decode()
    assert scopes(north_ops) == {"Tenant Administrator": ["cn-north-4"]}
    authz.forget(member)
    still = authz.decide(member, "ims:images:delete", project="cn-north-4")
    assert [reason.policy_name for reason in still.reasons] == ["Tenant Administrator"]


def test_detaching_a_policy_nothing_needs_asks_then_detaches(as_user):
    viewers = group("viewers")
    browser = as_user("admin")
    url = f"/iam/groups/{viewers.pk}/permissions/detach/"
    confirm = browser.get(url, {"policies": policy("IMS ReadOnlyAccess").pk}).content.decode()
    assert "Detach from viewers?" in confirm and 'data-testid="blockers"' not in confirm
    browser.post(url, {"policies": policy("IMS ReadOnlyAccess").pk})
    assert scopes(viewers) == {"IAM AccessRequestSelfService": "All resources"}  # only asking for access is left


def test_a_user_cannot_grant_iam_actions_it_does_not_hold(reader, ops, as_user):
    """'reader' may grant, but holds only a few IAM actions: it may not hand out Security Administrator."""
    browser = as_user("reader")
    choice = {"policies": policy("Security Administrator").pk, "scope": "all"}
    review = browser.post(f"/iam/groups/{ops.pk}/permissions/attach/", {**choice, "step": "review"},
                          follow=True).content.decode()
    assert "You cannot hand over permissions you do not hold yourself" in review
    assert re.search(r"Security Administrator: iam:\w+:\w+ on All resources", review)
    refused = browser.post(f"/iam/groups/{ops.pk}/permissions/attach/", {**choice, "step": "confirm"})
    assert refused.status_code == 403
    assert scopes(ops) == {}
    assert AuditEvent.objects.filter(actor_name="reader", outcome="denied",
                                     action__startswith="iam:").exists()
    image_rights = browser.post(f"/iam/groups/{ops.pk}/permissions/attach/",
                                {"policies": policy("IMS FullAccess").pk, "scope": "all", "step": "confirm"})
    assert image_rights.status_code == 403  # image permissions it does not hold are not its to give either
    assert "ims:images:delete on All resources" in image_rights.content.decode()
    assert scopes(ops) == {}


def test_controls_for_grants_are_hidden_from_who_may_not_use_them(reader, as_user):
    page = as_user("reader").get(f"/iam/groups/{group('north-ops').pk}/permissions/").content.decode()
    assert 'data-action="iam:permissions:grantPermission"' in page
    assert 'data-action="iam:permissions:revokePermission"' not in page
    assert 'data-action="iam:groups:updateGroup"' not in page
    members = as_user("reader").get(f"/iam/groups/{group('north-ops').pk}/").content.decode()
    assert "Add members" not in members and 'data-action="iam:groups:removeUserFromGroup"' not in members
