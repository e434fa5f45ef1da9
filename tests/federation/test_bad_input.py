"""Hostile input in the federation forms: refused with a message (4xx), never a 500, nothing written."""

from __future__ import annotations

import pytest

from accounts.models import User, UserGroup
from federation import services
from federation.models import IdentityProvider

pytestmark = pytest.mark.usefixtures("demo")

HOSTILE = ["x" * 100_000, "9" * 5000, "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"), "",
           "https://" + "a" * 300 + ".example"]


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.get(username="admin"))
    return client


@pytest.mark.parametrize("field", ["name", "issuer", "client_id", "client_secret", "scopes"])
@pytest.mark.parametrize("value", HOSTILE, ids=["long", "digits", "replacement", "empty", "long-host"])
def test_provider_fields(admin_client, field, value):
    data = {"name": "Corp", "issuer": "https://idp.example/o", "client_id": "c", "client_secret": "s",
            "scopes": "openid email", field: value}
    response = admin_client.post("/iam/identity-providers/new/", data)
    assert response.status_code in (302, 422)
    if response.status_code == 302:
        provider = IdentityProvider.objects.get()
        assert len(provider.name) <= 64 and len(provider.client_secret) <= 512


@pytest.mark.parametrize("field", ["claim", "operator", "value", "groups"])
@pytest.mark.parametrize("value", [*HOSTILE, "99999999999999999999999", "-1"])
def test_rule_fields(admin_client, field, value):
    provider = services.provider_create(actor=None, name="Corp", issuer="https://idp.example/o", client_id="c")
    data = {"claim": "groups", "operator": "contains", "value": "eng",
            "groups": [UserGroup.objects.get(name="viewers").pk], field: value}
    response = admin_client.post(f"/iam/identity-providers/{provider.pk}/rules/new/", data)
    assert response.status_code in (302, 422)
    assert provider.rules.count() == (1 if response.status_code == 302 else 0)


@pytest.mark.parametrize("claims", ["1e999", "[" * 100_000, '{"a": ' * 3000 + "1" + "}" * 3000, "x" * 30_000,
                                    '{"sub": "' + "9" * 5000 + '"}', "null"])
def test_preview_claims(admin_client, claims):
    provider = services.provider_create(actor=None, name="Corp", issuer="https://idp.example/o", client_id="c")
    response = admin_client.post(f"/iam/identity-providers/{provider.pk}/preview/", {"claims": claims})
    assert response.status_code in (200, 422)


def test_a_hostile_callback_query_is_refused_not_a_500(client, db):
    provider = services.provider_create(actor=None, name="Corp", issuer="http://127.0.0.1:9/o", client_id="c")
    for query in ("", "?code=x", "?state=" + "s" * 10_000 + "&code=c", "?error=access_denied&error_description=no",
                  "?code=a&code=b&state=1"):
        response = client.get(f"/accounts/oidc/{provider.pk}/callback/{query}")
        assert response.status_code == 403, query


@pytest.mark.parametrize(("claims", "where"), [
    ('{"sub": "x", "groups": ["\\ud800"]}', "$.groups[0]"),
    ('{"sub": "\\u0000"}', "$.sub"),
    ('{"sub": "x", "n": 1e400}', "$.n"),
    ("[" * 10_000 + "]" * 10_000, "$"),
])
def test_preview_claims_go_through_the_one_json_check(admin_client, claims, where):
    """Claims with what no console stores are refused at their JSON path, as every JSON door refuses."""
    provider = services.provider_create(actor=None, name="Corp", issuer="https://idp.example/o", client_id="c")
    response = admin_client.post(f"/iam/identity-providers/{provider.pk}/preview/", {"claims": claims})
    assert response.status_code in (200, 422)
    assert f"Not usable JSON: {where}" in response.content.decode()


@pytest.mark.parametrize("revision", ["", "1"])
def test_a_stale_or_revisionless_provider_edit_is_a_409_and_changes_nothing(admin_client, revision):
    """The provider form carries the revision it was loaded with, as every edit form: one saved meanwhile
    (or a form without it) is not overwritten."""
    provider = services.provider_create(actor=None, name="Corp", issuer="https://idp.example/o", client_id="c")
    services.provider_update(actor=None, provider=provider, name="Corp", issuer=provider.issuer,
                             client_id="changed-meanwhile", scopes=provider.scopes,
                             allow_unmatched=provider.allow_unmatched)
    data = {"name": "Corp", "issuer": "https://idp.example/o", "client_id": "mine", "client_secret": "",
            "scopes": "openid email", "revision": revision}
    response = admin_client.post(f"/iam/identity-providers/{provider.pk}/edit/", data)
    assert response.status_code == 409
    assert IdentityProvider.objects.get(pk=provider.pk).client_id == "changed-meanwhile"


def test_a_rule_edit_loaded_before_the_providers_last_change_is_a_409_and_changes_nothing(admin_client):
    """A rule is part of its provider: a rule form carries the provider's revision (409 when stale)."""
    provider = services.provider_create(actor=None, name="Corp", issuer="https://idp.example/o", client_id="c")
    viewers = UserGroup.objects.get(name="viewers")
    rule = services.rule_create(actor=None, provider=provider, claim="groups", operator="contains", value="eng",
                                groups=[viewers])
    loaded = IdentityProvider.objects.get(pk=provider.pk).revision
    services.rule_create(actor=None, provider=provider, claim="email", operator="email_domain", value="x.example",
                         groups=[viewers])  # someone else's change meanwhile
    data = {"claim": "groups", "operator": "contains", "value": "mine", "groups": [viewers.pk]}
    stale = admin_client.post(f"/iam/identity-providers/rules/{rule.pk}/edit/", {**data, "revision": loaded})
    assert stale.status_code == 409
    assert rule_value(rule) == "eng"
    current = IdentityProvider.objects.get(pk=provider.pk).revision
    fresh = admin_client.post(f"/iam/identity-providers/rules/{rule.pk}/edit/", {**data, "revision": current})
    assert fresh.status_code == 302 and rule_value(rule) == "mine"


def rule_value(rule):
    return type(rule).objects.get(pk=rule.pk).value
