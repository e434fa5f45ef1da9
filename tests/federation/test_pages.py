"""IAM → Identity providers: create, edit, disable, delete; the secret never shown again; Test
connection against the loopback provider and an unreachable one; the preview; sudo mode; who may."""

from __future__ import annotations

import html
import json

import pytest

from accounts import sudo
from accounts.models import AuditEvent, User, UserGroup
from federation import services
from federation.models import IdentityProvider, MappingRule
from federation.rules import evaluate

from .conftest import CLIENT_ID

pytestmark = pytest.mark.usefixtures("demo")
SECRET = "s3cret-never-shown-again"


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.get(username="admin"))
    return client


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_create_edit_disable_delete_and_the_secret_is_never_shown_again(admin_client, oidc_provider):
    response = admin_client.post("/iam/identity-providers/new/", {
        "name": "Corp", "issuer": oidc_provider.issuer, "client_id": CLIENT_ID, "client_secret": SECRET,
        "scopes": "openid email groups", "is_active": "on"})
    assert response.status_code == 302
    provider = IdentityProvider.objects.get(name="Corp")
    assert provider.client_secret == SECRET and provider.is_active
    for url in (f"/iam/identity-providers/{provider.pk}/", f"/iam/identity-providers/{provider.pk}/edit/",
                "/iam/identity-providers/"):
        page = admin_client.get(url)
        assert page.status_code == 200 and SECRET not in page.content.decode()
    detail = text(admin_client.get(f"/iam/identity-providers/{provider.pk}/"))
    assert f"http://testserver/accounts/oidc/{provider.pk}/callback/" in detail and "set (never shown)" in detail
    created = AuditEvent.objects.get(action="iam:identityProviders:create")
    assert SECRET not in json.dumps(created.details) and created.details["after"]["client_secret"] == "set"
    # An edit with the secret left empty keeps it.
    response = admin_client.post(f"/iam/identity-providers/{provider.pk}/edit/", {
        "name": "Corp SSO", "issuer": oidc_provider.issuer, "client_id": CLIENT_ID, "client_secret": "",
        "scopes": "openid email", "revision": provider.revision})
    assert response.status_code == 302
    provider.refresh_from_db()
    assert (provider.name, provider.client_secret, provider.scopes) == ("Corp SSO", SECRET, "openid email")
    updated = AuditEvent.objects.get(action="iam:identityProviders:update")
    assert updated.details["after"] == {"name": "Corp SSO", "scopes": "openid email"}
    assert admin_client.post(f"/iam/identity-providers/{provider.pk}/active/", {"active": "0"}).status_code == 302
    assert not IdentityProvider.objects.get(pk=provider.pk).is_active
    assert admin_client.get(f"/iam/identity-providers/{provider.pk}/delete/").status_code == 200
    assert admin_client.post(f"/iam/identity-providers/{provider.pk}/delete/").status_code == 302
    assert not IdentityProvider.objects.exists()
    assert AuditEvent.objects.filter(action="iam:identityProviders:delete").exists()


def test_scopes_must_include_openid(admin_client):
    response = admin_client.post("/iam/identity-providers/new/", {
        "name": "X", "issuer": "https://idp.example", "client_id": "c", "scopes": "email profile"})
    assert response.status_code == 422 and "must include openid" in text(response)


def test_test_connection_says_what_it_found(admin_client, oidc_provider):
    provider = services.provider_create(actor=None, name="Corp", issuer=oidc_provider.issuer, client_id=CLIENT_ID)
    page = text(admin_client.post(f"/iam/identity-providers/{provider.pk}/test/"))
    assert f"Issuer {oidc_provider.issuer} matches." in page
    assert "ID token algorithms accepted: RS256." in page
    assert "JWKS: 1 key (RSA " in page and "Failed:" not in page


def test_test_connection_says_exactly_what_failed(admin_client, oidc_provider):
    wrong = services.provider_create(actor=None, name="Wrong issuer", client_id="c",
                                     issuer=oidc_provider.issuer.replace("127.0.0.1", "localhost"))
    page = text(admin_client.post(f"/iam/identity-providers/{wrong.pk}/test/"))
    assert f"It names the issuer '{oidc_provider.issuer}', not the configured" in page
    missing = services.provider_create(actor=None, name="Nothing there", client_id="c",
                                       issuer=f"{oidc_provider.base}/nothing")
    page = text(admin_client.post(f"/iam/identity-providers/{missing.pk}/test/"))
    assert f"{oidc_provider.base}/nothing/.well-known/openid-configuration answered HTTP 404, not 200." in page
    down = services.provider_create(actor=None, name="Down", client_id="c", issuer="http://127.0.0.1:9/o")
    page = text(admin_client.post(f"/iam/identity-providers/{down.pk}/test/"))
    assert "Could not fetch http://127.0.0.1:9/o/.well-known/openid-configuration: ConnectionError" in page


def test_the_preview_shows_which_rules_match_and_which_groups(admin_client):
    provider = services.provider_create(actor=None, name="Corp", issuer="https://idp.example", client_id="c")
    services.rule_create(actor=None, provider=provider, claim="department", operator="one_of", value="ops, sre",
                         groups=[UserGroup.objects.get(name="north-ops")])
    services.rule_create(actor=None, provider=provider, claim="email", operator="email_domain", value="corp.example",
                         groups=[UserGroup.objects.get(name="viewers")])
    claims = {"sub": "1", "department": "sre", "email": "ana@corp.example"}
    page = text(admin_client.post(f"/iam/identity-providers/{provider.pk}/preview/", {"claims": json.dumps(claims)}))
    assert 'data-rule="1" data-matched="yes"' in page and 'data-rule="2" data-matched="yes"' in page
    assert "Would sign in</strong>, in north-ops, viewers." in page
    page = text(admin_client.post(f"/iam/identity-providers/{provider.pk}/preview/",
                                  {"claims": json.dumps({"sub": "2", "department": "sales"})}))
    assert "Would be turned away: no rule matches." in page
    bad = admin_client.post(f"/iam/identity-providers/{provider.pk}/preview/", {"claims": "[" * 5000})
    assert bad.status_code == 422


@pytest.mark.parametrize(("operator", "value", "claims", "matched"), [
    ("equals", "ops", {"dept": "ops"}, True),
    ("equals", "ops", {"dept": "Ops"}, False),
    ("equals", "ops", {"dept": ["ops"]}, False),
    ("one_of", "a, b ,c", {"dept": "b"}, True),
    ("one_of", "a,b", {"dept": "ab"}, False),
    ("contains", "eng", {"dept": ["sales", "eng"]}, True),
    ("contains", "eng", {"dept": "eng"}, False),
    ("email_domain", "corp.example", {"dept": "x@Corp.Example"}, True),
    ("email_domain", "@corp.example", {"dept": "x@corp.example.evil"}, False),
    ("equals", "ops", {}, False),
])
def test_rule_operators(operator, value, claims, matched, db):
    provider = IdentityProvider.objects.create(name="P", issuer="https://idp.example", client_id="c")
    rule = MappingRule.objects.create(provider=provider, position=1, claim="dept", operator=operator, value=value)
    assert evaluate([rule], claims).matched is matched


def test_an_unverified_email_matches_no_domain_rule(db):
    provider = IdentityProvider.objects.create(name="P", issuer="https://idp.example", client_id="c")
    rule = MappingRule.objects.create(provider=provider, position=1, claim="email", operator="email_domain",
                                      value="corp.example")
    assert evaluate([rule], {"email": "a@corp.example"}).matched
    assert not evaluate([rule], {"email": "a@corp.example", "email_verified": False}).matched


def test_a_stop_rule_ends_the_evaluation(db):
    provider = IdentityProvider.objects.create(name="P", issuer="https://idp.example", client_id="c")
    first = MappingRule.objects.create(provider=provider, position=1, claim="a", value="1", stop=True)
    second = MappingRule.objects.create(provider=provider, position=2, claim="a", value="1")
    first.groups.set([UserGroup.objects.get(name="viewers")])
    second.groups.set([UserGroup.objects.get(name="developers")])
    evaluation = evaluate([first, second], {"a": "1"})
    assert [g.name for g in evaluation.groups] == ["viewers"] and evaluation.matched_positions == [1]


def test_rules_are_moved_and_deleted_in_order(admin_client):
    provider = services.provider_create(actor=None, name="Corp", issuer="https://idp.example", client_id="c")
    viewers = UserGroup.objects.get(name="viewers")
    rules = [services.rule_create(actor=None, provider=provider, claim="n", operator="equals", value=str(i),
                                  groups=[viewers]) for i in (1, 2, 3)]
    moved = admin_client.post(f"/iam/identity-providers/rules/{rules[2].pk}/move/", {"direction": "up"})
    assert moved.status_code == 302
    assert list(provider.rules.order_by("position").values_list("value", flat=True)) == ["1", "3", "2"]
    assert admin_client.post(f"/iam/identity-providers/rules/{rules[0].pk}/delete/").status_code == 302
    assert list(provider.rules.order_by("position").values_list("position", "value")) == [(1, "3"), (2, "2")]


def test_every_write_asks_for_sudo_mode_and_changes_nothing_without_it(admin_client):
    provider = services.provider_create(actor=None, name="Corp", issuer="https://idp.example", client_id="c")
    session = admin_client.session
    session[sudo.SESSION_KEY] = 0  # the last proof is long past
    session.save()
    for url, data in ((f"/iam/identity-providers/{provider.pk}/active/", {"active": "0"}),
                      (f"/iam/identity-providers/{provider.pk}/delete/", {}),
                      (f"/iam/identity-providers/{provider.pk}/rules/new/",
                       {"claim": "a", "operator": "equals", "value": "b",
                        "groups": [UserGroup.objects.get(name="viewers").pk]}),
                      ("/iam/identity-providers/new/", {"name": "X", "issuer": "https://x.example", "client_id": "c",
                                                        "scopes": "openid"})):
        response = admin_client.post(url, data)
        assert response.status_code == 303 and response["Location"].startswith("/me/confirm/"), url
    assert admin_client.get(f"/iam/identity-providers/{provider.pk}/edit/")["Location"].startswith("/me/confirm/")
    provider.refresh_from_db()
    assert provider.is_active and not provider.rules.exists() and IdentityProvider.objects.count() == 1


@pytest.mark.parametrize("persona", ["viewer", "developer", "newcomer"])
def test_people_without_the_actions_are_refused(client, persona):
    client.force_login(User.objects.get(username=persona))
    assert client.get("/iam/identity-providers/").status_code == 403
    assert client.post("/iam/identity-providers/new/", {}).status_code == 403


def test_the_security_administrator_holds_the_actions_and_sees_the_menu_entry(client):
    from accounts import authz

    user = User.objects.get(username="iam-admin")
    for operation in ("list", "get", "create", "update", "delete"):
        assert authz.decide(user, f"iam:identityProviders:{operation}").allowed
    client.force_login(user)
    page = client.get("/iam/identity-providers/")
    assert page.status_code == 200
    assert 'href="/iam/identity-providers/"' in page.content.decode() and "Identity providers" in page.content.decode()


def test_who_signed_in_is_named_only_for_who_cans_permissions(client):
    """The provider's page lists the people it signed in and their groups: that names holders, so it
    needs what who-can needs (who_can.may_see_names); with get alone it gives a count."""
    from accounts import services as iam
    from accounts.models import Membership, User
    from federation.models import FederatedIdentity

    provider = services.provider_create(actor=None, name="Corp", issuer="https://idp.example/o", client_id="c")
    person = iam.user_create(actor=None, username="fed-person", without_password=True)[0]
    FederatedIdentity.objects.create(provider=provider, provider_name=provider.name, subject="s1", user=person)
    document = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["iam:identityProviders:get"]}]}
    reader = iam.user_create(actor=None, username="idp-reader", password="imsperm-demo")[0]
    group = iam.group_create(actor=None, name="idp-readers")
    iam.grant_attach(actor=None, group=group, all_resources=True,
                     policies=[iam.policy_create(actor=None, name="idp-get", document=document)])
    Membership.objects.create(user=reader, group=group)
    client.force_login(reader)
    page = client.get(f"/iam/identity-providers/{provider.pk}/").content.decode()
    assert "fed-person" not in page and "1 person has signed in with Corp" in page
    client.force_login(User.objects.get(username="iam-admin"))
    assert "fed-person" in client.get(f"/iam/identity-providers/{provider.pk}/").content.decode()
