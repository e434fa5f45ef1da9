"""The console as a person checks it in Chromium: Back restores the inputs, one dialog per confirm,
conditional cells look conditional, each persona lands where it can work, the sign-in page says who
the demo logins are, and every page fits a 390-pixel phone — with screenshots of every page for
every persona at desktop and phone width (test-artifacts/screenshots/tour-*)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts import services
from accounts.management.commands.seed_demo import PERSONAS, demo_id
from accounts.models import Policy, UserGroup
from accounts.policy import ACTION_NAMES

from .browsing import back, forward, settled
from .browsing import sign_in as sign_in_through_form
from .conftest import sweep_on_sqlite_only

pytestmark = pytest.mark.browser
TIMEOUT = 8000
FIRST_PAGE_TIMEOUT = 30000
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def overflow(page) -> int:
    """How many pixels the page is wider than the window (0: nothing needs a sideways scroll)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_back_and_forward_restore_the_filters_the_url_names(sign_in, live_demo):
    page = sign_in("ims-admin")
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{live_demo.url}/images/?project=cn-north-4")
    rows = page.locator("#image-results tbody tr")
    everything = rows.count()
    page.fill("#filter-q", "ubuntu")
    page.wait_for_url("**q=ubuntu**")
    expect(rows).to_have_count(1)
    page.select_option("#filter-status", "saving")
    page.wait_for_url("**status=saving**")
    expect(page.get_by_test_id("no-images")).to_be_visible()

    back(page)
    page.wait_for_url("**q=ubuntu**")
    expect(page.locator("#filter-q")).to_have_value("ubuntu")
    expect(page.locator("#filter-status")).to_have_value("")
    expect(rows).to_have_count(1)
    back(page)
    expect(page.locator("#filter-q")).to_have_value("")
    expect(rows).to_have_count(everything)
    forward(page)
    page.wait_for_url("**q=ubuntu**")
    expect(page.locator("#filter-q")).to_have_value("ubuntu")
    expect(rows).to_have_count(1)


def test_remove_member_asks_once_in_the_consoles_dialog_naming_both(sign_in, live_demo, screenshot):
    page = sign_in("iam-admin")
    page.set_default_timeout(TIMEOUT)
    native = []
    page.on("dialog", lambda dialog: (native.append(dialog.message), dialog.dismiss()))
    group = UserGroup.objects.get(name="viewers")
    page.goto(f"{live_demo.url}/iam/groups/{group.pk}/")
    page.locator("tr", has_text="viewer").get_by_role("button", name="Remove").click()
    dialog = page.locator("dialog.confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Remove viewer from viewers?")
    expect(page.locator("dialog.confirm-dialog[open]")).to_have_count(1)
    screenshot("console-remove-member-confirm")
    dialog.get_by_role("button", name="Remove").click()
    expect(page.locator("#messages")).to_contain_text("viewer")
    assert native == []  # asked once, in the console's own dialog, never a bare confirm()
    assert not group.memberships.filter(user__username="viewer").exists()


def test_a_conditional_deny_shows_as_allowed_except_for_some_images(sign_in, live_demo, screenshot):
    policy = services.policy_create(actor=None, name="KeepProd", document={
        "Version": "1.1", "Statement": [{"Effect": "Deny", "Action": ["ims:images:delete"],
                                         "Condition": {"StringEquals": {"ims:ResourceTag/env": ["prod"]}}}]})
    services.grant_attach(actor=None, group=UserGroup.objects.get(name="ims-admins"), policies=[policy],
                          all_resources=True)
    page = sign_in("ims-admin")
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{live_demo.url}/me/permissions/")
    cell = page.locator('[data-testid=permission-grid] td[data-project="cn-north-4"][data-actions="ims:images:delete"]')
    expect(cell).to_have_attribute("data-state", "allow-except")
    expect(cell).to_contain_text("Allowed, denied for some images")
    cell.locator("summary").click()
    expect(cell).to_contain_text("A Deny with conditions names this action")
    listing = page.locator('[data-testid=permission-grid] td[data-project="cn-north-4"]'
                           '[data-actions="ims:images:list ims:images:get"]')
    expect(listing).to_have_attribute("data-state", "allow")
    screenshot("console-conditional-cell")
    assert Policy.objects.filter(name="KeepProd").exists()


def test_an_iam_only_user_lands_on_the_iam_grid(sign_in, live_demo, screenshot):
    page = sign_in("iam-admin")
    assert page.url.endswith("/me/permissions/")
    grids = page.locator("[data-testid=iam-grid], [data-testid=permission-grid]")
    expect(grids.first).to_have_attribute("data-testid", "iam-grid")
    every = len([name for name in ACTION_NAMES if name.startswith("iam:")])  # the catalogue grows (federation)
    expect(page.get_by_test_id("iam-summary")).to_contain_text(f"You may use {every} of {every} IAM actions")
    expect(page.locator('[data-testid=iam-grid] td[data-actions="iam:users:createUser"]')).to_have_attribute(
        "data-state", "allow")
    screenshot("console-iam-admin-landing")
    page.context.clear_cookies()
    page = sign_in("viewer")
    assert "/images/" in page.url


def test_the_sign_in_page_says_who_each_demo_login_is(page, live_demo, settings, screenshot):
    settings.IMSPERM_DEMO_LOGINS = True
    page.goto(f"{live_demo.url}/accounts/login/")
    table = page.get_by_test_id("demo-logins")
    for username, *_ in PERSONAS:
        expect(table.locator("tr", has_text=username).first).to_be_visible()
    expect(table).to_contain_text("imsperm-demo")
    expect(table.locator("tr", has_text="iam-admin")).to_contain_text("no images")
    screenshot("console-sign-in-demo-logins")
    settings.IMSPERM_DEMO_LOGINS = False
    page.goto(f"{live_demo.url}/accounts/login/")
    expect(page.get_by_test_id("demo-logins")).to_have_count(0)


def test_bulk_results_are_one_summary_with_reasons_under_it(sign_in, live_demo, screenshot):
    page = sign_in("ims-admin")
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{live_demo.url}/images/?project=cn-north-4")
    page.locator("input[data-select-all=ids]").check()
    page.locator("[data-bulk=export]").click()
    summary = page.get_by_test_id("bulk-summary")
    expect(summary).to_have_count(1)
    expect(summary).to_have_text("4 exported, 7 skipped.")
    expect(page.locator("#messages .message")).to_have_count(1)
    expect(page.locator("#messages .bulk-outcomes li")).to_have_count(11)
    expect(page.locator("#messages")).to_contain_text("cn-north-4-other-whole-05")
    screenshot("console-bulk-summary")


def test_the_create_form_keeps_every_field_in_its_cell_at_desktop_and_phone_width(sign_in, live_demo, screenshot):
    page = sign_in("ims-admin")
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.goto(f"{live_demo.url}/images/create/?project=cn-north-4")
        boxes = page.eval_on_selector_all(".form-grid .field", "fields => fields.map(f => { "
                                          "const r = f.getBoundingClientRect(); "
                                          "return [r.left, r.top, r.right, r.bottom]; })")
        for i, a in enumerate(boxes):  # no field overlaps another (the description slid under OS type)
            for b in boxes[i + 1:]:
                assert a[2] <= b[0] + 1 or b[2] <= a[0] + 1 or a[3] <= b[1] + 1 or b[3] <= a[1] + 1, (a, b)
        assert overflow(page) <= 0
        screenshot(f"console-create-form-{name}")


# --- the tour: every page, every persona, desktop and phone ---------------------------------------

def tour_paths(live_demo) -> list[tuple[str, str]]:
    group = UserGroup.objects.get(name="developers")
    policy = Policy.objects.get(name="DenyImageDeletion")
    image = demo_id("cn-north-4-ubuntu-system-00")
    public = demo_id("Ubuntu-x86-public")
    return [
        ("images-private", "/images/?project=cn-north-4"),
        ("images-public", "/images/?project=cn-north-4&tab=public"),
        ("images-awaiting", "/images/?project=cn-north-4_dev&tab=awaiting"),
        ("image-detail", f"/images/{image}/?project=cn-north-4"),
        ("image-public-detail", f"/images/{public}/?project=cn-north-4"),
        ("image-create", "/images/create/?project=cn-north-4"),
        ("my-permissions", "/me/permissions/"),
        ("mfa", "/me/mfa/"),
        ("users", "/iam/users/"),
        ("user-create", "/iam/users/new/"),
        ("groups", "/iam/groups/"),
        ("group-detail", f"/iam/groups/{group.pk}/"),
        ("group-permissions", f"/iam/groups/{group.pk}/permissions/"),
        ("group-attach", f"/iam/groups/{group.pk}/permissions/attach/"),
        ("policies", "/iam/policies/"),
        ("policy-detail", f"/iam/policies/{policy.pk}/"),
        ("policy-create", "/iam/policies/new/"),
        ("simulator", "/iam/simulator/"),
        ("projects", "/iam/projects/"),
        ("audit", "/iam/audit/"),
    ]


@sweep_on_sqlite_only
@pytest.mark.sweep
@pytest.mark.parametrize("username", [name for name, *_ in PERSONAS])
def test_every_page_for_every_persona_fits_a_phone_and_never_fails(browser, live_demo, settings, username):
    """Each page loaded once, at a phone's width: its status, and nothing wider than the screen. One test per
    persona, so that the browser lane's workers share the sweep.

    The screenshots: the whole page at a phone's width, where overflow shows, then the window's worth at a
    desktop's, the same page widened (the layout is CSS alone: no script reads the width), so each page is
    loaded once rather than once per width. Each persona's pictures are its own: its navigation and its name
    in the top bar differ, so hardly any two personas' pages look alike (3 of 140 did, measured with
    tests/page_states.py's fingerprint, which cost more than the pictures it spared)."""
    from .conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    paths = tour_paths(live_demo)
    too_wide = []
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    # a server process's first page loads its templates and translations: seconds on a busy machine
    page.goto(f"{live_demo.url}/accounts/login/", timeout=FIRST_PAGE_TIMEOUT)
    sign_in_through_form(page, live_demo.url, username)
    for name, path in paths:
        response = page.goto(f"{live_demo.url}{path}")
        assert response.status in (200, 403, 404), (username, path, response.status)
        settled(page)
        if overflow(page) > 0:
            too_wide.append((username, name, overflow(page)))
        page.screenshot(path=str(SCREENSHOTS / f"tour-{username}-phone-{name}.png"), full_page=True)
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=str(SCREENSHOTS / f"tour-{username}-desktop-{name}.png"))
        page.set_viewport_size(PHONE)
    context.close()
    assert too_wide == [], too_wide
