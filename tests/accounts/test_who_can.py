"""Who can: the directory's answers are the engine's own per-user decisions, for every persona."""

import pytest

from accounts import authz, services, who_can
from accounts.models import Grant, Membership, Policy, Project, User, UserGroup
from images.models import Image
from tests.accounts.test_persona_matrix import ACTIONS, EXPECTED, OUTCOME

PROJECTS = ["cn-north-4", "cn-north-4_dev", "ap-southeast-1", "eu-west-101"]
PERSONAS = ["admin", "iam-admin", "ims-admin", "viewer", "developer", "north-ops", "newcomer"]


def _by_user(answer):
    return {m.username: e for m, e in answer.allowed} | {m.username: e for m, e in answer.denied}


@pytest.mark.parametrize("project", PROJECTS)
@pytest.mark.parametrize("action", ACTIONS)
def test_who_can_matches_engine_for_every_persona(demo, action, project):
    answer = who_can.who_can(action, project)
    listed = _by_user(answer)
    for persona in PERSONAS:
        user = User.objects.get(username=persona)
        engine = authz.decide(user, action, project=project)
        if engine.outcome == "implicit_deny":
            assert persona not in listed
        else:
            assert listed[persona].outcome == engine.outcome
            assert set(listed[persona].reasons) == set(engine.reasons)


def test_who_can_matches_the_hand_written_matrix(demo):
    directory = who_can.Directory()
    for line in EXPECTED.strip().splitlines():
        persona, project, *marks = line.split()
        for action, mark in zip(ACTIONS, marks, strict=True):
            answer = who_can.who_can(action, project, directory=directory)
            allowed = {m.username for m, _ in answer.allowed}
            denied = {m.username for m, _ in answer.denied}
            expected = OUTCOME[mark]
            assert (persona in allowed) == (expected == "allow"), (persona, project, action)
            assert (persona in denied) == (expected == "explicit_deny"), (persona, project, action)


@pytest.mark.parametrize("action", ["iam:users:createUser", "iam:roles:updateRole", "iam:audit:listEvents"])
def test_global_actions(demo, action):
    allowed = {m.username for m, _ in who_can.who_can(action).allowed}
    assert allowed >= {"admin", "iam-admin"}
    for persona in PERSONAS:
        user = User.objects.get(username=persona)
        assert (persona in allowed) == authz.decide(user, action).allowed


def test_images_with_conditions_are_decided_per_image(demo):
    """A conditional Deny on tags: each image's answer is the engine's for that image."""
    group = UserGroup.objects.create(name="tagged")
    policy = services.policy_create(actor=None, name="NoProdDelete", document={
        "Version": "1.1", "Statement": [
            {"Effect": "Allow", "Action": ["ims:images:*"]},
            {"Effect": "Deny", "Action": ["ims:images:delete"],
             "Condition": {"StringEquals": {"ims:ResourceTag/env": ["prod"]}}}]})
    grant = Grant.objects.create(group=group, policy=policy)
    grant.projects.add(Project.objects.get(name="cn-north-4"))
    user = User.objects.create_user("tagger", password="x")
    Membership.objects.create(user=user, group=group)
    images = list(Image.objects.filter(project__name="cn-north-4").prefetch_related("tags")[:8])
    assert images
    directory = who_can.Directory()
    for image in images:
        answer = who_can.who_can("ims:images:delete", image.project, image, directory=directory)
        listed = _by_user(answer)
        engine = authz.decide(User.objects.get(pk=user.pk), "ims:images:delete", project=image.project, image=image)
        assert listed["tagger"].outcome == engine.outcome
        assert "tagger" in {m.username for m, _ in answer.conditional}


def test_user_name_conditions_use_each_users_own_name(demo):
    """Two members of one group share a table, but g:UserName is each user's own."""
    group = UserGroup.objects.create(name="named")
    policy = services.policy_create(actor=None, name="OnlyAlice", document={
        "Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"],
                                         "Condition": {"StringEquals": {"g:UserName": ["alice"]}}}]})
    Grant.objects.create(group=group, policy=policy, all_resources=True)
    for name in ("alice", "bob"):
        Membership.objects.create(user=User.objects.create_user(name, password="x"), group=group)
    allowed = {m.username for m, _ in who_can.who_can("ims:images:list", "cn-north-4").allowed}
    assert "alice" in allowed and "bob" not in allowed


def test_inactive_users_are_not_listed(demo):
    deactivated = User.objects.get(username="ims-admin")
    deactivated.is_active = False
    deactivated.save()  # as the console deactivates: a saved user renews the stamp (a bulk update would not)
    allowed = {m.username for m, _ in who_can.who_can("ims:images:delete", "cn-north-4").allowed}
    assert "ims-admin" not in allowed and "north-ops" in allowed


def test_directory_queries_do_not_grow_with_users(demo, django_assert_max_num_queries):
    group = UserGroup.objects.get(name="developers")
    User.objects.bulk_create(User(username=f"extra-{n}") for n in range(60))
    extras = User.objects.filter(username__startswith="extra-")
    Membership.objects.bulk_create(Membership(user=u, group=group) for u in extras)
    authz.bump_stamp()  # bulk inserts send no signal: whoever makes them bumps the stamp
    with django_assert_max_num_queries(9):
        answer = who_can.who_can("ims:images:create", "cn-north-4_dev")
    assert len([m for m, _ in answer.allowed if m.username.startswith("extra-")]) == 60


def test_group_and_policy_authorizations(demo):
    developers = UserGroup.objects.get(name="developers")
    authorization = who_can.group_authorization(developers)
    assert authorization.decide("ims:images:create", "cn-north-4_dev").allowed
    assert authorization.decide("ims:images:delete", "cn-north-4_dev").outcome == "explicit_deny"
    assert not authorization.decide("ims:images:create", "cn-north-4").allowed
    deny = Policy.objects.get(name="DenyImageDeletion")
    authorization, attached = who_can.policy_authorization(deny)
    assert attached
    assert authorization.decide("ims:images:delete", "cn-north-4_dev").outcome == "explicit_deny"
    lonely = services.policy_create(actor=None, name="Lonely", document={
        "Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]})
    authorization, attached = who_can.policy_authorization(lonely)
    assert not attached and authorization.decide("ims:images:list", "eu-west-101").allowed
