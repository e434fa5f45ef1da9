"""Condition operators and the missing-key / multi-value rules of SPEC 6, points 4-6."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from accounts.policy import compile_document, evaluate
from accounts.policy.conditions import compile_condition, parse_operator

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def holds(block, context):
    return compile_condition(block)({key.lower(): value for key, value in context.items()})


def one(operator, key, listed, value):
    return holds({operator: {key: listed}}, {key: value})


OPERATOR_TABLE = [
    # (operator, key, listed values, request value, holds?)
    ("StringEquals", "g:UserName", ["alice", "bob"], "bob", True),
    ("StringEquals", "g:UserName", ["alice"], "Alice", False),
    ("StringNotEquals", "g:UserName", ["alice", "bob"], "carol", True),
    ("StringNotEquals", "g:UserName", ["alice", "bob"], "bob", False),
    ("StringEqualsIgnoreCase", "g:UserName", ["alice"], "ALICE", True),
    ("StringEqualsIgnoreCase", "g:UserName", ["alice"], "alicia", False),
    ("StringNotEqualsIgnoreCase", "g:UserName", ["alice"], "ALICE", False),
    ("StringNotEqualsIgnoreCase", "g:UserName", ["alice"], "bob", True),
    ("StringMatch", "g:UserName", ["dev-*"], "dev-ops", True),
    ("StringMatch", "g:UserName", ["dev-*"], "dev-", True),
    ("StringMatch", "g:UserName", ["dev-*"], "DEV-ops", False),
    ("StringMatch", "g:UserName", ["a?c"], "abc", True),
    ("StringMatch", "g:UserName", ["a?c"], "ac", False),
    ("StringMatch", "g:UserName", ["[ab]"], "a", False),
    ("StringMatch", "g:UserName", ["[ab]"], "[ab]", True),
    ("StringMatch", "g:UserName", ["a.c"], "abc", False),
    ("StringNotMatch", "g:UserName", ["dev-*"], "ops", True),
    ("StringNotMatch", "g:UserName", ["dev-*"], "dev-1", False),
    ("StringStartWith", "g:ProjectName", ["cn-north-4"], "cn-north-4_dev", True),
    ("StringStartWith", "g:ProjectName", ["cn-north-4"], "CN-north-4", False),
    ("StringNotStartWith", "g:ProjectName", ["cn-"], "ap-southeast-1", True),
    ("StringNotStartWith", "g:ProjectName", ["cn-"], "cn-east-3", False),
    ("StringEndWith", "g:ProjectName", ["_dev"], "cn-north-4_dev", True),
    ("StringEndWith", "g:ProjectName", ["_dev"], "cn-north-4", False),
    ("StringNotEndWith", "g:ProjectName", ["_dev"], "cn-north-4", True),
    ("StringNotEndWith", "g:ProjectName", ["_dev"], "cn-north-4_dev", False),
    ("StringEquals", "g:MFAPresent", ["true"], True, True),
    ("NumberEquals", "g:MFAAge", [300], 300, True),
    ("NumberEquals", "g:MFAAge", [300], 300.0, True),
    ("NumberEquals", "g:MFAAge", ["300"], "300", True),
    ("NumberNotEquals", "g:MFAAge", [300], 301, True),
    ("NumberNotEquals", "g:MFAAge", [300], 300, False),
    ("NumberLessThan", "g:MFAAge", [3600], 3599, True),
    ("NumberLessThan", "g:MFAAge", [3600], 3600, False),
    ("NumberLessThanEquals", "g:MFAAge", [3600], 3600, True),
    ("NumberLessThanEquals", "g:MFAAge", [3600], 3601, False),
    ("NumberGreaterThan", "g:MFAAge", [10], 10.5, True),
    ("NumberGreaterThan", "g:MFAAge", [10], 10, False),
    ("NumberGreaterThanEquals", "g:MFAAge", [10], 10, True),
    ("NumberGreaterThanEquals", "g:MFAAge", [10], 9, False),
    ("NumberLessThan", "g:MFAAge", [3600], "not a number", False),
    ("NumberNotEquals", "g:MFAAge", [3600], "not a number", True),
    ("DateLessThan", "g:CurrentTime", ["2025-06-01T20:00:00+08:00"], NOW - timedelta(seconds=1), True),
    ("DateLessThan", "g:CurrentTime", ["2025-06-01T20:00:00+08:00"], NOW, False),
    ("DateLessThanEquals", "g:CurrentTime", ["2025-06-01T12:00:00Z"], NOW, True),
    ("DateGreaterThan", "g:CurrentTime", ["2025-06-01T11:59:59Z"], NOW, True),
    ("DateGreaterThan", "g:CurrentTime", ["2025-06-01T12:00:00Z"], NOW, False),
    ("DateGreaterThanEquals", "g:CurrentTime", ["2025-06-01T12:00:00Z"], "2025-06-01T14:00:00+02:00", True),
    ("DateLessThan", "g:CurrentTime", ["2025-06-01T12:00:00Z"], datetime(2025, 6, 1, 11, 0), True),
    ("DateLessThan", "g:CurrentTime", ["2025-06-01T12:00:00Z"], NOW.astimezone(timezone(timedelta(hours=-5))), False),
    ("Bool", "g:MFAPresent", [True], True, True),
    ("Bool", "g:MFAPresent", ["true"], True, True),
    ("Bool", "g:MFAPresent", [False], "false", True),
    ("Bool", "g:MFAPresent", ["false"], True, False),
    ("IpAddress", "g:SourceIp", ["10.0.0.0/8"], "10.1.2.3", True),
    ("IpAddress", "g:SourceIp", ["10.0.0.0/8"], "11.1.2.3", False),
    ("IpAddress", "g:SourceIp", ["192.168.1.7"], "192.168.1.7", True),
    ("IpAddress", "g:SourceIp", ["2001:db8::/32"], "2001:db8::1", True),
    ("IpAddress", "g:SourceIp", ["2001:db8::/32"], "10.1.2.3", False),
    ("IpAddress", "g:SourceIp", ["10.0.0.0/8"], "garbage", False),
    ("NotIpAddress", "g:SourceIp", ["10.0.0.0/8", "172.16.0.0/12"], "8.8.8.8", True),
    ("NotIpAddress", "g:SourceIp", ["10.0.0.0/8", "172.16.0.0/12"], "172.16.5.4", False),
]


@pytest.mark.parametrize(("operator", "key", "listed", "value", "expected"), OPERATOR_TABLE)
def test_each_operator_compares_as_documented(operator, key, listed, value, expected):
    assert one(operator, key, listed, value) is expected


def test_a_single_value_may_be_given_without_a_list():
    assert one("StringEquals", "g:UserName", "alice", "alice")
    assert one("NumberLessThan", "g:MFAAge", 60, 59)


MISSING_KEY_TABLE = [
    # SPEC 6.5, in its order: IfExists, Null, ForAllValues, ForAnyValue, positive/negated.
    ("StringEqualsIfExists", True),
    ("StringNotEqualsIfExists", True),
    ("ForAnyValue:StringEqualsIfExists", True),
    ("ForAllValues:StringEqualsIfExists", True),
    ("ForAllValues:StringEquals", True),
    ("ForAllValues:StringNotEquals", True),
    ("ForAnyValue:StringEquals", False),
    ("ForAnyValue:StringNotEquals", False),
    ("StringEquals", False),
    ("StringMatch", False),
    ("NumberLessThan", False),
    ("Bool", False),
    ("IpAddress", False),
    ("StringNotEquals", True),
    ("StringNotMatch", True),
    ("NotIpAddress", True),
]


@pytest.mark.parametrize(("operator", "expected"), MISSING_KEY_TABLE)
def test_a_missing_key_follows_the_documented_order(operator, expected):
    value = "10.0.0.0/8" if "Ip" in operator else 5 if "Number" in operator else True if operator == "Bool" else "x"
    assert holds({operator: {"ims:ResourceTag/env": [value]}}, {}) is expected
    assert holds({operator: {"ims:ResourceTag/env": [value]}}, {"ims:ResourceTag/env": None}) is expected


@pytest.mark.parametrize(
    ("listed", "context", "expected"),
    [
        (True, {}, True),
        (True, {"g:UserName": "alice"}, False),
        (False, {}, False),
        (False, {"g:UserName": "alice"}, True),
        ("true", {}, True),
        ("false", {"g:UserName": "alice"}, True),
        (True, {"g:UserName": []}, False),
        (False, {"g:UserName": []}, True),
    ],
)
def test_null_tests_whether_the_key_is_absent(listed, context, expected):
    assert holds({"Null": {"g:UserName": listed}}, context) is expected


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("ForAllValues:StringEquals", True),
        ("ForAllValues:StringNotEquals", True),
        ("ForAnyValue:StringEquals", False),
        ("StringEquals", False),
        ("StringNotEquals", False),
        ("StringEqualsIfExists", False),
        ("StringNotEqualsIfExists", False),
    ],
)
def test_a_key_present_with_an_empty_list_is_true_only_for_for_all_values(operator, expected):
    assert holds({operator: {"ims:ResourceTag/team": ["a"]}}, {"ims:ResourceTag/team": []}) is expected


TEAMS = {"ims:ResourceTag/team": ["web", "db"]}


@pytest.mark.parametrize(
    ("operator", "listed", "expected"),
    [
        ("ForAnyValue:StringEquals", ["db"], True),
        ("ForAnyValue:StringEquals", ["ops"], False),
        ("ForAllValues:StringEquals", ["db"], False),
        ("ForAllValues:StringEquals", ["db", "web", "ops"], True),
        ("StringEquals", ["db"], True),
        ("StringEquals", ["ops"], False),
        ("ForAnyValue:StringNotEquals", ["db"], True),
        ("ForAllValues:StringNotEquals", ["db"], False),
        ("ForAllValues:StringNotEquals", ["ops"], True),
        ("StringNotEquals", ["db"], True),
        ("StringNotEquals", ["db", "web"], False),
        ("ForAllValues:StringMatchIfExists", ["*b"], True),
    ],
)
def test_multi_valued_keys_need_any_or_all_request_values(operator, listed, expected):
    assert holds({operator: {"ims:ResourceTag/team": listed}}, TEAMS) is expected


def test_every_operator_and_every_key_must_hold():
    block = {
        "StringEquals": {"g:UserName": "alice", "g:ProjectName": "cn-north-4"},
        "Bool": {"g:MFAPresent": True},
    }
    context = {"g:UserName": "alice", "g:ProjectName": "cn-north-4", "g:MFAPresent": True}
    assert holds(block, context)
    assert not holds(block, {**context, "g:ProjectName": "cn-east-3"})
    assert not holds(block, {**context, "g:MFAPresent": False})


def test_context_keys_are_case_insensitive_and_values_case_sensitive():
    document = {
        "Version": "1.1",
        "Statement": [
            {"Effect": "Allow", "Action": ["ims:images:get"], "Condition": {"StringEquals": {"G:USERNAME": "alice"}}}
        ],
    }
    policy = compile_document(document)
    assert evaluate([("p", policy)], "ims:images:get", {"g:username": "alice"}).allowed
    assert evaluate([("p", policy)], "ims:images:get", {"G:UserName": "alice"}).allowed
    assert not evaluate([("p", policy)], "ims:images:get", {"g:UserName": "ALICE"}).allowed


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("StringEquals", ("StringEquals", "", False)),
        ("StringEqualsIfExists", ("StringEquals", "", True)),
        ("ForAnyValue:NumberLessThanIfExists", ("NumberLessThan", "ForAnyValue:", True)),
        ("ForAllValues:NotIpAddress", ("NotIpAddress", "ForAllValues:", False)),
        ("Null", ("Null", "", False)),
    ],
)
def test_operator_names_are_parsed_into_prefix_base_and_if_exists(name, parsed):
    operator = parse_operator(name)
    assert (operator.base, operator.prefix, operator.if_exists) == parsed


@pytest.mark.parametrize(
    "name",
    ["stringequals", "StringEqual", "NullIfExists", "ForAnyValue:Null", "ForSomeValues:StringEquals", "IfExists", ""],
)
def test_names_outside_the_language_are_not_operators(name):
    assert parse_operator(name) is None


@pytest.mark.parametrize(
    "block",
    [
        {"Nope": {"g:UserName": "x"}},
        {"NumberEquals": {"g:MFAAge": "many"}},
        {"DateLessThan": {"g:CurrentTime": "2025-01-01"}},
        {"IpAddress": {"g:SourceIp": "10.0.0.0/33"}},
        {"Bool": {"g:MFAPresent": "maybe"}},
        {"Null": {"g:MFAPresent": "maybe"}},
        {"StringEquals": {"g:UserName": []}},
        {"StringEquals": ["g:UserName"]},
    ],
)
def test_compiling_a_condition_the_validator_would_refuse_raises_value_error(block):
    with pytest.raises(ValueError):
        compile_condition(block)
