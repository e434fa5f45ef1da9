"""The administrator's identity (issue 19, item 1): only members of the built-in admin group act on an
admin member's account or on the admin group, for every attribute and through every door; and a user
name is an identity, which never changes and is never handed to someone else.

Each case is one attribute through one door: the console's forms, Django admin's change forms, and
the import (accounts.iac.apply_configuration, the service the console's Import and `iam_apply` use).
The decision API changes no user or group, so it is no door here. Two attackers try each case — the
Security Administrator (`iam-admin`) and a staff user holding nothing but the action the door needs —
and are refused with nothing changed; `admin` makes the same change (except a user name, which nobody
changes). The target is `admin2`, a second member of the admin group, so that `admin` acting on it is
not acting on itself.
"""

import json
import re

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import iac, services
from accounts.models import AuditEvent, Membership, Policy, User, UserGroup
from tests.admin.conftest import form_data
from tests.scoped_rows import made_for_the_scope

PASSWORD = "Identity-pass-1234"
ATTACKERS = ["iam-admin", "holder-of-the-action"]


@pytest.fixture(scope="module")
def made_once(django_db_setup, django_db_blocker):
    """The world below, made once for the module in a transaction around its tests and rolled back after them
    (each test still rolls back its own changes, in the savepoint pytest-django opens inside it). Every test of
    the module uses it. Process caches are keyed by a random stamp each change renews (accounts/process_cache.py),
    so nothing one test cached outlives its rollback."""
    with made_for_the_scope(django_db_blocker, make_the_world):
        yield


@pytest.fixture
def world(made_once, demo):
    """admin2 (an admin member, also in `plain-out`), and two groups without grants anyone may fill."""
    return admin2()


def make_the_world():
    admin2, _ = services.user_create(actor=None, username="admin2", password=PASSWORD, email="admin2@example.com",
                                     first_name="Ada", last_name="Second", is_staff=True)
    services.group_add_member(actor=None, group=UserGroup.objects.get(name="admin"), user=admin2)
    services.group_create(actor=None, name="plain-in", description="no grants")
    plain_out = services.group_create(actor=None, name="plain-out", description="no grants")
    services.group_add_member(actor=None, group=plain_out, user=admin2)
    # A policy each attacker holds outright, so that attaching it hands nothing over: only the admin
    # group's rule can refuse attaching it there.
    services.policy_create(actor=None, name="Attachable", document={
        "Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["iam:permissions:grantPermission"]}]})
    iam_admin = User.objects.get(username="iam-admin")
    iam_admin.is_staff = True  # so that Django admin is a door for it too
    iam_admin.save(update_fields=["is_staff"])


def holder_of(actions) -> User:
    """A staff user whose only permissions are `actions` (All resources), through its own group and policy."""
    policy = services.policy_create(actor=None, name="OnlyTheAction", document={
        "Version": "1.1", "Statement": [{"Effect": "Allow", "Action": list(actions)}]})
    group = services.group_create(actor=None, name="holders")
    user, _ = services.user_create(actor=None, username="holder", password=PASSWORD, is_staff=True)
    services.group_add_member(actor=None, group=group, user=user)
    services.grant_attach(actor=None, group=group, policies=[policy], all_resources=True)
    return user


def actor_for(name, actions) -> User:
    if name == "holder-of-the-action":
        return holder_of(actions)
    return User.objects.get(username=name)


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def admin2():
    return User.objects.get(username="admin2")


def admin_group():
    return UserGroup.objects.get(name="admin")


def groups_of(user):
    return sorted(Membership.objects.filter(user=user).values_list("group__name", flat=True))


def revision_of(obj) -> str:
    return str(getattr(obj, "revision", 1))


# --- what each attribute looks like, and the change each door tries --------------------------------------

def observe(attribute):
    """The attribute's stored value, as the person would notice it."""
    target = admin2()
    if attribute == "username":
        return sorted(User.objects.values_list("username", flat=True))
    if attribute == "password":
        return target.password
    if attribute == "mfa":
        return TOTPDevice.objects.filter(user=target).count()
    if attribute in ("membership add", "membership remove"):
        return groups_of(target)
    if attribute == "admin group description":
        return admin_group().description
    if attribute == "admin group name":
        return sorted(UserGroup.objects.values_list("name", flat=True))
    if attribute in ("admin group member add", "admin group member remove"):
        return sorted(admin_group().members.values_list("username", flat=True))
    if attribute == "admin group grants":
        return sorted(admin_group().grants.values_list("policy__name", flat=True))
    return getattr(target, attribute)


USER_EDIT = {"username": "admin", "email": "mine@example.com", "first_name": "Mallory", "last_name": "Taken"}


def console(attribute, client):
    """One POST of the console, as the page would send it; returns the response."""
    target, group = admin2(), admin_group()
    if attribute in USER_EDIT:
        data = {"username": target.username, "email": target.email, "first_name": target.first_name,
                "last_name": target.last_name, "revision": revision_of(target), attribute: USER_EDIT[attribute]}
        return client.post(f"/iam/users/{target.pk}/edit/", data)
    if attribute == "is_active":
        return client.post(f"/iam/users/{target.pk}/active/", {"active": "0"})
    if attribute == "password":
        return client.post(f"/iam/users/{target.pk}/password/", {"password_mode": "set", "password1": "Taken-over-9876",
                                                                "password2": "Taken-over-9876"})
    if attribute == "mfa":
        return client.post(f"/iam/users/{target.pk}/mfa/reset/")
    if attribute == "membership add":
        return client.post(f"/iam/users/{target.pk}/groups/add/", {"group": UserGroup.objects.get(name="plain-in").pk})
    if attribute == "membership remove":
        return client.post(f"/iam/users/{target.pk}/groups/{UserGroup.objects.get(name='plain-out').pk}/remove/")
    if attribute in ("admin group description", "admin group name"):
        data = {"name": "admin", "description": group.description, "revision": revision_of(group)}
        data.update({"description": "Taken over"} if attribute.endswith("description") else {"name": "old-admin"})
        return client.post(f"/iam/groups/{group.pk}/edit/", data)
    if attribute == "admin group member add":
        return client.post(f"/iam/groups/{group.pk}/members/add/", {"user": User.objects.get(username="newcomer").pk})
    if attribute == "admin group member remove":
        return client.post(f"/iam/groups/{group.pk}/members/{target.pk}/remove/")
    if attribute == "admin group grants":
        return client.post(f"/iam/groups/{group.pk}/permissions/attach/",
                           {"step": "confirm", "policies": Policy.objects.get(name="Attachable").pk, "scope": "all"})
    raise AssertionError(attribute)


ADMIN_USER_EDIT = {"username": "admin", "email": "mine@example.com", "first_name": "Mallory", "last_name": "Taken",
                   "is_staff": None, "is_active": None}


def django_admin(attribute, client):
    """One POST of Django admin's change form, drawn for the operator and sent by `client`."""
    operator = browser_for(User.objects.get(username="admin"))
    target, group = admin2(), admin_group()
    if attribute in ADMIN_USER_EDIT:
        url = f"/admin/accounts/user/{target.pk}/change/"
        data = form_data(operator.get(url), "user")
        data.update(username="admin")  # read-only for everyone now: a posted value must change nothing
        if attribute != "username":
            data.update(username=target.username)
            if ADMIN_USER_EDIT[attribute] is None:
                data.pop(attribute, None)  # an unticked box
            else:
                data[attribute] = ADMIN_USER_EDIT[attribute]
        return client.post(url, data)
    if attribute == "password":
        return client.post(f"/admin/accounts/user/{target.pk}/password/",
                           {"password1": "Taken-over-9876", "password2": "Taken-over-9876"})
    if attribute == "admin group grants":
        return client.post("/admin/accounts/grant/add/", {"group": group.pk, "policy": Policy.objects.get(
            name="Attachable").pk, "all_resources": "on", "_save": "Save"})
    url = f"/admin/accounts/usergroup/{group.pk}/change/"
    data = form_data(operator.get(url), "usergroup")
    if attribute == "admin group description":
        data["description"] = "Taken over"
    elif attribute == "admin group member add":
        total = int(data["memberships-TOTAL_FORMS"])
        data.update({"memberships-TOTAL_FORMS": str(total + 1), f"memberships-{total}-user":
                     str(User.objects.get(username="newcomer").pk), f"memberships-{total}-group": str(group.pk)})
    elif attribute == "admin group member remove":
        index = next(key for key, value in data.items() if re.fullmatch(r"memberships-\d+-id", key) and
                     Membership.objects.get(pk=value).user_id == target.pk)
        data[index.replace("-id", "-DELETE")] = "on"
    return client.post(url, data)


IMPORT_USER_EDIT = {"email": "mine@example.com", "first_name": "Mallory", "last_name": "Taken", "is_staff": False,
                    "is_active": False}


def imported(attribute, actor):
    """Apply the stored configuration with one change, as `actor`; True when it was applied."""
    data = json.loads(iac.export_text())
    user_entry = next(u for u in data["users"] if u["username"] == "admin2")
    group_entry = next(g for g in data["groups"] if g["name"] == "admin")
    if attribute in IMPORT_USER_EDIT:
        user_entry[attribute] = IMPORT_USER_EDIT[attribute]
    elif attribute == "admin group description":
        group_entry["description"] = "Taken over"
    elif attribute == "admin group member add":
        group_entry["members"].append("newcomer")
    elif attribute == "admin group member remove":
        group_entry["members"].remove("admin2")
    elif attribute == "membership add":
        next(g for g in data["groups"] if g["name"] == "plain-in")["members"].append("admin2")
    elif attribute == "membership remove":
        next(g for g in data["groups"] if g["name"] == "plain-out")["members"].remove("admin2")
    elif attribute == "admin group grants":
        data["grants"].append({"group": "admin", "policy": "Attachable", "scope": "all_resources"})
    else:
        raise AssertionError(attribute)
    try:
        iac.apply_configuration(iac.parse_text(json.dumps(data)), actor=actor, prune=attribute.endswith("remove"))
    except iac.DocumentError as error:
        return error.errors
    return None


# Attaching needs the grant action, and holding what is attached (the holder's own policy, IAM only).
GRANTING = ["iam:permissions:grantPermission", "iam:roles:listRoles"]

# (door, attribute, the actions the door needs, whether admin's own attempt changes it)
CASES = [
    *[("console", a, ["iam:users:updateUser"], a != "username") for a in USER_EDIT],
    ("console", "is_active", ["iam:users:updateUser"], True),
    ("console", "password", ["iam:users:updateUser"], True),
    ("console", "mfa", ["iam:users:updateUser"], True),
    ("console", "membership add", ["iam:groups:addUserToGroup"], True),
    ("console", "membership remove", ["iam:groups:removeUserFromGroup"], True),
    ("console", "admin group description", ["iam:groups:updateGroup"], True),
    ("console", "admin group name", ["iam:groups:updateGroup"], False),
    ("console", "admin group member add", ["iam:groups:addUserToGroup"], True),
    ("console", "admin group member remove", ["iam:groups:removeUserFromGroup"], True),
    ("console", "admin group grants", GRANTING, True),
    *[("django admin", a, ["iam:users:updateUser"], a != "username") for a in ADMIN_USER_EDIT],
    ("django admin", "password", ["iam:users:updateUser"], True),
    ("django admin", "admin group description", ["iam:groups:updateGroup"], True),
    ("django admin", "admin group member add", ["iam:groups:addUserToGroup", "iam:groups:updateGroup"], True),
    ("django admin", "admin group member remove", ["iam:groups:removeUserFromGroup", "iam:groups:updateGroup"], True),
    ("django admin", "admin group grants", GRANTING, True),
    *[("import", a, ["iam:users:updateUser"], True) for a in IMPORT_USER_EDIT],
    ("import", "membership add", ["iam:groups:addUserToGroup"], True),
    ("import", "membership remove", ["iam:groups:removeUserFromGroup"], True),
    ("import", "admin group description", ["iam:groups:updateGroup"], True),
    ("import", "admin group member add", ["iam:groups:addUserToGroup"], True),
    ("import", "admin group member remove", ["iam:groups:removeUserFromGroup"], True),
    ("import", "admin group grants", GRANTING, True),
]


def case_id(case):
    return f"{case[0]}-{case[1]}".replace(" ", "_")


def give_mfa(user):
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)


def attempt(door, attribute, actor):
    """Try the change; returns how the door answered (status code, or the import's errors)."""
    if door == "console":
        return console(attribute, browser_for(actor)).status_code
    if door == "django admin":
        response = django_admin(attribute, browser_for(actor))
        errors = re.findall(r'class="errornote"|class="errorlist', response.content.decode())
        return response.status_code if response.status_code != 200 else ("form error" if errors else 200)
    return imported(attribute, actor)


@pytest.mark.parametrize("attacker", ATTACKERS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_only_admin_members_act_on_an_admin_members_account_or_the_admin_group(world, attacker, case):
    door, attribute, actions, _ = case
    actor = actor_for(attacker, actions)
    if attribute == "mfa":
        give_mfa(admin2())
    before = observe(attribute)
    answer = attempt(door, attribute, actor)
    assert observe(attribute) == before, f"{attacker} changed {attribute} of admin2 through {door}"
    if door == "import":
        assert answer, "the import was applied"
        assert "admin" in " ".join(message for _, message in answer)
    elif door == "django admin":
        assert answer in (403, "form error"), answer
    else:
        assert answer == 403, answer
    assert AuditEvent.objects.filter(actor=actor, outcome="denied").exists() or door == "django admin"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_an_admin_member_makes_the_same_change(world, case):
    door, attribute, _, changes = case
    actor = User.objects.get(username="admin")
    if attribute == "mfa":
        give_mfa(admin2())
    before = observe(attribute)
    answer = attempt(door, attribute, actor)
    if changes:
        assert observe(attribute) != before, f"admin could not change {attribute} through {door}: {answer}"
    else:
        assert observe(attribute) == before


# --- a user name is an identity ----------------------------------------------------------------------------

def test_the_takeover_of_the_issue_is_refused_at_every_step(world, as_user):
    """A user holding only iam:users:updateUser renamed `admin`, then itself to `admin`."""
    holder = holder_of(["iam:users:updateUser"])
    admin = User.objects.get(username="admin")
    browser = browser_for(holder)
    first = browser.post(f"/iam/users/{admin.pk}/edit/", {"username": "old-admin", "email": admin.email,
                                                          "revision": revision_of(admin)})
    second = browser.post(f"/iam/users/{holder.pk}/edit/", {"username": "admin", "revision": revision_of(holder)})
    assert first.status_code == 403
    assert second.status_code in (200, 302, 422)
    assert User.objects.get(pk=admin.pk).username == "admin"
    assert User.objects.get(pk=holder.pk).username == "holder"


def test_a_user_name_cannot_change_through_the_service_even_for_an_administrator(world):
    from django.core.exceptions import ValidationError

    for actor in (None, User.objects.get(username="admin")):
        with pytest.raises(ValidationError) as caught:
            services.user_update(actor=actor, user=User.objects.get(username="newcomer"), username="newbie")
        assert "cannot change" in " ".join(caught.value.messages)
    assert User.objects.filter(username="newcomer").exists() and not User.objects.filter(username="newbie").exists()


def test_the_edit_pages_show_the_user_name_read_only(world, as_user):
    newcomer = User.objects.get(username="newcomer")
    console_page = as_user("admin").get(f"/iam/users/{newcomer.pk}/edit/").content.decode()
    field = re.search(r'<input[^>]*name="username"[^>]*>', console_page).group(0)
    assert "disabled" in field or "readonly" in field
    admin_page = as_user("admin").get(f"/admin/accounts/user/{newcomer.pk}/change/").content.decode()
    assert 'name="username"' not in admin_page and "newcomer" in admin_page


def test_a_deleted_users_name_is_not_given_to_someone_new(world, as_user):
    """Within the audit's keeping (it keeps every event), the name still means the person who was deleted."""
    browser = as_user("admin")
    newcomer = User.objects.get(username="newcomer")
    services.user_delete(actor=User.objects.get(username="admin"), user=newcomer)

    page = browser.post("/iam/users/new/", {"username": "Newcomer", "password_mode": "generate", "is_active": "on"})
    assert page.status_code == 422
    assert "belonged to a deleted user" in page.content.decode()
    admin_page = browser.post("/admin/accounts/user/add/", {"username": "newcomer", "password1": PASSWORD,
                                                            "password2": PASSWORD, "_save": "Save"})
    assert admin_page.status_code == 200 and "belonged to a deleted user" in admin_page.content.decode()
    data = json.loads(iac.export_text())
    data["users"].append({"username": "newcomer"})
    with pytest.raises(iac.DocumentError) as caught:
        iac.apply_configuration(iac.parse_text(json.dumps(data)), actor=User.objects.get(username="admin"))
    assert "belonged to a deleted user" in caught.value.errors[0][1]
    assert not User.objects.filter(username__iexact="newcomer").exists()
    # A name nobody had is free.
    assert browser.post("/iam/users/new/", {"username": "newcomer2", "password_mode": "generate",
                                            "is_active": "on"}).status_code == 302


def test_the_pages_offer_no_change_to_an_admin_member_or_the_admin_group_to_others(world, as_user):
    target, group = admin2(), admin_group()
    browser = as_user("iam-admin")
    page = browser.get(f"/iam/users/{target.pk}/").content.decode()
    assert f'href="/iam/users/{target.pk}/edit/"' not in page
    assert "Only members of the admin group can act on the account of a member of the admin group." in page
    assert 'name="group"' not in page  # no "add to a group" form for its account
    edit = browser.get(f"/iam/users/{target.pk}/edit/")
    assert edit.status_code == 403 and "Only members of the admin group" in edit.content.decode()
    header = browser.get(f"/iam/groups/{group.pk}/").content.decode()
    assert f'href="/iam/groups/{group.pk}/edit/"' not in header and 'data-testid="edit-refusal"' in header
    assert browser.get(f"/iam/groups/{group.pk}/edit/").status_code == 403
    permissions = browser.get(f"/iam/groups/{group.pk}/permissions/").content.decode()
    assert f'href="/iam/groups/{group.pk}/permissions/attach/"' not in permissions
    plain_out, plain_in = UserGroup.objects.get(name="plain-out"), UserGroup.objects.get(name="plain-in")
    members = browser.get(f"/iam/groups/{plain_out.pk}/").content.decode()
    assert f'action="/iam/groups/{plain_out.pk}/members/{target.pk}/remove/"' not in members
    candidates = browser.get(f"/iam/groups/{plain_in.pk}/members/candidates/?q=admin2").content.decode()
    assert 'data-candidate="admin2"' in candidates and f'value="{target.pk}"' not in candidates
    admin_page = browser.get(f"/admin/accounts/user/{target.pk}/change/").content.decode()
    assert 'name="email"' not in admin_page  # shown read-only
    # An administrator gets every control.
    own = as_user("admin")
    assert f'href="/iam/users/{target.pk}/edit/"' in own.get(f"/iam/users/{target.pk}/").content.decode()
    assert f'href="/iam/groups/{group.pk}/edit/"' in own.get(f"/iam/groups/{group.pk}/").content.decode()
    assert 'name="email"' in own.get(f"/admin/accounts/user/{target.pk}/change/").content.decode()
    assert f'action="/iam/groups/{plain_out.pk}/members/{target.pk}/remove/"' in own.get(
        f"/iam/groups/{plain_out.pk}/").content.decode()


def test_model_validation_refuses_another_user_name(world):
    from django.core.exceptions import ValidationError

    newcomer = User.objects.get(username="newcomer")
    newcomer.username = "newbie"
    with pytest.raises(ValidationError) as caught:
        newcomer.full_clean()
    assert "cannot change" in " ".join(caught.value.message_dict["username"])
