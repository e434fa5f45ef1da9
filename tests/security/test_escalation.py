"""The no-escalation rule (issue 7, item 2), tried as an attacker would.

For every IAM action on its own, and for the Security Administrator, every known path to more
permissions is tried through the console: each is refused with 403 and a `denied` audit event,
and nothing changes. Positive controls prove the same paths work for who holds enough, so a
refusal here is the rule speaking, not a broken page.
"""

import json

import pytest
from django.db.models import Sum
from django.urls import reverse

from accounts import authz, services
from accounts.enforcement import Refused
from accounts.models import AuditEvent, Grant, Membership, Policy, User, UserGroup
from accounts.policy.catalogue import IAM_ACTIONS

PASSWORD = "attacker-pass-1"
WIDE_DOCUMENT = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["iam:*:*"]}]}


def solo_actor(action: str) -> User:
    """A staff user whose only permission is `action` (All resources), through its own group and policy."""
    policy = services.policy_create(actor=None, name="Solo", document={
        "Version": "1.1", "Statement": [{"Effect": "Allow", "Action": [action]}]})
    group = services.group_create(actor=None, name="solo")
    user, _ = services.user_create(actor=None, username="solo", password=PASSWORD, is_staff=True)
    services.group_add_member(actor=None, group=group, user=user)
    services.grant_attach(actor=None, group=group, policies=[policy], all_resources=True)
    return user


def snapshot() -> dict:
    """Everything the attacks aim at."""
    admin = User.objects.get(username="admin")
    return {
        "admin_members": sorted(Membership.objects.filter(group__name="admin").values_list("user__username",
                                                                                          flat=True)),
        "memberships": sorted(Membership.objects.values_list("group__name", "user__username")),
        "admin_password": admin.password,
        "ims_admin_password": User.objects.get(username="ims-admin").password,
        "admin_active": admin.is_active,
        "users": sorted(User.objects.values_list("username", flat=True)),
        "grants": sorted(Grant.objects.values_list("group__name", "policy__name")),
        "documents": {p.name: json.dumps(p.document, sort_keys=True) for p in Policy.objects.filter(is_system=False)},
    }


def attacks(actor: User) -> list[tuple[str, str, dict]]:
    """(what, URL, POST data) for every path to more permissions than the actor holds."""
    admin = User.objects.get(username="admin")
    ims_admin = User.objects.get(username="ims-admin")
    admin_group = UserGroup.objects.get(name="admin")
    ims_admins = UserGroup.objects.get(name="ims-admins")
    own_group = actor.iam_groups.exclude(name="admin").first()
    own_policy = Policy.objects.filter(grants__group=own_group, is_system=False).first()
    paths = [
        ("join the admin group (group page)", f"/iam/groups/{admin_group.pk}/members/add/", {"user": actor.pk}),
        ("join the admin group (user page)", f"/iam/users/{actor.pk}/groups/add/", {"group": admin_group.pk}),
        ("join a group holding more", f"/iam/groups/{ims_admins.pk}/members/add/", {"user": actor.pk}),
        ("set the admin's password", f"/iam/users/{admin.pk}/password/",
         {"password_mode": "set", "password1": PASSWORD, "password2": PASSWORD}),
        ("set the password of someone holding more", f"/iam/users/{ims_admin.pk}/password/",
         {"password_mode": "set", "password1": PASSWORD, "password2": PASSWORD}),
        ("deactivate the admin", f"/iam/users/{admin.pk}/active/", {"active": "0"}),
        ("delete the admin", f"/iam/users/{admin.pk}/delete/", {}),
        ("remove the admin from the admin group", f"/iam/groups/{admin_group.pk}/members/{admin.pk}/remove/", {}),
        ("attach IMS FullAccess to the own group", f"/iam/groups/{own_group.pk}/permissions/attach/",
         {"policies": Policy.objects.get(name="IMS FullAccess").pk, "scope": "all", "step": "confirm"}),
        ("attach Tenant Administrator to the own group", f"/iam/groups/{own_group.pk}/permissions/attach/",
         {"policies": Policy.objects.get(name="Tenant Administrator").pk, "scope": "all", "step": "confirm"}),
    ]
    if own_policy is not None:
        paths.append(("widen the own group's policy", f"/iam/policies/{own_policy.pk}/edit/",
                      {"name": own_policy.name, "description": "", "mode": "json",
                       "document": json.dumps(WIDE_DOCUMENT), "revision": own_policy.revision}))
    return paths


def refusals_recorded(actor) -> int:
    """Refusals audited for the actor, counting repeats merged onto one event."""
    events = AuditEvent.objects.filter(actor_name=actor.username, outcome="denied")
    return events.aggregate(total=Sum("repeat_count"))["total"] or 0


def try_every_attack(client, actor) -> list[str]:
    """Run every attack; return those that were not refused with 403 and a denied audit event."""
    failures = []
    # What one attack left is what the next one starts from: nothing but forgetting the actor's cached
    # permissions (in memory) comes between them, so the state read after one is the state before the next.
    paths = attacks(actor)
    denied, after = refusals_recorded(actor), snapshot()
    for what, url, data in paths:
        authz.forget(actor)
        before_denied, before = denied, after
        response = client.post(url, data)
        after = snapshot()
        denied = refusals_recorded(actor)
        if response.status_code != 403 or after != before or denied <= before_denied:
            failures.append(f"{what}: {response.status_code}, changed={after != before}, "
                            f"audited={denied > before_denied}")
    return failures


@pytest.mark.parametrize("action", sorted(a.name for a in IAM_ACTIONS))
def test_one_iam_action_opens_no_door(action, demo, client):
    actor = solo_actor(action)
    client.force_login(actor)
    assert try_every_attack(client, actor) == []


def test_the_security_administrator_manages_iam_but_does_not_become_the_administrator(demo, client):
    actor = User.objects.get(username="iam-admin")
    client.force_login(actor)
    assert try_every_attack(client, actor) == []
    # Positive controls: what it holds, it may hand over; whom it covers, it may manage.
    newcomer = User.objects.get(username="newcomer")
    response = client.post(f"/iam/users/{newcomer.pk}/password/",
                           {"password_mode": "set", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    iam_admins = UserGroup.objects.get(name="iam-admins")
    response = client.post(f"/iam/groups/{iam_admins.pk}/members/add/", {"user": newcomer.pk})
    assert response.status_code == 302 and iam_admins.memberships.filter(user=newcomer).exists()


def test_the_refusal_names_what_is_missing(demo, client):
    client.force_login(User.objects.get(username="iam-admin"))
    ims_admins = UserGroup.objects.get(name="ims-admins")
    newcomer = User.objects.get(username="newcomer")
    response = client.post(f"/iam/groups/{ims_admins.pk}/members/add/", {"user": newcomer.pk})
    text = response.content.decode()
    assert response.status_code == 403
    assert "hand over permissions you do not hold yourself" in text and "on All resources" in text
    event = AuditEvent.objects.filter(actor_name="iam-admin", outcome="denied").latest("pk")
    assert event.action == "iam:groups:addUserToGroup" and "ims:" in event.message


def test_an_admin_may_do_all_of_it(demo, client):
    """The same paths, as a member of the admin group: nothing here is refused by the rule."""
    admin = User.objects.get(username="admin")
    client.force_login(admin)
    newcomer = User.objects.get(username="newcomer")
    ims_admins = UserGroup.objects.get(name="ims-admins")
    assert client.post(f"/iam/groups/{ims_admins.pk}/members/add/", {"user": newcomer.pk}).status_code == 302
    ims_admin = User.objects.get(username="ims-admin")
    response = client.post(f"/iam/users/{ims_admin.pk}/password/",
                           {"password_mode": "set", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    admin_group = UserGroup.objects.get(name="admin")
    assert client.post(f"/iam/groups/{admin_group.pk}/members/add/", {"user": newcomer.pk}).status_code == 302
    assert admin_group.memberships.filter(user=newcomer).exists()


def test_widening_an_unattached_policy_is_not_a_grant(demo):
    """Editing a policy no group holds hands nothing over: an updateRole-only user may draft it."""
    actor = solo_actor("iam:roles:updateRole")
    draft = services.policy_create(actor=None, name="Draft", document={
        "Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["iam:users:listUsers"]}]})
    services.policy_update(actor=actor, policy=draft, name="Draft", description="", document=WIDE_DOCUMENT,
                           expected_revision=draft.revision)
    assert Policy.objects.get(name="Draft").document == WIDE_DOCUMENT


def test_lifting_a_deny_is_widening(demo):
    """Removing a Deny from an attached policy hands over what it denied."""
    actor = solo_actor("iam:roles:updateRole")
    deny = Policy.objects.get(name="DenyImageDeletion")  # attached to developers
    allow_only = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]}
    with pytest.raises(Refused):
        services.policy_update(actor=actor, policy=deny, name=deny.name, description="", document=allow_only,
                               expected_revision=deny.revision)
    assert Policy.objects.get(name="DenyImageDeletion").document == deny.document


def test_conditional_holdings_are_not_enough_to_give_away(demo):
    """An actor allowed only under a condition (or with a conditional Deny) does not hold the action outright."""
    images = services.policy_create(actor=None, name="MostlyIms", document={"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:*:*"]},
        {"Effect": "Deny", "Action": ["ims:images:delete"],
         "Condition": {"StringEquals": {"ims:ResourceTag/env": ["prod"]}}}]})
    membership = services.policy_create(actor=None, name="AddMembers", document={"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["iam:groups:addUserToGroup", "iam:accessRequests:create"]}]})
    group = services.group_create(actor=None, name="mostly")
    actor, _ = services.user_create(actor=None, username="mostly", password=PASSWORD)
    services.group_add_member(actor=None, group=group, user=actor)
    services.grant_attach(actor=None, group=group, policies=[images, membership], all_resources=True)
    newcomer = User.objects.get(username="newcomer")
    with pytest.raises(Refused):
        services.group_add_member(actor=actor, group=UserGroup.objects.get(name="ims-admins"), user=newcomer)
    viewers = UserGroup.objects.get(name="viewers")  # read-only: held outright, so it may be handed over
    services.group_add_member(actor=actor, group=viewers, user=newcomer)
    assert viewers.memberships.filter(user=newcomer).exists()


# --- the same doors through Django admin -------------------------------------------------------

def _admin_form(operator, obj, **overrides) -> dict:
    """The change form of `obj` as the administrator's browser would post it back."""
    from tests.admin.conftest import form_data

    page = operator.get(reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk]))
    return form_data(page, obj._meta.model_name, **overrides)


def admin_attacks(actor: User, operator) -> list[tuple[str, str, dict]]:
    admin = User.objects.get(username="admin")
    admin_group = UserGroup.objects.get(name="admin")
    joining = _admin_form(operator, admin_group)
    rows = int(joining["memberships-TOTAL_FORMS"])
    joining.update({"memberships-TOTAL_FORMS": str(rows + 1), f"memberships-{rows}-user": str(actor.pk),
                    f"memberships-{rows}-group": str(admin_group.pk)})
    return [
        ("admin: set the admin's password", reverse("admin:auth_user_password_change", args=[admin.pk]),
         {"password1": PASSWORD, "password2": PASSWORD}),
        ("admin: deactivate the admin", reverse("admin:accounts_user_change", args=[admin.pk]),
         _admin_form(operator, admin, is_active=None)),
        ("admin: join the admin group", reverse("admin:accounts_usergroup_change", args=[admin_group.pk]), joining),
        ("admin: bulk-delete the admin", reverse("admin:accounts_user_changelist"),
         {"action": "delete_selected", "post": "yes", "_selected_action": [str(admin.pk)]}),
    ]


def try_every_admin_attack(client, operator, actor) -> list[str]:
    """Django admin answers refusals as form errors or messages: what counts is no change, an audit, no 500."""
    failures = []
    paths = admin_attacks(actor, operator)  # the forms read first, as before
    denied, after = refusals_recorded(actor), snapshot()  # as in try_every_attack: one's after is the next's before
    for what, url, data in paths:
        authz.forget(actor)
        before_denied, before = denied, after
        response = client.post(url, data)
        after = snapshot()
        denied = refusals_recorded(actor)
        if response.status_code >= 500 or after != before or denied <= before_denied:
            failures.append(f"{what}: {response.status_code}, changed={after != before}")
    return failures


@pytest.fixture
def operator(demo):
    from django.test import Client

    operator = Client()
    operator.force_login(User.objects.get(username="admin"))
    return operator


@pytest.mark.parametrize("action", ["iam:users:updateUser", "iam:groups:addUserToGroup", "iam:users:deleteUser",
                                    "iam:roles:updateRole"])
def test_one_iam_action_opens_no_admin_door(action, operator, client):
    actor = solo_actor(action)
    client.force_login(actor)
    assert try_every_admin_attack(client, operator, actor) == []


def test_the_security_administrator_opens_no_admin_door(operator, client):
    actor = User.objects.get(username="iam-admin")
    actor.is_staff = True
    actor.save(update_fields=["is_staff"])
    client.force_login(actor)
    assert try_every_admin_attack(client, operator, actor) == []


# --- pages show what the server would allow --------------------------------------------------------

def test_a_group_whose_permissions_the_actor_lacks_offers_no_add(demo, as_user):
    page = as_user("iam-admin").get(f"/iam/groups/{UserGroup.objects.get(name='ims-admins').pk}/").content.decode()
    assert 'data-testid="add-members-refused"' in page and "ims:images:" in page
    assert 'data-action="iam:groups:addUserToGroup"' not in page
    own = as_user("iam-admin").get(f"/iam/groups/{UserGroup.objects.get(name='iam-admins').pk}/").content.decode()
    assert 'data-testid="add-members"' in own and 'data-testid="add-members-refused"' not in own


def test_the_admin_group_page_disables_remove_for_non_members(demo, as_user):
    admin_group = UserGroup.objects.get(name="admin")
    page = as_user("iam-admin").get(f"/iam/groups/{admin_group.pk}/").content.decode()
    assert 'data-action="iam:groups:removeUserFromGroup"' not in page
    assert "Only members of the admin group can change the members of the admin group." in page
    assert 'data-action="iam:groups:removeUserFromGroup"' in as_user("admin").get(
        f"/iam/groups/{admin_group.pk}/").content.decode()


def test_an_account_holding_more_cannot_be_managed_from_its_page(demo, as_user):
    admin = User.objects.get(username="admin")
    page = as_user("iam-admin").get(f"/iam/users/{admin.pk}/").content.decode()
    assert 'data-testid="account-refusal"' in page
    assert f'href="/iam/users/{admin.pk}/password/"' not in page and f'href="/iam/users/{admin.pk}/delete/"' not in page
    assert f'action="/iam/users/{admin.pk}/active/"' not in page
    assert f'href="/iam/users/{admin.pk}/edit/"' not in page  # only admin members touch an admin's account
    newcomer = User.objects.get(username="newcomer")
    free = as_user("iam-admin").get(f"/iam/users/{newcomer.pk}/").content.decode()
    assert 'data-testid="account-refusal"' not in free and f'href="/iam/users/{newcomer.pk}/password/"' in free


def test_the_user_page_offers_only_groups_the_actor_may_hand_over(demo, as_user):
    import re

    newcomer = User.objects.get(username="newcomer")
    page = as_user("iam-admin").get(f"/iam/users/{newcomer.pk}/").content.decode()
    offered = set(re.findall(r'<option value="\d+">([^<]+)</option>', page))
    assert offered == {"iam-admins"}
    assert 'data-testid="withheld-groups"' in page
    everything = as_user("admin").get(f"/iam/users/{newcomer.pk}/").content.decode()
    assert {"admin", "ims-admins", "viewers", "iam-admins"} <= set(re.findall(r'<option value="\d+">([^<]+)</option>',
                                                                             everything))


def test_a_refused_policy_edit_keeps_the_editors_text(demo, client):
    actor = solo_actor("iam:roles:updateRole")
    client.force_login(actor)
    own = Policy.objects.get(name="Solo")
    response = client.post(f"/iam/policies/{own.pk}/edit/", {
        "name": "Solo", "description": "", "mode": "json", "document": json.dumps(WIDE_DOCUMENT),
        "revision": own.revision})
    text = response.content.decode()
    assert response.status_code == 403
    assert "would hand over permissions you do not hold yourself" in text
    assert "iam:*:*" in text  # the typed document is still in the editor
    assert Policy.objects.get(name="Solo").document == own.document


# --- resetting another person's MFA is acting on their account -----------------------------------

def _with_mfa(username: str) -> User:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = User.objects.get(username=username)
    TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    return user


def test_an_administrator_resets_the_mfa_of_someone_it_covers(demo, as_user):
    from accounts import mfa

    newcomer = _with_mfa("newcomer")
    browser = as_user("iam-admin")
    page = browser.get(f"/iam/users/{newcomer.pk}/").content.decode()
    assert "Reset MFA" in page and 'data-testid="subject-mfa">On' in page
    response = browser.post(f"/iam/users/{newcomer.pk}/mfa/reset/", follow=True)
    assert "MFA of newcomer reset" in response.content.decode()
    assert not mfa.has_mfa(newcomer)
    event = AuditEvent.objects.filter(action="iam:users:updateUser", target_id=str(newcomer.pk)).latest("pk")
    assert event.outcome == "allowed" and "MFA reset" in event.message


@pytest.mark.parametrize("target", ["admin", "ims-admin"])
def test_nobody_strips_the_mfa_of_someone_holding_more(demo, as_user, target):
    from accounts import mfa

    holder = _with_mfa(target)
    browser = as_user("iam-admin")
    assert "Reset MFA" not in browser.get(f"/iam/users/{holder.pk}/").content.decode()
    response = browser.post(f"/iam/users/{holder.pk}/mfa/reset/")
    assert response.status_code == 403 and mfa.has_mfa(holder)
    assert AuditEvent.objects.filter(actor_name="iam-admin", outcome="denied", target_id=str(holder.pk)).exists()


def test_mfa_reset_needs_update_user(demo, as_user):
    from accounts import mfa

    newcomer = _with_mfa("newcomer")
    assert as_user("viewer").post(f"/iam/users/{newcomer.pk}/mfa/reset/").status_code == 403
    assert mfa.has_mfa(newcomer)


# --- taking a Deny away is handing over what it refused ----------------------------------------

def _developers():
    return UserGroup.objects.get(name="developers")


def test_detaching_a_deny_is_handing_over_what_it_refused(demo, as_user):
    """iam-admin may revoke grants, but detaching DenyImageDeletion would give developers delete."""
    deny = Policy.objects.get(name="DenyImageDeletion")
    browser = as_user("iam-admin")
    page = browser.get(f"/iam/groups/{_developers().pk}/permissions/").content.decode()
    assert 'data-testid="detach-refusal"' in page and "lifts Deny statements" in page
    confirm = browser.get(f"/iam/groups/{_developers().pk}/permissions/detach/", {"policies": deny.pk})
    assert 'data-testid="detach-refused"' in confirm.content.decode()
    response = browser.post(f"/iam/groups/{_developers().pk}/permissions/detach/", {"policies": deny.pk})
    assert response.status_code == 403
    assert _developers().grants.filter(policy=deny).exists()
    assert AuditEvent.objects.filter(actor_name="iam-admin", outcome="denied",
                                     action="iam:permissions:revokePermission").exists()


def test_leaving_a_group_that_holds_a_deny_is_handing_over(demo, as_user):
    developer = User.objects.get(username="developer")
    browser = as_user("iam-admin")
    page = browser.get(f"/iam/groups/{_developers().pk}/").content.decode()
    assert 'data-action="iam:groups:removeUserFromGroup"' not in page and "lifts Deny statements" in page
    assert browser.post(f"/iam/groups/{_developers().pk}/members/{developer.pk}/remove/").status_code == 403
    assert _developers().memberships.filter(user=developer).exists()


def test_deleting_a_group_that_holds_a_deny_is_handing_over(demo, as_user):
    browser = as_user("iam-admin")
    confirm = browser.get(f"/iam/groups/{_developers().pk}/delete/").content.decode()
    assert 'data-testid="delete-refused"' in confirm
    assert browser.post(f"/iam/groups/{_developers().pk}/delete/").status_code == 403
    assert UserGroup.objects.filter(name="developers").exists()


def test_whoever_holds_what_the_deny_refused_may_lift_it(demo, as_user):
    deny = Policy.objects.get(name="DenyImageDeletion")
    response = as_user("admin").post(f"/iam/groups/{_developers().pk}/permissions/detach/", {"policies": deny.pk})
    assert response.status_code == 302 and not _developers().grants.filter(policy=deny).exists()
