"""Identity providers as configuration-file entries (federation/iac.py): exported without the secret,
applied through the services (the secret kept), refusals located in the file."""

from __future__ import annotations

import json

import pytest

from accounts.models import AuditEvent, User, UserGroup
from federation import services
from federation.iac import LocatedError, ProviderEntry, apply_entries, export_entries, plan_entries
from federation.models import IdentityProvider

pytestmark = pytest.mark.usefixtures("demo")

ENTRY = {"name": "Corp", "issuer": "https://idp.example/o", "client_id": "console", "scopes": "openid email",
         "is_active": True, "allow_unmatched": False, "trust_amr": False,
         "rules": [{"claim": "groups", "operator": "contains", "value": "eng", "groups": ["developers"],
                    "stop": False},
                   {"claim": "email", "operator": "email_domain", "value": "ops.example",
                    "groups": ["iam-admins", "viewers"], "stop": True}]}


def entries(*raw):
    return [ProviderEntry.model_validate(item) for item in raw]


def test_apply_then_export_gives_the_file_back_and_applying_again_changes_nothing():
    changes = apply_entries(entries(ENTRY), actor=User.objects.get(username="admin"))
    assert [c.kind for c in changes] == ["create"]
    assert export_entries() == [ENTRY]
    assert plan_entries(entries(ENTRY)) == [] and apply_entries(entries(ENTRY), actor=None) == []


def test_the_secret_is_never_exported_and_is_kept_on_apply():
    provider = services.provider_create(actor=None, name="Corp", issuer="https://idp.example/o", client_id="console",
                                        client_secret="keep-me")
    assert "keep-me" not in json.dumps(export_entries())
    apply_entries(entries({**ENTRY, "issuer": "https://idp2.example/o"}), actor=None)
    provider.refresh_from_db()
    assert provider.issuer == "https://idp2.example/o" and provider.client_secret == "keep-me"
    assert provider.rules.count() == 2


def test_prune_removes_providers_missing_from_the_file():
    services.provider_create(actor=None, name="Old", issuer="https://old.example", client_id="c")
    apply_entries(entries(ENTRY), actor=None, prune=True)
    assert list(IdentityProvider.objects.values_list("name", flat=True)) == ["Corp"]


def test_a_rule_into_the_admin_group_by_the_security_administrator_is_refused_at_its_place():
    raw = {**ENTRY, "rules": [*ENTRY["rules"][:1],
                              {"claim": "groups", "operator": "contains", "value": "it", "groups": ["viewers", "admin"],
                               "stop": False}]}
    raw["rules"][0] = {**raw["rules"][0], "groups": ["iam-admins"]}
    with pytest.raises(LocatedError) as refused:
        apply_entries(entries(raw), actor=User.objects.get(username="iam-admin"))
    paths = [path for path, _ in refused.value.errors]
    assert "$.identity_providers[0].rules[1].groups[1]" in paths  # admin
    assert "$.identity_providers[0].rules[1].groups[0]" in paths  # viewers: IMS permissions it does not hold
    assert "Only members of the admin group" in dict(refused.value.errors)["$.identity_providers[0].rules[1].groups[1]"]


def test_an_unknown_group_is_located():
    raw = {**ENTRY, "rules": [{"claim": "a", "operator": "equals", "value": "b", "groups": ["nope"]}]}
    with pytest.raises(LocatedError) as error:
        apply_entries(entries(raw), actor=None)
    assert error.value.errors == [("$.identity_providers[0].rules[0].groups[0]",
                                   "There is no user group named 'nope'.")]


def test_each_change_is_audited_as_the_actors():
    apply_entries(entries(ENTRY), actor=User.objects.get(username="admin"))
    actions = list(AuditEvent.objects.filter(actor__username="admin").values_list("action", flat=True))
    assert actions.count("iam:identityProviders:create") == 1 and "iam:identityProviders:update" in actions
    assert UserGroup.objects.filter(name="developers").exists()


# --- through iam_apply / the import (accounts.iac) ---------------------------------------------------


def test_export_holds_the_providers_without_secrets_and_applying_it_back_changes_nothing():
    from accounts.iac.apply import apply_configuration
    from accounts.iac.document import parse_text
    from accounts.iac.export import export_text

    services.provider_create(actor=None, name="Corp", issuer="https://idp.example/o", client_id="console",
                             client_secret="keep-me", scopes="openid email")
    apply_entries(entries(ENTRY), actor=None)
    text = export_text()
    assert '"identity_providers"' in text and "keep-me" not in text
    result = apply_configuration(parse_text(text), actor=User.objects.get(username="admin"))
    assert not result.changed


def test_iam_apply_creates_changes_and_prunes_providers_keeping_the_secret():
    import json as json_module

    from accounts.iac.apply import apply_configuration
    from accounts.iac.document import parse_text
    from accounts.iac.export import export_text

    services.provider_create(actor=None, name="Old", issuer="https://old.example/o", client_id="c",
                             client_secret="old-secret")
    document = json_module.loads(export_text())
    document["identity_providers"] = [ENTRY, {**ENTRY, "name": "Old", "issuer": "https://old2.example/o",
                                              "rules": []}]
    result = apply_configuration(parse_text(json_module.dumps(document)), actor=User.objects.get(username="admin"))
    assert [(c.section, c.kind) for c in result.plan.changes] == [("Identity providers", "create"),
                                                                   ("Identity providers", "change")]
    old = IdentityProvider.objects.get(name="Old")
    assert old.issuer == "https://old2.example/o" and old.client_secret == "old-secret"
    assert AuditEvent.objects.filter(action="iam:identityProviders:create",
                                     details__import_id=result.import_id).exists()
    document["identity_providers"] = [ENTRY]
    apply_configuration(parse_text(json_module.dumps(document)), actor=None, prune=True)
    assert list(IdentityProvider.objects.values_list("name", flat=True)) == ["Corp"]


def test_iam_apply_refuses_a_rule_into_the_admin_group_by_the_security_administrator_at_its_path():
    import json as json_module

    from accounts.iac.apply import apply_configuration
    from accounts.iac.document import DocumentError, parse_text
    from accounts.iac.export import export_text

    document = json_module.loads(export_text())
    document["identity_providers"] = [{**ENTRY, "rules": [
        {"claim": "groups", "operator": "contains", "value": "it", "groups": ["iam-admins", "admin"]}]}]
    with pytest.raises(DocumentError) as refused:
        apply_configuration(parse_text(json_module.dumps(document)), actor=User.objects.get(username="iam-admin"))
    path, message = refused.value.errors[0]
    assert path == "$.identity_providers[0].rules[0].groups[1]" and "Only members of the admin group" in message
    assert not IdentityProvider.objects.exists()
    event = AuditEvent.objects.get(outcome="denied", actor__username="iam-admin")
    assert "$.identity_providers[0].rules[0].groups[1]" in event.message


def test_iam_apply_names_an_unknown_group_at_its_path():
    import json as json_module

    from accounts.iac.apply import apply_configuration
    from accounts.iac.document import DocumentError, parse_text
    from accounts.iac.export import export_text

    document = json_module.loads(export_text())
    document["identity_providers"] = [{**ENTRY, "rules": [
        {"claim": "a", "operator": "equals", "value": "b", "groups": ["nope"]}]}]
    with pytest.raises(DocumentError) as error:
        apply_configuration(parse_text(json_module.dumps(document)), actor=None)
    assert error.value.errors == [("$.identity_providers[0].rules[0].groups[0]",
                                   "There is no user group named 'nope'.")]


def test_the_iam_apply_command_refuses_a_rule_into_the_admin_group_by_the_security_administrator(tmp_path):
    """The attack through the command itself (`manage.py iam_apply FILE --actor iam-admin`), with and without
    --dry-run: refused at the rule's group in the file, nothing created, the refusal audited."""
    from io import StringIO

    from django.core.management import call_command

    from accounts.iac.export import export_text

    document = json.loads(export_text())
    document["identity_providers"] = [{**ENTRY, "rules": [
        {"claim": "groups", "operator": "contains", "value": "it", "groups": ["admin"]}]}]
    path = tmp_path / "iam.json"
    path.write_text(json.dumps(document))
    for dry_run in (["--dry-run"], []):
        stderr = StringIO()
        with pytest.raises(SystemExit) as refused:
            call_command("iam_apply", str(path), "--actor", "iam-admin", *dry_run, stdout=StringIO(), stderr=stderr)
        assert refused.value.code != 0
        assert "error: $.identity_providers[0].rules[0].groups[0]: " in stderr.getvalue()
        assert "Only members of the admin group" in stderr.getvalue() and "Nothing was changed." in stderr.getvalue()
    assert not IdentityProvider.objects.exists()
    refusals = AuditEvent.objects.filter(outcome="denied", actor__username="iam-admin")
    assert any("$.identity_providers[0].rules[0].groups[0]" in event.message for event in refusals)


def test_the_import_page_refuses_and_audits_a_rule_into_the_admin_group_at_its_plan(client):
    """The same file pasted on IAM → Configuration by the Security Administrator: refused at its plan, audited."""
    from accounts.iac.export import export_text

    document = json.loads(export_text())
    document["identity_providers"] = [{**ENTRY, "rules": [
        {"claim": "groups", "operator": "contains", "value": "it", "groups": ["admin"]}]}]
    client.force_login(User.objects.get(username="iam-admin"))
    response = client.post("/iam/config/", {"document": json.dumps(document)})
    assert response.status_code == 422
    page = response.content.decode()
    assert "$.identity_providers[0].rules[0].groups[0]" in page and "Only members of the admin group" in page
    assert not IdentityProvider.objects.exists()
    event = AuditEvent.objects.get(outcome="denied", actor__username="iam-admin")
    assert event.action == "iam:identityProviders:update"
    assert "$.identity_providers[0].rules[0].groups[0]" in event.message
