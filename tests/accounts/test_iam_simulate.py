"""`manage.py iam_simulate`: JSON Lines in, one decision line per case out."""

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.deadline import deadline

ROOT = Path(__file__).resolve().parents[2]


def simulate(text, *args):
    out = StringIO()
    code = 0
    sys_stdin = sys.stdin
    sys.stdin = StringIO(text)
    try:
        call_command("iam_simulate", *args, stdout=out)
    except SystemExit as exit_:
        code = exit_.code
    finally:
        sys.stdin = sys_stdin
    return code, [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


DENY_PROD = {"Version": "1.1", "Statement": [
    {"Effect": "Allow", "Action": ["ims:*:get*", "ims:images:list", "ims:images:delete"]},
    {"Effect": "Deny", "Action": ["ims:images:delete"],
     "Condition": {"StringEquals": {"ims:ResourceTag/env": ["prod"]}}}]}


def test_each_case_gets_one_line_with_decisions_and_deciding_statements(db):
    case = {"policies": [DENY_PROD, "IMS ReadOnlyAccess"], "requests": [
        {"action": "ims:images:delete", "context": {"ims:ResourceTag/env": "prod"}},
        {"action": "ims:images:delete", "context": {"ims:ResourceTag/env": "dev"}},
        {"action": "ims:images:get"},
        {"action": "ims:images:update"},
    ]}
    code, lines = simulate(json.dumps(case) + "\n" + json.dumps({"policies": [], "requests": [
        {"action": "ims:images:list"}]}) + "\n")
    assert code == 0
    assert lines == [
        {"results": [
            {"action": "ims:images:delete", "decision": "explicit_deny", "matched": [{"policy": 0, "statement": 1}]},
            {"action": "ims:images:delete", "decision": "allow", "matched": [{"policy": 0, "statement": 0}]},
            {"action": "ims:images:get", "decision": "allow",
             "matched": [{"policy": 0, "statement": 0}, {"policy": 1, "statement": 0}]},
            {"action": "ims:images:update", "decision": "implicit_deny", "matched": []},
        ]},
        {"results": [{"action": "ims:images:list", "decision": "implicit_deny", "matched": []}]},
    ]


def test_the_context_is_exactly_what_the_request_gives(db):
    policy = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"],
                                               "Condition": {"StringEquals": {"g:UserName": ["alice"]}}}]}
    _, lines = simulate(json.dumps({"policies": [policy], "requests": [
        {"action": "ims:images:list"}, {"action": "ims:images:list", "context": {"g:UserName": "alice"}}]}))
    assert [r["decision"] for r in lines[0]["results"]] == ["implicit_deny", "allow"]


def test_a_pretty_printed_single_case_is_accepted(db):
    code, lines = simulate(json.dumps({"policies": ["IMS FullAccess"], "requests": [
        {"action": "ims:images:delete"}]}, indent=2))
    assert code == 0 and lines[0]["results"][0]["decision"] == "allow"


def test_an_invalid_policy_prints_located_errors_the_other_cases_still_answer_and_exit_2(db):
    bad = {"Version": "1.1", "Statement": [{"Effect": "allow", "Action": ["ims:images:list"]}]}
    good = {"policies": ["IMS ReadOnlyAccess"], "requests": [{"action": "ims:images:list"}]}
    code, lines = simulate(json.dumps({"policies": [bad], "requests": [{"action": "ims:images:list"}]})
                           + "\n" + json.dumps(good))
    assert code == 2
    assert lines[0]["errors"][0]["policy"] == 0
    assert lines[0]["errors"][0]["path"] == "Statement[0].Effect"
    assert "Allow" in lines[0]["errors"][0]["message"]
    assert lines[1] == {"results": [{"action": "ims:images:list", "decision": "allow",
                                     "matched": [{"policy": 0, "statement": 0}]}]}


def test_a_line_that_is_not_json_is_an_error_not_a_crash(db):
    code, lines = simulate('{"policies": [\n{"policies": ["IMS FullAccess"], "requests": []}\n')
    assert code == 2
    assert "errors" in lines[0] and lines[1] == {"results": []}


def test_deciding_for_a_stored_user_explains_by_group_grant_and_statement(demo):
    _, lines = simulate("", "--user", "developer", "--project", "cn-north-4_dev",
                        "--action", "ims:images:delete", "--action", "ims:images:list")
    delete, listing = lines[0]["results"]
    assert delete["decision"] == "explicit_deny"
    assert delete["matched"][0]["group"] == "developers"
    assert delete["matched"][0]["policy"] == "DenyImageDeletion"
    assert delete["matched"][0]["statement"] == 1  # numbered as the explanation says "Statement 1"
    assert listing["decision"] == "allow"


@pytest.mark.parametrize("args", [["--user", "nobody", "--action", "ims:images:list"],
                                  ["--user", "viewer", "--action", "ims:images:fly"],
                                  ["--user", "viewer", "--project", "mars-1", "--action", "ims:images:list"]])
def test_bad_user_mode_arguments_are_clear_errors(demo, args):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("iam_simulate", *args, stdout=StringIO())


def test_help_shows_an_example():
    result = subprocess.run([sys.executable, "manage.py", "iam_simulate", "--help"], cwd=ROOT,
                            capture_output=True, text=True, env={"DJANGO_DEBUG": "1", "PATH": "/usr/bin:/bin"},
                            timeout=60)
    assert result.returncode == 0
    assert "iam_simulate --user developer" in result.stdout and '"policies"' in result.stdout


def test_policies_of_many_wildcards_are_decided_at_once(db):
    """Wildcards that once backtracked for hours (issue 7), in an action and in a StringMatch."""
    policy = {"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:" + "*" * 30 + "s:list"]},
        {"Effect": "Deny", "Action": ["ims:images:list"],
         "Condition": {"StringMatch": {"g:UserName": ["*a" * 40 + "*"]}}}]}
    case = {"policies": [policy], "requests": [
        {"action": "ims:images:list", "context": {"g:UserName": "a" * 39 + "b" * 200}},
        {"action": "ims:images:list", "context": {"g:UserName": "a" * 40}},
        {"action": "ims:quotas:get"}]}
    with deadline(10, "iam_simulate"):
        code, lines = simulate(json.dumps(case))
    assert code == 0
    assert [r["decision"] for r in lines[0]["results"]] == ["allow", "explicit_deny", "implicit_deny"]
