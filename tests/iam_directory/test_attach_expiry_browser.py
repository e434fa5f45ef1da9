"""Attaching for 1 hour in Chromium, and the grids saying until when (issue 21)."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Grant, UserGroup

pytestmark = pytest.mark.browser


# The end's time, with its date when it is not today (an hour from 23:30 is tomorrow).
UNTIL = r"(\d{4}-\d\d-\d\d )?\d\d:\d\d GMT[+-]\d\d:\d\d \(in 1 h\)"


def test_attach_for_one_hour_and_see_until_on_the_grids(page, live_demo, sign_in, screenshot):
    page.set_default_timeout(8_000)
    viewers = UserGroup.objects.get(name="viewers")
    sign_in("admin")
    page.goto(f"{live_demo.url}/iam/groups/{viewers.pk}/permissions/attach/")
    page.get_by_label("IMS FullAccess", exact=True).check()
    page.locator("input[name=projects]").first.check()  # a project of the first region
    page.get_by_label("For 1 hour").check()
    screenshot("attach-for-one-hour")
    page.get_by_role("button", name="Next: review").click()
    expect(page.get_by_test_id("attach-end")).to_contain_text(re.compile(rf"The grants last until {UNTIL}"))
    page.get_by_role("button", name=re.compile("Confirm: attach")).click()
    grant = Grant.objects.get(group=viewers, policy__name="IMS FullAccess")
    assert grant.expires is not None
    row = page.locator("[data-until]").first
    expect(row).to_have_text(re.compile(rf"until {UNTIL}"))
    screenshot("group-permissions-until")

    page.goto(f"{live_demo.url}/iam/simulator/grants/?group={viewers.pk}")
    cell = page.locator('tr[data-action="ims:images:delete"] td[data-state="allow"] [data-until]').first
    expect(cell).to_have_text(re.compile(rf"until {UNTIL}"))
    screenshot("grant-grid-until")
