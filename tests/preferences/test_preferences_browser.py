"""In Chromium: times in a chosen zone (the browser's, kept at sign-in), the theme switch and dark mode
with axe clean, copy buttons read back from the clipboard, and the way back for a refused persona."""

from __future__ import annotations

import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.management.commands.seed_demo import demo_id
from preferences.models import UserPreference

from ..accounts.test_mfa_browser import code_for
from ..test_accessibility_browser import add_axe, axe_violations

pytestmark = pytest.mark.browser
TIMEOUT = 8000


@pytest.mark.browser_context_args(timezone_id="Asia/Shanghai")
def test_times_in_the_browsers_zone_labelled_with_the_utc_instant_on_hover(page, sign_in, live_demo, screenshot):
    page.set_default_timeout(TIMEOUT)
    sign_in("admin")
    assert UserPreference.objects.get(user__username="admin").time_zone == "Asia/Shanghai"
    page.goto(f"{live_demo.url}/iam/audit/")
    first = page.locator("table time[data-moment]").first
    expect(first).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\+08:00$"))
    title = first.get_attribute("title")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", title)
    local_hour = int(first.inner_text()[11:13])
    assert (int(title[11:13]) + 8) % 24 == local_hour  # the same instant, eight hours on
    first.hover()
    screenshot("preferences-audit-in-shanghai")
    page.goto(f"{live_demo.url}/me/preferences/")
    page.fill("#id_time_zone", "America/St_Johns")
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_test_id("time-zone-now")).to_contain_text("GMT-03:30")
    page.goto(f"{live_demo.url}/images/?project=cn-north-4")
    expect(page.locator("#image-results time[data-moment]").first).to_have_text(re.compile(r"GMT-03:30$"))
    screenshot("preferences-images-in-st-johns")


@pytest.mark.browser_context_args(color_scheme="dark")
def test_dark_mode_follows_the_device_then_the_switch_and_axe_is_clean(page, sign_in, live_demo, screenshot):
    page.set_default_timeout(TIMEOUT)
    add_axe(page)
    sign_in("ims-admin")
    background = "() => getComputedStyle(document.body).backgroundColor"
    expect(page.locator("html")).to_have_attribute("data-theme", "auto")
    assert page.evaluate(background) == "rgb(15, 20, 26)"  # the device says dark: auto follows it
    for path in ("/images/?project=cn-north-4", f"/images/{demo_id('cn-north-4-ubuntu-system-00')}/",
                 "/me/preferences/", "/me/permissions/", "/images/?project=cn-north-4_dev&tab=shared"):
        page.goto(live_demo.url + path)
        assert axe_violations(page) == [], path
    page.goto(f"{live_demo.url}/images/?project=cn-north-4")
    screenshot("preferences-dark-auto")
    with page.expect_response(lambda answer: answer.url.endswith("/me/preferences/theme/")):  # saved first
        page.get_by_test_id("theme-switch").get_by_role("button", name="Light").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    assert page.evaluate(background) == "rgb(244, 246, 249)"
    page.reload()  # remembered by the server, drawn before any script runs: no flash
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    expect(page.get_by_test_id("theme-switch").get_by_role("button", name="Light")).to_have_attribute(
        "aria-pressed", "true")
    assert UserPreference.objects.get(user__username="ims-admin").theme == "light"
    with page.expect_response(lambda answer: answer.url.endswith("/me/preferences/theme/")):
        page.get_by_test_id("theme-switch").get_by_role("button", name="Dark").click()
    page.goto(f"{live_demo.url}/me/permissions/")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert axe_violations(page) == []
    screenshot("preferences-dark-chosen")


@pytest.mark.browser_context_args(permissions=["clipboard-read", "clipboard-write"])
def test_copy_buttons_put_the_id_and_the_token_on_the_clipboard(page, sign_in, live_demo, screenshot):
    page.set_default_timeout(TIMEOUT)
    sign_in("ims-admin")
    image = demo_id("cn-north-4-ubuntu-system-00")
    page.goto(f"{live_demo.url}/images/{image}/")
    button = page.locator(f'button[data-copy="{image}"]')
    button.click()
    expect(button).to_contain_text("Copied")
    expect(page.get_by_test_id("announcer")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("() => navigator.clipboard.readText()") == str(image)
    screenshot("preferences-copy-image-id")
    page.goto(f"{live_demo.url}/me/api-tokens/")
    page.fill("input[name=name]", "ci")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_test_id("secret").inner_text()
    page.get_by_test_id("token-secret").get_by_test_id("copy").click()
    expect(page.get_by_test_id("token-secret").get_by_test_id("copy")).to_contain_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == secret
    screenshot("preferences-copy-token")

    page.goto(f"{live_demo.url}/me/mfa/")  # MFA on: the recovery codes, shown once, copied at once
    page.get_by_role("button", name="Set up an authenticator app").click()
    page.fill("input[name=code]", code_for(TOTPDevice.objects.get(user__username="ims-admin")))
    page.get_by_role("button", name="Turn MFA on").click()
    expect(page.locator('[data-testid="recovery-codes"] li')).to_have_count(10)
    codes = page.locator('[data-testid="recovery-codes"] li').all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("button", name="Copy all recovery codes").click()
    expect(page.get_by_role("button", name="Copied all recovery codes")).to_be_visible()
    assert page.evaluate("() => navigator.clipboard.readText()").split() == codes
    screenshot("preferences-copy-recovery-codes")


def test_the_way_back_for_a_refused_persona(page, sign_in, live_demo, screenshot):
    page.set_default_timeout(TIMEOUT)
    sign_in("developer")
    page.goto(f"{live_demo.url}/images/?project=cn-north-4")
    refusal = page.get_by_test_id("no-list-permission")
    expect(refusal).to_contain_text("You cannot list images in cn-north-4")
    screenshot("preferences-way-back-offered")
    refusal.get_by_role("link", name="cn-north-4_dev").click()
    expect(page.get_by_test_id("current-project")).to_have_text("cn-north-4_dev")
    expect(page.get_by_test_id("image-table")).to_be_visible()
    page.context.clear_cookies()
    sign_in("developer")  # next time, the console opens where they last worked
    page.goto(f"{live_demo.url}/images/")
    expect(page.get_by_test_id("current-project")).to_have_text("cn-north-4_dev")
    screenshot("preferences-way-back-remembered")
