"""Decisions (SPEC 6): the properties an authorizer must keep, and an independent model."""

import ipaddress
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.policy import ACTION_NAMES, IMS_ACTIONS, compile_document, evaluate, strongest, validate_document
from accounts.policy.evaluator import ALLOW, EXPLICIT_DENY, IMPLICIT_DENY
from tests.properties import examples, one_of

ACTIONS = [*sorted(ACTION_NAMES), "ecs:servers:list", "ecs:servers:delete", "obs:buckets:get"]
PATTERNS = [
    *sorted(ACTION_NAMES),
    "ims:*:*",
    "ims:images:*",
    "ims:*:get*",
    "ims:*:list*",
    "ims:*Images:create",
    "IMS:Images:DELETE",
    "ims:images:*e",
    "iam:*:*",
    "iam:users:*User",
    "iam:*:list*",
    "ecs:*:list",
    "ecs:servers:*",
    "obs:*:*",
]

# Condition entries over keys of every type, with values the validator accepts.
KEYS = {
    "g:UserName": ("string", ["alice", "bob", "al*", "?ob"]),
    "ims:ResourceTag/env": ("string", ["prod", "dev", "PROD", "p*"]),
    "g:MFAAge": ("number", [0, 60, 3600]),
    "g:MFAPresent": ("bool", [True, False, "true"]),
    "g:SourceIp": ("ip", ["10.0.0.0/8", "192.168.1.1", "2001:db8::/32"]),
    "g:CurrentTime": ("date", ["2025-01-01T00:00:00Z", "2025-06-01T08:00:00+08:00"]),
}
OPERATORS = {
    "string": [
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringMatch",
        "StringNotMatch",
        "StringStartWith",
        "StringNotStartWith",
        "StringEndWith",
        "StringNotEndWith",
    ],
    "number": ["NumberEquals", "NumberNotEquals", "NumberLessThan", "NumberGreaterThanEquals"],
    "bool": ["Bool"],
    "ip": ["IpAddress", "NotIpAddress"],
    "date": ["DateLessThan", "DateGreaterThan", "DateLessThanEquals", "DateGreaterThanEquals"],
}
CONTEXT_VALUES = {
    "g:UserName": ["alice", "bob", "Alice", "carol"],
    "ims:ResourceTag/env": ["prod", "dev", "PROD", "test"],
    "g:MFAAge": [0, 59, 60, 3600, 7200],
    "g:MFAPresent": [True, False],
    "g:SourceIp": ["10.1.2.3", "192.168.1.1", "8.8.8.8", "2001:db8::1"],
    "g:CurrentTime": [
        datetime(2024, 12, 31, tzinfo=UTC),
        datetime(2025, 1, 1, tzinfo=UTC),
        datetime(2025, 6, 1, tzinfo=UTC),
        "2025-06-01T08:00:00+08:00",
    ],
}


@st.composite
def condition_entries(draw):
    key = draw(one_of(sorted(KEYS)))
    key_type, values = KEYS[key]
    base = draw(one_of(OPERATORS[key_type]))
    if draw(st.integers(0, 9)) == 0:
        return "Null", key, draw(one_of([True, False, "true", "false"]))
    prefix = draw(one_of(["", "", "ForAnyValue:", "ForAllValues:"]))
    suffix = draw(one_of(["", "", "IfExists"]))
    listed = draw(st.lists(one_of(values), min_size=1, max_size=3))
    spelled = draw(one_of([key, key.lower(), key.upper()]))
    return prefix + base + suffix, spelled, listed if len(listed) > 1 or draw(st.booleans()) else listed[0]


@st.composite
def conditions(draw):
    block = {}
    for operator, key, listed in draw(st.lists(condition_entries(), max_size=3)):
        block.setdefault(operator, {})[key] = listed
    return block


@st.composite
def statements(draw, effects=("Allow", "Deny")):
    statement = {
        "Effect": draw(one_of(effects)),
        "Action": draw(st.lists(one_of(PATTERNS), min_size=1, max_size=3)),
    }
    block = draw(conditions())
    if block:
        statement["Condition"] = block
    return statement


def documents(effects=("Allow", "Deny")):
    return st.lists(statements(effects), min_size=1, max_size=4).map(
        lambda statements: {"Version": "1.1", "Statement": statements}
    )


@st.composite
def contexts(draw):
    context = {}
    for key in draw(st.lists(one_of(sorted(CONTEXT_VALUES)), unique=True)):
        values = CONTEXT_VALUES[key]
        spelled = draw(one_of([key, key.lower(), key.upper()]))
        if draw(st.integers(0, 3)) == 0:
            context[spelled] = draw(st.lists(one_of(values), max_size=3))
        else:
            context[spelled] = draw(one_of(values))
    return context


def compiled(documents):
    return [(index, compile_document(document)) for index, document in enumerate(documents)]


many_documents = st.lists(documents(), max_size=4)
actions = one_of(ACTIONS)


# An independent reference model, written naively from the SPEC text.


def glob(pattern, text, *, any_char=None):
    """`*` matches any run (also none); `any_char` (if given) matches exactly one character."""
    if not pattern:
        return not text
    if pattern[0] == "*":
        return glob(pattern[1:], text, any_char=any_char) or (bool(text) and glob(pattern, text[1:], any_char=any_char))
    if not text:
        return False
    same = pattern[0] == text[0] or pattern[0] == any_char
    return same and glob(pattern[1:], text[1:], any_char=any_char)


def reference_action_matches(pattern, action):
    pattern_parts = pattern.lower().split(":")
    action_parts = action.lower().split(":")
    return all(glob(p, a) for p, a in zip(pattern_parts, action_parts, strict=True))


def as_bool(value):
    return value if isinstance(value, bool) else value.lower() == "true"


def as_instant(value):
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def reference_compare(base, request_value, listed_value):
    """Does one request value match one listed value, for a positive operator."""
    if base == "StringEquals":
        return request_value == listed_value
    if base == "StringEqualsIgnoreCase":
        return request_value.lower() == listed_value.lower()
    if base == "StringMatch":
        return glob(listed_value, request_value, any_char="?")
    if base == "StringStartWith":
        return request_value.startswith(listed_value)
    if base == "StringEndWith":
        return request_value.endswith(listed_value)
    if base.startswith("Number"):
        a, b = float(request_value), float(listed_value)
        return {
            "NumberEquals": a == b,
            "NumberLessThan": a < b,
            "NumberLessThanEquals": a <= b,
            "NumberGreaterThan": a > b,
            "NumberGreaterThanEquals": a >= b,
        }[base]
    if base.startswith("Date"):
        a, b = as_instant(request_value), as_instant(listed_value)
        return {
            "DateLessThan": a < b,
            "DateLessThanEquals": a <= b,
            "DateGreaterThan": a > b,
            "DateGreaterThanEquals": a >= b,
        }[base]
    if base == "Bool":
        return as_bool(request_value) == as_bool(listed_value)
    if base == "IpAddress":
        return ipaddress.ip_address(request_value) in ipaddress.ip_network(listed_value, strict=False)
    raise AssertionError(base)


def reference_key_holds(operator, key, listed, context):
    listed = listed if isinstance(listed, list) else [listed]
    lowered = {k.lower(): v for k, v in context.items()}
    present = lowered.get(key.lower()) is not None
    if operator == "Null":
        return any(as_bool(value) == (not present) for value in listed)
    prefix = ""
    for candidate in ("ForAnyValue:", "ForAllValues:"):
        if operator.startswith(candidate):
            prefix = candidate
            operator = operator[len(candidate) :]
    if_exists = operator.endswith("IfExists")
    if if_exists:
        operator = operator[: -len("IfExists")]
    negated = "Not" in operator
    positive = operator.replace("Not", "", 1) if negated else operator
    if not present:
        if if_exists:
            return True
        if prefix == "ForAllValues:":
            return True
        if prefix == "ForAnyValue:":
            return False
        return negated
    request_values = lowered[key.lower()]
    if not isinstance(request_values, list):
        request_values = [request_values]
    if request_values == []:
        return prefix == "ForAllValues:"
    results = []
    for request_value in request_values:
        matches_any = any(reference_compare(positive, request_value, listed_value) for listed_value in listed)
        results.append(not matches_any if negated else matches_any)
    return all(results) if prefix == "ForAllValues:" else any(results)


def reference_decide(documents, action, context):
    denied = allowed = False
    for document in documents:
        for statement in document["Statement"]:
            if not any(reference_action_matches(p, action) for p in statement["Action"]):
                continue
            condition = statement.get("Condition", {})
            if all(
                reference_key_holds(operator, key, listed, context)
                for operator, entries in condition.items()
                for key, listed in entries.items()
            ):
                if statement["Effect"] == "Deny":
                    denied = True
                else:
                    allowed = True
    return EXPLICIT_DENY if denied else ALLOW if allowed else IMPLICIT_DENY


@settings(max_examples=examples(300))
@given(many_documents, actions, contexts())
def test_evaluate_agrees_with_the_reference_model(documents, action, context):
    assert evaluate(compiled(documents), action, context).outcome == reference_decide(documents, action, context)


@settings(max_examples=examples(300))
@given(many_documents, actions, contexts())
def test_the_strongest_of_each_statement_alone_is_the_decision_of_them_all(documents, action, context):
    """The combining rule the impact previews rely on: deciding each statement on its own and taking the
    strongest outcome (`strongest`) answers as deciding the documents together."""
    alone = [evaluate([("alone", compile_document({**document, "Statement": [statement]}))], action,
                      context).outcome
             for document in documents for statement in document["Statement"]]
    assert strongest(alone) == evaluate(compiled(documents), action, context).outcome


@settings(max_examples=examples(50))
@given(documents())
def test_generated_documents_are_valid_policies(document):
    assert validate_document(document, system=True).ok


# The properties of SPEC 6.3.


@given(many_documents, actions, contexts())
def test_an_unconditional_matching_deny_always_wins(documents, action, context):
    deny = {"Version": "1.1", "Statement": [{"Effect": "Deny", "Action": [action.upper()]}]}
    decision = evaluate(compiled([*documents, deny]), action, context)
    assert decision.outcome == EXPLICIT_DENY
    assert (len(documents), 0) in decision.matched


@given(many_documents, actions, contexts())
def test_the_deciding_statements_are_the_matching_statements_of_the_deciding_effect(documents, action, context):
    decision = evaluate(compiled(documents), action, context)
    assert (decision.outcome == IMPLICIT_DENY) == (decision.matched == ())
    for policy_index, statement_index in decision.matched:
        statement = documents[policy_index]["Statement"][statement_index]
        assert statement["Effect"] == ("Deny" if decision.outcome == EXPLICIT_DENY else "Allow")
    assert list(decision.matched) == sorted(decision.matched)


@given(actions, contexts())
def test_nothing_is_allowed_without_policies(action, context):
    assert evaluate([], action, context).outcome == IMPLICIT_DENY


@given(st.lists(documents(), max_size=4), contexts())
def test_an_action_no_statement_names_is_implicitly_denied(documents, context):
    decision = evaluate(compiled(documents), "kms:keys:create", context)
    assert decision == evaluate([], "kms:keys:create")
    assert not decision.allowed


@given(many_documents, actions, contexts(), st.randoms(use_true_random=False))
def test_order_and_duplicates_of_policies_and_statements_do_not_matter(documents, action, context, random):
    policies = compiled(documents)
    expected = evaluate(policies, action, context)
    shuffled = [
        {"Version": "1.1", "Statement": random.sample(d["Statement"], len(d["Statement"])) * 2} for d in documents
    ]
    reordered = compiled(shuffled)
    reordered = reordered + random.sample(reordered, len(reordered))
    random.shuffle(reordered)
    assert evaluate(reordered, action, context).outcome == expected.outcome
    assert evaluate(reordered, action, context).missing_keys == expected.missing_keys


@given(many_documents, documents(effects=("Allow",)), actions, contexts())
def test_adding_an_allow_never_turns_an_allow_into_a_deny(documents, extra, action, context):
    if evaluate(compiled(documents), action, context).allowed:
        assert evaluate(compiled([*documents, extra]), action, context).allowed


@given(many_documents, documents(effects=("Deny",)), actions, contexts())
def test_adding_a_deny_never_turns_a_deny_into_an_allow(documents, extra, action, context):
    if not evaluate(compiled(documents), action, context).allowed:
        assert not evaluate(compiled([*documents, extra]), action, context).allowed


# Action matching.


def allow_only(*patterns):
    return [("p", compile_document({"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": list(patterns)}]}))]


@pytest.mark.parametrize("action", [a.name for a in IMS_ACTIONS])
def test_images_wildcard_covers_exactly_the_images_actions(action):
    assert evaluate(allow_only("ims:images:*"), action).allowed is action.startswith("ims:images:")


def test_action_matching_ignores_case_in_every_segment():
    assert evaluate(allow_only("IMS:Images:DELETE"), "ims:images:delete").allowed
    assert evaluate(allow_only("ims:serverimages:create"), "ims:serverImages:create").allowed
    assert evaluate(allow_only("ims:images:delete"), "IMS:IMAGES:Delete").allowed


def test_a_wildcard_stays_inside_its_segment():
    assert not evaluate(allow_only("ims:*:get"), "ims:images:list").allowed
    assert evaluate(allow_only("ims:*:get"), "ims:images:get").allowed
    assert not evaluate(allow_only("ims:images*:get"), "ims:images:x:get").allowed
    assert not evaluate(allow_only("ims:*s:get"), "ims:images:get:x").allowed
    assert evaluate(allow_only("ims:*:*"), "ims:quotas:get").allowed
    assert not evaluate(allow_only("ims:*:*"), "iam:users:getUser").allowed
    assert evaluate(allow_only("ims:*images:create"), "ims:images:create").allowed


def test_regex_characters_in_actions_are_literal():
    assert not evaluate(allow_only("ims:images:get"), "ims:images:ge.").allowed
    assert not evaluate(allow_only("ims:images:*"), "ims:images").allowed


# What a decision reports.


def test_a_decision_names_the_deciding_statements_in_input_order():
    read = compile_document(
        {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list", "ims:*:get*"]}]}
    )
    guard = compile_document(
        {
            "Version": "1.1",
            "Statement": [
                {"Effect": "Allow", "Action": ["ims:images:get"]},
                {"Effect": "Deny", "Action": ["ims:images:delete"]},
                {"Effect": "Deny", "Action": ["ims:images:*"], "Condition": {"Bool": {"g:MFAPresent": False}}},
            ],
        }
    )
    policies = [("read", read), ("guard", guard)]
    allowed = evaluate(policies, "ims:images:get", {"g:MFAPresent": True})
    assert allowed.allowed and allowed.outcome == "allow"
    assert allowed.matched == (("read", 0), ("guard", 0))
    denied = evaluate(policies, "ims:images:delete", {"g:MFAPresent": False})
    assert denied.outcome == "explicit_deny" and not denied.allowed
    assert denied.matched == (("guard", 1), ("guard", 2))
    nothing = evaluate(policies, "ims:images:share", {"g:MFAPresent": True})
    assert (nothing.outcome, nothing.matched) == ("implicit_deny", ())


def test_a_decision_reports_condition_keys_the_request_lacked():
    policy = compile_document(
        {
            "Version": "1.1",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["ims:images:get"],
                    "Condition": {
                        "NumberLessThan": {"g:mfaage": 3600},
                        "StringEquals": {"ims:resourcetag/Env": "dev"},
                    },
                },
                {"Effect": "Deny", "Action": ["ims:images:delete"], "Condition": {"Null": {"g:UserName": True}}},
            ],
        }
    )
    decision = evaluate([("p", policy)], "ims:images:get", {"ims:ResourceTag/env": "dev"})
    assert decision.outcome == "implicit_deny"
    assert decision.missing_keys == {"g:MFAAge"}
    assert evaluate([("p", policy)], "ims:images:list").missing_keys == frozenset()


def test_compiled_policies_say_which_actions_they_name():
    policy = allow_only("ims:*:get*")[0][1]
    assert policy.matches_action("ims:quotas:get")
    assert not policy.matches_action("ims:images:delete")


@pytest.mark.parametrize(
    "document",
    [
        None,
        [],
        {"Version": "1.1"},
        {"Statement": [{"Effect": "allow", "Action": ["ims:images:get"]}]},
        {"Statement": [{"Effect": "Allow", "Action": "ims:images:get"}]},
        {"Statement": [{"Effect": "Allow", "Action": ["ims:images"]}]},
        {"Statement": [{"Effect": "Allow", "Action": ["ims:images:get"], "Condition": "x"}]},
        {"Statement": [{"Effect": "Allow", "Action": ["ims:images:get"], "Condition": {"Nope": {"g:UserName": "x"}}}]},
    ],
)
def test_compiling_a_document_that_cannot_be_evaluated_raises_value_error(document):
    with pytest.raises(ValueError):
        compile_document(document)
