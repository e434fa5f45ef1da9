"""Sign-in and My permissions in Chromium."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_sign_in_then_my_permissions_shows_the_developer_grid(page, live_demo, sign_in, screenshot):
    page.set_default_timeout(10_000)
    page.goto(f"{live_demo.url}/accounts/login/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot("sign-in")
    page.fill("input[name=username]", "developer")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    sign_in("developer")
    page.goto(f"{live_demo.url}/me/permissions/")
    expect(page.get_by_role("heading", name="My permissions")).to_be_visible()
    delete_dev = page.locator('td[data-project="cn-north-4_dev"][data-actions="ims:images:delete"]')
    expect(delete_dev).to_have_attribute("data-allowed", "false")
    delete_dev.locator("summary").click()
    expect(delete_dev).to_contain_text("DenyImageDeletion")
    list_dev = page.locator('td[data-project="cn-north-4_dev"][data-actions="ims:images:list ims:images:get"]')
    expect(list_dev).to_have_attribute("data-allowed", "true")
    screenshot("my-permissions-developer")


def test_a_newcomer_sees_that_nothing_is_allowed(page, sign_in, live_demo, screenshot):
    page.set_default_timeout(10_000)
    sign_in("newcomer")
    page.goto(f"{live_demo.url}/me/permissions/")
    expect(page.get_by_text("You are in no group yet")).to_be_visible()
    expect(page.locator('td[data-allowed="true"]')).to_have_count(0)
    screenshot("my-permissions-newcomer")


def test_the_first_tab_is_a_skip_link_to_the_content(sign_in, live_demo, screenshot):
    page = sign_in("viewer")
    page.goto(f"{live_demo.url}/me/permissions/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    screenshot("skip-link")
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
