"""A page's rows decided through one request's decider (ActionTable.for_request), and a request's time
remembered by its place among the instants the conditions list: the same answers as the plain evaluator.

A decider fixes the request's keys (time, address, MFA, project) and remembers each row's answer by
the outcome of the conditions on those keys and the row's values of the keys that vary (an image's
tags, OS, platform), in memos kept with the table across requests. These tests bind the same tables
to several requests in turn, rows of every awkward kind (absent keys, None, numbers, True, lists, a
request key a row overrides, a text that is not exactly a str) asked again and again, so every memo
is read back by a request that did not write it.
"""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.policy import ActionTable, RowDecider, RowKeys, compile_document, evaluate, lower_keys
from accounts.policy.conditions import CompiledCondition
from tests.policy.test_decision_table_conditions import ACTIONS, contexts, documents
from tests.properties import examples, one_of

IMAGE_KEYS = ["ims:ResourceTag/env", "ims:ResourceTag/team", "ims:OsType", "ims:Platform", "ims:ImageType"]
ROW_VALUES = ["prod", "dev", "PROD", "a", "Linux", "Windows", "Ubuntu", "private", "shared", "", None, 1, True,
              ["prod", "dev"], []]


def varies(key: str) -> bool:
    """The keys a row supplies (as the service's images do): everything under ims:."""
    return key.startswith("ims:")


rows = st.dictionaries(one_of(IMAGE_KEYS), one_of(ROW_VALUES), max_size=5).map(lower_keys)


def asked_row(row: dict, as_row_keys: bool):
    return RowKeys(row) if as_row_keys else dict(row)


def granted(texts, picks):
    """The drawn documents granted (a pick may grant one document twice) and each action's table of them."""
    compiled = [compile_document(document) for document in texts]
    policies = [(f"grant-{n}", compiled[pick % len(compiled)]) for n, pick in enumerate(picks)]
    return policies, {action: ActionTable(policies, action) for action in ACTIONS}


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(documents, min_size=1, max_size=4), st.lists(st.integers(0, 3), min_size=1, max_size=6),
       st.lists(contexts(), min_size=1, max_size=4), st.lists(rows, min_size=1, max_size=8), st.booleans())
def test_rows_of_each_request_are_decided_as_the_evaluator(texts, picks, requests, page, as_row_keys):
    policies, tables = granted(texts, picks)
    # Request after request, and back: each binds the same tables, whose memos the others filled.
    for request in [*requests, *reversed(requests)]:
        fixed = lower_keys(request)
        for action, table in tables.items():
            decide = table.for_request(fixed, varies)
            for row in [*page, *reversed(page)]:
                expected = evaluate(policies, action, {**fixed, **row})
                assert decide(asked_row(row, as_row_keys)) == expected, (action, request, row)


def read_as_the_service_reads(found, row: dict):
    """A row's answer from what `rows_for_request` gave, read as accounts.authz reads it: the answer
    itself; else the decider's memo looked up without a call for a RowKeys of None and exact texts
    (then `miss`), `in_full` for any other row."""
    if not isinstance(found, RowDecider):
        return found
    keys = RowKeys(row)
    if all(value is None or type(value) is str for value in keys.values()):
        key = found.read(keys)
        answer = found.answers.get(key)
        return found.miss(keys, key) if answer is None else answer
    return found.in_full(keys)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(documents, min_size=1, max_size=4), st.lists(st.integers(0, 3), min_size=1, max_size=6),
       st.lists(contexts(), min_size=1, max_size=4), st.lists(rows, min_size=1, max_size=8))
def test_rows_read_through_the_deciders_memo_are_decided_as_the_evaluator(texts, picks, requests, page):
    # The service's own reading of a request's deciders (an answer no row can change; the memo looked
    # up in place; the row decided in full), request after request and back, over the same tables.
    policies, tables = granted(texts, picks)
    for request in [*requests, *reversed(requests)]:
        fixed = lower_keys(request)
        for action, table in tables.items():
            found = table.rows_for_request(fixed, varies)
            for row in [*page, *reversed(page)]:
                expected = evaluate(policies, action, {**fixed, **row})
                assert read_as_the_service_reads(found, row) == expected, (action, request, row)


def test_an_answer_no_row_can_change_is_given_ahead():
    """Conditions on the request alone (time, address, MFA): the request's answer is given once, with no
    decider to call per row, whatever the rows hold."""
    document = {"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:images:get"], "Condition": {"Bool": {"g:MFAPresent": [True]}}},
        {"Effect": "Deny", "Action": ["ims:images:get"], "Condition": {"IpAddress": {"g:SourceIp": ["10.0.0.0/8"]}}},
    ]}
    policies = [("grant", compile_document(document))]
    table = ActionTable(policies, "ims:images:get")
    for request in [{"g:mfapresent": True}, {"g:mfapresent": True, "g:sourceip": "10.1.2.3"}, {}]:
        found = table.rows_for_request(request, varies)
        assert not isinstance(found, RowDecider)
        for row in [{}, {"ims:ostype": "Linux"}, {"ims:resourcetag/env": ["prod", 1]}]:
            assert found == evaluate(policies, "ims:images:get", {**request, **row}), (request, row)


def test_a_row_seen_in_an_earlier_request_runs_no_condition_though_the_time_is_new(monkeypatch):
    """The request's time is a new object every request; the conditions on it hold alike until it
    passes an instant they list, so a row seen before is one look-up."""
    document = {"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:images:get"],
         "Condition": {"StringEquals": {"ims:OsType": ["Linux"]}, "StringNotEquals": {"ims:ResourceTag/team": ["a"]}}},
        {"Effect": "Deny", "Action": ["ims:images:get"],
         "Condition": {"DateLessThan": {"g:CurrentTime": "2020-01-01T00:00:00Z"}}},
        {"Effect": "Allow", "Action": ["ims:images:get"],
         "Condition": {"DateGreaterThan": {"g:CurrentTime": "2024-01-01T00:00:00+08:00"},
                       "Null": {"g:CurrentTime": False}}},
        {"Effect": "Deny", "Action": ["ims:images:get"], "Condition": {"Bool": {"g:MFAPresent": [False]}}},
        {"Effect": "Deny", "Action": ["ims:images:get"], "Condition": {"IpAddress": {"g:SourceIp": ["10.0.0.0/8"]}}},
    ]}
    policies = [("grant", compile_document(document))]
    table = ActionTable(policies, "ims:images:get")
    page = [RowKeys({"ims:ostype": os, "ims:resourcetag/team": team}) for os in ("Linux", "Windows", None)
            for team in ("a", "b", None)]
    runs = []
    original = CompiledCondition.__call__
    monkeypatch.setattr(CompiledCondition, "__call__", lambda condition, context: runs.append(1) or original(
        condition, context))

    def a_request(seconds: int):
        fixed = {"g:currenttime": datetime(2025, 6, 1, tzinfo=UTC) + timedelta(seconds=seconds),
                 "g:sourceip": "192.168.1.1", "g:mfapresent": True}
        decide = table.for_request(fixed, varies)
        for row in page:
            assert decide(row) == evaluate(policies, "ims:images:get", {**fixed, **row})

    a_request(0)
    assert runs
    runs.clear()
    for seconds in range(1, 20):
        a_request(seconds)
    # evaluate() above runs every condition of every row; the deciders ran none of their own.
    assert len(runs) == 19 * len(page) * 5


def test_values_equal_to_each_other_but_read_differently_are_never_confused():
    """True == 1 == 1.0 in Python, but a condition reads "true", "1" and "1.0": a row holding one of
    them is never answered from another's memo, whatever the order they come in."""
    document = {"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:images:get"],
         "Condition": {"StringEquals": {"ims:ResourceTag/env": ["true", "1.0"]}}},
        {"Effect": "Deny", "Action": ["ims:images:get"], "Condition": {"StringEquals": {"ims:ResourceTag/env": ["1"]}}},
    ]}
    policies = [("grant", compile_document(document))]
    values = [True, 1, 1.0, "1", "true", (1,), (True,)]
    for order in (values, values[::-1], values[1::2] + values[::2]):
        table = ActionTable(policies, "ims:images:get")
        decide = table.for_request({"g:sourceip": "10.1.2.3"}, varies)
        for value in order * 2:
            row = RowKeys({"ims:resourcetag/env": value})
            assert decide(row) == evaluate(policies, "ims:images:get", row), value


class Spelled(str):
    """A text that reads differently from the str it equals (as a `(str, Enum)` member's str() does)."""

    def __str__(self):
        return "spelled-" + super().__str__()


# A request's time, remembered by its place among the listed instants.

LISTED = ["2025-01-01T00:00:00Z", "2025-06-01T08:00:00+08:00", "2025-06-01T00:00:00.000001+00:00"]
EDGES = [datetime.fromisoformat(text) for text in LISTED]
NEAR = [timedelta(0), timedelta(microseconds=1), -timedelta(microseconds=1), timedelta(days=1), -timedelta(days=40)]
ZONES = [UTC, timezone(timedelta(hours=8)), timezone(-timedelta(hours=5)), ZoneInfo("Europe/Paris")]
DATE_OPERATORS = ["DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals"]


@st.composite
def times(draw):
    """A request's time: on, just before or after a listed instant, in any offset, naive, or text."""
    moment = draw(one_of(EDGES)) + draw(one_of(NEAR))
    form = draw(st.integers(0, 3))
    if form == 0:
        return moment.astimezone(draw(one_of(ZONES)))
    if form == 1:
        return moment.astimezone(UTC).replace(tzinfo=None)  # naive: read as UTC
    if form == 2:
        return moment.isoformat()
    return draw(one_of([None, "yesterday", 5]))


@st.composite
def time_statements(draw):
    block = {}
    for _ in range(draw(st.integers(1, 2))):
        operator = draw(one_of([*DATE_OPERATORS, "Null", "StringEquals"]))
        if operator == "Null":
            block[operator] = {"g:CurrentTime": draw(one_of([True, False]))}
        elif operator == "StringEquals":
            block[operator] = {"g:CurrentTime": [draw(one_of(LISTED))]}
        else:
            prefix = draw(one_of(["", "ForAnyValue:", "ForAllValues:"]))
            suffix = draw(one_of(["", "IfExists"]))
            block[prefix + operator + suffix] = {"g:CurrentTime": draw(st.lists(one_of(LISTED), min_size=1,
                                                                                max_size=3))}
    return {"Effect": draw(one_of(["Allow", "Deny"])), "Action": ["ims:images:get"], "Condition": block}


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(time_statements(), min_size=1, max_size=5), st.lists(times(), min_size=1, max_size=12))
def test_times_on_and_around_the_listed_instants_are_decided_as_the_evaluator(statements, asked):
    # Each statement a grant of its own; a time-only group mixes date comparisons, presence tests and
    # (not placeable: the time's spelling) a string comparison.
    policies = [(f"grant-{n}", compile_document({"Version": "1.1", "Statement": [statement]}))
                for n, statement in enumerate(statements)]
    table = ActionTable(policies, "ims:images:get")
    for value in [*asked, *reversed(asked), *asked]:
        context = {"g:CurrentTime": value}
        assert table.decide(lower_keys(context)) == evaluate(policies, "ims:images:get", context), value
        decide = table.for_request(lower_keys(context), varies)
        assert decide(RowKeys()) == evaluate(policies, "ims:images:get", context), value


def test_a_place_among_one_tables_instants_is_not_taken_for_a_place_among_anothers():
    """A condition shared by two tables is placed among different instants in each (here one and
    two): its answer at one table's place must not be read back at the other's."""
    document = {"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:images:get", "ims:images:update"],
         "Condition": {"DateLessThan": {"g:CurrentTime": "2025-06-01T00:00:00Z"}}},
        {"Effect": "Deny", "Action": ["ims:images:update"],
         "Condition": {"DateLessThan": {"g:CurrentTime": "2025-01-01T00:00:00Z"}}},
    ]}
    policies = [("grant", compile_document(document))]
    tables = {action: ActionTable(policies, action) for action in ("ims:images:get", "ims:images:update")}
    # After both instants for the one, between them for the other: the same count of instants before.
    for action, moment in [("ims:images:get", datetime(2025, 7, 1, tzinfo=UTC)),
                           ("ims:images:update", datetime(2025, 3, 1, tzinfo=UTC)),
                           ("ims:images:get", datetime(2024, 7, 1, tzinfo=UTC)),
                           ("ims:images:update", datetime(2025, 7, 1, tzinfo=UTC))]:
        context = {"g:CurrentTime": moment}
        assert tables[action].decide(lower_keys(context)) == evaluate(policies, action, context), (action, moment)

