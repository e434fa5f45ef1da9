"""Each confirmation's impact preview equals a brute force: every user's decision of every catalogued
action in every project by the engine before, the change made by its service in a transaction, every
decision again, the transaction rolled back — on the demo account and on seeded random accounts."""

from datetime import UTC, datetime
from functools import partial
from unittest import mock

import pytest
from django.db import transaction

from accounts import authz, impact, services, who_can
from accounts.models import Grant, Membership, Policy, Project, User, UserGroup
from accounts.policy import ACTIONS, SERVICES
from tests.accounts.test_change_impact import seeded_account

pytestmark = pytest.mark.sweep
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def frozen_clock():
    """One engine clock for the preview and the brute force (grants that end, g:CurrentTime)."""
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        yield


def decisions() -> dict:
    """(user, action, project) -> the engine's answer as the impact labels it, for every user."""
    projects = list(Project.objects.order_by("name").values_list("name", flat=True))
    stamp = authz.current_stamp()
    found = {}
    for user in User.objects.all():
        authorization = authz.Authorization(authz.load_grants(user, stamp, NOW), now=NOW)
        for action in ACTIONS:
            for project in [None] if SERVICES[action.service].is_global else projects:
                explanation = authorization.decide(action.name, project)
                conditional = bool(authorization.conditional_effects(action.name, project))
                found[(user.username, action.name, project)] = who_can.decision_label(explanation, conditional)
    return found


class _Undo(Exception):
    pass


_unchanged: dict[str, dict] = {}  # the test's decisions before any change: every change is rolled back


@pytest.fixture(autouse=True)
def every_change_rolled_back(db):
    """The brute force reads the account's decisions once per test (each change is undone, so each
    `before` is the same), and checks at the end that the account decides as it did at the start."""
    _unchanged.clear()
    yield
    if "decisions" in _unchanged:
        assert decisions() == _unchanged["decisions"]  # every change rolled back
    _unchanged.clear()


def brute_force(change) -> set:
    """(user, action, project, before, after) for every decision `change()` changes, the change undone."""
    if "decisions" not in _unchanged:
        _unchanged["decisions"] = decisions()
    before = _unchanged["decisions"]
    after = None
    try:
        with transaction.atomic():
            change()
            after = decisions()
            raise _Undo
    except _Undo:
        pass
    return {(*key, before[key], after[key]) for key in before if before[key] != after[key]}


def check(preview: who_can.Impact, change) -> None:
    expected = brute_force(change)
    assert preview.per_member() == expected
    assert preview.decision_count == len(expected)


# --- the demo account ------------------------------------------------------------------------------


def group(name):
    return UserGroup.objects.get(name=name)


def policy(name):
    return Policy.objects.get(name=name)


@pytest.mark.parametrize(("group_name", "policy_names", "scope"), [
    ("developers", ["IMS FullAccess"], "all"),
    ("viewers", ["IMS FullAccess"], ["cn-north-4_dev", "eu-west-101"]),
    ("north-ops", ["Server Administrator", "DenyImageDeletion"], ["cn-north-4"]),
    ("viewers", ["Security Administrator"], ["cn-north-4"]),  # IAM only: granted globally
])
def test_attach_on_the_demo(demo, group_name, policy_names, scope):
    target, chosen = group(group_name), [policy(n) for n in policy_names]
    all_resources = scope == "all"
    projects = [] if all_resources else list(Project.objects.filter(name__in=scope))
    preview = impact.attach_impact(target, chosen, all_resources=all_resources, projects=projects)
    check(preview, partial(services.grant_attach, actor=None, group=target, policies=chosen,
                                                 all_resources=all_resources, projects=projects))
    assert preview.member_groups, "the demo's attach changes something"
    assert all(member_group.groups == (group_name,) for member_group in preview.member_groups)


def test_attach_with_an_end_changes_the_same_decisions_until_then(demo):
    target, chosen = group("viewers"), [policy("IMS FullAccess")]
    preview = impact.attach_impact(target, chosen, all_resources=True)
    check(preview, partial(services.grant_attach, actor=None, group=target, policies=chosen, all_resources=True,
                                                 expires=datetime(2099, 1, 1, tzinfo=UTC)))


@pytest.mark.parametrize("group_name", ["developers", "north-ops", "ims-admins", "viewers"])
def test_detach_each_grant_on_the_demo(demo, group_name):
    target = group(group_name)
    for grant in Grant.objects.filter(group=target).select_related("policy"):
        chosen = [grant.policy, *services.detach_blockers(target, [grant.policy])]
        check(impact.detach_impact(target, chosen),
              partial(services.grant_detach, actor=None, group=target, policies=chosen))


@pytest.mark.parametrize("group_name", ["developers", "north-ops", "ims-admins", "viewers"])
def test_group_delete_on_the_demo(demo, group_name):
    target = group(group_name)
    check(impact.group_delete_impact(target), partial(services.group_delete, actor=None, group=target))


def test_member_add_and_remove_on_the_demo(demo):
    for membership in Membership.objects.select_related("user", "group").exclude(group__name="admin"):
        user, target = membership.user, membership.group
        check(impact.membership_impact(target, user, add=False),
              partial(services.group_remove_member, actor=None, group=target, user=user))
    for user in User.objects.all():
        for target in UserGroup.objects.exclude(memberships__user=user)[:4]:
            check(impact.membership_impact(target, user, add=True),
                  partial(services.group_add_member, actor=None, group=target, user=user))


def test_deactivate_and_activate_on_the_demo(demo):
    for user in User.objects.exclude(username="admin"):
        active = not user.is_active
        check(impact.activity_impact(user, active=active),
              partial(services.user_update, actor=None, user=user, is_active=active))


def test_policy_document_on_the_demo(demo):
    target = policy("DenyImageDeletion")
    document = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:*"]}]}
    check(impact.document_impact(target, document),
          partial(services.policy_update, actor=None, policy=target, name=target.name,
                                         description=target.description, document=document,
                                         expected_revision=target.revision))


# --- seeded random accounts -----------------------------------------------------------------------------


def _delete_group(pk):
    services.group_delete(actor=None, group=UserGroup.objects.get(pk=pk))


def _set_active(pk, active):
    services.user_update(actor=None, user=User.objects.get(pk=pk), is_active=active)


def _scope(rng, projects):
    return (True, []) if rng.random() < 0.4 else (False, rng.sample(projects, rng.randint(1, 3)))


@pytest.mark.parametrize("seed", [1, 2])
def test_every_change_kind_on_a_random_account(demo, seed):
    rng, policies, document = seeded_account(seed)
    projects = list(Project.objects.all())
    groups = list(UserGroup.objects.filter(name__startswith=f"rg-{seed}-").order_by("name"))
    users = list(User.objects.filter(username__startswith="r-").order_by("username"))
    system = list(Policy.objects.filter(is_system=True).order_by("name"))
    for target in rng.sample(groups, 3):
        chosen = rng.sample(policies + system, 2)
        all_resources, scope = _scope(rng, projects)
        check(impact.attach_impact(target, chosen, all_resources=all_resources, projects=scope),
              partial(services.grant_attach, actor=None, group=target, policies=chosen,
                                            all_resources=all_resources, projects=scope))
        held = list(Policy.objects.filter(grants__group=target))
        leaving = rng.sample(held, 1)
        leaving += services.detach_blockers(target, leaving)
        check(impact.detach_impact(target, leaving),
              partial(services.grant_detach, actor=None, group=target, policies=leaving))
        check(impact.group_delete_impact(target),
              partial(_delete_group, target.pk))
    for user in rng.sample(users, 6):
        inside = list(UserGroup.objects.filter(memberships__user=user).exclude(name="admin"))
        outside = [g for g in groups if g not in inside]
        check(impact.membership_impact(outside[0], user, add=True),
              partial(services.group_add_member, actor=None, group=outside[0], user=user))
        check(impact.membership_impact(inside[0], user, add=False),
              partial(services.group_remove_member, actor=None, group=inside[0], user=user))
        active = not user.is_active
        check(impact.activity_impact(user, active=active),
              partial(_set_active, user.pk, active))
    target = rng.choice(policies)
    new = document()
    check(impact.document_impact(target, new),
          partial(services.policy_update, actor=None, policy=target, name=target.name, description="",
                                         document=new, expected_revision=target.revision))


def test_admin_membership_changes_every_action(demo):
    """Joining the admin group allows everything: the preview lists every action the user gains."""
    user = User.objects.get(username="viewer")
    admin = UserGroup.objects.get(name="admin")
    check(impact.membership_impact(admin, user, add=True),
          partial(services.group_add_member, actor=None, group=admin, user=user))
