"""The impact on a confirmation, in Chromium: attaching for 8 hours says who gains what where, and
removing a member shows what they lose inside the console's dialog before anything is sent."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Grant, Project, UserGroup

pytestmark = pytest.mark.browser


def test_attach_review_shows_who_gains_what_where(page, live_demo, sign_in, screenshot):
    page.set_default_timeout(10_000)
    viewers = UserGroup.objects.get(name="viewers")
    dev = Project.objects.get(name="cn-north-4_dev")
    sign_in("admin")
    page.goto(f"{live_demo.url}/iam/groups/{viewers.pk}/permissions/attach/")
    page.get_by_label("IMS FullAccess", exact=True).check()
    page.locator(f"input[name=projects][value='{dev.pk}']").check()
    page.get_by_label("For 8 hours").check()
    page.get_by_role("button", name="Next: review").click()
    shown = page.get_by_test_id("attach-impact")
    expect(shown.locator("h3")).to_have_text("Members of viewers (1 user)")
    gain = shown.locator('li[data-action="ims:images:delete"]')
    expect(gain).to_contain_text("gain")
    expect(gain).to_contain_text("in cn-north-4_dev")
    expect(shown.get_by_test_id("impact-summary")).to_contain_text(re.compile(r"for 1 user, until \d"))
    expect(shown).not_to_contain_text("{#")
    shown.scroll_into_view_if_needed()
    screenshot("impact-attach-review")
    assert not Grant.objects.filter(group=viewers, policy__name="IMS FullAccess").exists()
    page.get_by_role("button", name=re.compile("Confirm: attach")).click()
    expect(page.locator("#messages")).to_contain_text("IMS FullAccess")
    assert Grant.objects.filter(group=viewers, policy__name="IMS FullAccess").exists()


def test_remove_member_dialog_shows_what_they_lose(page, live_demo, sign_in, screenshot):
    page.set_default_timeout(10_000)
    developers = UserGroup.objects.get(name="developers")
    sign_in("admin")
    page.goto(f"{live_demo.url}/iam/groups/{developers.pk}/")
    page.locator("tr", has_text="developer").get_by_role("button", name="Remove").click()
    dialog = page.locator("dialog.confirm-dialog")
    expect(dialog).to_contain_text("Remove developer from developers?")
    review = dialog.get_by_test_id("change-impact")
    expect(review.locator('li[data-action="ims:images:create"]')).to_contain_text("lose")
    expect(review).to_contain_text("cn-north-4_dev")
    screenshot("impact-remove-member-dialog")
    dialog.get_by_role("button", name="Cancel").click()
    assert developers.memberships.filter(user__username="developer").exists()
