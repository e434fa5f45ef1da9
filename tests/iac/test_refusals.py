"""A file that would escalate the actor, break a role dependency, exceed a limit or is malformed is refused
whole, with its place in the file, and nothing changes."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from accounts import iac
from accounts.models import AuditEvent, User

from .conftest import find, text_of


def refused(data, *, actor=None, prune=False):
    """Apply and expect a refusal: returns the located errors; the stored configuration is unchanged."""
    before = iac.export_text()
    with pytest.raises(iac.DocumentError) as caught:
        iac.apply_configuration(iac.parse_text(text_of(data)), actor=actor, prune=prune)
    assert iac.export_text() == before
    return caught.value.errors


def test_a_file_that_would_escalate_the_actor_is_refused_whole_at_the_grant(exported):
    _, data = exported
    data["users"].append({"username": "carol"})  # a change before the refused one, rolled back too
    data["grants"].append({"group": "iam-admins", "policy": "IMS FullAccess", "scope": "all_resources"})
    iam_admin = User.objects.get(username="iam-admin")

    plan = iac.trial_plan(iac.parse_text(text_of(data)), actor=iam_admin)
    errors = refused(data, actor=iam_admin)

    index = len(data["grants"]) - 1
    assert plan.errors == errors
    assert [path for path, _ in errors] == [f"$.grants[{index}]"]
    assert "would hand over permissions you do not hold yourself" in errors[0][1]
    assert not User.objects.filter(username="carol").exists()
    event = AuditEvent.objects.filter(outcome="denied", actor=iam_admin).first()
    assert event.action == "iam:permissions:grantPermission"
    assert f"$.grants[{index}]" in event.message and event.details["import_id"]


def test_adding_oneself_to_the_admin_group_is_refused(exported):
    _, data = exported
    data["groups"][find(data["groups"], name="admin")[0]]["members"].append("iam-admin")
    errors = refused(data, actor=User.objects.get(username="iam-admin"))
    assert errors[0][0] == "$.groups[0].members[1]"
    assert "Only members of the admin group" in errors[0][1]


def test_a_file_that_would_break_a_role_dependency_is_refused_at_the_dependency(exported):
    _, data = exported
    index, _ = find(data["grants"], group="north-ops", policy="IMS Administrator")
    data["grants"][index]["scope"] = ["cn-north-4_dev"]
    errors = dict(refused(data))
    assert "Server Administrator needs IMS Administrator" in errors[f"$.grants[{index}].scope"]
    assert "break a role dependency" in errors[f"$.grants[{index}].scope"]


def test_a_file_that_exceeds_a_limit_is_refused_at_the_membership_past_it(exported):
    _, data = exported
    for number in range(10):  # viewer is already in one group: the tenth new one is the eleventh
        data["groups"].append({"name": f"team{number:02d}", "members": ["viewer"]})
    errors = refused(data)
    assert errors == [(f"$.groups[{len(data['groups']) - 1}].members[0]",
                       "viewer is already in 10 groups, the most a user can be in.")]


def test_a_policy_the_validator_refuses_is_located_inside_its_document(exported):
    _, data = exported
    data["policies"][0]["document"]["Statement"][0]["Action"] = ["ims:images:nope"]
    errors = refused(data)
    assert errors[0][0] == "$.policies[0].document.Statement[0].Action[0]"


@pytest.mark.parametrize(("edit", "path"), [
    (lambda d: d["users"][0].update(is_active="yes"), "$.users[0].is_active"),
    (lambda d: d["users"][0].update(password="secret"), "$.users[0].password"),
    (lambda d: d.update(format="other/2"), "$.format"),
    (lambda d: d["groups"][1]["members"].append("nobody"), "$.groups[1].members[1]"),
    (lambda d: d["grants"][0].update(scope=[]), "$.grants[0].scope"),
    (lambda d: d["grants"][0].update(scope="everything"), "$.grants[0].scope"),
    (lambda d: d["grants"][0].update(scope=["nowhere"]), "$.grants[0].scope[0]"),
    (lambda d: d["grants"][0].update(policy="Nope"), "$.grants[0].policy"),
    (lambda d: d["users"].append(dict(d["users"][0], username="ADMIN")), "$.users[7]"),
    (lambda d: d["policies"][0].update(name="FullAccess"), "$.policies[0].name"),
    (lambda d: d["regions"][0]["projects"].append({"name": "cn-north-4_x"}), "$.regions[0].projects[1].name"),
    (lambda d: d["grants"].append({"group": "viewers", "policy": "Security Administrator",
                                   "scope": ["cn-north-4"]}), "$.grants[11].scope"),
])
def test_malformed_files_are_refused_at_their_place(exported, edit, path):
    _, data = exported
    edit(data)
    with pytest.raises(iac.DocumentError) as caught:
        iac.apply_configuration(iac.parse_text(text_of(data)), actor=None)
    assert path in [p for p, _ in caught.value.errors], caught.value.errors


def test_text_that_is_not_json_is_refused_with_its_line(demo):
    with pytest.raises(iac.DocumentError) as caught:
        iac.parse_text('{"format": "imsperm-iam/1",\n "users": [}')
    assert caught.value.errors[0][0] == "$" and "line 2" in caught.value.errors[0][1]


def test_the_command_prints_located_errors_and_exits_2(exported, tmp_path):
    _, data = exported
    data["grants"].append({"group": "iam-admins", "policy": "IMS FullAccess", "scope": "all_resources"})
    path = tmp_path / "escalate.json"
    path.write_text(json.dumps(data))
    err = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("iam_apply", str(path), "--actor", "iam-admin", stdout=StringIO(), stderr=err)
    assert exit_.value.code == 2
    assert f"error: $.grants[{len(data['grants']) - 1}]: Refused" in err.getvalue()
    assert "Nothing was changed." in err.getvalue()


def test_a_refused_import_in_chinese_is_audited_in_english_and_read_in_chinese(exported):
    """The import's refusal was audited as the page said it: in Chinese for a Chinese operator. Now the refusal
    is stored in English with its wording, and read in the reader's language."""
    from django.utils import translation

    _, data = exported
    data["grants"].append({"group": "iam-admins", "policy": "IMS FullAccess", "scope": "all_resources"})
    iam_admin = User.objects.get(username="iam-admin")
    with translation.override("zh-hans"):
        errors = refused(data, actor=iam_admin)
    assert "would hand over" not in errors[0][1]  # the page's words: Chinese
    event = AuditEvent.objects.filter(outcome="denied", actor=iam_admin).first()
    assert event.message.startswith(f"Import refused at {errors[0][0]}: Refused: Attaching IMS FullAccess to "
                                    "iam-admins would hand over permissions you do not hold yourself: ")
    with translation.override("zh-hans"):
        shown = event.shown_message
    assert errors[0][1] in shown and "would hand over" not in shown
