"""A provider's "Trust the provider's MFA (amr claim)" setting, against the real loopback provider
issuing `amr` and `auth_time` in its ID tokens: on, a token whose amr says multi-factor makes the
session MFA-present (g:MFAPresent, g:MFAAge from auth_time) and a policy reading g:MFAPresent
decides accordingly; off (the default), the console asks for its own second factor where the person
has one, and MFA is absent until then. The setting on the edit page, in Django admin, in the
configuration file, audited."""

from __future__ import annotations

import html

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import authz
from accounts.models import AuditEvent, User, UserGroup
from accounts.services import grant_attach, policy_create
from federation import services, trust
from federation.iac import ProviderEntry, apply_entries, describe, export_entries
from federation.models import IdentityProvider, MappingRule

from .conftest import CLIENT_ID, CLIENT_SECRET
from .test_sign_in import ANA, image_ids, sign_in

pytestmark = pytest.mark.usefixtures("demo")

# The provider says it did a password and a one-time code, five minutes ago.
AMR_MFA = {"ana": {"amr": ["pwd", "otp"], "auth_time_ago": 300}}
DENY_LISTING_WITHOUT_MFA = {
    "Version": "1.1",
    "Statement": [{"Effect": "Deny", "Action": ["ims:images:list"],
                   "Condition": {"Bool": {"g:MFAPresent": ["false"]}}}],
}


@pytest.fixture
def idp(oidc_provider, db):
    """"Corp" maps engineering into developers; developers may list images only with MFA present."""
    provider = services.provider_create(actor=None, name="Corp", issuer=oidc_provider.issuer, client_id=CLIENT_ID,
                                        client_secret=CLIENT_SECRET, scopes="openid email profile groups")
    developers = UserGroup.objects.get(name="developers")
    services.rule_create(actor=None, provider=provider, claim="groups", operator=MappingRule.Operator.CONTAINS,
                         value="engineering", groups=[developers])
    policy = policy_create(actor=None, name="DenyListingWithoutMFA", document=DENY_LISTING_WITHOUT_MFA)
    grant_attach(actor=None, group=developers, policies=[policy], all_resources=True)
    oidc_provider.register(f"http://testserver/accounts/oidc/{provider.pk}/callback/")
    oidc_provider.behave(None)
    oidc_provider.people({"ana": ANA}, id_token=AMR_MFA)
    yield provider
    oidc_provider.behave(None)


def set_trust(provider, on: bool) -> IdentityProvider:
    return services.provider_update(actor=User.objects.get(username="admin"), provider=provider, trust_amr=on)


def mfa_keys(client) -> dict:
    """The MFA condition keys the console decides this session's requests with."""
    keys = authz.request_keys_for(client.get("/me/permissions/").wsgi_request)
    return {k: v for k, v in keys.items() if k.startswith("g:MFA")}


def session_says(client) -> str:
    page = html.unescape(client.get("/me/permissions/").content.decode())
    return "verified MFA" if "it verified MFA" in page else "did not verify MFA"


def sign_in_event() -> AuditEvent:
    return AuditEvent.objects.filter(action="federation:signIn", outcome="allowed").latest("pk")


def test_a_trusted_providers_mfa_makes_the_session_mfa_present_from_its_auth_time(client, oidc_provider, idp):
    set_trust(idp, True)
    response = sign_in(client, oidc_provider, idp)
    assert response.status_code == 302 and response["Location"] == "/"  # no code step of the console's
    keys = mfa_keys(client)
    assert keys["g:MFAPresent"] is True and 300 <= keys["g:MFAAge"] < 360  # counted from auth_time
    assert session_says(client) == "verified MFA"
    assert image_ids(client, "cn-north-4_dev")  # the Deny without MFA does not apply: the images are listed
    event = sign_in_event()
    assert event.details["provider_mfa_trusted"] is True and event.details["amr"] == ["pwd", "otp"]
    assert "MFA (amr) trusted" in event.message


def test_by_default_the_providers_mfa_is_not_trusted_and_the_policy_denies(client, oidc_provider, idp):
    assert IdentityProvider.objects.get(pk=idp.pk).trust_amr is False
    response = sign_in(client, oidc_provider, idp)
    assert response.status_code == 302 and client.session["_auth_user_id"]
    assert mfa_keys(client) == {"g:MFAPresent": False}
    assert session_says(client) == "did not verify MFA"
    assert image_ids(client, "cn-north-4_dev") == set()
    refused = client.get("/images/?project=cn-north-4_dev")
    assert refused.status_code == 403 and "DenyListingWithoutMFA" in refused.content.decode()
    event = sign_in_event()
    assert event.details["provider_mfa_trusted"] is False and "not trusted" in event.message


@pytest.mark.parametrize("amr", [["pwd"], ["pwd", "sms"], ["pin", "kba"], None],
                         ids=["password", "sms", "knowledge-only", "none"])
def test_an_amr_without_a_second_factor_is_not_mfa_even_when_trusted(client, oidc_provider, idp, amr):
    set_trust(idp, True)
    oidc_provider.people({"ana": ANA}, id_token={"ana": {} if amr is None else {"amr": amr}})
    assert sign_in(client, oidc_provider, idp).status_code == 302
    assert mfa_keys(client) == {"g:MFAPresent": False}
    assert image_ids(client, "cn-north-4_dev") == set()


def test_an_amr_that_is_not_a_list_refuses_the_sign_in(client, oidc_provider, idp):
    """Authlib checks the claim's type (a list): a string is refused like any invalid claim."""
    set_trust(idp, True)
    oidc_provider.people({"ana": ANA}, id_token={"ana": {"amr": "mfa"}})
    response = sign_in(client, oidc_provider, idp)
    assert response.status_code == 403 and "the ID token's amr claim is not valid" in html.unescape(
        response.content.decode())
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("amr", [[["mfa"]], [1, "pwd"], [{"mfa": True}]], ids=["nested", "a-number", "an-object"])
def test_an_amr_list_of_other_than_strings_is_not_mfa(client, oidc_provider, idp, amr):
    set_trust(idp, True)
    oidc_provider.people({"ana": ANA}, id_token={"ana": {"amr": amr}})
    assert sign_in(client, oidc_provider, idp).status_code == 302
    assert mfa_keys(client) == {"g:MFAPresent": False}


@pytest.mark.parametrize("value", sorted(trust.MFA_AMR_VALUES))
def test_each_listed_amr_value_counts_as_mfa(value):
    assert trust.provider_did_mfa({"amr": ["pwd", value]})


def test_an_amr_in_the_userinfo_answer_alone_does_not_count(client, oidc_provider, idp):
    """`amr` and `auth_time` are about the sign-in: only the verified ID token's are read."""
    set_trust(idp, True)
    oidc_provider.people({"ana": ANA}, userinfo={"ana": {"amr": ["mfa"], "auth_time": 1}})
    assert sign_in(client, oidc_provider, idp).status_code == 302
    assert mfa_keys(client) == {"g:MFAPresent": False}
    assert sign_in_event().details["amr"] == []


def test_without_auth_time_the_age_counts_from_the_tokens_iat():
    assert trust.authenticated_at({"iat": 1000}, now=2000) == 1000
    assert trust.authenticated_at({"auth_time": 900, "iat": 1000}, now=2000) == 900
    assert trust.authenticated_at({"auth_time": 5000}, now=2000) == 2000  # never in the future
    assert trust.authenticated_at({"auth_time": True, "iat": 1000}, now=2000) == 1000


def test_trusted_mfa_spares_a_person_with_the_consoles_own_mfa_the_code(client, oidc_provider, idp):
    sign_in(client, oidc_provider, idp)
    ana = User.objects.get(federated_identity__subject="ana-0001")
    TOTPDevice.objects.create(user=ana, name="app", confirmed=True)
    client.logout()
    set_trust(idp, True)
    response = sign_in(client, oidc_provider, idp)
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(ana.pk)
    assert mfa_keys(client)["g:MFAPresent"] is True


def test_untrusted_the_console_asks_for_its_own_code_and_mfa_counts_only_after_it(client, oidc_provider, idp):
    sign_in(client, oidc_provider, idp)
    ana = User.objects.get(federated_identity__subject="ana-0001")
    device = TOTPDevice.objects.create(user=ana, name="app", confirmed=True)
    client.logout()
    response = sign_in(client, oidc_provider, idp)  # its amr says otp, but the provider is not trusted
    assert response.status_code == 302 and response["Location"] == "/accounts/login/code/"
    assert "_auth_user_id" not in client.session
    response = client.post("/accounts/login/code/", {"code": f"{totp(device.bin_key):06d}"})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(ana.pk)
    keys = mfa_keys(client)
    assert keys["g:MFAPresent"] is True and keys["g:MFAAge"] < 300  # from the console's code, not auth_time
    assert image_ids(client, "cn-north-4_dev")


def test_turning_trust_off_takes_mfa_away_from_sessions_already_signed_in(client, oidc_provider, idp):
    set_trust(idp, True)
    sign_in(client, oidc_provider, idp)
    assert mfa_keys(client)["g:MFAPresent"] is True
    set_trust(IdentityProvider.objects.get(pk=idp.pk), False)
    assert mfa_keys(client) == {"g:MFAPresent": False}
    assert image_ids(client, "cn-north-4_dev") == set()
    changes = AuditEvent.objects.filter(action="iam:identityProviders:update", outcome="allowed",
                                        details__after__has_key="trust_amr").order_by("pk")
    assert [(e.details["before"]["trust_amr"], e.details["after"]["trust_amr"]) for e in changes] == [
        (False, True), (True, False)]


def test_another_users_session_never_borrows_the_providers_vouching(client, oidc_provider, idp):
    """The session remembers whom the provider vouched for: the same marker under another user is ignored."""
    set_trust(idp, True)
    sign_in(client, oidc_provider, idp)
    marker = client.session[trust.SESSION_KEY]
    other = Client()
    other.force_login(User.objects.get(username="developer"))
    session = other.session
    session[trust.SESSION_KEY] = marker
    session.save()
    assert mfa_keys(other) == {"g:MFAPresent": False}


# --- the setting on the pages, in admin, in the configuration file -------------------------------


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.get(username="admin"))
    return client


def test_the_edit_page_sets_the_trust_and_the_change_is_audited(admin_client, oidc_provider):
    provider = services.provider_create(actor=None, name="Corp", issuer=oidc_provider.issuer, client_id=CLIENT_ID)
    form = html.unescape(admin_client.get(f"/iam/identity-providers/{provider.pk}/edit/").content.decode())
    assert 'name="trust_amr"' in form and "Trust the provider's MFA (amr claim)" in form
    detail = html.unescape(admin_client.get(provider.get_absolute_url()).content.decode())
    assert "not trusted: the console asks for its own second factor" in detail
    response = admin_client.post(f"/iam/identity-providers/{provider.pk}/edit/", {
        "name": "Corp", "issuer": oidc_provider.issuer, "client_id": CLIENT_ID, "client_secret": "",
        "scopes": provider.scopes, "trust_amr": "on", "revision": provider.revision})
    assert response.status_code == 302
    assert IdentityProvider.objects.get(pk=provider.pk).trust_amr is True
    detail = html.unescape(admin_client.get(provider.get_absolute_url()).content.decode())
    assert "trusted: an ID token whose amr says multi-factor counts as MFA in the console" in detail
    event = AuditEvent.objects.get(action="iam:identityProviders:update")
    assert event.details == {"before": {"trust_amr": False}, "after": {"trust_amr": True}}
    admin_page = admin_client.get(f"/admin/federation/identityprovider/{provider.pk}/change/")
    assert admin_page.status_code == 200 and "Trust the provider&#x27;s MFA (amr claim)" in admin_page.content.decode()


ENTRY = {"name": "Corp", "issuer": "https://idp.example/o", "client_id": "console", "scopes": "openid email",
         "is_active": True, "allow_unmatched": False, "trust_amr": True,
         "rules": [{"claim": "groups", "operator": "contains", "value": "eng", "groups": ["developers"],
                    "stop": False}]}


def test_trust_amr_is_in_the_configuration_file_exported_applied_and_audited():
    admin = User.objects.get(username="admin")
    apply_entries([ProviderEntry.model_validate(ENTRY)], actor=admin)
    assert IdentityProvider.objects.get(name="Corp").trust_amr is True
    assert export_entries() == [ENTRY]
    assert "trusts its MFA (amr)" in describe(ENTRY)
    without = {k: v for k, v in ENTRY.items() if k != "trust_amr"}  # absent from a file: off
    apply_entries([ProviderEntry.model_validate(without)], actor=admin)
    assert IdentityProvider.objects.get(name="Corp").trust_amr is False
    event = AuditEvent.objects.filter(action="iam:identityProviders:update").latest("pk")
    assert event.actor == admin and event.details["after"] == {"trust_amr": False}
