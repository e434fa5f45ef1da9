"""Passkeys as a second factor, server side: adding one (MFA on, sudo mode, audited), using one at
sign-in's second step and on "Confirm it's you" (the same g:MFAPresent/g:MFAAge as a code), and every
wrong, removed, cloned, replayed or malformed answer refused with a JSON 400 (never a 500).

The answers come from a software authenticator (tests/accounts/soft_authenticator.py); the checks are
django-otp-webauthn's and py_webauthn's. tests/accounts/test_passkeys_browser.py does the same with
Chromium's virtual authenticator.
"""

import json
import time

import pytest
from django.test import Client
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from accounts import authz, mfa
from accounts.models import AuditEvent, User
from accounts.services import mfa as mfa_services

from .soft_authenticator import SoftAuthenticator, b64url

pytestmark = pytest.mark.usefixtures("demo")

PASSWORD = "imsperm-demo"
SUDO_KEY = "imsperm_sudo_at"
REGISTER_BEGIN, REGISTER_COMPLETE = "/me/mfa/passkeys/add/begin/", "/me/mfa/passkeys/add/complete/"
SIGN_IN_BEGIN, SIGN_IN_COMPLETE = "/accounts/login/passkey/begin/", "/accounts/login/passkey/complete/"
CONFIRM_BEGIN, CONFIRM_COMPLETE = "/me/confirm/passkey/begin/", "/me/confirm/passkey/complete/"


def enrol_app(username):
    """MFA on: a confirmed authenticator app and one recovery code."""
    user = User.objects.get(username=username)
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True).token_set.create(token="recover000")
    return device


def signed_in_with_mfa(username) -> Client:
    """A session that signed in just now and verified the app (as after the code step)."""
    enrol_app(username)
    client = Client()
    client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    session = client.session
    assert mfa.PENDING_SESSION_KEY in session
    client.post("/accounts/login/code/", {"code": "recover000"})
    assert client.session.get("_auth_user_id")
    return client


def post_json(client, url, body=None):
    if body is None:
        return client.post(url)
    return client.post(url, data=json.dumps(body), content_type="application/json")


def register(client, authenticator=None) -> tuple[SoftAuthenticator, WebAuthnCredential]:
    authenticator = authenticator or SoftAuthenticator()
    options = post_json(client, REGISTER_BEGIN)
    assert options.status_code == 200, options.content
    answer = post_json(client, REGISTER_COMPLETE, authenticator.create(options.json()))
    assert answer.status_code == 200, answer.content
    return authenticator, WebAuthnCredential.objects.get(pk=answer.json()["id"])


def password_step(username) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD,
                                                "next": "/me/permissions/"})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/code/"
    return client


def passkey_sign_in(client, authenticator, **get_kwargs):
    options = post_json(client, SIGN_IN_BEGIN)
    assert options.status_code == 200, options.content
    return post_json(client, SIGN_IN_COMPLETE, authenticator.get(options.json(), **get_kwargs))


def signed_in_user(client):
    return client.session.get("_auth_user_id")


# --- adding a passkey --------------------------------------------------------------------------

def test_a_passkey_is_added_named_listed_and_audited():
    client = signed_in_with_mfa("viewer")
    _, passkey = register(client)
    assert passkey.user.username == "viewer" and passkey.name == "Passkey 1" and passkey.sign_count == 0
    added = AuditEvent.objects.get(action="mfa:passkeyAdd")
    assert added.outcome == "allowed" and "Passkey 1" in added.message

    response = client.post("/me/mfa/passkeys/rename/", {"passkey": passkey.pk, "name": "  YubiKey\x07 5  "})
    assert response.status_code == 302
    passkey.refresh_from_db()
    assert passkey.name == "YubiKey 5"
    assert AuditEvent.objects.filter(action="mfa:passkeyRename").exists()
    page = client.get("/me/mfa/").content.decode()
    assert 'value="YubiKey 5"' in page and "Add a passkey" in page


def test_adding_a_passkey_needs_mfa_on_first():
    client = Client()
    client.force_login(User.objects.get(username="viewer"))
    response = post_json(client, REGISTER_BEGIN)
    assert response.status_code == 400 and response.json()["code"] == "mfa_off"
    assert client.get("/me/mfa/passkeys/add/").status_code == 302


def test_without_sudo_mode_the_registration_posts_are_refused_and_audited():
    client = signed_in_with_mfa("viewer")
    options = post_json(client, REGISTER_BEGIN).json()  # begun while the proof was fresh
    session = client.session
    session[SUDO_KEY] = time.time() - 3600
    session.save()
    for url, body in ((REGISTER_BEGIN, None), (REGISTER_COMPLETE, SoftAuthenticator().create(options))):
        response = post_json(client, url, body)
        assert response.status_code == 403, url
        assert response.json()["code"] == "sudo_required"
    assert not WebAuthnCredential.objects.exists()
    assert AuditEvent.objects.filter(action="sudo:confirm", outcome="denied").exists()
    # The add page itself asks "Confirm it's you" first.
    page = client.get("/me/mfa/passkeys/add/")
    assert page.status_code == 302 and page["Location"].startswith("/me/confirm/")


def test_the_registration_page_serves_the_librarys_script_from_this_site():
    client = signed_in_with_mfa("viewer")
    page = client.get("/me/mfa/passkeys/add/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'src="/static/django_otp_webauthn/otp_webauthn_register.js"' in html
    assert '"beginRegistrationUrl": "/me/mfa/passkeys/add/begin/"' in html
    assert "https://" not in html.split("otp_webauthn_config", 1)[1].split("</section>", 1)[0]


def test_a_wrong_registration_answer_is_refused_with_400_and_audited():
    client = signed_in_with_mfa("viewer")
    options = post_json(client, REGISTER_BEGIN).json()
    answer = SoftAuthenticator().create(options, origin="https://evil.example")
    response = post_json(client, REGISTER_COMPLETE, answer)
    assert response.status_code == 400
    assert not WebAuthnCredential.objects.exists()
    assert AuditEvent.objects.filter(action="mfa:passkeyAdd", outcome="denied").exists()


# --- using a passkey at sign-in ----------------------------------------------------------------

def test_a_passkey_signs_in_as_the_second_factor_and_sets_the_mfa_keys():
    authenticator, passkey = register(signed_in_with_mfa("viewer"))
    client = password_step("viewer")
    assert signed_in_user(client) is None
    assert "Use a passkey" in client.get("/accounts/login/code/").content.decode()
    response = passkey_sign_in(client, authenticator)
    assert response.status_code == 200, response.content
    assert response.json()["redirect_url"] == "/me/permissions/"
    assert signed_in_user(client) == str(passkey.user_id)
    keys = authz.request_keys_for(client.get("/me/permissions/").wsgi_request)
    assert keys["g:MFAPresent"] is True and 0 <= keys["g:MFAAge"] < 60
    passkey.refresh_from_db()
    assert passkey.sign_count == 1 and passkey.last_used_at is not None
    # The session stays verified while the passkey exists; removing it takes g:MFAPresent away.
    passkey.delete()
    keys = authz.request_keys_for(client.get("/me/permissions/").wsgi_request)
    assert keys["g:MFAPresent"] is False


def test_the_passkey_step_needs_a_recent_password():
    register(signed_in_with_mfa("viewer"))
    client = Client()
    response = post_json(client, SIGN_IN_BEGIN)
    assert response.status_code == 400 and response.json()["code"] == "no_pending_sign_in"
    assert signed_in_user(client) is None


def test_a_passkey_of_another_person_is_refused_and_audited():
    stranger, _ = register(signed_in_with_mfa("viewer"))
    register(signed_in_with_mfa("ims-admin"))
    client = password_step("ims-admin")
    response = passkey_sign_in(client, stranger)
    assert response.status_code == 400
    assert response.json()["code"] == "credential_user_mismatch"
    assert signed_in_user(client) is None
    refused = AuditEvent.objects.get(action="signin:passkeyRefused")
    assert refused.outcome == "denied" and refused.actor.username == "ims-admin"


def test_a_removed_passkey_is_refused():
    client = signed_in_with_mfa("viewer")
    authenticator, passkey = register(client)
    register(client)  # a second one, so the step is still offered
    assert client.post(f"/me/mfa/passkeys/{passkey.pk}/remove/").status_code == 302
    assert not WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    assert AuditEvent.objects.filter(action="mfa:passkeyRemove", outcome="allowed").exists()
    signing_in = password_step("viewer")
    response = passkey_sign_in(signing_in, authenticator)
    assert response.status_code == 400 and response.json()["code"] == "credential_not_found"
    assert signed_in_user(signing_in) is None


def test_a_cloned_passkey_whose_sign_count_goes_backwards_is_refused_and_audited():
    authenticator, passkey = register(signed_in_with_mfa("viewer"))
    for _ in range(3):
        client = password_step("viewer")
        assert passkey_sign_in(client, authenticator).status_code == 200
    passkey.refresh_from_db()
    assert passkey.sign_count == 3
    clone = SoftAuthenticator(credential_id=authenticator.credential_id, key=authenticator.key, sign_count=1)
    client = password_step("viewer")
    response = passkey_sign_in(client, clone)
    assert response.status_code == 400 and response.json()["code"] == "possible_clone"
    assert signed_in_user(client) is None
    refused = AuditEvent.objects.get(action="signin:passkeyRefused")
    assert "cloned" in refused.message and refused.details["reason"] == "possible_clone"
    passkey.refresh_from_db()
    assert passkey.sign_count == 3


@pytest.mark.parametrize("clone_count", [1, 3], ids=["behind", "equal"])
def test_a_passkey_caught_cloned_is_disabled_so_the_copy_cannot_count_past_the_original(clone_count):
    """A copy refused once would otherwise only need a higher count at its next try."""
    client = signed_in_with_mfa("viewer")
    authenticator, passkey = register(client)
    other, _ = register(client)  # a second passkey: the passkey step is still offered afterwards
    for _ in range(3):
        assert passkey_sign_in(password_step("viewer"), authenticator).status_code == 200
    clone = SoftAuthenticator(credential_id=authenticator.credential_id, key=authenticator.key,
                              sign_count=clone_count - 1)  # it counts one up as it signs
    response = passkey_sign_in(password_step("viewer"), clone)
    assert response.status_code == 400 and response.json()["code"] == "possible_clone"
    assert "disabled" in response.json()["detail"]
    passkey.refresh_from_db()
    assert not passkey.confirmed
    assert "disabled" in AuditEvent.objects.get(action="signin:passkeyRefused").message
    # The copy counts on past the original: refused, the passkey is disabled; then the original (behind the
    # copy's count now) is refused too. Nobody signed in.
    clone.sign_count = 100
    for device, code in ((clone, "credential_disabled"), (authenticator, "possible_clone")):
        signing_in = password_step("viewer")
        response = passkey_sign_in(signing_in, device)
        assert response.status_code == 400 and response.json()["code"] == code
        assert signed_in_user(signing_in) is None
    # The person's page says so; their other passkey still signs in.
    page = client.get("/me/mfa/").content.decode()
    assert page.count('data-testid="passkey-disabled"') == 1 and "may have been copied" in page
    assert passkey_sign_in(password_step("viewer"), other).status_code == 200


def test_an_assertion_cannot_be_replayed():
    authenticator, _ = register(signed_in_with_mfa("viewer"))
    client = password_step("viewer")
    answer = authenticator.get(post_json(client, SIGN_IN_BEGIN).json())
    assert post_json(client, SIGN_IN_COMPLETE, answer).status_code == 200
    other = password_step("viewer")
    assert post_json(other, SIGN_IN_COMPLETE, answer).json()["code"] == "invalid_state"  # nothing begun
    post_json(other, SIGN_IN_BEGIN)
    response = post_json(other, SIGN_IN_COMPLETE, answer)  # begun, but the answer signs another challenge
    assert response.status_code == 400 and signed_in_user(other) is None


def test_a_refused_passkey_leaves_the_code_step_usable():
    register(signed_in_with_mfa("viewer"))
    StaticDevice.objects.get(user__username="viewer").token_set.create(token="recover001")
    client = password_step("viewer")
    post_json(client, SIGN_IN_BEGIN)
    assert post_json(client, SIGN_IN_COMPLETE, {"id": "x"}).status_code == 400
    assert client.post("/accounts/login/code/", {"code": "recover001"}).status_code == 302
    assert signed_in_user(client)


# --- malformed bodies: 400, never 500 ----------------------------------------------------------

def _malformed(authenticator, options):
    good = authenticator.get(options, count_up=False)
    return [
        ("text/plain", b"hello"),
        ("application/json", b"{not json"),
        ("application/json", b"[]"),
        ("application/json", b'"a string"'),
        ("application/json", b'{"id": "\\u0000"}'),
        ("application/json", b'{"id": "\\ud800"}'),
        ("application/json", b"\xff\xfe"),
        ("application/json", b"[" * 5000 + b"]" * 5000),
        ("application/json", json.dumps({**good, "rawId": "!!!"}).encode()),
        ("application/json", json.dumps({**good, "response": {**good["response"], "signature": "AAAA"}}).encode()),
        ("application/json", json.dumps({**good, "response": {**good["response"],
                                                              "authenticatorData": b64url(b"short")}}).encode()),
        ("application/json", json.dumps({**good, "response": {**good["response"],
                                                              "clientDataJSON": b64url(b"\x00")}}).encode()),
        ("application/json", json.dumps({**good, "response": "nope"}).encode()),
        ("application/json", json.dumps({**good, "type": 7}).encode()),
        ("application/json", json.dumps(authenticator.get(options, origin="https://evil.example",
                                                          count_up=False)).encode()),
    ]


def test_malformed_sign_in_answers_are_400_never_500():
    authenticator, _ = register(signed_in_with_mfa("viewer"))
    client = password_step("viewer")
    for content_type, body in _malformed(authenticator, post_json(client, SIGN_IN_BEGIN).json()):
        post_json(client, SIGN_IN_BEGIN)
        response = client.post(SIGN_IN_COMPLETE, data=body, content_type=content_type)
        assert response.status_code == 400, (body[:60], response.status_code, response.content[:200])
        assert "detail" in response.json()
        assert signed_in_user(client) is None
    assert passkey_sign_in(client, authenticator).status_code == 200  # and the real one still works


def test_malformed_registration_answers_are_400_never_500():
    client = signed_in_with_mfa("viewer")
    authenticator = SoftAuthenticator()
    options = post_json(client, REGISTER_BEGIN).json()
    good = authenticator.create(options)
    bad_bodies = [
        ("text/plain", b"hello"), ("application/json", b"{"), ("application/json", b"[1]"),
        ("application/json", json.dumps({**good, "response": {**good["response"],
                                                              "attestationObject": b64url(b"\xa1")}}).encode()),
        ("application/json", json.dumps({**good, "response": {**good["response"],
                                                              "attestationObject": "%%%"}}).encode()),
        ("application/json", json.dumps({**good, "response": {}}).encode()),
        ("application/json", json.dumps({"id": 1}).encode()),
    ]
    for content_type, body in bad_bodies:
        post_json(client, REGISTER_BEGIN)
        response = client.post(REGISTER_COMPLETE, data=body, content_type=content_type)
        assert response.status_code == 400, (body[:60], response.status_code, response.content[:200])
    assert post_json(client, REGISTER_COMPLETE, good).status_code == 400  # its challenge was used up
    assert not WebAuthnCredential.objects.exists()


def test_completing_without_beginning_is_400():
    client = signed_in_with_mfa("viewer")
    response = post_json(client, REGISTER_COMPLETE, SoftAuthenticator().create({"challenge": "AAAA"}))
    assert response.status_code == 400 and response.json()["code"] == "invalid_state"


# --- "Confirm it's you" with a passkey ---------------------------------------------------------

def test_confirming_with_a_passkey_starts_sudo_mode_and_is_audited():
    client = signed_in_with_mfa("viewer")
    authenticator, _ = register(client)
    session = client.session
    session[SUDO_KEY] = time.time() - 3600
    session.save()
    page = client.get("/me/confirm/?next=/me/mfa/passkeys/add/")
    assert "Use a passkey" in page.content.decode()
    options = post_json(client, CONFIRM_BEGIN).json()
    response = post_json(client, f"{CONFIRM_COMPLETE}?next=/me/mfa/passkeys/add/", authenticator.get(options))
    assert response.status_code == 200 and response.json()["redirect_url"] == "/me/mfa/passkeys/add/"
    assert time.time() - client.session[SUDO_KEY] < 60
    confirmed = AuditEvent.objects.filter(action="sudo:confirm", outcome="allowed").latest("pk")
    assert "passkey" in confirmed.message
    keys = authz.request_keys_for(client.get("/me/permissions/").wsgi_request)
    assert keys["g:MFAPresent"] is True and keys["g:MFAAge"] < 60


def test_confirming_with_an_off_site_next_goes_home():
    client = signed_in_with_mfa("viewer")
    authenticator, _ = register(client)
    options = post_json(client, CONFIRM_BEGIN).json()
    response = post_json(client, f"{CONFIRM_COMPLETE}?next=https://evil.example/", authenticator.get(options))
    assert response.json()["redirect_url"] == "/"


def test_confirming_with_a_wrong_passkey_is_refused_and_audited():
    stranger, _ = register(signed_in_with_mfa("ims-admin"))
    client = signed_in_with_mfa("viewer")
    register(client)
    session = client.session
    session[SUDO_KEY] = time.time() - 3600
    session.save()
    options = post_json(client, CONFIRM_BEGIN).json()
    response = post_json(client, CONFIRM_COMPLETE, stranger.get(options))
    assert response.status_code == 400
    assert time.time() - client.session[SUDO_KEY] > 3000
    assert AuditEvent.objects.filter(action="sudo:confirm", outcome="denied", actor__username="viewer").exists()


# --- removing, turning MFA off, the administrator's reset ---------------------------------------

def test_removing_a_passkey_needs_sudo_mode_and_ones_own_passkey():
    client = signed_in_with_mfa("viewer")
    _, passkey = register(client)
    intruder = signed_in_with_mfa("ims-admin")
    assert intruder.post(f"/me/mfa/passkeys/{passkey.pk}/remove/").status_code == 404
    assert intruder.post("/me/mfa/passkeys/rename/", {"passkey": passkey.pk, "name": "mine"}).status_code == 404
    session = client.session
    session[SUDO_KEY] = time.time() - 3600
    session.save()
    response = client.post(f"/me/mfa/passkeys/{passkey.pk}/remove/")
    assert response.status_code == 303 and response["Location"].startswith("/me/confirm/")
    assert WebAuthnCredential.objects.filter(pk=passkey.pk).exists()


def test_turning_mfa_off_removes_the_passkeys_too():
    client = signed_in_with_mfa("viewer")
    register(client)
    StaticDevice.objects.get(user__username="viewer").token_set.create(token="recover001")
    assert client.post("/me/mfa/remove/", {"code": "recover001"}).status_code == 302
    assert not WebAuthnCredential.objects.exists()
    assert "1 passkey" in AuditEvent.objects.filter(action="mfa:disable").latest("pk").message


def test_an_administrators_mfa_reset_removes_the_passkeys():
    register(signed_in_with_mfa("viewer"))
    viewer = User.objects.get(username="viewer")
    mfa_services.mfa_reset(actor=None, user=viewer)
    assert not WebAuthnCredential.objects.filter(user=viewer).exists()
    assert not mfa.has_mfa(viewer)
    assert "1 passkey" in AuditEvent.objects.filter(action="iam:users:updateUser").latest("pk").message


def test_every_passkey_change_route_is_behind_sudo_mode():
    from django.urls import resolve

    for url in ("/me/mfa/passkeys/add/", REGISTER_BEGIN, REGISTER_COMPLETE, "/me/mfa/passkeys/1/remove/"):
        assert getattr(resolve(url).func, "sudo_required", False), url


# --- issue 24: refusals read in Simplified Chinese, the library's own text quoted verbatim ---------------

def test_passkey_refusals_read_in_chinese_with_the_librarys_text_verbatim():
    from django.utils import translation

    client = signed_in_with_mfa("viewer")
    options = post_json(client, REGISTER_BEGIN).json()
    post_json(client, REGISTER_COMPLETE, SoftAuthenticator().create(options, origin="https://evil.example"))
    event = AuditEvent.objects.get(action="mfa:passkeyAdd", outcome="denied")
    assert event.message == "Adding a passkey was refused: Invalid registration response provided."
    with translation.override("zh-hans"):
        shown = event.shown_message
    assert shown.endswith("Invalid registration response provided.") and "Adding a passkey" not in shown
    newcomer = Client(HTTP_ACCEPT_LANGUAGE="zh-Hans")
    newcomer.force_login(User.objects.get(username="ims-admin"))
    refused = post_json(newcomer, REGISTER_BEGIN).json()
    assert refused["code"] == "mfa_off" and "authenticator app" not in refused["detail"]
    assert "MFA" in refused["detail"]
