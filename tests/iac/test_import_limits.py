"""The import decides permission and size before any work, and its plan costs in proportion to the file.

A reader's confirm of a large file is refused before it is parsed or planned; a writer lacking the
write action of a kind of change the file holds is refused before any change is tried; a body or a
document over the documented limits answers 413, too many entries 422, both before parsing; and a
plan of 2N entries does about twice the work of N (lines of the planning modules run and SQL queries counted,
never timed).
"""

import json
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import iac, services
from accounts.iac import checks, grant_planning, limits, planning, scopes, state, trial
from accounts.iac import plan as plan_module
from accounts.models import AuditEvent, Policy, User

from .conftest import text_of

PAGE = "/iam/config/"
READS = ["iam:*:list*", "iam:*:get*"]


def person(username, actions):
    """A user whose only group holds a custom policy of these actions."""
    policy = services.policy_create(actor=None, name=f"{username} policy", document={
        "Version": "1.1", "Statement": [{"Effect": "Allow", "Action": actions}]})
    group = services.group_create(actor=None, name=f"{username} group")
    services.grant_attach(actor=None, group=group, policies=[policy], all_resources=True)
    user, _ = services.user_create(actor=None, username=username, password="a-long-password-1")
    services.group_add_member(actor=None, group=group, user=user)
    return user


def large(data: dict, entries: int) -> dict:
    """`data` plus about `entries` entries: new groups with a grant each; every fourth has a new user as member."""
    data = json.loads(json.dumps(data))
    for number in range(entries * 4 // 10):
        name = f"bulk-{number:06d}"
        members = []
        if number % 4 == 0:
            data["users"].append({"username": name})
            members = [name]
        data["groups"].append({"name": name, "description": "", "members": members})
        data["grants"].append({"group": name, "policy": "IMS ReadOnlyAccess", "scope": "all_resources"})
    return data


@pytest.fixture
def spied(monkeypatch):
    """Calls of the parser, the planner, the trial and the apply, by name (each still does its work)."""
    calls = []
    for name in ("parse_text", "build_plan", "trial_plan", "apply_configuration"):
        original = getattr(iac, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)
        monkeypatch.setattr(iac, name, spy)
    original_steps = trial.run_steps
    monkeypatch.setattr(trial, "run_steps", lambda *a, **k: calls.append("run_steps") or original_steps(*a, **k))
    return calls


# --- permission first

@pytest.mark.parametrize("confirm", [True, False], ids=["confirm", "plan"])
def test_a_reader_is_refused_at_once_before_the_file_is_parsed_or_planned(client, exported, spied, confirm):
    _, data = exported
    reader = person("reader", READS)
    client.force_login(reader)
    text = text_of(large(data, 3_000))
    posted = {"document": text, "document_hash": "x", "config_hash": "y", "confirm": "1"} if confirm else \
        {"document": text}

    with CaptureQueriesContext(connection) as queries:
        response = client.post(PAGE, posted)

    assert response.status_code == 403
    assert "iam:groups:createGroup" in response.content.decode()
    assert spied == []
    assert len(queries) <= 14  # session, user, stamp, grants, the denied event: a fixed number, whatever the size
    # audited like every refusal (the up-front 403 was the one refusal no event recorded)
    assert AuditEvent.objects.filter(actor=reader, action="iam:config:import", outcome="denied").exists()


def test_a_writer_lacking_a_kind_of_change_is_refused_there_before_any_change_is_tried(client, exported, spied):
    _, data = exported
    writer = person("group-writer", [*READS, "iam:groups:createGroup"])
    client.force_login(writer)
    data["groups"].append({"name": "new-team", "description": "", "members": []})
    data["users"].append({"username": "newbie"})
    data["users"].append({"username": "newbie2"})

    response = client.post(PAGE, {"document": text_of(data)})

    assert response.status_code == 422
    body = response.content.decode()
    assert f"$.users[{len(data['users']) - 2}]" in body and "iam:users:createUser" in body
    assert "1 more change of this kind" in body
    assert "createGroup" not in body.split("Refused")[-1]  # the group it may create is not refused
    assert "run_steps" not in spied


def test_the_kind_check_refuses_the_apply_of_the_command_too(exported):
    _, data = exported
    writer = person("group-writer", [*READS, "iam:groups:createGroup"])
    data["users"].append({"username": "newbie"})
    with pytest.raises(iac.DocumentError) as caught:
        iac.apply_configuration(iac.parse_text(text_of(data)), actor=writer)
    assert "iam:users:createUser" in caught.value.errors[0][1]
    assert not User.objects.filter(username="newbie").exists()


# --- limits, before parsing

def test_a_body_larger_than_any_document_answers_413_at_once(as_user, demo, spied):
    browser = as_user("iam-admin")
    response = browser.post(PAGE, {"document": "x" * (limits.MAX_REQUEST_BYTES + 1)})
    assert response.status_code == 413
    assert f"{limits.MAX_BYTES:,} bytes" in response.content.decode()
    assert spied == []


@pytest.mark.parametrize("how", ["pasted", "uploaded", "confirmed"])
def test_a_document_over_the_byte_limit_answers_413_naming_it(as_user, demo, spied, how):
    text = json.dumps({"format": "imsperm-iam/1", "groups": [], "pad": " " * limits.MAX_BYTES})
    posted = {"document": text}
    if how == "uploaded":
        posted = {"file": SimpleUploadedFile("big.json", text.encode(), content_type="application/json")}
    elif how == "confirmed":
        posted |= {"document_hash": "x", "config_hash": "y", "confirm": "1"}
    response = as_user("iam-admin").post(PAGE, posted)
    assert response.status_code == 413
    assert f"at most {limits.MAX_BYTES:,} bytes" in response.content.decode()
    assert spied == []


@pytest.mark.parametrize("confirm", [True, False], ids=["confirm", "plan"])
def test_too_many_entries_answer_422_naming_the_limit_before_parsing(as_user, demo, spied, confirm):
    document = {"format": "imsperm-iam/1",
                "groups": [{"name": f"g{number}"} for number in range(limits.MAX_ENTRIES + 1)]}
    posted = {"document": json.dumps(document)}
    if confirm:
        posted |= {"document_hash": "x", "config_hash": "y", "confirm": "1"}
    response = as_user("iam-admin").post(PAGE, posted)
    assert response.status_code == 422
    assert f"at most {limits.MAX_ENTRIES:,}" in response.content.decode()
    assert spied == []


def test_entries_count_every_list_item():
    document = {"regions": [{"code": "r", "projects": [{"name": "r"}, {"name": "r_a"}]}],
                "users": [{}, {}], "groups": [{"members": ["a", "b"]}], "policies": [{}],
                "grants": [{"scope": ["r", "r_a"]}, {"scope": "all_resources"}]}
    assert limits.count_entries(document) == 3 + 2 + 3 + 1 + 3 + 1
    assert limits.count_entries([]) == 0 and limits.count_entries({"users": "x"}) == 0


def test_the_schema_documents_the_limits(client, demo):
    schema = client.get("/iam/config/schema.json").json()
    assert f"{limits.MAX_BYTES:,} bytes" in schema["description"]
    assert f"{limits.MAX_ENTRIES:,} entries" in schema["description"]


def test_the_readme_documents_the_limits():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Backup and restore", 1)[1].split("\n## ", 1)[0]
    assert f"{limits.MAX_BYTES // 1024 // 1024} MiB" in section and f"{limits.MAX_ENTRIES:,} entries" in section


# --- linear planning, counted

def lines_run(function, *args, **kwargs) -> int:
    """The number of lines of the planning modules (accounts/iac/plan.py and what it was split into) that
    `function` executes."""
    targets = {module.__file__ for module in (plan_module, scopes, state, checks, planning, grant_planning)}
    counted = [0]

    def local(frame, event, arg):
        if event == "line":
            counted[0] += 1
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename in targets else None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        function(*args, **kwargs)
    finally:
        sys.settrace(previous)
    return counted[0]


@pytest.mark.parametrize("prune", [False, True], ids=["keep", "prune"])
def test_planning_twice_the_entries_does_about_twice_the_work(exported, prune):
    _, data = exported
    work, queries = {}, {}
    for size in (800, 1_600):
        configuration = iac.parse_text(text_of(large(data, size)))
        work[size] = lines_run(iac.build_plan, configuration, prune=prune)
        with CaptureQueriesContext(connection) as captured:
            built = iac.build_plan(configuration, prune=prune)
        assert not built.errors
        queries[size] = len(captured)
    assert work[1_600] / work[800] < 2.2, work
    assert queries[1_600] == queries[800], queries


def test_a_plan_that_changes_memberships_of_groups_with_many_grants_is_linear(exported):
    """The shape that was quadratic: each membership change re-read every grant of the file."""
    _, data = exported
    custom = [{"name": f"p{number}", "description": "", "document": {
        "Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]}} for number in range(3)]
    work = {}
    for size in (200, 400):
        edited = json.loads(json.dumps(data))
        edited["policies"] += custom
        for number in range(size):
            edited["users"].append({"username": f"m{number}"})
            edited["groups"].append({"name": f"team{number}", "members": [f"m{number}"]})
            edited["grants"] += [{"group": f"team{number}", "policy": p["name"], "scope": "all_resources"}
                                 for p in custom]
        configuration = iac.parse_text(text_of(edited))
        work[size] = lines_run(iac.build_plan, configuration)
    assert work[400] / work[200] < 2.2, work


def test_the_trial_of_twice_the_changes_runs_about_twice_the_queries(exported):
    _, data = exported
    admin = User.objects.get(username="admin")
    queries = {}
    for size in (100, 200):
        configuration = iac.parse_text(text_of(large(data, size)))
        with CaptureQueriesContext(connection) as captured:
            tried = iac.trial_plan(configuration, actor=admin)
        assert not tried.errors, tried.errors[:3]
        queries[size] = len(captured)
    assert queries[200] / queries[100] < 2.1, queries
    assert Policy.objects.filter(name="IMS ReadOnlyAccess").exists()


@pytest.mark.parametrize("confirm", [True, False], ids=["confirm", "plan"])
def test_more_changes_than_one_import_makes_are_refused_before_any_is_tried(as_user, exported, spied, monkeypatch,
                                                                            confirm):
    _, data = exported
    monkeypatch.setattr(limits, "MAX_CHANGES", 5)
    for number in range(6):
        data["groups"].append({"name": f"extra{number}", "description": "", "members": []})
    text = text_of(data)
    posted = {"document": text}
    if confirm:
        posted |= {"document_hash": iac.digest(iac.dumps(iac.parse_text(text))), "config_hash": "y", "confirm": "1"}
    response = as_user("iam-admin").post(PAGE, posted)
    assert response.status_code == 422
    assert "makes 6 changes" in response.content.decode() and "at most 5" in response.content.decode()
    assert "run_steps" not in spied and "apply_configuration" not in spied
