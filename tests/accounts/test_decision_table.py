"""The decision table decides exactly as the plain evaluator over every covering grant.

Same outcome, same deciding statements in the same order, same missing keys, for random
documents, scopes, projects, actions, images and request contexts; and `holds()` and
`condition_keys_read()` agree with their definitions over the statements naming the action.
"""

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.authz import (
    ADMIN_REASON,
    Authorization,
    CompiledGrants,
    Explanation,
    GrantRule,
    build_request_context,
    image_context,
)
from accounts.policy import ACTION_NAMES, SERVICES, ActionTable, compile_document, evaluate, get_action, lower_keys
from accounts.policy.catalogue import IMAGE_KEY_ACTIONS
from tests.policy.test_policy_evaluator import CONTEXT_VALUES, contexts, documents
from tests.properties import examples, one_of

CATALOGUE_ACTIONS = sorted(ACTION_NAMES)
PROJECT_NAMES = ["cn-north-4", "eu-west-101", "eu-west-101_dev"]
NOW = datetime(2025, 3, 1, tzinfo=UTC)


# The plain path, as the service decided before the table: evaluate() over the covering grants.

def plain_decide(grants, action, project, image, extra, *, request_keys, now=NOW):
    service = SERVICES[get_action(action).service]
    project_name = getattr(project, "name", project)
    if image is not None and project_name is None:
        project_name = image.project.name
    if not grants.is_active:
        return Explanation(action, project_name, "implicit_deny")
    if grants.is_admin:
        return Explanation(action, project_name, "allow", (ADMIN_REASON,))
    image_keys = image_context(image, project_name) if image is not None and action in IMAGE_KEY_ACTIONS else None
    context = build_request_context(
        action, user_id=grants.user_id, username=grants.username, project=project, project_name=project_name,
        now=now, request_keys=request_keys, image_keys=image_keys, extra=extra,
    )
    decision = evaluate(grants.covering(project_name, service.is_global), action, context)
    return Explanation(action, project_name, decision.outcome, decision.matched, decision.missing_keys)


def plain_holds(grants, action, project):
    if not grants.is_active:
        return False
    if grants.is_admin:
        return True
    allowed = False
    service = SERVICES[get_action(action).service]
    for _rule, policy in grants.covering(getattr(project, "name", project), service.is_global):
        for statement in policy.statements_for(action):
            if statement.deny:
                return False
            allowed = allowed or statement.condition is None
    return allowed


def plain_keys_read(grants, action, project):
    if not grants.is_active or grants.is_admin:
        return frozenset()
    service = SERVICES[get_action(action).service]
    return frozenset(
        name
        for _, policy in grants.covering(getattr(project, "name", project), service.is_global)
        for statement in policy.statements_for(action)
        for name in statement.key_names.values()
    )


# Strategies: grants as the loader builds them, projects in every form, images with tags.

# Keys the request and the image supply (not drawn by the evaluator's strategies), so that a memo
# keyed too loosely (by project name alone, say) would give a wrong answer.
WHERE_AND_WHAT = {"Version": "1.1", "Statement": [
    {"Effect": "Allow", "Action": ["ims:*:*", "iam:*:list*"],
     "Condition": {"StringEquals": {"g:RequestedRegion": ["cn-north-4"]}}},
    {"Effect": "Deny", "Action": ["ims:images:*"], "Condition": {"StringEquals": {"ims:ImageType": ["shared"]}}},
    {"Effect": "Allow", "Action": ["ims:images:*"],
     "Condition": {"StringEquals": {"g:ProjectName": ["eu-west-101_dev"], "g:ServiceName": ["ims"]}}},
]}


@st.composite
def compiled_grants(draw, *, is_active=None, is_admin=None):
    texts = draw(st.lists(documents(), max_size=4))
    if draw(st.booleans()):
        texts.append(WHERE_AND_WHAT)
    compiled = [compile_document(document) for document in texts]  # one object per text, as _compile shares
    rules = []
    for grant_id in range(draw(st.integers(0, 8)) if texts else 0):
        which = draw(st.integers(0, len(texts) - 1))
        rules.append(GrantRule(
            grant_id=grant_id, group_name=f"group-{grant_id % 3}", policy_id=which, policy_name=f"policy-{which}",
            policy_kind="custom", all_resources=draw(st.booleans()),
            project_names=frozenset(draw(st.lists(one_of(PROJECT_NAMES), max_size=2))),
            document=texts[which], compiled=compiled[which],
        ))
    return CompiledGrants(
        user_id=7, username="alice",
        is_active=draw(one_of([True, True, True, False])) if is_active is None else is_active,
        is_admin=draw(one_of([False, False, False, True])) if is_admin is None else is_admin,
        rules=rules, stamp="test",
    )


def project_object(name):
    # A project is named after its region (`<region>_<subproject>`), so its name and its object agree.
    return SimpleNamespace(name=name, region=SimpleNamespace(code=name.split("_", 1)[0]))


projects = st.one_of(
    st.none(), one_of(PROJECT_NAMES), one_of(PROJECT_NAMES).map(project_object)
)


@st.composite
def images(draw, pk):
    tags = [SimpleNamespace(key=key, value=value) for key, value in draw(st.dictionaries(
        one_of(["env", "Env", "team"]), one_of(CONTEXT_VALUES["ims:ResourceTag/env"]), max_size=2,
    )).items()]
    return SimpleNamespace(
        pk=pk,
        project=project_object(draw(one_of(PROJECT_NAMES))),
        image_type=draw(one_of(["private", "public", "shared"])),
        os_type="Linux", platform="Ubuntu", architecture="x86",
        tags=SimpleNamespace(all=lambda tags=tags: tags),
    )


# An image is known by its primary key for the length of a request, so each example draws a few
# images with distinct keys and its requests pick among them.
image_pools = st.integers(0, 3).flatmap(lambda size: st.tuples(*(images(pk) for pk in range(1, size + 1))))
requests = st.tuples(
    one_of(CATALOGUE_ACTIONS), projects, st.one_of(st.none(), st.integers(0, 2)),
    st.one_of(st.none(), contexts()),
)


# The table alone, against evaluate().

@settings(max_examples=examples(200))
@given(st.lists(documents(), max_size=4), st.lists(st.integers(0, 3), max_size=8),
       one_of([*CATALOGUE_ACTIONS, "ecs:servers:list"]), st.lists(contexts(), min_size=1, max_size=4))
def test_the_table_decides_as_the_evaluator_for_every_context(texts, picks, action, request_contexts):
    compiled = [compile_document(document) for document in texts]
    # The same policy granted several times shares its compiled conditions, as the loader's cache does.
    policies = [(f"grant-{n}", compiled[pick % len(compiled)]) for n, pick in enumerate(picks)] if compiled else []
    table = ActionTable(policies, action)
    for context in request_contexts:
        assert table.decide(lower_keys(context)) == evaluate(policies, action, context)


# Values that compare equal in Python but not to every condition: the table remembers decisions by
# the values of the keys its conditions read, and must never mistake one of these for another.
AWKWARD_VALUES = [
    None, True, False, 1, 0, 1.0, 0.0, -0.0, "1", "true", "True", "0.0", [1], [True], (1,), ["1"], [],
    datetime(2025, 1, 1, 8, tzinfo=timezone(timedelta(hours=8))), datetime(2025, 1, 1, tzinfo=UTC),
    datetime(2025, 1, 1), {1, 2},
]
AWKWARD_CONDITIONS = [
    {"StringEquals": {"g:Value": ["1"]}},
    {"StringEquals": {"g:Value": ["true"]}},
    {"StringEquals": {"g:Value": ["0.0"]}},
    {"StringEquals": {"g:Value": ["2025-01-01T00:00:00+00:00"]}},
    {"NumberEquals": {"g:Value": [1]}},
    {"Bool": {"g:Value": [True]}},
    {"DateGreaterThanEquals": {"g:Value": ["2025-01-01T00:00:00Z"]}},
    {"DateLessThan": {"g:Value": ["2025-01-01T00:00:00Z"]}},
    {"ForAllValues:StringEquals": {"g:Value": ["1"]}},
    {"ForAnyValue:StringNotEquals": {"g:Value": ["1"]}},
    {"Null": {"g:Value": [True]}},
]


@pytest.mark.parametrize("effect", ["Allow", "Deny"])
@pytest.mark.parametrize("block", AWKWARD_CONDITIONS, ids=lambda block: next(iter(block)))
def test_the_table_never_mistakes_one_value_for_another_that_compares_equal(effect, block):
    document = {"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:images:list"]},
        {"Effect": effect, "Action": ["ims:images:list"], "Condition": block},
    ]}
    policies = [("grant", compile_document(document))]
    for first in AWKWARD_VALUES:
        for second in AWKWARD_VALUES:
            table = ActionTable(policies, "ims:images:list")
            for value in (first, second):
                context = {} if value is None else {"g:Value": value}
                assert table.decide(lower_keys(context)) == evaluate(policies, "ims:images:list", context), (first,
                                                                                                            second)


# The service, against the plain path.

@given(compiled_grants(), image_pools, st.lists(requests, min_size=1, max_size=6), contexts(), contexts())
def test_the_service_explains_every_request_as_the_plain_evaluator(grants, pool, asked, first_keys, second_keys):
    # Two requests share the grants (and so the table) but bring different keys, twice each: no
    # answer that depends on the request may leak from one to the other or from the memos.
    for request_keys in (first_keys, second_keys):
        authorization = Authorization(grants, now=NOW, request_context=request_keys)
        for _ in range(2):
            for action, project, pick, extra in asked:
                image = pool[pick % len(pool)] if pool and pick is not None else None
                expected = plain_decide(grants, action, project, image, extra, request_keys=request_keys)
                explanation = authorization.decide(action, project, image, extra)
                assert explanation == expected
                assert explanation.reasons == expected.reasons


@given(compiled_grants(), st.lists(st.tuples(one_of(CATALOGUE_ACTIONS), projects), min_size=1, max_size=8))
def test_holds_and_the_keys_read_follow_the_statements_naming_the_action(grants, asked):
    authorization = Authorization(grants, now=NOW)
    for action, project in asked:
        assert authorization.holds(action, project) == plain_holds(grants, action, project)
        assert authorization.condition_keys_read(action, project) == plain_keys_read(grants, action, project)


# Named cases a reader can check by eye.

def grants_of(*statement_lists, all_resources=True, projects=(), is_active=True, is_admin=False):
    rules = []
    for grant_id, statements in enumerate(statement_lists):
        document = {"Version": "1.1", "Statement": list(statements)}
        rules.append(GrantRule(grant_id, f"group-{grant_id}", grant_id, f"policy-{grant_id}", "custom", all_resources,
                               frozenset(projects), document, compile_document(document)))
    return CompiledGrants(user_id=7, username="alice", is_active=is_active, is_admin=is_admin, rules=rules,
                          stamp="test")


ALLOW_IMAGES = {"Effect": "Allow", "Action": ["ims:images:*"]}
DENY_DELETE = {"Effect": "Deny", "Action": ["ims:images:delete"]}
DENY_DELETE_IN_PROD = {"Effect": "Deny", "Action": ["ims:images:delete"],
                       "Condition": {"StringEquals": {"ims:ResourceTag/env": ["prod"]}}}


def tagged(env):
    return SimpleNamespace(pk=hash(env), project=project_object("cn-north-4"), image_type="private", os_type="Linux",
                           platform="Ubuntu", architecture="x86",
                           tags=SimpleNamespace(all=lambda: [SimpleNamespace(key="env", value=env)]))


def test_an_explicit_deny_names_every_matching_deny_in_grant_order():
    grants = grants_of([ALLOW_IMAGES], [DENY_DELETE_IN_PROD], [DENY_DELETE])
    authorization = Authorization(grants, now=NOW)
    prod = authorization.decide("ims:images:delete", "cn-north-4", tagged("prod"))
    assert prod.outcome == "explicit_deny"
    assert [(reason.policy_name, reason.statement_index) for reason in prod.reasons] == [("policy-1", 0),
                                                                                           ("policy-2", 0)]
    dev = authorization.decide("ims:images:delete", "cn-north-4", tagged("dev"))
    assert [(reason.policy_name, reason.effect) for reason in dev.reasons] == [("policy-2", "Deny")]


def test_a_conditional_deny_follows_each_image_through_the_same_table():
    authorization = Authorization(grants_of([ALLOW_IMAGES], [DENY_DELETE_IN_PROD]), now=NOW)
    assert not authorization.decide("ims:images:delete", "cn-north-4", tagged("prod")).allowed
    allowed = authorization.decide("ims:images:delete", "cn-north-4", tagged("dev"))
    assert allowed.outcome == "allow" and [r.policy_name for r in allowed.reasons] == ["policy-0"]
    untagged = authorization.decide("ims:images:delete", "cn-north-4")
    assert untagged.allowed and untagged.missing_keys == {"ims:ResourceTag/env"}


def test_each_request_context_is_built_for_its_service_project_and_image():
    grants = grants_of(WHERE_AND_WHAT["Statement"])
    authorization = Authorization(grants, now=NOW)
    shared = SimpleNamespace(pk=2, project=project_object("eu-west-101"), image_type="private", os_type="Linux",
                             platform="Ubuntu", architecture="x86", tags=SimpleNamespace(all=list))
    asked = [
        ("iam:users:listUsers", "eu-west-101_dev", None),  # iam's context first, then ims's in the same project
        ("ims:images:update", "eu-west-101_dev", None),
        ("ims:images:update", "cn-north-4", tagged("dev")),
        ("ims:images:update", "cn-north-4", shared),  # another project's private image is shared here
        ("ims:images:list", "cn-north-4", None),
    ]
    outcomes = []
    for action, project, image in asked:
        explanation = authorization.decide(action, project, image)
        assert explanation == plain_decide(grants, action, project, image, None, request_keys={})
        outcomes.append(explanation.outcome)
    assert outcomes == ["implicit_deny", "allow", "allow", "explicit_deny", "allow"]


def test_a_decision_no_condition_can_change_is_answered_without_a_context():
    grants = grants_of([ALLOW_IMAGES])
    first = Authorization(grants, now=NOW).decide("ims:images:list", "cn-north-4", tagged("prod"))
    second = Authorization(grants, now=NOW, request_context={"g:MFAPresent": True}).decide(
        "ims:images:list", "cn-north-4", tagged("dev"))
    assert first.allowed and first is second


def test_a_grant_on_projects_decides_nothing_elsewhere_nor_for_global_actions():
    grants = grants_of([ALLOW_IMAGES, {"Effect": "Allow", "Action": ["iam:*:*"]}], all_resources=False,
                       projects=["cn-north-4"])
    authorization = Authorization(grants, now=NOW)
    assert authorization.decide("ims:images:list", "cn-north-4").allowed
    assert authorization.decide("ims:images:list", "eu-west-101").outcome == "implicit_deny"
    assert authorization.decide("iam:users:listUsers").outcome == "implicit_deny"
    assert not authorization.holds("iam:users:listUsers")


def test_admins_are_allowed_and_inactive_users_denied_everything():
    admin = Authorization(grants_of(is_admin=True), now=NOW)
    assert admin.decide("iam:users:deleteUser").reasons == (ADMIN_REASON,)
    assert admin.holds("iam:users:deleteUser")
    inactive = Authorization(grants_of([ALLOW_IMAGES], is_active=False, is_admin=True), now=NOW)
    assert inactive.decide("ims:images:list", "cn-north-4").outcome == "implicit_deny"
    assert not inactive.holds("ims:images:list", "cn-north-4")


def test_a_conditional_deny_means_the_permission_is_not_held_outright():
    authorization = Authorization(grants_of([ALLOW_IMAGES], [DENY_DELETE_IN_PROD]), now=NOW)
    assert authorization.holds("ims:images:list", "cn-north-4")
    assert not authorization.holds("ims:images:delete", "cn-north-4")
    assert authorization.condition_keys_read("ims:images:delete", "cn-north-4") == {"ims:ResourceTag/env"}
    assert authorization.condition_keys_read("ims:images:list", "cn-north-4") == set()


# Who can (accounts.who_can) joins each group's table instead of scanning a member's policies again.

@settings(max_examples=examples(200))
@given(st.lists(documents(), min_size=1, max_size=4), st.lists(st.lists(st.integers(0, 3), max_size=4), max_size=4),
       one_of(CATALOGUE_ACTIONS), st.lists(contexts(), min_size=1, max_size=3))
def test_joined_tables_decide_as_one_table_over_all_their_policies(texts, groups, action, request_contexts):
    compiled = [compile_document(document) for document in texts]
    parts = [[(f"g{g}-{n}", compiled[pick % len(compiled)]) for n, pick in enumerate(picks)]
             for g, picks in enumerate(groups)]
    joined = ActionTable.joined([ActionTable(part, action) for part in parts])
    whole = [policy for part in parts for policy in part]
    direct = ActionTable(whole, action)
    assert (joined.holds, joined.key_names, joined.conditional_effects) == (
        direct.holds, direct.key_names, direct.conditional_effects)
    for context in request_contexts:
        assert joined.decide(lower_keys(context)) == direct.decide(lower_keys(context)) == evaluate(
            whole, action, context)


@settings(max_examples=examples(60), suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(compiled_grants(is_active=True, is_admin=False), min_size=1, max_size=2), requests)
def test_joined_grants_explain_as_the_members_own_grants(parts, request_):
    action, project, _, extra = request_
    project_name = getattr(project, "name", project)
    if SERVICES[get_action(action).service].is_global:
        project, project_name = None, None
    joined = CompiledGrants.joined(parts, action, project_name, is_active=True, is_admin=False, stamp="test")
    member = joined.for_member(user_id=7, username="alice")
    own = CompiledGrants(user_id=7, username="alice", is_active=True, is_admin=False,
                         rules=[rule for part in parts for rule in part.rules], stamp="test")
    assert Authorization(member, now=NOW).decide(action, project, context=extra) == Authorization(
        own, now=NOW).decide(action, project, context=extra)
