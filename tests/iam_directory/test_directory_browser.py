"""The directory in Chromium: an administrator creates a user, puts it in a group, attaches a scoped policy;
the new user's image browser follows the grant, and loses it on the next page load after the detach."""

import re

import pytest
from playwright.sync_api import expect

from tests.browsing import sign_in as sign_in_through_form
from tests.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Erin-passphrase-7"


def sign_in_context(browser, url, username, password):
    """A second, independent browser session (another person at another desk)."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in_through_form(page, url, username, password)
    return page


def test_a_scoped_grant_reaches_the_new_users_image_browser_and_goes_away(page, browser, live_demo, sign_in,
                                                                           screenshot):
    page.set_default_timeout(10_000)
    sign_in("admin")

    page.goto(f"{live_demo.url}/iam/users/new/")
    expect(page.locator("[data-password-fields]").first).to_be_hidden()
    page.fill("input[name=username]", "erin")
    page.fill("input[name=email]", "erin@example.com")
    page.check("input[name=password_mode][value=set]")
    expect(page.locator("[data-password-fields]").first).to_be_visible()
    page.fill("input[name=password1]", NEW_PASSWORD)
    page.fill("input[name=password2]", NEW_PASSWORD)
    screenshot("iam-user-create")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("heading", name="User erin")).to_be_visible()
    expect(page.locator("#messages")).to_contain_text("User erin created.")

    page.goto(f"{live_demo.url}/iam/groups/new/")
    page.fill("input[name=name]", "image-readers")
    page.fill("textarea[name=description]", "Read images in Beijing")
    page.get_by_role("button", name="Create user group").click()
    expect(page.get_by_role("heading", name="User group image-readers")).to_be_visible()
    page.fill("#candidate-search", "eri")
    candidate = page.locator('[data-candidate="erin"]')
    expect(candidate).to_be_visible()
    expect(page.locator("[data-candidate]")).to_have_count(1)
    screenshot("iam-group-members-search")
    candidate.get_by_role("button", name="Add").click()
    confirm = page.locator("dialog.confirm-dialog")  # asks first, showing what erin gains (issue 21)
    expect(confirm.get_by_test_id("change-impact")).to_be_visible()
    confirm.get_by_role("button", name="Add").click()
    expect(page.locator('[data-member="erin"]')).to_be_visible()
    screenshot("iam-group-members")

    page.get_by_role("link", name="Permissions", exact=True).click()
    page.get_by_role("link", name="Attach roles or policies").click()
    page.fill("#policy-filter", "readonly")
    expect(page.locator("[data-policy-row]:visible")).to_have_count(1)
    page.get_by_label("IMS ReadOnlyAccess").check()
    # Least privilege by default: chosen projects; All resources turns the project picker off.
    expect(page.locator("input[name=scope][value=projects]")).to_be_checked()
    expect(page.locator("[data-project-picker] input").first).to_be_enabled()
    page.check("input[name=scope][value=all]")
    expect(page.locator("[data-project-picker] input").first).to_be_disabled()
    page.check("input[name=scope][value=projects]")
    page.locator("[data-project-picker] label", has_text="cn-north-4").first.locator("input").check()
    screenshot("iam-group-attach")
    page.get_by_role("button", name="Next: review").click()
    expect(page.locator('[data-attach="IMS ReadOnlyAccess"]')).to_contain_text("cn-north-4")
    screenshot("iam-group-attach-review")
    page.get_by_role("button", name=re.compile("Confirm: attach")).click()
    grant = page.locator('[data-grant="IMS ReadOnlyAccess"]')
    expect(grant.locator("[data-scope]")).to_have_text("cn-north-4")
    screenshot("iam-group-permissions")

    erin = sign_in_context(browser, live_demo.url, "erin", NEW_PASSWORD)
    erin.goto(f"{live_demo.url}/images/?project=cn-north-4")
    expect(erin.get_by_test_id("image-table")).to_be_visible()
    expect(erin.locator('[data-action="ims:images:delete"]')).to_have_count(0)
    erin.screenshot(path=str(SCREENSHOTS / "iam-erin-images-allowed.png"), full_page=True)
    erin.goto(f"{live_demo.url}/images/?project=eu-west-101")
    expect(erin.get_by_test_id("no-list-permission")).to_be_visible()
    erin.goto(f"{live_demo.url}/me/permissions/")
    query = 'td[data-project="{}"][data-actions="ims:images:list ims:images:get"]'
    expect(erin.locator(query.format("cn-north-4"))).to_have_attribute("data-allowed", "true")
    expect(erin.locator(query.format("cn-north-4_dev"))).to_have_attribute("data-allowed", "false")

    grant.get_by_role("link", name="Detach").click()
    expect(page.get_by_role("heading", name="Detach from image-readers?")).to_be_visible()
    screenshot("iam-group-detach")
    page.get_by_role("button", name="Detach", exact=True).click()
    expect(page.locator("#messages")).to_contain_text("Detached IMS ReadOnlyAccess from image-readers.")

    erin.goto(f"{live_demo.url}/images/?project=cn-north-4")
    expect(erin.get_by_test_id("no-list-permission")).to_be_visible()
    erin.screenshot(path=str(SCREENSHOTS / "iam-erin-images-after-detach.png"), full_page=True)
    erin.goto(f"{live_demo.url}/me/permissions/")
    expect(erin.locator(query.format("cn-north-4"))).to_have_attribute("data-allowed", "false")
    erin.context.close()


def test_a_tour_of_the_directory_pages(page, browser, live_demo, sign_in, screenshot):
    """Every directory page renders in the browser; the screenshots are for people to look at."""
    page.set_default_timeout(10_000)
    sign_in("admin")
    page.goto(f"{live_demo.url}/iam/users/")
    expect(page.get_by_test_id("user-table")).to_be_visible()
    page.locator("#user-filters").get_by_label("Search").fill("adm")  # the table's own filter, not the top bar's
    expect(page.locator("[data-username]")).to_have_count(3)
    screenshot("iam-user-list-search")
    page.goto(f"{live_demo.url}/iam/users/")
    screenshot("iam-user-list")
    page.get_by_role("link", name="north-ops", exact=True).click()
    expect(page.get_by_role("heading", name="User north-ops")).to_be_visible()
    screenshot("iam-user-detail")
    page.get_by_role("link", name="Edit", exact=True).click()
    screenshot("iam-user-edit")
    page.go_back()
    page.get_by_role("link", name="Change password").click()
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#messages")).to_contain_text("Password of north-ops:")
    screenshot("iam-user-password-shown-once")
    page.reload()
    expect(page.locator("#messages")).not_to_contain_text("Password of north-ops:")
    page.get_by_role("link", name="Delete", exact=True).click()
    screenshot("iam-user-delete")

    page.goto(f"{live_demo.url}/iam/groups/")
    screenshot("iam-group-list")
    page.get_by_role("link", name="north-ops", exact=True).click()
    page.get_by_role("link", name="Permissions", exact=True).click()
    screenshot("iam-group-permissions-north-ops")
    page.locator('[data-grant="IMS Administrator"]').get_by_role("link", name="Detach").click()
    expect(page.get_by_test_id("blockers")).to_contain_text("Server Administrator")
    screenshot("iam-group-detach-refused")
    page.get_by_test_id("detach-together").click()
    expect(page.locator("[data-grant]")).to_have_count(1)
    screenshot("iam-group-after-cascade")
    page.get_by_role("link", name="Attach roles or policies").click()
    page.get_by_label("Server Administrator").check()
    page.check("input[name=scope][value=projects]")
    page.locator("[data-project-picker] label", has_text="cn-north-4").first.locator("input").check()
    page.get_by_role("button", name="Next: review").click()
    expect(page.get_by_test_id("dependencies")).to_contain_text("IMS Administrator")
    screenshot("iam-group-attach-review-dependencies")
    page.get_by_role("link", name="Cancel").click()
    page.get_by_role("link", name="Edit", exact=True).click()
    screenshot("iam-group-edit")
    page.goto(f"{live_demo.url}/iam/groups/")
    page.get_by_role("link", name="viewers", exact=True).click()
    page.get_by_role("link", name="Delete", exact=True).click()
    screenshot("iam-group-delete")

    viewer = sign_in_context(browser, live_demo.url, "viewer", "imsperm-demo")
    for _ in range(2):
        viewer.goto(f"{live_demo.url}/iam/users/")  # refused twice within a minute: one event, ×2
    viewer.context.close()
    page.goto(f"{live_demo.url}/iam/audit/")
    expect(page.get_by_test_id("audit-table")).to_be_visible()
    expect(page.locator('tr[data-action="iam:users:listUsers"] [data-testid=repeats]')).to_have_text("×2")
    page.locator("details summary", has_text="Details").first.click()
    screenshot("iam-audit")
    page.select_option("select[name=outcome]", "denied")
    expect(page).to_have_url(re.compile("outcome=denied"))
    screenshot("iam-audit-denied")
