"""Request → approve as another persona → use, in Chromium (issue 21). Screenshots land in
test-artifacts/screenshots/access-request-*.png."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from accounts.models import AccessRequest
from tests.browsing import settled

pytestmark = pytest.mark.browser
IMAGE = "cn-north-4-ubuntu-system-00"


def sign_out(page):
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    settled(page)


def test_viewer_asks_admin_approves_viewer_deletes(page, live_demo, sign_in, screenshot):
    page.set_default_timeout(10_000)
    get_user_model().objects.filter(username="admin").update(email="admin@example.test")

    # viewer: My permissions says Delete is not granted in cn-north-4, and offers to ask.
    sign_in("viewer")
    page.goto(f"{live_demo.url}/me/permissions/")
    cell = page.locator('[data-testid=permission-grid] td[data-project="cn-north-4"][data-actions="ims:images:delete"]')
    cell.locator("summary").click()
    screenshot("access-request-1-not-granted")
    cell.get_by_role("link", name="Request access").click()
    expect(page.get_by_label("What you need")).to_have_value("action:ims:images:delete")
    expect(page.get_by_label("Where")).to_have_value("cn-north-4")
    page.get_by_label("For how long").select_option("8h")
    page.get_by_label("Why you need it").fill("Remove the broken Ubuntu test image before the release")
    screenshot("access-request-2-form")
    page.get_by_test_id("ask").click()
    expect(page.locator("#messages")).to_contain_text("Asked for ims:images:delete on cn-north-4 for 8 hours")
    expect(page.locator('[data-testid=my-requests] tr[data-status="pending"]')).to_have_count(1)
    screenshot("access-request-3-mine-pending")
    sign_out(page)

    # admin: the badge in the top bar, the queue with the impact, approve for 1 hour.
    sign_in("admin")
    badge = page.get_by_test_id("access-request-badge")
    expect(badge).to_have_text("1 access request")
    badge.click()
    queued = page.get_by_test_id("queued-request")
    expect(queued).to_contain_text("Remove the broken Ubuntu test image")
    expect(queued.locator('[data-gain="ims:images:delete"]')).to_contain_text("gains ims:images:delete in cn-north-4")
    screenshot("access-request-4-queue")
    queued.get_by_test_id("approve").click()
    page.get_by_label("Grant it for").select_option("1h")
    screenshot("access-request-5-approve")
    page.get_by_test_id("confirm-approve").click()
    expect(page.locator("#messages")).to_contain_text(
        re.compile(r"Approved: viewer holds ims:images:delete on cn-north-4 until .*access-viewer"))
    expect(page.get_by_test_id("queue-empty")).to_be_visible()
    expect(page.get_by_test_id("access-request-badge")).to_have_count(0)
    screenshot("access-request-6-approved")
    sign_out(page)

    # viewer: the request says until when, and Delete now works.
    sign_in("viewer")
    page.goto(f"{live_demo.url}/iam/access-requests/mine/")
    expect(page.locator('tr[data-status="approved"]')).to_contain_text(re.compile(r"for 1 hour: until .*\(in 1 h\)"))
    screenshot("access-request-7-mine-approved")
    page.goto(f"{live_demo.url}/images/?project=cn-north-4")
    row = page.locator("tr", has_text=IMAGE)
    row.get_by_text("Operations").click()
    row.locator("[data-operation=delete]").click()
    page.locator("dialog.confirm-dialog").get_by_role("button", name="Delete").click()
    expect(page.locator("#messages")).to_contain_text(f"Image {IMAGE} was deleted.")
    screenshot("access-request-8-used")
    assert AccessRequest.objects.get().status == AccessRequest.Status.APPROVED
