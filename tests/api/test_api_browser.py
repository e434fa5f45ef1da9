"""In Chromium: a token is created (shown once), used, and revoked through the confirm dialog; the
unused-permissions report opens its least-privilege document in the policy editor."""

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from accounts import last_used

pytestmark = pytest.mark.browser


def authorize(url, secret):
    request = urllib.request.Request(
        f"{url}/api/v1/authorize", method="POST", headers={"Authorization": f"Bearer {secret}",
                                                           "Content-Type": "application/json"},
        data=json.dumps({"requests": [{"action": "ims:images:list", "project": "cn-north-4"}]}).encode())
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_token_is_shown_once_used_and_revoked(page, live_demo, sign_in, screenshot):
    page.set_default_timeout(10_000)
    sign_in("viewer")
    page.get_by_role("link", name="API tokens").click()
    page.fill("input[name=name]", "deploy bot")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_test_id("secret").inner_text()
    assert secret.startswith("imsp_")
    screenshot("api-token-created")
    status, body = authorize(live_demo.url, secret)
    assert status == 200 and body["results"][0]["decision"] == "allow"

    page.get_by_role("link", name="Back to API tokens").click()
    row = page.locator("tr[data-token='deploy bot']")
    expect(row).to_contain_text("active")
    assert secret not in page.content()
    row.get_by_role("button", name="Revoke").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("deploy bot")
    dialog.locator("[data-confirm-ok]").click()
    expect(page.locator("tr[data-token='deploy bot']")).to_contain_text("revoked")
    screenshot("api-tokens-revoked")
    status, body = authorize(live_demo.url, secret)
    assert status == 401 and "revoked" in body["detail"]


def test_the_unused_report_opens_its_suggestion_in_the_editor(page, browser, live_demo, sign_in, screenshot):
    page.set_default_timeout(10_000)
    last_used.reset()
    sign_in("viewer")
    page.goto(f"{live_demo.url}/images/?project=cn-north-4")  # a use of IMS ReadOnlyAccess by viewers
    page.context.clear_cookies()
    sign_in("iam-admin")
    page.goto(f"{live_demo.url}/iam/unused/?days=30")
    card = page.locator("[data-testid=grant-usage][data-group=viewers][data-policy=\"IMS ReadOnlyAccess\"]")
    expect(card.get_by_test_id("used-actions")).to_contain_text("ims:images:list")
    expect(card.get_by_test_id("unused-actions")).to_contain_text("ims:images:get")
    screenshot("unused-permissions-report")
    card.get_by_role("link", name="Open in the policy editor").click()
    expect(page.locator("input[name=name]")).to_have_value("IMS ReadOnlyAccess least privilege for viewers")
    screenshot("unused-permissions-editor")
    expect(page.locator("input[name=s0-actions][value='ims:images:list']")).to_be_checked()
    expect(page.locator("input[name=s0-actions][value='ims:images:get']")).not_to_be_checked()
