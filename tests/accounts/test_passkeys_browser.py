"""Passkeys in Chromium, with its virtual authenticator (the WebAuthn domain of the DevTools protocol):
add one under Sign-in security, sign in with it instead of a code, confirm it's you with it; a
removed, cloned (sign count going backwards) or wrongly keyed credential is refused and audited.
The page runs django-otp-webauthn's bundled script from this site under the strict CSP."""

import time

import pytest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential
from playwright.sync_api import expect

from accounts.models import AuditEvent, User
from tests.test_accessibility_browser import add_axe, axe_violations

pytestmark = pytest.mark.browser

RECOVERY = [f"recover{i:03d}" for i in range(5)]


def enrol_app(username):
    user = User.objects.get(username=username)
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    recovery = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    for token in RECOVERY:
        recovery.token_set.create(token=token)
    return user


def virtual_authenticator(page):
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True}})
    return cdp, added["authenticatorId"]


def password_and_code(page, sign_in, username, code):
    sign_in(username)
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.fill("input[name=code]", code)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_test_id("current-user")).to_have_text(username)


def add_passkey(page, live_demo, name):
    page.goto(f"{live_demo.url}/me/mfa/")
    page.get_by_role("link", name="Add a passkey").click()
    expect(page.get_by_role("heading", name="Add a passkey")).to_be_visible()
    page.fill("input[name=name]", name)
    page.get_by_role("button", name="Create the passkey").click()
    expect(page.locator("#messages").get_by_text(f"Added the passkey “{name}”.")).to_be_visible()


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()


@pytest.fixture
def user_with_passkey(page, live_demo, sign_in):
    """viewer with MFA on and a passkey "Laptop" in the virtual authenticator, signed out again."""
    page.set_default_timeout(15_000)
    enrol_app("viewer")
    cdp, authenticator = virtual_authenticator(page)
    password_and_code(page, sign_in, "viewer", RECOVERY[0])
    add_passkey(page, live_demo, "Laptop")
    sign_out(page)
    return cdp, authenticator


def test_add_a_passkey_then_sign_in_with_it_instead_of_a_code(page, live_demo, sign_in, screenshot):
    page.set_default_timeout(15_000)
    enrol_app("viewer")
    cdp, authenticator = virtual_authenticator(page)
    add_axe(page)
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    password_and_code(page, sign_in, "viewer", RECOVERY[0])
    page.goto(f"{live_demo.url}/me/mfa/passkeys/add/")
    expect(page.get_by_role("button", name="Create the passkey")).to_be_visible()
    assert axe_violations(page) == []
    add_passkey(page, live_demo, "Laptop")
    rows = page.get_by_test_id("passkey-row")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("input[name=name]")).to_have_value("Laptop")
    expect(rows.first).to_contain_text("never")
    screenshot("passkeys-listed")
    assert axe_violations(page) == []
    passkey = WebAuthnCredential.objects.get(user__username="viewer")
    assert passkey.name == "Laptop"
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(stored) == 1
    assert AuditEvent.objects.filter(action="mfa:passkeyAdd", actor__username="viewer").exists()

    sign_out(page)
    sign_in("viewer")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    expect(page.get_by_test_id("current-user")).to_have_count(0)
    button = page.get_by_role("button", name="Use a passkey")
    expect(button).to_be_visible()
    screenshot("passkey-second-step")
    assert axe_violations(page) == []
    button.click()
    expect(page.get_by_test_id("current-user")).to_have_text("viewer")
    page.goto(f"{live_demo.url}/me/mfa/")
    expect(page.get_by_test_id("mfa-status")).to_contain_text("This session verified MFA")
    passkey.refresh_from_db()
    assert passkey.last_used_at is not None and passkey.sign_count >= 1
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors


def test_confirm_its_you_with_a_passkey(page, live_demo, sign_in, settings, screenshot, user_with_passkey):
    settings.IMSPERM_SUDO_SECONDS = 3
    page.goto(f"{live_demo.url}/accounts/login/")
    sign_in("viewer")
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.get_by_test_id("current-user")).to_have_text("viewer")
    time.sleep(3.5)
    page.goto(f"{live_demo.url}/me/mfa/passkeys/add/")
    expect(page.get_by_role("heading", name="Confirm it’s you")).to_be_visible()
    screenshot("passkey-confirm-its-you")
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.get_by_role("heading", name="Add a passkey")).to_be_visible()
    confirmed = AuditEvent.objects.filter(action="sudo:confirm", outcome="allowed").latest("pk")
    assert "passkey" in confirmed.message


def test_a_passkey_removed_meanwhile_is_refused(page, live_demo, sign_in, user_with_passkey):
    """Removed (in another tab) after the browser was offered it, before it answered."""
    def remove_then_send(route):
        WebAuthnCredential.objects.filter(user__username="viewer").delete()
        route.continue_()

    page.route("**/accounts/login/passkey/complete/**", remove_then_send)
    sign_in("viewer")
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.locator("#passkey-verification-status-message")).to_contain_text("not found")
    expect(page.get_by_test_id("current-user")).to_have_count(0)
    assert AuditEvent.objects.filter(action="signin:passkeyRefused", details__reason="credential_not_found").exists()


def test_a_cloned_passkey_is_refused_and_audited(page, live_demo, sign_in, screenshot, user_with_passkey):
    cdp, authenticator = user_with_passkey
    for _ in range(2):  # two good sign-ins: the counter goes up on both sides
        sign_in("viewer")
        page.get_by_role("button", name="Use a passkey").click()
        expect(page.get_by_test_id("current-user")).to_have_text("viewer")
        sign_out(page)
    passkey = WebAuthnCredential.objects.get(user__username="viewer")
    assert passkey.sign_count >= 2
    # The clone: the same key pair, its counter behind the original's.
    original = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"][0]
    cdp.send("WebAuthn.removeCredential", {"authenticatorId": authenticator,
                                           "credentialId": original["credentialId"]})
    cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator, "credential": {
        **{k: original[k] for k in ("credentialId", "isResidentCredential", "rpId", "privateKey", "userHandle")
           if k in original}, "signCount": 0}})
    sign_in("viewer")
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.locator("#passkey-verification-status-message")).to_contain_text("may have been copied")
    expect(page.get_by_test_id("current-user")).to_have_count(0)
    screenshot("passkey-clone-refused")
    refused = AuditEvent.objects.get(action="signin:passkeyRefused")
    assert refused.details["reason"] == "possible_clone" and "cloned" in refused.message
    # The code still works; the passkey is disabled, and Sign-in security says so.
    page.fill("input[name=code]", RECOVERY[1])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_test_id("current-user")).to_have_text("viewer")
    passkey.refresh_from_db()
    assert not passkey.confirmed
    page.goto(f"{live_demo.url}/me/mfa/")
    expect(page.get_by_test_id("passkey-disabled")).to_contain_text("may have been copied")
    screenshot("passkey-clone-disabled")
    # Without a usable passkey the sign-in's second step offers none.
    sign_out(page)
    sign_in("viewer")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    expect(page.get_by_role("button", name="Use a passkey")).to_have_count(0)


def test_a_credential_with_another_persons_key_is_refused(page, live_demo, sign_in, user_with_passkey):
    """ims-admin's credential id, signed with viewer's private key: the signature does not verify."""
    cdp, authenticator = user_with_passkey
    viewer_credential = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"][0]
    enrol_app("ims-admin")
    password_and_code(page, sign_in, "ims-admin", RECOVERY[0])
    add_passkey(page, live_demo, "Admin key")
    sign_out(page)
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    admin_credential = next(c for c in credentials if c["credentialId"] != viewer_credential["credentialId"])
    cdp.send("WebAuthn.clearCredentials", {"authenticatorId": authenticator})
    cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator, "credential": {
        "credentialId": admin_credential["credentialId"], "isResidentCredential": False,
        "rpId": admin_credential["rpId"], "privateKey": viewer_credential["privateKey"], "signCount": 100}})
    sign_in("ims-admin")
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.locator("#passkey-verification-status-message")).to_contain_text("Invalid authentication")
    expect(page.get_by_test_id("current-user")).to_have_count(0)
    assert AuditEvent.objects.filter(action="signin:passkeyRefused", actor__username="ims-admin").exists()
