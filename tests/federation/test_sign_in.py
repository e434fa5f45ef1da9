"""Signing in through a real OpenID Connect provider on loopback (tests/oidc_provider): the user is
created just in time in the groups the rules say, sees exactly their images, follows the provider's
claims at every sign-in, and is turned away when no rule matches or the provider is disabled."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

import pytest

from accounts.models import AuditEvent, Membership, User, UserGroup
from federation import services
from federation.models import FederatedIdentity, MappingRule

from .conftest import CLIENT_ID, CLIENT_SECRET

pytestmark = pytest.mark.usefixtures("demo")

ANA = {"sub": "ana-0001", "preferred_username": "ana", "email": "ana@corp.example", "email_verified": True,
       "given_name": "Ana", "family_name": "Ng", "groups": ["engineering"]}


@pytest.fixture
def idp(oidc_provider, db):
    """A provider "Corp" in the console (rules: groups contains engineering → developers; e-mail domain
    ops.example → viewers), registered at the loopback provider for the test client's callback."""
    provider = services.provider_create(actor=None, name="Corp", issuer=oidc_provider.issuer, client_id=CLIENT_ID,
                                        client_secret=CLIENT_SECRET, scopes="openid email profile groups")
    services.rule_create(actor=None, provider=provider, claim="groups", operator=MappingRule.Operator.CONTAINS,
                         value="engineering", groups=[UserGroup.objects.get(name="developers")])
    services.rule_create(actor=None, provider=provider, claim="email", operator=MappingRule.Operator.EMAIL_DOMAIN,
                         value="ops.example", groups=[UserGroup.objects.get(name="viewers")])
    oidc_provider.register(f"http://testserver/accounts/oidc/{provider.pk}/callback/")
    oidc_provider.behave(None)
    oidc_provider.people({"ana": ANA})
    yield provider
    oidc_provider.behave(None)


def start(client, provider, next_url: str | None = None) -> str:
    """Press "Sign in with <provider>": the URL of the provider's authorization endpoint."""
    url = f"/accounts/oidc/{provider.pk}/login/" + (f"?next={quote(next_url, safe='')}" if next_url else "")
    response = client.get(url)
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def back(client, callback_url: str):
    parts = urlsplit(callback_url)
    assert parts.netloc == "testserver", callback_url
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client, oidc_provider, provider, username="ana", next_url=None):
    return back(client, oidc_provider.authorize(start(client, provider, next_url), username))


def group_names(user) -> set[str]:
    return set(Membership.objects.filter(user=user).values_list("group__name", flat=True))


def image_ids(client, project: str) -> set[str]:
    response = client.get(f"/images/?project={project}")
    if response.status_code != 200:
        return set()
    return set(re.findall(r'data-image-id="([^"]+)"', response.content.decode()))


def test_the_sign_in_page_has_a_button_per_active_provider(client, idp):
    page = client.get("/accounts/login/").content.decode()
    assert f'href="/accounts/oidc/{idp.pk}/login/"' in page and "Sign in with Corp" in page


def test_first_sign_in_creates_the_user_in_the_mapped_groups_and_they_see_exactly_their_images(
        client, oidc_provider, idp, django_user_model):
    response = sign_in(client, oidc_provider, idp)
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(federated_identity__subject="ana-0001")
    assert (user.username, user.email, user.first_name) == ("ana", "ana@corp.example", "Ana")
    assert not user.has_usable_password()
    assert group_names(user) == {"developers"}
    assert client.session["_auth_user_id"] == str(user.pk)
    # Exactly the developer persona's images: everything in cn-north-4_dev, nothing in cn-north-4.
    from django.test import Client

    developer = Client()
    developer.force_login(User.objects.get(username="developer"))
    mine = image_ids(client, "cn-north-4_dev")
    assert mine and mine == image_ids(developer, "cn-north-4_dev")
    assert image_ids(client, "cn-north-4") == set() == image_ids(developer, "cn-north-4")
    events = AuditEvent.objects.filter(actor_name="idp:Corp")
    assert events.filter(action="iam:users:createUser", target_id=str(user.pk)).exists()
    added = events.get(action="iam:groups:addUserToGroup")
    assert added.details["source"] == "identity provider Corp" and added.details["rules"] == [1]
    assert AuditEvent.objects.filter(action="federation:signIn", actor=user, outcome="allowed").exists()
    # Marked federated on their user page.
    identity = FederatedIdentity.objects.get(user=user)
    assert identity.provider_name == "Corp" and identity.last_claims["groups"] == ["engineering"]


def test_a_claim_changed_at_the_provider_changes_their_groups_at_the_next_sign_in(client, oidc_provider, idp):
    sign_in(client, oidc_provider, idp)
    user = User.objects.get(federated_identity__subject="ana-0001")
    hand_given = UserGroup.objects.get(name="north-ops")
    Membership.objects.create(user=user, group=hand_given)  # given by hand in the console: it stays
    oidc_provider.people({"ana": {**ANA, "groups": ["sales"], "email": "ana@ops.example"}})
    client.logout()
    response = sign_in(client, oidc_provider, idp)
    assert response.status_code == 302
    assert group_names(user) == {"viewers", "north-ops"}
    removed = AuditEvent.objects.get(action="iam:groups:removeUserFromGroup", actor_name="idp:Corp")
    assert removed.target_repr == "developers" and removed.details["before"] == {"member": "ana"}
    assert set(FederatedIdentity.objects.get(user=user).provider_groups.values_list("name", flat=True)) == {"viewers"}
    assert User.objects.filter(federated_identity__isnull=False).count() == 1  # the same user, not a new one


def test_a_person_matching_no_rule_is_turned_away_with_a_clear_page(client, oidc_provider, idp):
    oidc_provider.people({"bo": {"sub": "bo-0002", "email": "bo@elsewhere.example", "groups": ["sales"]}})
    response = sign_in(client, oidc_provider, idp, username="bo")
    assert response.status_code == 403
    assert "no mapping rule of Corp matches you" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not User.objects.filter(federated_identity__subject="bo-0002").exists()
    event = AuditEvent.objects.get(action="federation:signIn", outcome="denied")
    assert event.details["subject"] == "bo-0002"


def test_someone_who_stops_matching_loses_the_providers_groups_and_is_turned_away(client, oidc_provider, idp):
    sign_in(client, oidc_provider, idp)
    user = User.objects.get(federated_identity__subject="ana-0001")
    oidc_provider.people({"ana": {**ANA, "groups": []}})
    client.logout()
    assert sign_in(client, oidc_provider, idp).status_code == 403
    assert group_names(user) == set()


def test_a_disabled_providers_button_disappears_and_its_callback_refuses(client, oidc_provider, idp):
    authorize_url = start(client, idp)
    callback = oidc_provider.authorize(authorize_url, "ana")
    services.provider_set_active(actor=None, provider=idp, active=False)
    assert "Sign in with Corp" not in client.get("/accounts/login/").content.decode()
    response = back(client, callback)
    assert response.status_code == 403 and "disabled" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get(f"/accounts/oidc/{idp.pk}/login/").status_code == 403
    assert AuditEvent.objects.filter(action="federation:signIn", outcome="denied",
                                     message__contains="disabled").exists()


def test_a_deactivated_federated_user_cannot_sign_in(client, oidc_provider, idp):
    sign_in(client, oidc_provider, idp)
    User.objects.filter(federated_identity__subject="ana-0001").update(is_active=False)
    client.logout()
    response = sign_in(client, oidc_provider, idp)
    assert response.status_code == 403 and "deactivated" in response.content.decode()


def test_a_local_user_of_the_same_name_is_never_taken_over(client, oidc_provider, idp):
    oidc_provider.people({"viewer": {"sub": "v-9", "preferred_username": "viewer", "groups": ["engineering"]}})
    sign_in(client, oidc_provider, idp, username="viewer")
    federated = User.objects.get(federated_identity__subject="v-9")
    assert federated.username == "viewer-2"
    assert group_names(User.objects.get(username="viewer")) == {"viewers"}


def test_the_user_page_marks_a_federated_user(client, oidc_provider, idp):
    sign_in(client, oidc_provider, idp)
    ana = User.objects.get(federated_identity__subject="ana-0001")
    client.force_login(User.objects.get(username="iam-admin"))
    page = client.get(f"/iam/users/{ana.pk}/").content.decode()
    assert 'data-testid="federated"' in page and "Signs in with Corp" in page and "developers" in page
    viewer = User.objects.get(username="viewer")
    assert 'data-testid="federated"' not in client.get(f"/iam/users/{viewer.pk}/").content.decode()


def test_a_federated_user_with_mfa_on_is_asked_for_a_code_after_the_provider(client, oidc_provider, idp):
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    sign_in(client, oidc_provider, idp)
    ana = User.objects.get(federated_identity__subject="ana-0001")
    device = TOTPDevice.objects.create(user=ana, name="app", confirmed=True)
    client.logout()
    response = sign_in(client, oidc_provider, idp, next_url="/me/permissions/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/code/"
    assert "_auth_user_id" not in client.session
    response = client.post("/accounts/login/code/", {"code": f"{totp(device.bin_key):06d}"})
    assert response.status_code == 302 and response["Location"] == "/me/permissions/"
    assert client.session["_auth_user_id"] == str(ana.pk)


def test_a_federated_user_proves_it_is_them_again_through_the_provider(client, oidc_provider, idp):
    """No password here: sudo mode's "Confirm it's you" sends them to sign in again, and the provider's
    sign-in (carrying `next`) is the fresh proof."""
    from accounts import sudo

    sign_in(client, oidc_provider, idp)
    session = client.session
    session[sudo.SESSION_KEY] = 0
    session.save()
    confirm = client.get("/me/mfa/start/")
    assert confirm.status_code == 302 and confirm["Location"].startswith("/me/confirm/")
    page = client.get(confirm["Location"]).content.decode()
    assert 'data-testid="sudo-sign-in-again"' in page
    client.logout()
    login_page = client.get("/accounts/login/?next=/me/mfa/start/").content.decode()
    assert f"/accounts/oidc/{idp.pk}/login/?next=/me/mfa/start/" in login_page.replace("%2F", "/")
    response = sign_in(client, oidc_provider, idp, next_url="/me/mfa/start/")
    assert response["Location"] == "/me/mfa/start/"
    after = client.post("/me/mfa/start/")  # fresh now: MFA set-up starts instead of asking again
    assert after.status_code in (200, 302) and not after.get("Location", "").startswith("/me/confirm/")


def test_a_public_client_signs_in_with_pkce_alone(client, oidc_provider, idp):
    from federation.models import IdentityProvider

    public = services.provider_create(actor=None, name="Public", issuer=oidc_provider.issuer, client_id="public-app",
                                      scopes="openid email groups")
    services.rule_create(actor=None, provider=public, claim="groups", operator="contains", value="engineering",
                         groups=[UserGroup.objects.get(name="viewers")])
    oidc_provider.register(f"http://testserver/accounts/oidc/{public.pk}/callback/", client_id="public-app",
                           secret="", public=True)
    assert IdentityProvider.objects.get(pk=public.pk).client_secret == ""
    response = sign_in(client, oidc_provider, public)
    assert response.status_code == 302 and group_names(User.objects.get(federated_identity__provider=public)) == {
        "viewers"}


def test_the_discovery_document_and_jwks_are_kept_for_a_while(client, oidc_provider, idp):
    """A warm sign-in asks the provider only for the token and userinfo (two requests, not five)."""
    sign_in(client, oidc_provider, idp)
    client.logout()
    log = oidc_provider.state_dir / "provider.log"
    before = log.read_text().count("/.well-known/")
    assert sign_in(client, oidc_provider, idp).status_code == 302
    assert log.read_text().count("/.well-known/") == before
