"""Issue 19, item 5: every page that says who holds what (users and groups by name, and their decisions)
needs what who-can needs (iam:users:listUsers and iam:permissions:listPermissions); without it, it gives
counts. One function decides, accounts.who_can.may_see_names: switching it off for the administrator
hides the names on every such page, which shows that every page asks it."""

import pytest

from accounts import iac, services, who_can
from accounts.iam.who_can_views import WHO_CAN_ACTIONS
from accounts.models import Grant, Policy, User, UserGroup

ROLE_EDITOR = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": [
    "iam:roles:updateRole", "iam:roles:getRole", "iam:roles:listRoles", "iam:roles:deleteRole"]}]}
HALF_READER = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": [
    "iam:roles:updateRole", "iam:roles:getRole", "iam:roles:listRoles", "iam:roles:deleteRole",
    "iam:permissions:listPermissions"]}]}
SOFT = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]}
# What the pages must not say to someone without the who-can actions: the member and the group
# holding DenyImageDeletion (developers in cn-north-4_dev).
NAMES = ('data-user="developer"', ">developer<", "developer,", "developers")


def _persona(username, document):
    policy = services.policy_create(actor=None, name=f"{username} policy", description="", document=document)
    group = services.group_create(actor=None, name=f"{username} group")
    user, _ = services.user_create(actor=None, username=username, password="x-pass-1234567")
    services.group_add_member(actor=None, group=group, user=user)
    services.grant_attach(actor=None, group=group, policies=[policy], all_resources=True)
    return user


@pytest.fixture
def deny_with_history(demo):
    """DenyImageDeletion (attached to developers) with revision 1 denying nothing: restoring it changes
    the developer's image deletion."""
    policy = Policy.objects.get(name="DenyImageDeletion")
    current = policy.document
    services.policy_update(actor=None, policy=policy, name=policy.name, description="softened", document=SOFT,
                           expected_revision=policy.revision)
    policy.refresh_from_db()
    services.policy_update(actor=None, policy=policy, name=policy.name, description="", document=current,
                           expected_revision=policy.revision)
    policy.refresh_from_db()
    return policy


def _pages(policy):
    developers = UserGroup.objects.get(name="developers")
    return {
        "restore review": f"/iam/policies/{policy.pk}/restore/?number={policy.revision - 1}",
        "policy detail": f"/iam/policies/{policy.pk}/",
        "delete review": f"/iam/policies/{policy.pk}/delete/",
        "grant grid of the policy": f"/iam/simulator/grants/?policy={policy.pk}",
        "grant grid of the group": f"/iam/simulator/grants/?group={developers.pk}",
        "simulator's users": "/iam/simulator/effective/",
        "unused-permissions report": "/iam/unused/",
        "simulator for a user": "/iam/simulator/effective/?user=developer",
        "simulate a user": "/iam/simulator/?subject=user&user=developer&actions=ims:images:delete"
                           "&project=cn-north-4_dev",
    }


def _named(text: str) -> list[str]:
    return [name for name in NAMES if name in text]


def test_the_restore_review_gives_counts_without_the_who_can_actions(deny_with_history, client):
    """The issue's case: iam:roles:updateRole and getRole only."""
    client.force_login(_persona("role-editor", ROLE_EDITOR))
    response = client.get(_pages(deny_with_history)["restore review"])
    assert response.status_code == 200
    text = response.content.decode()
    assert _named(text) == [], text
    assert 'data-testid="impact-counts"' in text
    assert "1 group" in text and "1 user" in text  # what changes, and for how many
    assert 'data-action="ims:images:delete"' in text  # the decision that changes is still said


def test_the_administrator_sees_the_names(deny_with_history, as_user):
    client = as_user("iam-admin")
    text = client.get(_pages(deny_with_history)["restore review"]).content.decode()
    assert 'data-user="developer"' in text and "developers" in text


@pytest.mark.parametrize("document", [ROLE_EDITOR, HALF_READER], ids=["roles only", "without listUsers"])
def test_no_page_names_holders_without_both_who_can_actions(deny_with_history, client, document):
    client.force_login(_persona("someone", document))
    can_grid = "iam:permissions:listPermissions" in document["Statement"][0]["Action"]
    leaks = {}
    for page, url in _pages(deny_with_history).items():
        response = client.get(url)
        if page.startswith(("grant grid", "simulat", "unused")) and not can_grid:
            assert response.status_code == 403, page
            continue
        assert response.status_code in (200, 403, 404, 422), (page, response.status_code)
        named = _named(response.content.decode())
        if named:
            leaks[page] = named
    assert leaks == {}


def test_one_function_decides_for_every_page(deny_with_history, as_user, monkeypatch):
    """Switched off, may_see_names hides the holders on every page, even from the administrator."""
    client = as_user("iam-admin")
    pages = _pages(deny_with_history)
    shown = {page: _named(client.get(url).content.decode()) for page, url in pages.items()}
    assert all(shown.values()), shown  # each page names them when allowed
    monkeypatch.setattr(who_can, "may_see_names", lambda authorization: False)
    hidden = {page: _named(client.get(url).content.decode()) for page, url in pages.items()}
    assert hidden == {page: [] for page in pages}


def test_the_rule_is_who_cans_and_the_plan_page_needs_it_already():
    assert set(who_can.NAMES_ACTIONS) == set(WHO_CAN_ACTIONS)
    # The IAM-as-code plan names users whose permissions change: its page needs every read, these included.
    assert set(who_can.NAMES_ACTIONS) <= set(iac.EXPORT_ACTIONS)


def test_may_see_names_asks_the_engine(demo):
    from accounts import authz

    assert who_can.may_see_names(authz.authorization_for(User.objects.get(username="iam-admin")))
    assert not who_can.may_see_names(authz.authorization_for(User.objects.get(username="viewer")))
    assert not who_can.may_see_names(None)
    assert Grant.objects.filter(policy__name="DenyImageDeletion").exists()
