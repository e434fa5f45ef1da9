"""Adversarial wildcards (issue 7): worst-case documents up to the 6,144-character limit are
validated and decided in work linear in their size.

Work is counted, not timed (tests/work.py: lines of Python run, the same on any machine at any
load): validating costs at most 10 steps per character of the document, one decision at most two
steps per character, a refusal of megabytes a constant. The times themselves are bench/engine.py's
(the validator on these documents against a one-line policy, in the same run). Matching that
happens inside `re` is not counted as steps: a deadline turns a regression to exponential matching
into a failure within seconds instead of a hang. `pytest -s` prints the counts.
"""

import json

import pytest

from accounts.policy import ACTION_NAMES, compile_document, evaluate, expand_pattern, validate_text
from accounts.policy.glob import action_patterns, glob
from accounts.policy.validator import MAX_COMPACT_LENGTH, MAX_TEXT_LENGTH
from tests.deadline import deadline
from tests.work import python_steps

VALIDATE_STEPS_PER_CHARACTER = 10  # the worst documents take 2.6 to 7.8 (a one-line policy: 4)
DECIDE_STEPS_PER_CHARACTER = 2  # one decision; the worst documents 0.01 to 0.4, 3,000 stars on 6,000 characters 0.97
REFUSAL_STEPS = 100  # a text too long to read is refused after its length alone (15 steps)
ACTIONS = [*sorted(ACTION_NAMES), "ecs:servers:list", "ecs:t1:op"]
# A custom policy names IMS or IAM actions, never both (they are granted in different scopes).
IMS_ACTION_NAMES = sorted(name for name in ACTION_NAMES if name.startswith("ims:"))
LONGEST_VALUE = "a" * 256  # the simulator's limit; the console itself supplies at most 64 characters


def _compact(document) -> int:
    return len(json.dumps(document, separators=(",", ":")))


def _largest(make):
    """make(n) for the largest n whose document still fits the size limit."""
    n = 1
    while _compact(make(n + 1)) <= MAX_COMPACT_LENGTH:
        n += 1
    return make(n)


def _cold_steps(function) -> int:
    """The steps of a cold run: nothing compiled or expanded by an earlier run is reused."""
    for cached in (expand_pattern, glob, action_patterns):
        cached.cache_clear()
    return python_steps(function)


def _policy(*statements) -> dict:
    return {"Version": "1.1", "Statement": list(statements)}


def _allow(actions, condition=None, effect="Allow") -> dict:
    statement = {"Effect": effect, "Action": actions}
    if condition:
        statement["Condition"] = condition
    return statement


# Each valid, each as large as the limit allows, each aimed at one cost of validating or deciding.
WORST_DOCUMENTS = {
    "one pattern, all stars": _largest(lambda n: _policy(_allow(["ims:" + "*" * n + "s:list"]))),
    "star-heavy patterns": _largest(lambda n: _policy(_allow(
        ["ims:" + "*" * (8 + i % 9) + "e" + "*" * (i % 4) + "s:" + "*" * (1 + i % 3) + "t" for i in range(n)]))),
    "star-heavy statements, allow and deny": _largest(lambda n: _policy(*(
        _allow(["ims:" + "*" * (i % 9 + 1) + "es:" + "*" * (1 + i % 4) + "t" + "*" * (i % 3)],
               effect="Allow" if i % 2 else "Deny") for i in range(n)))),
    "long list of distinct patterns": _largest(lambda n: _policy(_allow([f"ecs:t{i}:op" for i in range(n)]))),
    "every deny beside every allow": _largest(lambda n: _policy(
        _allow([f"ecs:a{i}:op" for i in range(n)]), _allow([f"evs:d{i}:op" for i in range(n)], effect="Deny"))),
    "catalogued actions, each named many times": _largest(lambda n: _policy(_allow(
        [IMS_ACTION_NAMES[i % len(IMS_ACTION_NAMES)] for i in range(n)]))),
    "many statements": _largest(lambda n: _policy(*(_allow([f"ecs:s{i}:o"], effect="Deny") for i in range(n)))),
    "many image keys over many patterns": _largest(lambda n: _policy(_allow(
        [f"ecs:t{i}:op" for i in range(n)],
        {"StringMatch": {f"ims:ResourceTag/k{i}": ["*a*"] for i in range(n)}}))),
    "StringMatch of 3,000 stars": _largest(lambda n: _policy(_allow(
        ["ims:*:*"], {"StringMatch": {"g:UserName": ["*a" * n + "*"]}}))),
    "StringNotMatch with ? in every chunk": _largest(lambda n: _policy(_allow(
        ["ims:*:*"], {"ForAnyValue:StringNotMatchIfExists": {"g:UserName": ["*a?" * n + "*b"]}}))),
    "? chunk as wide as the longest value": _largest(lambda n: _policy(*(_allow(
        ["ims:*:*"], {"StringMatch": {"g:UserName": ["*" + "a?" * 63 + "b*"]}}) for _ in range(n)))),
    "many StringMatch values": _largest(lambda n: _policy(_allow(
        ["ims:*:*"], {"StringMatchIfExists": {"g:UserName": [f"*{i}*a*" for i in range(n)]}}))),
    "many statements with StringMatch": _largest(lambda n: _policy(*(_allow(
        ["ims:*:*"], {"StringMatch": {"g:UserName": ["*a*a*a*a*a*a*a*a*a*" + str(i)]}}) for i in range(n)))),
}


@pytest.mark.parametrize("stars", [18, 30, 6000])
def test_a_pattern_of_many_stars_validates_at_once_and_means_one_star(stars):
    matching = _policy(_allow(["ims:" + "*" * stars + "s:list"]))
    matching_none = _policy(_allow(["ims:" + "*" * stars + "x:list"]))
    with deadline(10, f"validating {stars} stars"):
        steps = max(_cold_steps(lambda d=d: validate_text(json.dumps(d))) for d in (matching, matching_none))
        assert validate_text(json.dumps(matching)).ok
        assert [f.message.split(" matches ")[1] for f in validate_text(json.dumps(matching_none)).errors] == [
            "no IMS action"]
        assert expand_pattern("ims:" + "*" * stars + "s:list") == expand_pattern("ims:*s:list") == {"ims:images:list"}
    print(f"\n{stars} stars: validated in {steps} steps")
    assert steps <= VALIDATE_STEPS_PER_CHARACTER * max(len(json.dumps(matching_none)), 200)


@pytest.mark.parametrize("name", WORST_DOCUMENTS)
def test_a_worst_case_document_validates_in_work_linear_in_its_size(name):
    document = WORST_DOCUMENTS[name]
    text = json.dumps(document, indent=2)
    with deadline(10, f"validating {name!r}"):
        result = validate_text(text)
        steps = _cold_steps(lambda: validate_text(text))
    assert MAX_COMPACT_LENGTH - 64 < _compact(document) <= MAX_COMPACT_LENGTH
    assert result.ok, result.errors[:3]
    print(f"\n{name}: {_compact(document)} characters, validated in {steps} steps")
    assert steps <= VALIDATE_STEPS_PER_CHARACTER * _compact(document)


@pytest.mark.parametrize("name", WORST_DOCUMENTS)
def test_a_worst_case_document_fits_the_text_limit_even_widely_indented(name):
    assert len(json.dumps(WORST_DOCUMENTS[name], indent=8)) < MAX_TEXT_LENGTH


def test_megabytes_of_json_are_refused_unread():
    """2.4 MB of numbers (Django's upload limit is 2.5 MB) once took two seconds to read, then was too long."""
    text = "[" + ",".join(["1"] * 1_200_000) + "]"
    with deadline(10, "a long text"):
        steps = _cold_steps(lambda: validate_text(text))
        result = validate_text(text)
    assert [(f.path, f.message) for f in result.errors] == [
        ("", f"The policy text is {len(text)} characters long, too long to read: a policy has at most "
             f"{MAX_COMPACT_LENGTH} characters as compact JSON")]
    print(f"\n{len(text)} characters refused in {steps} steps")
    assert steps <= REFUSAL_STEPS


@pytest.mark.parametrize("name", WORST_DOCUMENTS)
def test_a_worst_case_document_decides_in_work_linear_in_its_size(name):
    document = WORST_DOCUMENTS[name]
    statements = len(document["Statement"])
    context = {"g:UserName": LONGEST_VALUE, **{f"ims:ResourceTag/k{i}": LONGEST_VALUE for i in range(50)}}

    def decide_every_action():  # compiled afresh, so no decision is remembered from a previous run
        policies = [("worst", compile_document(document))]
        for action in ACTIONS:
            evaluate(policies, action, context)

    with deadline(10, f"deciding {name!r}"):
        per_decision = _cold_steps(decide_every_action) / len(ACTIONS)
    print(f"\n{name}: {statements} statements, {per_decision:.0f} steps per decision")
    assert per_decision <= DECIDE_STEPS_PER_CHARACTER * _compact(document)


def test_string_match_of_thousands_of_stars_against_a_long_value_that_almost_matches():
    """Thousands of chunks "a" and a 6,000-character value holding all of them but the last."""
    document = _largest(lambda n: _policy(
        _allow(["ims:images:list"], {"StringMatch": {"g:UserName": ["*a" * n + "*"]}}),
        _allow(["ims:images:get"], {"StringNotMatch": {"g:UserName": ["*a" * n + "*"]}})))
    chunks = document["Statement"][0]["Condition"]["StringMatch"]["g:UserName"][0].count("a")
    subject = "a" * (chunks - 1) + "b" * (6000 - chunks + 1)
    policies = [("worst", compile_document(document))]
    with deadline(10, "the long StringMatch"):
        assert evaluate(policies, "ims:images:list", {"g:UserName": subject}).outcome == "implicit_deny"
        assert evaluate(policies, "ims:images:get", {"g:UserName": subject}).outcome == "allow"
        assert evaluate(policies, "ims:images:list", {"g:UserName": "a" + subject}).outcome == "allow"
        steps = _cold_steps(lambda: evaluate(policies, "ims:images:list", {"g:UserName": subject}))
    print(f"\nStringMatch of {chunks} stars against {len(subject)} characters: {steps} steps")
    assert steps <= DECIDE_STEPS_PER_CHARACTER * _compact(document)
