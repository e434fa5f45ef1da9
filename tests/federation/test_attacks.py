"""Attacks on the sign-in and on the mapping rules, each refused and audited. The hostile ID tokens
come from the real loopback provider told to misbehave (tests/oidc_provider/people.py): for another
audience, expired, unsigned (alg none), signed with a key not in its JWKS, from another issuer."""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from accounts.models import AuditEvent, User, UserGroup
from federation import services
from federation.models import FederatedIdentity, IdentityProvider, MappingRule

from .conftest import CLIENT_ID, CLIENT_SECRET
from .test_sign_in import ANA, back, sign_in, start

pytestmark = pytest.mark.usefixtures("demo")


@pytest.fixture
def idp(oidc_provider, db):
    provider = services.provider_create(actor=None, name="Corp", issuer=oidc_provider.issuer, client_id=CLIENT_ID,
                                        client_secret=CLIENT_SECRET, scopes="openid email profile groups")
    services.rule_create(actor=None, provider=provider, claim="groups", operator=MappingRule.Operator.CONTAINS,
                         value="engineering", groups=[UserGroup.objects.get(name="developers")])
    oidc_provider.register(f"http://testserver/accounts/oidc/{provider.pk}/callback/")
    oidc_provider.behave(None)
    oidc_provider.people({"ana": ANA})
    yield provider
    oidc_provider.behave(None)


def assert_refused(client, response, reason: str):
    """Nobody signed in, nobody created, one denied event saying why."""
    assert response.status_code == 403, response.content[:400]
    assert "_auth_user_id" not in client.session
    assert not FederatedIdentity.objects.exists()
    event = AuditEvent.objects.filter(action="federation:signIn", outcome="denied").latest("pk")
    assert reason in event.message, event.message
    assert reason in html.unescape(response.content.decode())


def with_query(url: str, **changes) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}"


def test_the_authorization_request_uses_pkce_s256_state_and_nonce(client, idp):
    query = parse_qs(urlsplit(start(client, idp)).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0] and "openid" in query["scope"][0].split()
    assert query["response_type"] == ["code"] and query["client_id"] == [CLIENT_ID]


def test_a_wrong_state_is_refused(client, oidc_provider, idp):
    callback = oidc_provider.authorize(start(client, idp), "ana")
    assert_refused(client, back(client, with_query(callback, state="forged-state")), "state parameter")


def test_a_replayed_callback_is_refused(client, oidc_provider, idp):
    callback = oidc_provider.authorize(start(client, idp), "ana")
    assert back(client, callback).status_code == 302
    FederatedIdentity.objects.all().delete()
    client.logout()
    assert_refused(client, back(client, callback), "state parameter")


def test_a_replayed_code_is_refused_by_the_provider(client, oidc_provider, idp):
    used = oidc_provider.authorize(start(client, idp), "ana")
    assert back(client, used).status_code == 302
    FederatedIdentity.objects.all().delete()
    client.logout()
    # A fresh sign-in (its own state and PKCE verifier) carrying the old code.
    fresh = oidc_provider.authorize(start(client, idp), "ana")
    old_code = parse_qs(urlsplit(used).query)["code"][0]
    assert_refused(client, back(client, with_query(fresh, code=old_code)), "the provider refused: invalid_grant")


@pytest.mark.parametrize(("behaviour", "reason"), [
    ({"claims": {"aud": "another-client"}}, "the ID token was issued for another client"),
    ({"exp_offset": -600}, "the ID token has expired"),
    ({"foreign_key": True}, "signed with a key the provider's JWKS does not hold"),
    ({"alg": "none"}, "signature algorithm is not accepted"),
    ({"claims": {"iss": "http://evil.example/o"}}, "the ID token's iss claim is not valid"),
    ({"claims": {"nonce": "another-sign-in"}}, "the ID token's nonce claim is not valid"),
    ({"alg": "HS256", "secret": CLIENT_SECRET}, "signature algorithm is not accepted"),
], ids=["another-audience", "expired", "key-not-in-jwks", "alg-none", "issuer-mismatch", "wrong-nonce",
        "hs256-keyed-by-the-client-secret"])
def test_a_hostile_id_token_is_refused(client, oidc_provider, idp, behaviour, reason):
    oidc_provider.behave(behaviour)
    assert_refused(client, sign_in(client, oidc_provider, idp), reason)


def test_a_discovery_document_naming_another_issuer_is_refused(client, oidc_provider, idp):
    """Configured as localhost, the provider's discovery names 127.0.0.1: no sign-in starts."""
    IdentityProvider.objects.filter(pk=idp.pk).update(issuer=oidc_provider.issuer.replace("127.0.0.1", "localhost"))
    response = client.get(f"/accounts/oidc/{idp.pk}/login/")
    assert response.status_code == 502
    assert "names the issuer" in response.content.decode()
    assert AuditEvent.objects.filter(action="federation:signIn", outcome="denied",
                                     message__contains="names the issuer").exists()


def test_an_open_redirect_in_next_is_refused_and_audited(client, oidc_provider, idp):
    response = sign_in(client, oidc_provider, idp, next_url="https://evil.example/phish")
    assert response.status_code == 302 and response["Location"] == "/"
    assert AuditEvent.objects.filter(action="federation:signIn", outcome="denied",
                                     message__contains="open redirect").exists()
    client.logout()
    response = sign_in(client, oidc_provider, idp, next_url="/images/?project=cn-north-4_dev")
    assert response["Location"] == "/images/?project=cn-north-4_dev"


# --- no escalation through the mapping rules --------------------------------------------------------


@pytest.fixture
def staff_idp(db):
    """A provider whose one rule maps into iam-admins, a group the Security Administrator can fill."""
    provider = services.provider_create(actor=None, name="Staff", issuer="http://127.0.0.1:9/o", client_id="c")
    services.rule_create(actor=None, provider=provider, claim="groups", operator="contains", value="security",
                         groups=[UserGroup.objects.get(name="iam-admins")])
    return provider


def test_the_security_administrator_cannot_map_into_the_admin_group(client, staff_idp):
    client.force_login(User.objects.get(username="iam-admin"))
    admin_group = UserGroup.objects.get(name="admin")
    page = client.get(f"/iam/identity-providers/{staff_idp.pk}/").content.decode()
    assert "not into admin, developers, ims-admins, north-ops, viewers." in page  # said before they try
    response = client.post(f"/iam/identity-providers/{staff_idp.pk}/rules/new/",
                           {"claim": "groups", "operator": "contains", "value": "it", "groups": [admin_group.pk]})
    assert response.status_code == 403
    text = html.unescape(response.content.decode())
    assert "Rule 2 maps into admin: Only members of the admin group" in text
    assert staff_idp.rules.count() == 1
    event = AuditEvent.objects.get(action="iam:identityProviders:update", outcome="denied")
    assert event.actor.username == "iam-admin" and "Rule 2 maps into admin" in event.message
    # What they may fill, they may map: a second rule into iam-admins.
    response = client.post(f"/iam/identity-providers/{staff_idp.pk}/rules/new/",
                           {"claim": "email", "operator": "email_domain", "value": "corp.example",
                            "groups": [UserGroup.objects.get(name="iam-admins").pk]})
    assert response.status_code == 302 and staff_idp.rules.count() == 2


def test_the_security_administrator_cannot_edit_a_rule_into_the_admin_group_nor_a_provider_mapping_there(
        client, staff_idp):
    admin_group = UserGroup.objects.get(name="admin")
    client.force_login(User.objects.get(username="iam-admin"))
    rule = staff_idp.rules.get()
    response = client.post(f"/iam/identity-providers/rules/{rule.pk}/edit/",
                           {"claim": "groups", "operator": "contains", "value": "security",
                            "groups": [admin_group.pk]})
    assert response.status_code == 403 and "Rule 1 maps into admin" in response.content.decode()
    assert list(rule.groups.values_list("name", flat=True)) == ["iam-admins"]
    # An admin member maps into admin; then the Security Administrator may not re-point the provider.
    services.rule_create(actor=User.objects.get(username="admin"), provider=staff_idp, claim="groups",
                         operator="contains", value="it", groups=[admin_group])
    response = client.post(f"/iam/identity-providers/{staff_idp.pk}/edit/", {
        "name": "Staff", "issuer": "http://attacker.example/o", "client_id": "x", "client_secret": "",
        "scopes": "openid", "revision": IdentityProvider.objects.get(pk=staff_idp.pk).revision})
    assert response.status_code == 403 and "Rule 2 maps into admin" in response.content.decode()
    assert IdentityProvider.objects.get(pk=staff_idp.pk).issuer != "http://attacker.example/o"
    refusals = AuditEvent.objects.filter(action="iam:identityProviders:update", outcome="denied")
    assert sum(event.repeat_count for event in refusals) == 2  # a repeat within a minute is counted on one row


def test_a_member_of_a_lesser_group_cannot_map_into_groups_holding_more(idp):
    """The rule for adding members by hand: the developer holds nothing of IAM, let alone viewers' grants."""
    from accounts.enforcement import Refused

    with pytest.raises(Refused):
        services.rule_create(actor=User.objects.get(username="developer"), provider=idp, claim="email",
                             operator="equals", value="x@y.z", groups=[UserGroup.objects.get(name="viewers")])


def test_the_admin_maps_into_the_admin_group(idp):
    rule = services.rule_create(actor=User.objects.get(username="admin"), provider=idp, claim="groups",
                                operator="contains", value="it", groups=[UserGroup.objects.get(name="admin")])
    assert rule.position == 2
