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
         "is_active": True, "allow_unmatched": False,
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
