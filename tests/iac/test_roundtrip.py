"""Export → apply on an empty account gives the same decisions; apply twice is a no-op; export after apply
is the same file; the plan of a changed file lists exactly its changes."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from accounts import iac
from accounts.management.commands.seed_demo import PERSONAS
from accounts.models import AuditEvent, Grant, Policy, Project, User, UserGroup
from accounts.policy import ACTION_NAMES

from .conftest import find, text_of, wipe_to_system_rows

PERSONA_NAMES = [name for name, *_ in PERSONAS]


def simulated(username: str) -> list:
    """iam_simulate --user for every action, in every project and globally (grant ids aside: they are new)."""
    answers = []
    for project in [None, *Project.objects.order_by("name").values_list("name", flat=True)]:
        out = StringIO()
        options = {"user": username, "action": sorted(ACTION_NAMES), "stdout": out}
        if project:
            options["project"] = project
        call_command("iam_simulate", **options)
        for result in json.loads(out.getvalue())["results"]:
            for match in result["matched"]:
                match.pop("grant")
            answers.append(result)
    return answers


def test_export_is_canonical_and_stable(exported):
    text, data = exported
    assert text == iac.export_text()
    assert text == iac.dumps(iac.parse_text(text))
    assert text.endswith("}\n")
    assert [g["name"] for g in data["groups"]] == sorted(g["name"] for g in data["groups"])
    assert "password" not in text
    _, developers = find(data["grants"], group="developers", policy="DenyImageDeletion")
    assert developers["scope"] == ["cn-north-4_dev"]
    _, ims = find(data["grants"], group="ims-admins")
    assert ims["scope"] == "all_resources"


def test_restore_into_an_empty_account_gives_every_persona_the_same_decisions(exported):
    text, _ = exported
    before = {name: simulated(name) for name in PERSONA_NAMES}
    engine_before = iac.decisions(PERSONA_NAMES)
    wipe_to_system_rows()
    assert json.loads(iac.export_text())["users"] == []

    result = iac.apply_configuration(iac.parse_text(text), actor=None)

    assert result.changed and set(result.created_users) == set(PERSONA_NAMES)
    assert not any(user.has_usable_password() for user in User.objects.all())
    assert iac.export_text() == text
    assert iac.decisions(PERSONA_NAMES) == engine_before
    assert {name: simulated(name) for name in PERSONA_NAMES} == before
    events = AuditEvent.objects.filter(details__import_id=result.import_id)
    assert events.filter(action=iac.IMPORT_EVENT).count() == 1
    assert events.count() > 20


def test_apply_twice_changes_nothing_the_second_time(exported):
    _, data = exported
    data["users"].append({"username": "carol", "email": "carol@example.com"})
    data["groups"][find(data["groups"], name="viewers")[0]]["members"].append("carol")
    configuration = iac.parse_text(text_of(data))
    first = iac.apply_configuration(configuration, actor=None)
    assert first.changed
    exported_after = iac.export_text()
    events = AuditEvent.objects.count()

    second = iac.apply_configuration(configuration, actor=None)

    assert not second.changed and second.import_id == ""
    assert AuditEvent.objects.count() == events
    assert iac.export_text() == exported_after == iac.dumps(configuration)


def test_the_plan_of_a_changed_file_lists_exactly_its_changes(exported):
    _, data = exported
    data["users"].append({"username": "carol"})
    data["users"][find(data["users"], username="newcomer")[0]]["email"] = "new@example.com"
    data["groups"][find(data["groups"], name="viewers")[0]]["description"] = "Read images"
    data["groups"][find(data["groups"], name="viewers")[0]]["members"].append("carol")
    data["groups"].append({"name": "auditors", "members": ["newcomer"]})
    data["policies"][0]["document"]["Statement"].append({"Effect": "Deny", "Action": ["ims:images:export"]})
    data["grants"].append({"group": "auditors", "policy": "Server Administrator", "scope": ["cn-north-4_dev"]})
    data["grants"][find(data["grants"], group="viewers", policy="IMS ReadOnlyAccess")[0]]["scope"] = ["cn-north-4"]
    data["grants"].pop(find(data["grants"], group="ims-admins", policy="IMS FullAccess")[0])
    data["regions"][find(data["regions"], code="eu-west-101")[0]]["name"] = "EU-Dublin (Ireland)"

    plan = iac.trial_plan(iac.parse_text(text_of(data)), actor=User.objects.get(username="admin"), prune=True)

    assert plan.errors == []
    assert {(c.section, c.kind, c.subject) for c in plan.changes} == {
        ("Regions and projects", "change", "region eu-west-101"),
        ("Users", "create", "user carol"),
        ("Users", "change", "user newcomer"),
        ("Custom policies", "change", "policy DenyImageDeletion"),
        ("User groups", "change", "group viewers"),
        ("User groups", "create", "group auditors"),
        ("Members", "create", "carol in viewers"),
        ("Members", "create", "newcomer in auditors"),
        ("Grants", "create", "Server Administrator → auditors"),
        ("Grants", "create", "IMS Administrator → auditors"),
        ("Grants", "create", "Tenant Administrator → auditors"),
        ("Grants", "change", "IMS ReadOnlyAccess → viewers"),
        ("Grants", "remove", "IMS FullAccess → ims-admins"),
    }
    along = {c.subject: c.note for c in plan.changes if c.note.startswith("comes along")}
    assert set(along) == {"IMS Administrator → auditors", "Tenant Administrator → auditors"}
    narrowed = next(c for c in plan.changes if c.subject == "IMS ReadOnlyAccess → viewers")
    assert (narrowed.before, narrowed.after) == ("All resources", "cn-north-4")
    effects = {effect.username: effect for effect in plan.effects}
    assert set(effects) == {"viewer", "ims-admin", "developer", "newcomer", "carol"}
    assert ("ims:images:list", "eu-west-101", "allowed", "denied") in effects["viewer"].cells
    assert ("ims:images:export", "cn-north-4_dev", "allowed", "denied explicitly") in effects["developer"].cells
    # The plan was only tried: nothing is stored.
    assert not User.objects.filter(username="carol").exists()
    assert Grant.objects.filter(group__name="ims-admins").exists()


def test_without_prune_nothing_is_removed(exported):
    _, data = exported
    data["grants"].pop(find(data["grants"], group="ims-admins", policy="IMS FullAccess")[0])
    data["groups"].pop(find(data["groups"], name="north-ops")[0])
    data["grants"] = [g for g in data["grants"] if g["group"] != "north-ops"]
    data["users"].pop(find(data["users"], username="newcomer")[0])
    plan = iac.trial_plan(iac.parse_text(text_of(data)), actor=None)
    assert plan.errors == [] and plan.is_noop


def test_a_role_without_its_dependencies_gets_them_and_export_then_lists_them(exported):
    _, data = exported
    data["grants"] = [g for g in data["grants"]
                      if not (g["group"] == "north-ops" and g["policy"] != "Server Administrator")]
    plan = iac.trial_plan(iac.parse_text(text_of(data)), actor=None, prune=True)
    assert plan.is_noop  # the dependencies are needed by Server Administrator: pruning keeps them


@pytest.mark.parametrize("prune", [False, True])
def test_the_command_round_trip(exported, tmp_path, prune):
    _, data = exported
    data["groups"][find(data["groups"], name="viewers")[0]]["description"] = "Read images"
    path = tmp_path / "iam.json"
    path.write_text(text_of(data))
    out = StringIO()
    call_command("iam_apply", str(path), "--dry-run", *(["--prune"] if prune else []), stdout=out)
    assert "~ group viewers  ($.groups[5].description)" in out.getvalue()
    assert UserGroup.objects.get(name="viewers").description != "Read images"
    call_command("iam_apply", str(path), "--actor", "iam-admin", stdout=StringIO())
    assert UserGroup.objects.get(name="viewers").description == "Read images"
    out = StringIO()
    call_command("iam_apply", str(path), stdout=out)
    assert "No changes" in out.getvalue()
    exported_path = tmp_path / "again.json"
    call_command("iam_export", "--output", str(exported_path), stderr=StringIO())
    assert exported_path.read_text() == iac.dumps(iac.parse_text(text_of(data)))


def test_policies_are_compared_by_content_not_key_order(exported):
    _, data = exported
    data["policies"][0]["document"] = dict(reversed(list(data["policies"][0]["document"].items())))
    assert iac.trial_plan(iac.parse_text(text_of(data)), actor=None).is_noop
    assert Policy.objects.get(name="DenyImageDeletion").revision == 1


def test_a_stored_role_missing_its_dependencies_gets_them_and_then_converges(exported):
    """Rows written around the services (bulk loads) can hold a role without its dependencies."""
    group = UserGroup.objects.create(name="bulk-loaded")
    Grant.objects.create(group=group, policy=Policy.objects.get(name="Server Administrator"), all_resources=True)
    configuration = iac.current_configuration()

    plan = iac.trial_plan(configuration, actor=None)

    assert {(c.kind, c.subject, c.note) for c in plan.changes} == {
        ("create", "IMS Administrator → bulk-loaded", "comes along with Server Administrator (a role dependency)"),
        ("create", "Tenant Administrator → bulk-loaded", "comes along with Server Administrator (a role dependency)"),
    }
    iac.apply_configuration(configuration, actor=None)
    assert set(Grant.objects.filter(group=group).values_list("policy__name", flat=True)) == {
        "Server Administrator", "IMS Administrator", "Tenant Administrator"}
    assert iac.trial_plan(iac.current_configuration(), actor=None).is_noop
