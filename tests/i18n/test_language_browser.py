"""In Chromium: the console in Chinese from the browser's language, and the top bar's switch to English
and back, remembered for the person."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from preferences.models import UserPreference

from ..test_accessibility_browser import add_axe, axe_violations

pytestmark = pytest.mark.browser
TIMEOUT = 8000


@pytest.mark.browser_context_args(locale="zh-CN")
def test_chinese_from_the_browser_then_the_top_bar_switch(page, sign_in, live_demo, screenshot):
    page.set_default_timeout(TIMEOUT)
    add_axe(page)
    page.goto(f"{live_demo.url}/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    screenshot("i18n-sign-in-in-chinese")
    sign_in("admin")
    page.goto(f"{live_demo.url}/images/?project=cn-north-4")
    expect(page.get_by_role("heading", level=1)).to_have_text("镜像")
    expect(page.get_by_role("link", name="私有镜像")).to_be_visible()
    switch = page.get_by_test_id("language-switch")
    expect(switch.get_by_role("button", name="简体中文")).to_have_attribute("aria-pressed", "true")
    switch.get_by_role("button", name="English").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", level=1)).to_have_text("Images")
    assert page.url.endswith("/images/?project=cn-north-4")  # back on the same page
    assert UserPreference.objects.get(user__username="admin").language == "en"
    page.get_by_test_id("language-switch").get_by_role("button", name="简体中文").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", level=1)).to_have_text("镜像")
    expect(page.get_by_role("navigation", name="控制台")).to_contain_text("审计日志")
    assert axe_violations(page) == []
    screenshot("i18n-image-list-in-chinese")
