"""The console's state rules, limits and concurrency guard hold in Django admin too, for single and
bulk actions; every refusal is shown with its reason, audited, and never reported as a success."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from accounts import services
from accounts.management.commands.seed_demo import demo_id
from accounts.models import (
    MAX_CUSTOM_POLICIES,
    MAX_SUBPROJECTS_PER_REGION,
    AuthorizationStamp,
    Grant,
    Membership,
    Policy,
    Project,
    Region,
    User,
    UserGroup,
)
from images.models import Image

from .conftest import events, form_data

pytestmark = pytest.mark.usefixtures("demo")

PASSWORD = "a-long-passphrase-1"
SUCCESS = re.compile(r"deleted successfully|Successfully deleted|Deleted \d")


def bulk_delete(client, model, objects):
    path = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return client.post(path, {"action": "delete_selected", "post": "yes",
                              "_selected_action": [str(o.pk) for o in objects]}, follow=True)


def change_page(client, obj):
    return client.get(reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk]))


def post_change(client, obj, **overrides):
    data = form_data(change_page(client, obj), obj._meta.model_name, **overrides)
    return client.post(reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk]), data)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def security_admin(client):
    """The demo Security Administrator as a staff user: may manage IAM, is not the administrator."""
    user = User.objects.get(username="iam-admin")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    return client


# Users ---------------------------------------------------------------------------------------

def test_the_last_administrator_cannot_be_bulk_deleted(security_admin):
    other = services.user_create(actor=None, username="leaving")[0]
    response = bulk_delete(security_admin, User, [User.objects.get(username="admin"), other])
    text = " ".join(messages_of(response))
    assert "Deleted 1 user." in text and "Refused 1" in text and "admin:" in text
    assert "Successfully" not in text
    assert User.objects.filter(username="admin").exists() and not User.objects.filter(username="leaving").exists()
    assert events(outcome="denied", action="iam:users:deleteUser", target_id=str(User.objects.get(username="admin").pk),
                  actor__username="iam-admin").exists()


def test_the_acting_user_cannot_delete_themselves_in_bulk_or_alone(operator):
    second = services.user_create(actor=None, username="second-admin")[0]
    services.group_add_member(actor=None, group=UserGroup.objects.get(name="admin"), user=second)
    me = User.objects.get(username="admin")
    response = bulk_delete(operator, User, [me])
    assert messages_of(response) == ["Refused 1: admin: You cannot delete your own user."]
    single = operator.post(reverse("admin:accounts_user_delete", args=[me.pk]), {"post": "yes"}, follow=True)
    assert single.redirect_chain[-1][0] == reverse("admin:accounts_user_change", args=[me.pk])
    assert messages_of(single) == ["admin was not deleted: You cannot delete your own user."]
    assert not SUCCESS.search(single.content.decode())
    assert User.objects.filter(pk=me.pk).exists()
    refusals = events(outcome="denied", action="iam:users:deleteUser", target_id=str(me.pk))
    assert sum(refusals.values_list("repeat_count", flat=True)) == 2  # the repeat is counted on one event


def test_the_superuser_flag_cannot_be_set_from_a_form(operator):
    target = services.user_create(actor=None, username="ambitious", is_staff=True)[0]
    page = change_page(operator, target)
    assert b'name="is_superuser"' not in page.content
    response = post_change(operator, target, is_superuser="on")
    assert response.status_code == 302
    assert not User.objects.get(pk=target.pk).is_superuser


def test_the_staff_flag_is_changed_by_the_service_and_audited(operator):
    target = services.user_create(actor=None, username="promoted")[0]
    assert post_change(operator, target, is_staff="on").status_code == 302
    assert User.objects.get(pk=target.pk).is_staff
    event = events(action="iam:users:updateUser", target_id=str(target.pk), outcome="allowed").get()
    assert event.details == {"before": {"is_staff": False}, "after": {"is_staff": True}}


def test_the_password_form_goes_through_the_service_and_is_audited(operator):
    target = services.user_create(actor=None, username="forgetful")[0]
    path = reverse("admin:auth_user_password_change", args=[target.pk])
    page = operator.get(path)
    assert page.status_code == 200 and b'name="usable_password"' not in page.content
    mismatch = operator.post(path, {"password1": PASSWORD, "password2": PASSWORD + "x"})
    assert mismatch.status_code == 200 and "didn’t match" in mismatch.content.decode()
    response = operator.post(path, {"password1": PASSWORD, "password2": PASSWORD}, follow=True)
    assert messages_of(response) == ["Password changed successfully."]
    assert User.objects.get(pk=target.pk).check_password(PASSWORD)
    assert events(action="iam:users:updateUser", target_id=str(target.pk), message="password changed").exists()


def test_a_password_change_without_the_permission_is_refused_and_audited(onlooker):
    target = User.objects.get(username="viewer")
    path = reverse("admin:auth_user_password_change", args=[target.pk])
    assert onlooker.post(path, {"password1": PASSWORD, "password2": PASSWORD}).status_code == 403
    assert not User.objects.get(pk=target.pk).check_password(PASSWORD)
    assert events(outcome="denied", action="iam:users:updateUser", actor__username="onlooker").exists()


def test_a_password_refused_by_the_service_is_shown_and_audited(operator, monkeypatch):
    """Whatever the service refuses (the lead's escalation rules), the admin reports, never succeeds."""
    from django.core.exceptions import ValidationError

    def refuse(**kwargs):
        raise ValidationError("You cannot set the password of someone who holds more than you.")

    monkeypatch.setattr(services, "user_set_password", refuse)
    target = User.objects.get(username="viewer")
    path = reverse("admin:auth_user_password_change", args=[target.pk])
    response = operator.post(path, {"password1": PASSWORD, "password2": PASSWORD}, follow=True)
    assert messages_of(response) == ["The password was not changed: You cannot set the password of someone "
                                     "who holds more than you."]
    assert not User.objects.get(pk=target.pk).check_password(PASSWORD)
    assert events(outcome="denied", action="iam:users:updateUser", target_id=str(target.pk)).exists()


# Groups and memberships ----------------------------------------------------------------------

def test_a_refused_member_rolls_the_whole_form_back_and_is_not_counted(operator):
    group = services.group_create(actor=None, name="crowded", description="before")
    busy = services.user_create(actor=None, username="busy")[0]
    for index in range(10):
        services.group_add_member(actor=None, group=services.group_create(actor=None, name=f"g{index}"), user=busy)
    response = post_change(operator, group, **{
        "description": "after", "memberships-TOTAL_FORMS": "1", "memberships-0-user": str(busy.pk)})
    assert response.status_code == 200
    assert "already in 10 groups" in response.content.decode()
    assert UserGroup.objects.get(pk=group.pk).description == "before"
    assert not Membership.objects.filter(group=group, user=busy).exists()
    assert events(outcome="denied", action="iam:groups:addUserToGroup", target_id=str(group.pk)).exists()
    assert not events(outcome="allowed", action="iam:groups:updateGroup", target_id=str(group.pk)).exists()


def test_the_builtin_admin_group_is_not_offered_for_bulk_deletion(operator):
    group = UserGroup.objects.get(name="admin")
    response = bulk_delete(operator, UserGroup, [group])
    assert not SUCCESS.search(" ".join(messages_of(response)))
    assert UserGroup.objects.filter(pk=group.pk).exists()


# Grants --------------------------------------------------------------------------------------

@pytest.fixture
def server_admins():
    group = services.group_create(actor=None, name="server-admins")
    services.grant_attach(actor=None, group=group, policies=[Policy.objects.get(name="Server Administrator")],
                          all_resources=False, projects=[Project.objects.get(name="cn-north-4")])
    return group


def test_a_grant_others_depend_on_cannot_be_bulk_detached(operator, server_admins):
    needed = Grant.objects.get(group=server_admins, policy__name="IMS Administrator")
    response = bulk_delete(operator, Grant, [needed])
    text = " ".join(messages_of(response))
    assert text.startswith("Refused 1") and "Server Administrator still depends" in text
    assert not SUCCESS.search(text)
    assert Grant.objects.filter(pk=needed.pk).exists()
    assert events(outcome="denied", action="iam:permissions:revokePermission", target_id=str(server_admins.pk)).exists()


def test_a_refused_single_detach_never_says_deleted_successfully(operator, server_admins):
    needed = Grant.objects.get(group=server_admins, policy__name="IMS Administrator")
    response = operator.post(reverse("admin:accounts_grant_delete", args=[needed.pk]), {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert "still depends" in " ".join(messages_of(response))
    assert not SUCCESS.search(response.content.decode())
    assert Grant.objects.filter(pk=needed.pk).exists()


def test_a_role_and_what_it_needs_are_bulk_detached_together(operator, server_admins):
    grants = list(Grant.objects.filter(group=server_admins))
    assert len(grants) == 3
    response = bulk_delete(operator, Grant, grants)
    assert messages_of(response) == ["Deleted 3 grants."]
    assert not Grant.objects.filter(group=server_admins).exists()


# Images --------------------------------------------------------------------------------------

def image(name):
    return Image.objects.get(id=demo_id(name))


def test_public_and_protected_images_cannot_be_bulk_deleted(operator):
    public = image("Ubuntu-x86-public")
    protected = Image.objects.filter(project__name="cn-north-4", image_type="private", protected=True).first()
    assert public.image_type == "gold" and protected.protected
    deletable = image("cn-north-4-ubuntu-system-00")
    response = bulk_delete(operator, Image, [public, protected, deletable])
    text = " ".join(messages_of(response))
    assert "Deleted 1 image." in text and "Refused 2" in text
    assert "Public images are protected" in text and "Protected images cannot be deleted" in text
    assert Image.objects.filter(pk__in=[public.pk, protected.pk]).count() == 2
    assert not Image.objects.filter(pk=deletable.pk).exists()
    assert events(outcome="denied", action="ims:images:delete", target_id__in=[str(public.pk), str(protected.pk)]
                  ).count() == 2


def test_a_refused_image_delete_goes_back_to_the_image_with_the_reason(operator):
    public = image("Ubuntu-x86-public")
    response = operator.post(reverse("admin:images_image_delete", args=[public.pk]), {"post": "yes"}, follow=True)
    assert messages_of(response) == ["Ubuntu-x86-public was not deleted: Public images are protected and cannot "
                                     "be deleted."]
    assert not SUCCESS.search(response.content.decode())
    assert Image.objects.filter(pk=public.pk).exists()


def test_a_public_image_cannot_be_unprotected(operator):
    public = image("Ubuntu-x86-public")
    response = post_change(operator, public, protected=None)
    assert response.status_code == 200
    assert "Public images cannot be modified." in response.content.decode()
    assert Image.objects.get(pk=public.pk).protected
    assert events(outcome="denied", action="ims:images:update", target_id=str(public.pk)).exists()


def test_an_encrypted_private_image_cannot_be_made_public(operator):
    encrypted = Image.objects.filter(project__name="cn-north-4", image_type="private", status="active")\
        .exclude(encryption_key_id="").first()
    assert encrypted.encrypted and encrypted.image_type == "private"
    page = change_page(operator, encrypted)
    for readonly in ("image_type", "encryption_key_id", "project", "status", "size"):
        assert f'name="{readonly}"'.encode() not in page.content, readonly
    response = post_change(operator, encrypted, image_type="gold", encryption_key_id="", description="retyped")
    assert response.status_code == 302
    fresh = Image.objects.get(pk=encrypted.pk)
    assert (fresh.image_type, fresh.encrypted, fresh.description) == ("private", True, "retyped")


def test_image_tags_are_replaced_by_the_service_and_audited(operator):
    target = image("cn-north-4-ubuntu-system-00")
    tags = dict(target.tags.values_list("key", "value"))
    response = post_change(operator, target, **{"tags-TOTAL_FORMS": str(len(tags) + 1),
                                                f"tags-{len(tags)}-key": "owner",
                                                f"tags-{len(tags)}-value": "suite"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert dict(target.tags.values_list("key", "value")) == {**tags, "owner": "suite"}
    event = events(outcome="allowed", action="ims:images:update", target_id=str(target.pk)).get()
    assert event.details["after"]["tags"] == {**tags, "owner": "suite"}


def test_images_are_not_created_in_the_admin(operator):
    assert operator.get(reverse("admin:images_image_add")).status_code == 403


# Projects and regions ------------------------------------------------------------------------

def test_the_eleventh_subproject_is_refused_with_a_form_error(operator):
    region = Region.objects.get(code="cn-north-4")
    existing = Project.objects.filter(region=region).exclude(name="cn-north-4").count()
    for index in range(MAX_SUBPROJECTS_PER_REGION - existing):
        services.project_create(actor=None, region=region, name=f"cn-north-4_p{index}")
    response = operator.post(reverse("admin:accounts_project_add"), {"name": "cn-north-4_eleventh",
                                                                     "region": region.pk, "description": ""})
    assert response.status_code == 200
    assert "already has 10 subprojects" in response.content.decode()
    assert not Project.objects.filter(name="cn-north-4_eleventh").exists()
    assert events(outcome="denied", action="iam:projects:createProject").exists()


def test_renaming_a_project_renews_the_authorization_stamp_and_is_audited(operator):
    project = Project.objects.get(name="cn-north-4_dev")
    stamp = AuthorizationStamp.objects.get(pk=1).value
    assert post_change(operator, project, name="cn-north-4_develop").status_code == 302
    assert Project.objects.get(pk=project.pk).name == "cn-north-4_develop"
    assert AuthorizationStamp.objects.get(pk=1).value != stamp
    event = events(outcome="allowed", action="iam:projects:updateProject", target_id=str(project.pk)).get()
    assert event.details["after"] == {"name": "cn-north-4_develop"}


def test_a_default_project_keeps_its_name_and_a_subproject_stays_in_its_region(operator):
    default = Project.objects.get(name="eu-west-101")
    response = post_change(operator, default, name="eu-west-101_other")
    assert response.status_code == 200 and "cannot be renamed" in response.content.decode()
    subproject = Project.objects.get(name="cn-north-4_dev")
    response = post_change(operator, subproject, name="eu-west-101_dev")
    assert response.status_code == 200 and "A subproject of cn-north-4 is named" in response.content.decode()
    assert Project.objects.filter(name__in=["eu-west-101", "cn-north-4_dev"]).count() == 2


def test_a_region_is_created_with_its_default_project(operator):
    response = operator.post(reverse("admin:accounts_region_add"), {"code": "af-south-1", "name": "AF-Johannesburg"})
    assert response.status_code == 302
    assert Project.objects.get(name="af-south-1").region.code == "af-south-1"


# Policies ------------------------------------------------------------------------------------

DOCUMENT = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]}


def test_a_stale_policy_form_is_refused_and_saves_nothing(operator):
    policy = services.policy_create(actor=None, name="Shared", document=DOCUMENT)
    stale = form_data(change_page(operator, policy), "policy", description="mine")
    assert stale["loaded_revision"] == "1"
    theirs = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:get"]}]}
    services.policy_update(actor=None, policy=policy, name="Shared", description="theirs", document=theirs,
                           expected_revision=1)
    response = operator.post(reverse("admin:accounts_policy_change", args=[policy.pk]), stale)
    assert response.status_code == 200
    assert "was changed by someone else" in response.content.decode()
    fresh = Policy.objects.get(pk=policy.pk)
    assert (fresh.description, fresh.document, fresh.revision) == ("theirs", theirs, 2)
    assert events(outcome="denied", action="iam:roles:updateRole", target_id=str(policy.pk)).exists()


def test_a_policy_form_without_its_revision_is_refused(operator):
    policy = services.policy_create(actor=None, name="Unversioned", document=DOCUMENT)
    data = form_data(change_page(operator, policy), "policy", description="blind", loaded_revision=None)
    response = operator.post(reverse("admin:accounts_policy_change", args=[policy.pk]), data)
    assert response.status_code == 200
    assert Policy.objects.get(pk=policy.pk).description == ""


def test_the_201st_custom_policy_is_a_form_error_not_a_500(operator):
    existing = Policy.objects.filter(is_system=False).count()
    Policy.objects.bulk_create(Policy(name=f"filler-{index}", document=DOCUMENT)
                               for index in range(MAX_CUSTOM_POLICIES - existing))
    response = operator.post(reverse("admin:accounts_policy_add"), {"name": "One too many", "description": "",
                                                                    "document": json.dumps(DOCUMENT)})
    assert response.status_code == 200
    assert "already has 200 custom policies" in response.content.decode()
    assert not Policy.objects.filter(name="One too many").exists()
    assert events(outcome="denied", action="iam:roles:createRole", target_repr="One too many").exists()


def test_a_member_added_in_the_admin_goes_through_the_service_and_is_audited(operator):
    group = services.group_create(actor=None, name="joiners")
    newcomer = User.objects.get(username="newcomer")
    response = post_change(operator, group, **{"memberships-TOTAL_FORMS": "1",
                                               "memberships-0-user": str(newcomer.pk)})
    assert response.status_code == 302
    assert Membership.objects.filter(group=group, user=newcomer).exists()
    event = events(outcome="allowed", action="iam:groups:addUserToGroup", target_id=str(group.pk)).get()
    assert event.details == {"after": {"member": "newcomer"}}


def test_an_image_is_shared_from_the_admin_through_the_service(operator):
    target = image("cn-north-4-ubuntu-system-00")
    consumer = Project.objects.get(name="eu-west-101")
    page = change_page(operator, target)
    total = form_data(page, "image")["members-TOTAL_FORMS"]
    response = post_change(operator, target, **{"members-TOTAL_FORMS": str(int(total) + 1),
                                                f"members-{total}-project": str(consumer.pk)})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert target.members.get(project=consumer).status == "pending"
    assert events(outcome="allowed", action="ims:images:share", target_id=str(target.pk)).exists()


def test_an_encrypted_image_cannot_be_shared_from_the_admin(operator):
    encrypted = Image.objects.filter(project__name="cn-north-4", image_type="private").exclude(
        encryption_key_id="").first()
    consumer = Project.objects.get(name="eu-west-101")
    total = form_data(change_page(operator, encrypted), "image")["members-TOTAL_FORMS"]
    response = post_change(operator, encrypted, **{"members-TOTAL_FORMS": str(int(total) + 1),
                                                   f"members-{total}-project": str(consumer.pk),
                                                   "description": "shared?"})
    assert response.status_code == 200
    assert "Encrypted images cannot be shared." in response.content.decode()
    assert not encrypted.members.filter(project=consumer).exists()
    assert Image.objects.get(pk=encrypted.pk).description != "shared?"
    assert events(outcome="denied", action="ims:images:share", target_id=str(encrypted.pk)).exists()


GRANTER = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": [
    "iam:permissions:listPermissions", "iam:permissions:grantPermission", "iam:groups:listGroups",
    "iam:groups:getGroup", "iam:roles:listRoles", "iam:roles:getRole"]}]}


def test_a_grant_of_permissions_the_actor_lacks_is_a_form_error_and_audited(client):
    policy = services.policy_create(actor=None, name="Granter", document=GRANTER)
    group = services.group_create(actor=None, name="granters")
    granter, _ = services.user_create(actor=None, username="granter", is_staff=True)
    services.group_add_member(actor=None, group=group, user=granter)
    services.grant_attach(actor=None, group=group, policies=[policy], all_resources=True)
    client.force_login(granter)
    response = client.post(reverse("admin:accounts_grant_add"), {
        "group": group.pk, "policy": Policy.objects.get(name="Security Administrator").pk, "all_resources": "on"})
    assert response.status_code == 200
    assert "errornote" in response.content.decode()
    assert not Grant.objects.filter(group=group, policy__name="Security Administrator").exists()
    assert events(outcome="denied", actor__username="granter", target_id=str(group.pk)).exists()


def test_a_grant_refused_by_a_state_rule_is_a_form_error_and_audited(operator, monkeypatch):
    from accounts.services import grants

    monkeypatch.setattr(grants, "MAX_GRANTS_PER_GROUP", 0)
    group = UserGroup.objects.get(name="viewers")
    response = operator.post(reverse("admin:accounts_grant_add"), {
        "group": group.pk, "policy": Policy.objects.get(name="IMS FullAccess").pk, "all_resources": "on"})
    assert response.status_code == 200
    assert "A group can hold at most 0 grants." in response.content.decode()
    assert events(outcome="denied", action="iam:permissions:grantPermission", target_id=str(group.pk)).exists()


def test_a_stale_image_form_is_refused_and_saves_nothing(operator):
    """Two operators load one image; the second save, from the older revision, changes nothing."""
    target = Image.objects.filter(image_type="private", status="active", protected=False).first()
    loaded = form_data(change_page(operator, target), "image", description="mine")
    services_image_update(target, description="theirs")
    response = operator.post(reverse("admin:images_image_change", args=[target.pk]), loaded)
    assert response.status_code == 200
    assert "changed by someone else" in response.content.decode()
    assert Image.objects.get(pk=target.pk).description == "theirs"


def services_image_update(image, **changes):
    from images import services as image_services

    image_services.image_update(actor=None, image=image, expected_revision=image.revision, **changes)
