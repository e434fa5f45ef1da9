"""A restore's review: the grouped changes equal every member's own before/after decision by the engine,
on the demo account and on a seeded random account, in a number of queries that does not grow with members."""

import random
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import authz, services, who_can
from accounts.impact import document_impact
from accounts.models import Grant, Membership, Policy, Project, User, UserGroup
from accounts.policy import ACTIONS, SERVICES

NOW = datetime.now(UTC)


def brute_force(policy, document):
    """Every user, every catalogued action, every project: the engine's answer with the user's own
    grants before and with `policy` saying `document` after, compared one by one."""
    projects = list(Project.objects.order_by("name").values_list("name", flat=True))
    changed = set()
    for user in User.objects.all():
        grants = authz.load_grants(user, authz.current_stamp())
        replaced = [authz.grant_rule(Grant.objects.select_related("group", "policy").prefetch_related("projects")
                                     .get(pk=rule.grant_id), document) if rule.policy_id == policy.pk else rule
                    for rule in grants.rules]
        after = authz.CompiledGrants(user_id=user.pk, username=user.username, is_active=user.is_active,
                                     is_admin=grants.is_admin, rules=replaced, stamp=grants.stamp)
        for action in ACTIONS:
            where = [None] if SERVICES[action.service].is_global else projects
            for project in where:
                states = []
                for compiled in (grants, after):
                    authorization = authz.Authorization(compiled, now=NOW)
                    explanation = authorization.decide(action.name, project)
                    states.append(who_can.decision_label(explanation,
                                                 bool(authorization.conditional_effects(action.name, project))))
                if states[0] != states[1]:
                    changed.add((user.username, action.name, project, *states))
    return changed


DOCUMENTS = [
    {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:*"]}]},
    {"Version": "1.1", "Statement": [{"Effect": "Deny", "Action": ["ims:images:export", "ims:images:delete"]}]},
    {"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:*:get*", "ims:images:update"],
         "Condition": {"StringEquals": {"ims:ResourceTag/env": ["prod"]}}},
        {"Effect": "Allow", "Action": ["ims:images:delete"],
         "Condition": {"StringStartWith": {"g:UserName": ["dev"]}}},
        {"Effect": "Deny", "Action": ["ims:images:share"],
         "Condition": {"StringEquals": {"g:ProjectName": ["cn-north-4_dev"]}}}]},
    {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["iam:users:*", "iam:groups:listGroups"]}]},
]


@pytest.mark.parametrize("document", DOCUMENTS)
@pytest.mark.parametrize("name", ["DenyImageDeletion", "IMS ReadOnlyAccess"])
def test_grouped_changes_equal_the_per_member_brute_force_on_the_demo(demo, name, document):
    policy = Policy.objects.get(name=name)
    impact = document_impact(policy, document)
    assert impact.per_member() == brute_force(policy, document)


def test_demo_restore_groups_developers_together(demo):
    policy = Policy.objects.get(name="DenyImageDeletion")
    impact = document_impact(policy, DOCUMENTS[0])
    (group,) = impact.member_groups
    assert group.groups == ("developers",) and group.usernames == ("developer",)
    delete = next(change for change in group.changes if change.action == "ims:images:delete")
    assert delete.projects == ("cn-north-4_dev",) and delete.gained
    assert impact.decision_count == len(impact.per_member())


def seeded_account(seed):
    """~50 users in ~10 groups granted random policies (some conditional, some on g:UserName and
    g:ProjectName), scoped to random projects or All resources; a few users inactive or admin."""
    rng = random.Random(seed)
    projects = list(Project.objects.all())
    families = [["ims:images:list", "ims:images:get", "ims:images:delete", "ims:images:export", "ims:images:share",
                 "ims:*:get*", "ims:images:*"], ["iam:users:listUsers", "iam:groups:*", "iam:users:*"]]
    conditions = [None, {"StringEquals": {"ims:ResourceTag/env": ["prod"]}},
                  {"StringStartWith": {"g:UserName": ["r-1"]}},
                  {"StringEquals": {"g:ProjectName": ["cn-north-4", "eu-west-101"]}},
                  {"StringNotEquals": {"ims:OsType": ["Linux"]}}]

    def document():
        statements = []
        actions = families[rng.random() < 0.25]
        for _ in range(rng.randint(1, 3)):
            statement = {"Effect": rng.choice(["Allow", "Allow", "Deny"]), "Action": rng.sample(actions, 2)}
            condition = rng.choice(conditions)
            if condition:
                statement["Condition"] = condition
            statements.append(statement)
        return {"Version": "1.1", "Statement": statements}

    policies = [services.policy_create(actor=None, name=f"random-{seed}-{n}", document=document())
                for n in range(6)]
    groups = [UserGroup.objects.create(name=f"rg-{seed}-{n}") for n in range(10)]
    for group in groups:
        for policy in rng.sample(policies + list(Policy.objects.filter(is_system=True)[:4]), rng.randint(1, 4)):
            grant = Grant.objects.create(group=group, policy=policy, all_resources=rng.random() < 0.4)
            if not grant.all_resources:
                grant.projects.set(rng.sample(projects, rng.randint(1, 3)))
    admin_group = UserGroup.objects.get(name="admin")
    for n in range(50):
        user = User.objects.create_user(f"r-{n}", password="x", is_active=rng.random() > 0.1)
        for group in rng.sample(groups, rng.randint(1, 3)):
            Membership.objects.create(user=user, group=group)
        if n == 7:
            Membership.objects.create(user=user, group=admin_group)
    authz.bump_stamp()
    return rng, policies, document


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_grouped_changes_equal_the_brute_force_on_a_random_account(demo, seed):
    rng, policies, document = seeded_account(seed)
    for policy in rng.sample(policies, 3):
        new = document()
        impact = document_impact(policy, new)
        assert impact.per_member() == brute_force(policy, new), (policy.document, new)


def test_query_count_does_not_grow_with_members(demo):
    policy = Policy.objects.get(name="DenyImageDeletion")
    with CaptureQueriesContext(connection) as few:
        document_impact(policy, DOCUMENTS[0])
    developers = UserGroup.objects.get(name="developers")
    User.objects.bulk_create(User(username=f"dev-{n:02d}") for n in range(40))
    Membership.objects.bulk_create(Membership(user=u, group=developers)
                                   for u in User.objects.filter(username__startswith="dev-"))
    authz.bump_stamp()
    with CaptureQueriesContext(connection) as many:
        impact = document_impact(policy, DOCUMENTS[0])
    assert len(few) == len(many) <= 13
    (group,) = impact.member_groups
    assert len(group.usernames) == 41 and group.more_names == 41 - who_can.SHOWN_NAMES


def test_same_statement_in_two_policies_naming_different_actions(demo):
    """An unconditional Allow of list in one policy and of delete in another are different statements
    for each action: each member's decisions still equal the brute force."""
    group = UserGroup.objects.create(name="pair")
    lister = services.policy_create(actor=None, name="Lister", document={
        "Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]})
    changing = services.policy_create(actor=None, name="Changing", document={
        "Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:get"]}]})
    Grant.objects.create(group=group, policy=lister, all_resources=True)
    Grant.objects.create(group=group, policy=changing, all_resources=True)
    Membership.objects.create(user=User.objects.create_user("pairing", password="x"), group=group)
    authz.bump_stamp()
    new = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:get", "ims:images:delete"]}]}
    impact = document_impact(changing, new)
    assert impact.per_member() == brute_force(changing, new)
    assert {change.action for group in impact.member_groups for change in group.changes} == {"ims:images:delete"}
