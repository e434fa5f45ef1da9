"""Django admin obeys the same engine, validator and services as the console."""

import json

import pytest

from accounts.models import Grant, Policy, Project, User, UserGroup

pytestmark = pytest.mark.usefixtures("demo")


@pytest.fixture
def operator(client):
    client.force_login(User.objects.get(username="admin"))
    return client


def test_the_admin_lists_every_model(operator):
    index = operator.get("/admin/").content.decode()
    for model in ("users", "user groups", "policies", "grants", "audit events", "regions", "projects", "images"):
        assert model in index.lower(), model


def test_a_bad_policy_document_is_shown_on_the_field_with_its_location_and_not_saved(operator):
    document = (
        '{\n  "Version": "1.1",\n  "Statement": [\n    {"Effect": "Allow", "Action": ["ims:images:delet"]}\n  ]\n}'
    )
    response = operator.post("/admin/accounts/policy/add/", {"name": "Typo", "description": "", "document": document})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Statement[0].Action[0]" in html and "line 4" in html
    assert not Policy.objects.filter(name="Typo").exists()


def test_a_good_policy_is_saved_through_the_service_with_an_audit_event(operator):
    document = json.dumps({"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]})
    response = operator.post("/admin/accounts/policy/add/", {"name": "ListOnly", "description": "x",
                                                              "document": document})
    assert response.status_code == 302
    policy = Policy.objects.get(name="ListOnly")
    assert not policy.is_system
    from accounts.models import AuditEvent

    assert AuditEvent.objects.filter(action="iam:roles:createRole", target_id=str(policy.pk)).exists()


def test_system_policies_are_read_only_in_the_admin(operator):
    policy = Policy.objects.get(name="IMS FullAccess")
    page = operator.get(f"/admin/accounts/policy/{policy.pk}/change/")
    assert page.status_code == 200
    assert b'name="document"' not in page.content
    operator.post(f"/admin/accounts/policy/{policy.pk}/change/", {"name": "Hacked", "description": "",
                                                                   "document": "{}"})
    assert Policy.objects.get(pk=policy.pk).name == "IMS FullAccess"
    operator.post(f"/admin/accounts/policy/{policy.pk}/delete/", {"post": "yes"})
    assert Policy.objects.filter(pk=policy.pk).exists()


def test_a_grant_made_in_the_admin_attaches_role_dependencies(operator):
    group = UserGroup.objects.create(name="admin-made")
    role = Policy.objects.get(name="Server Administrator")
    project = Project.objects.get(name="cn-north-4")
    response = operator.post("/admin/accounts/grant/add/", {"group": group.pk, "policy": role.pk,
                                                             "projects": [project.pk]})
    assert response.status_code == 302
    assert set(Grant.objects.filter(group=group).values_list("policy__name", flat=True)) == {
        "Server Administrator", "IMS Administrator", "Tenant Administrator"}


def test_the_builtin_admin_group_cannot_be_deleted_in_the_admin(operator):
    group = UserGroup.objects.get(name="admin")
    operator.post(f"/admin/accounts/usergroup/{group.pk}/delete/", {"post": "yes"})
    assert UserGroup.objects.filter(name="admin").exists()


def test_a_staff_user_sees_only_what_their_policies_allow(client):
    ims_admin = User.objects.get(username="ims-admin")
    ims_admin.is_staff = True
    ims_admin.save()
    client.force_login(ims_admin)
    index = client.get("/admin/").content.decode().lower()
    assert "images" in index
    assert "policies" not in index and "grants" not in index
    assert client.get("/admin/accounts/policy/").status_code == 403
    assert client.get("/admin/images/image/").status_code == 200


def test_memberships_edited_in_the_admin_go_through_the_guards(operator):
    from accounts.models import Membership

    group = UserGroup.objects.get(name="admin")
    membership = Membership.objects.get(group=group)
    response = operator.post(f"/admin/accounts/usergroup/{group.pk}/change/", {
        "name": "admin", "description": group.description, "loaded_revision": group.revision,
        "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": membership.pk, "memberships-0-group": group.pk,
        "memberships-0-user": membership.user_id, "memberships-0-DELETE": "on",
    }, follow=True)
    assert "last active member" in response.content.decode()
    assert Membership.objects.filter(group=group, user__username="admin").exists()


def test_a_user_added_in_the_admin_is_audited(operator):
    from accounts.models import AuditEvent

    response = operator.post("/admin/accounts/user/add/", {
        "username": "made-in-admin", "password1": "a-long-passphrase-1", "password2": "a-long-passphrase-1",
        "usable_password": "true"})
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="made-in-admin")
    assert user.check_password("a-long-passphrase-1")
    assert AuditEvent.objects.filter(action="iam:users:createUser", target_id=str(user.pk)).exists()
