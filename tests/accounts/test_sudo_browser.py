"""Sudo mode in Chromium: a session whose proof is old is asked "Confirm it's you" before setting up
MFA; nothing changes until the password is given again, then the set-up goes through."""

import time
from importlib import import_module

import pytest
from django.conf import settings
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.models import AuditEvent

pytestmark = pytest.mark.browser


def age_the_proof(page, seconds=3600):
    """The owner signed in `seconds` ago and left the session open."""
    key = next(c["value"] for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME)
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    session["imsperm_sudo_at"] = time.time() - seconds
    session.save()


def test_an_old_session_confirms_with_the_password_before_setting_up_mfa(page, live_demo, sign_in, screenshot):
    page.set_default_timeout(10_000)
    sign_in("viewer")
    age_the_proof(page)
    page.goto(f"{live_demo.url}/me/mfa/")
    page.get_by_role("button", name="Set up an authenticator app").click()

    expect(page.get_by_role("heading", name="Confirm it’s you")).to_be_visible()
    expect(page.get_by_test_id("sudo-user")).to_have_text("viewer")
    expect(page.locator("#messages")).to_contain_text("Nothing was changed")
    assert not TOTPDevice.objects.filter(user__username="viewer").exists()
    expect(page.get_by_label("Password")).to_be_focused()
    screenshot("sudo-confirm")

    page.get_by_label("Password").fill("not-my-password")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("alert")).to_contain_text("That is not your password.")
    screenshot("sudo-confirm-wrong")

    page.get_by_label("Password").fill("imsperm-demo")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="MFA is off")).to_be_visible()
    assert page.url.endswith("/me/mfa/")
    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page.locator('[data-testid="mfa-qr"] svg')).to_be_visible()
    assert TOTPDevice.objects.filter(user__username="viewer", confirmed=False).exists()
    assert list(AuditEvent.objects.filter(action="sudo:confirm").order_by("pk").values_list("outcome", flat=True)) \
        == ["denied", "allowed"]


def test_cancel_leaves_the_confirm_page_without_a_change(page, live_demo, sign_in):
    page.set_default_timeout(10_000)
    sign_in("viewer")
    age_the_proof(page)
    page.goto(f"{live_demo.url}/me/api-tokens/")
    page.get_by_label("Token name").fill("deploy bot")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("heading", name="Confirm it’s you")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    expect(page.get_by_test_id("api-tokens")).to_contain_text("You have no API tokens.")
