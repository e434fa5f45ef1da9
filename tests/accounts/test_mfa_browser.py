"""MFA in Chromium: enrol with the QR code, then sign in with a code from the app."""

import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def code_for(device, steps_ahead=0):
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + steps_ahead):06d}"


def test_enrol_with_the_qr_code_then_sign_in_with_a_code(page, live_demo, sign_in, screenshot):
    page.set_default_timeout(10_000)
    sign_in("viewer")
    page.goto(f"{live_demo.url}/me/mfa/")
    expect(page.get_by_role("heading", name="MFA is off")).to_be_visible()
    page.get_by_role("button", name="Set up an authenticator app").click()
    qr = page.locator('[data-testid="mfa-qr"] svg')
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box["width"] >= 150 and box["height"] >= 150
    expect(page.get_by_test_id("mfa-secret")).to_have_text(re.compile(r"^[A-Z2-7]{4}( [A-Z2-7]{4}){7}$"))
    screenshot("mfa-enrolment-qr")

    device = TOTPDevice.objects.get(user__username="viewer")
    page.fill("input[name=code]", code_for(device))
    page.get_by_role("button", name="Turn MFA on").click()
    expect(page.get_by_role("heading", name="MFA is on: save your recovery codes")).to_be_visible()
    expect(page.locator('[data-testid="recovery-codes"] li')).to_have_count(10)
    screenshot("mfa-recovery-codes")

    page.get_by_role("button", name="Sign out").click()
    sign_in("viewer")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    expect(page.get_by_test_id("current-user")).to_have_count(0)
    page.fill("input[name=code]", "000000" if code_for(device, 1) != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not valid")
    screenshot("mfa-sign-in-code")
    device.refresh_from_db()
    device.throttle_reset()  # django-otp makes a person wait a second after a wrong code
    page.fill("input[name=code]", code_for(device, 1))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_test_id("current-user")).to_have_text("viewer")
    page.goto(f"{live_demo.url}/me/mfa/")
    expect(page.get_by_test_id("mfa-status")).to_contain_text("This session verified MFA")
    screenshot("mfa-on")


def test_the_lockout_says_how_long_to_wait(page, live_demo, sign_in, screenshot):
    page.set_default_timeout(10_000)
    for _ in range(5):
        sign_in("viewer", password="wrong")
    expect(page.get_by_test_id("lockout")).to_have_text("Too many failed sign-in attempts. Try again in 15 minutes.")
    screenshot("sign-in-locked")
