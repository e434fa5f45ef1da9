"""The no-escalation rule as the Security Administrator sees it in Chromium: what it may not hand over
or act on is shown as refused, with the reason, before anything is tried."""

import pytest
from playwright.sync_api import expect

from accounts.models import User, UserGroup

pytestmark = pytest.mark.browser


def test_the_security_administrator_sees_what_it_may_not_hand_over(page, live_demo, sign_in, screenshot):
    page.set_default_timeout(10_000)
    sign_in("iam-admin")
    ims_admins = UserGroup.objects.get(name="ims-admins")
    page.goto(f"{live_demo.url}/iam/groups/{ims_admins.pk}/")
    refusal = page.get_by_test_id("add-members-refused")
    expect(refusal).to_contain_text("would hand over permissions you do not hold yourself")
    expect(page.locator("#candidate-search")).to_have_count(0)
    screenshot("escalation-group-add-refused")

    admin = User.objects.get(username="admin")
    page.goto(f"{live_demo.url}/iam/users/{admin.pk}/")
    expect(page.get_by_test_id("account-refusal")).to_contain_text("Only members of the admin group")
    expect(page.get_by_role("button", name="Change password")).to_be_disabled()
    expect(page.get_by_role("button", name="Deactivate")).to_be_disabled()
    screenshot("escalation-admin-account-refused")

    newcomer = User.objects.get(username="newcomer")
    page.goto(f"{live_demo.url}/iam/users/{newcomer.pk}/")
    expect(page.get_by_test_id("withheld-groups")).to_contain_text("permissions you do not hold yourself")
    page.get_by_label("Add to group").select_option(label="iam-admins")
    page.get_by_role("button", name="Add", exact=True).click()
    confirm = page.locator("dialog.confirm-dialog")  # asks first, showing what newcomer gains (issue 21)
    expect(confirm.get_by_test_id("change-impact")).to_be_visible()
    confirm.get_by_role("button", name="Add").click()
    expect(page.locator("#messages")).to_contain_text("newcomer added to iam-admins.")
    screenshot("escalation-newcomer-added")
