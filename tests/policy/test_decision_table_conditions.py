"""The decision table's conditions: the same answer as the plain evaluator, each condition run once
per distinct value of the keys it reads, and a decision whose work does not grow with the statements.

The table (evaluator.ActionTable) groups its conditions by the keys they read, remembers each group's
answer by the values of its keys and each decision by which conditions held; a condition remembers
its own answer by the same values, shared by every table holding it. These tests draw conditions on
image tags, OS, platform, image type, time, address and MFA, Allows and Denies mixed, and request
values of every awkward kind (absent, None, lists, empty lists, True beside 1 and "true", one instant
in two offsets, naive times, floats, malformed addresses) and ask the same tables again and again,
so every memo is read back.
"""

import itertools
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.policy import ActionTable, compile_document, evaluate, lower_keys
from accounts.policy.conditions import CompiledCondition
from tests.policy.test_policy_evaluator import OPERATORS
from tests.properties import examples, one_of
from tests.work import python_steps

ACTIONS = ["ims:images:get", "ims:images:update", "ims:images:delete"]
PATTERNS = [*ACTIONS, "ims:images:*", "ims:*:get", "IMS:Images:UPDATE"]

# Condition keys a page of images reads, with listed values the validator accepts.
KEYS = {
    "ims:ResourceTag/env": ("string", ["prod", "dev", "PROD", "p*"]),
    "ims:ResourceTag/team": ("string", ["a", "b"]),
    "ims:OsType": ("string", ["Linux", "Windows"]),
    "ims:Platform": ("string", ["Ubuntu", "CentOS", "Win*"]),
    "ims:ImageType": ("string", ["private", "shared"]),
    "g:CurrentTime": ("date", ["2025-01-01T00:00:00Z", "2025-06-01T08:00:00+08:00"]),
    "g:SourceIp": ("ip", ["10.0.0.0/8", "192.168.1.1", "2001:db8::/32"]),
    "g:MFAPresent": ("bool", [True, False, "true"]),
    "g:MFAAge": ("number", [0, 60, 3600]),
}
SAME_INSTANT = datetime(2025, 6, 1, 8, tzinfo=timezone(timedelta(hours=8)))  # == 2025-06-01T00:00Z
# Request values: one pool, so the same objects come back (a request's time is one object).
VALUES = {
    "ims:ResourceTag/env": ["prod", "dev", "PROD", "test", None, ["prod", "dev"], [], 1, True],
    "ims:ResourceTag/team": ["a", "b", "c", None, ["a"]],
    "ims:OsType": ["Linux", "Windows", "Other", None, "linux"],
    "ims:Platform": ["Ubuntu", "CentOS", "Windows", "Other", None],
    "ims:ImageType": ["private", "shared", "gold", None],
    "g:CurrentTime": [
        datetime(2024, 12, 31, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC), SAME_INSTANT, datetime(2025, 6, 1),
        "2025-06-01T08:00:00+08:00", "2025-06-01T00:00:00+00:00", "yesterday", None,
    ],
    "g:SourceIp": ["10.1.2.3", "192.168.1.1", "8.8.8.8", "2001:db8::1", "not-an-address", None, ["10.1.2.3"]],
    "g:MFAPresent": [True, False, "true", "false", 1, 0, None, [True, False]],
    "g:MFAAge": [0, 60, 60.0, 3600, "60", True, None, 59.5],
}


@st.composite
def condition_entries(draw):
    key = draw(one_of(sorted(KEYS)))
    key_type, listed_values = KEYS[key]
    if draw(st.integers(0, 7)) == 0:
        return "Null", key, draw(one_of([True, False, "true"]))
    prefix = draw(one_of(["", "", "ForAnyValue:", "ForAllValues:"]))
    suffix = draw(one_of(["", "", "IfExists"]))
    listed = draw(st.lists(one_of(listed_values), min_size=1, max_size=3))
    spelled = draw(one_of([key, key.lower(), key.upper()]))
    operator = prefix + draw(one_of(OPERATORS[key_type])) + suffix
    return operator, spelled, listed if len(listed) > 1 or draw(st.booleans()) else listed[0]


@st.composite
def statements(draw):
    statement = {"Effect": draw(one_of(["Allow", "Deny"])),
                 "Action": draw(st.lists(one_of(PATTERNS), min_size=1, max_size=2))}
    block = {}
    for operator, key, listed in draw(st.lists(condition_entries(), max_size=3)):
        block.setdefault(operator, {})[key] = listed
    if block:
        statement["Condition"] = block
    return statement


documents = st.lists(statements(), min_size=1, max_size=5).map(lambda found: {"Version": "1.1", "Statement": found})


@st.composite
def contexts(draw):
    context = {}
    for key in draw(st.lists(one_of(sorted(VALUES)), unique=True)):
        context[draw(one_of([key, key.lower(), key.upper()]))] = draw(one_of(VALUES[key]))
    return context


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(documents, min_size=1, max_size=4), st.lists(st.integers(0, 3), min_size=1, max_size=6),
       st.lists(contexts(), min_size=1, max_size=8))
def test_every_table_decides_as_the_evaluator_however_often_it_is_asked(texts, picks, asked):
    compiled = [compile_document(document) for document in texts]
    # A document granted several times shares its compiled conditions, and so does every action's
    # table: the conditions' own memos are read across tables and contexts.
    policies = [(f"grant-{n}", compiled[pick % len(compiled)]) for n, pick in enumerate(picks)]
    tables = {action: ActionTable(policies, action) for action in ACTIONS}
    for context in [*asked, *reversed(asked)]:
        for action, table in tables.items():
            assert table.decide(lower_keys(context)) == evaluate(policies, action, context), (action, context)


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(documents, min_size=1, max_size=3), st.lists(contexts(), min_size=1, max_size=5))
def test_joined_tables_share_conditions_and_still_decide_as_the_evaluator(texts, asked):
    compiled = [compile_document(document) for document in texts]
    parts = [[(f"g{g}-{n}", policy) for n, policy in enumerate(compiled[g:])] for g in range(len(compiled))]
    whole = [policy for part in parts for policy in part]
    for action in ACTIONS:
        joined = ActionTable.joined([ActionTable(part, action) for part in parts])
        for context in asked:
            assert joined.decide(lower_keys(context)) == evaluate(whole, action, context)


def test_a_time_seen_again_is_not_mistaken_for_another_instant_or_spelling():
    """A request's time is one object, remembered by identity; a new object, an equal instant in
    another offset, or a naive time is each judged afresh (a string condition sees the spelling)."""
    document = {"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:images:get"],
         "Condition": {"StringEquals": {"g:CurrentTime": ["2025-06-01T00:00:00+00:00"]}}},
        {"Effect": "Deny", "Action": ["ims:images:get"],
         "Condition": {"DateLessThan": {"g:CurrentTime": "2025-01-01T00:00:00Z"}}},
    ]}
    policies = [("grant", compile_document(document))]
    table = ActionTable(policies, "ims:images:get")
    utc = datetime(2025, 6, 1, tzinfo=UTC)
    for value in [utc, SAME_INSTANT, utc, datetime(2025, 6, 1), datetime(2024, 1, 1, tzinfo=UTC), SAME_INSTANT, utc]:
        context = {"g:CurrentTime": value}
        assert table.decide(lower_keys(context)) == evaluate(policies, "ims:images:get", context), value


# Work, counted: each condition runs once per distinct value of the keys it reads.

PAGE_KEYS = {
    "ims:resourcetag/env": ["prod", "dev", "test", "staging", None, "frozen-1"],
    "ims:ostype": ["Linux", "Windows", "Other"],
    "ims:platform": ["Ubuntu", "CentOS", "Windows"],
    "ims:resourcetag/team": ["a", "b", "c", None],
    "g:mfapresent": [True, False],
}


def page_statement(i: int) -> dict:
    """Statement i of a crowded user: a condition of its own on one or two of the page's keys."""
    conditions = [
        {"StringEquals": {"ims:ResourceTag/env": ["prod", f"frozen-{i}"]}},
        {"StringEquals": {"ims:OsType": ["Windows" if i % 2 else "Linux"]},
         "StringNotEquals": {"ims:ResourceTag/team": [f"team-{i}", "a"]}},
        {"StringEquals": {"ims:Platform": ["Ubuntu", f"p-{i}"]}},
        {"Bool": {"g:MFAPresent": [i % 2 == 0]}},
    ]
    return {"Effect": "Deny" if i % 5 == 0 else "Allow", "Action": [ACTIONS[i % 3], ACTIONS[(i + 1) % 3]],
            "Condition": conditions[i % len(conditions)]}


def page_tables(statements: int):
    policies = [(f"grant-{i}", compile_document({"Version": "1.1", "Statement": [page_statement(i)]}))
                for i in range(statements)]
    return policies, {action: ActionTable(policies, action) for action in ACTIONS}


# Every combination of the page's key values: more than a table could remember whole (432 > 256).
EVERY_REQUEST = [dict(zip(PAGE_KEYS, values, strict=True)) for values in itertools.product(*PAGE_KEYS.values())]


def test_each_condition_runs_once_per_distinct_value_of_the_keys_it_reads(monkeypatch):
    policies, tables = page_tables(120)
    runs: dict[int, int] = {}
    original = CompiledCondition.__call__

    def counted(condition, context):
        runs[id(condition)] = runs.get(id(condition), 0) + 1
        return original(condition, context)

    monkeypatch.setattr(CompiledCondition, "__call__", counted)
    for _ in range(2):
        for request in EVERY_REQUEST:
            for action, table in tables.items():
                assert table.decide(request) == evaluate(policies, action, request)
    monkeypatch.setattr(CompiledCondition, "__call__", original)
    # evaluate() above runs every condition on every request; the tables must have added only one
    # run per distinct value of each condition's keys, whatever the number of tables holding it.
    plain_runs = 2 * len(EVERY_REQUEST)
    for _, policy in policies:
        condition = policy.statements[0].condition
        distinct = len({tuple(map(str, (request.get(key) for key in sorted(condition.keys))))
                        for request in EVERY_REQUEST})
        assert runs[id(condition)] - plain_runs * sum(
            1 for action in ACTIONS if policy.statements_for(action)) <= distinct


def test_a_remembered_decision_costs_the_same_for_200_conditioned_statements_as_for_20():
    def warm_work(statements: int) -> int:
        _, tables = page_tables(statements)
        for request in EVERY_REQUEST:  # warm: every value and decision seen once
            for table in tables.values():
                table.decide(request)

        def decide_every_request():
            for request in EVERY_REQUEST:
                for table in tables.values():
                    table.decide(request)

        return python_steps(decide_every_request)

    few, many = warm_work(20), warm_work(200)
    assert many <= few * 1.1, (few, many)
