"""Lists people can work with, in Chromium: each IAM table sorted and filtered with Back, the top bar's
search for each persona, the image filter's Apply, and a phone-width tour with nothing wider than the
screen (screenshots in test-artifacts/screenshots/lists-*: look at them)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.management.commands.seed_demo import PERSONAS
from tests.browsing import back, settled
from tests.test_console_browser import tour_paths

pytestmark = pytest.mark.browser
TIMEOUT = 10000
PHONE = {"width": 390, "height": 844}

# table: (url, its results box, a column to sort by, the filter box, text to type, a row marker)
TABLES = {
    "users": ("/iam/users/", "#user-results", "email", "#id_q", "view", "data-username"),
    "groups": ("/iam/groups/", "#group-results", "members", "#group-search", "ops", "data-group"),
    "policies": ("/iam/policies/", "#policy-results", "description", "#policy-search", "IMS", "data-policy"),
    "audit": ("/iam/audit/", "#audit-results", "user", "#id_user", "admin", "data-event"),
    "tokens": ("/me/api-tokens/", "#token-results", "name", "#token-search", "b", "data-token"),
}


def shown(page, box, marker) -> list[str]:
    """The rows' identities in the results box."""
    return page.locator(f"{box} tbody tr[{marker}]").evaluate_all(
        f"rows => rows.map(row => row.getAttribute('{marker}'))")


def mark_stale(page, box) -> None:
    """Marks the results box the page shows now, so `expect_swapped` can tell when htmx replaced it."""
    page.eval_on_selector(box, "box => { box.dataset.stale = '1'; }")


def expect_swapped(page, box) -> None:
    """Waits until htmx has swapped a new results box in for the marked one (the address is pushed
    before the swap lands, so a read right after the address changed could see the old rows)."""
    expect(page.locator(f"{box}:not([data-stale])")).to_have_count(1)


def make_tokens():
    from accounts.models import User
    from api import services

    for name in ("alpha", "bravo", "charlie"):
        services.api_token_create(actor=User.objects.get(username="admin"), name=name)


@pytest.mark.parametrize("table", TABLES)
def test_each_iam_table_sorts_both_ways_filters_and_back_undoes_each_step(table, sign_in, live_demo, screenshot):
    url, box, column, search, text, marker = TABLES[table]
    page = sign_in("admin")
    page.set_default_timeout(TIMEOUT)
    if table == "tokens":
        make_tokens()
    page.goto(live_demo.url + url)
    first = shown(page, box, marker)
    header = page.locator(f"{box} th:has(a[data-sort='{column}'])")

    mark_stale(page, box)
    page.click(f"{box} a[data-sort='{column}']")
    page.wait_for_url(re.compile(rf"sort={column}(&|$)"))
    expect_swapped(page, box)
    expect(header).to_have_attribute("aria-sort", "ascending")
    ascending = shown(page, box, marker)
    mark_stale(page, box)
    page.click(f"{box} a[data-sort='{column}']")
    page.wait_for_url(re.compile(rf"sort=-{column}(&|$)"))
    expect_swapped(page, box)
    expect(header).to_have_attribute("aria-sort", "descending")
    descending = shown(page, box, marker)
    assert sorted(ascending) == sorted(descending) == sorted(first)
    screenshot(f"lists-{table}-sorted-descending")

    mark_stale(page, box)
    page.fill(search, text)
    if table == "audit":
        page.press(search, "Enter")
    page.wait_for_url(re.compile(r"(q|user)=" + re.escape(text)))
    expect_swapped(page, box)
    assert f"sort=-{column}" in page.url and "=&" not in page.url and not page.url.endswith("=")
    narrowed = shown(page, box, marker)
    assert set(narrowed) <= set(first)
    expect(header).to_have_attribute("aria-sort", "descending")  # the sort stays with the filter
    screenshot(f"lists-{table}-filtered")

    back(page)
    page.wait_for_url(re.compile(rf"sort=-{column}$"))
    expect(page.locator(search)).to_have_value("")
    assert shown(page, box, marker) == descending
    back(page)
    page.wait_for_url(re.compile(rf"sort={column}$"))
    assert shown(page, box, marker) == ascending
    expect(page.locator(f"{box} th:has(a[data-sort='{column}'])")).to_have_attribute("aria-sort", "ascending")


@pytest.mark.parametrize("persona", [persona[0] for persona in PERSONAS])
def test_the_top_bar_search_lists_only_what_each_persona_may_open(persona, sign_in, live_demo, screenshot):
    page = sign_in(persona)
    page.set_default_timeout(TIMEOUT)
    for text in ("cn-north-4", "view"):
        page.fill("#topbar-q", text)
        expect(page.get_by_test_id("search-results")).to_be_visible()
        links = page.locator("#topbar-search-results a[data-hit]").evaluate_all(
            "links => links.map(link => link.getAttribute('href'))")
        if text == "cn-north-4":
            screenshot(f"lists-search-{persona}")
        for href in links:
            assert page.request.get(live_demo.url + href).status == 200, f"{persona} was offered {href}"
        if not links:
            expect(page.get_by_test_id("search-nothing")).to_be_visible()
    page.press("#topbar-q", "Escape")
    expect(page.get_by_test_id("search-results")).to_have_count(0)
    page.fill("#topbar-q", "view")
    page.press("#topbar-q", "Enter")
    page.wait_for_url("**/search/?q=view")
    expect(page.locator("h1")).to_have_text("Search")


def test_apply_after_a_change_does_not_push_the_same_address_twice(sign_in, live_demo):
    page = sign_in("ims-admin")
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{live_demo.url}/images/?project=cn-north-4")
    expect(page.locator("[data-filter-fold]")).to_be_hidden()  # folded on a phone only
    expect(page.locator("#image-filters")).to_be_visible()
    page.select_option("#filter-status", "active")
    page.wait_for_url("**status=active**")
    assert "q=&" not in page.url and "tag=" not in page.url  # empty filters stay out of the address
    entries = page.evaluate("history.length")
    page.click("#image-filters button[type=submit]")
    settled(page)
    assert page.evaluate("history.length") == entries
    back(page)
    page.wait_for_url(re.compile(r"/images/\?project=cn-north-4$"))


PHONE_PAGES = ["/images/?project=cn-north-4", "/images/?project=cn-north-4&tab=public", "/iam/users/",
               "/iam/groups/", "/iam/policies/", "/iam/audit/", "/me/api-tokens/", "/me/permissions/",
               "/search/?q=cn-north", "/iam/policies/?sort=-attached", "/iam/simulator/", "/iam/projects/"]


def detail_pages() -> list[str]:
    from accounts.models import Policy, User, UserGroup
    from images.models import Image

    return [Image.objects.get(name="cn-north-4-centos-data-01").get_absolute_url() + "?project=cn-north-4",
            User.objects.get(username="developer").get_absolute_url(),
            UserGroup.objects.get(name="developers").get_absolute_url(),
            UserGroup.objects.get(name="developers").get_absolute_url() + "permissions/",
            Policy.objects.get(name="Server Administrator").get_absolute_url()]


def test_a_phone_width_tour_has_nothing_wider_than_the_screen(page, sign_in, live_demo, screenshot):
    page.set_viewport_size(PHONE)
    sign_in("admin")
    page.set_default_timeout(TIMEOUT)
    swept = {path for _, path in tour_paths(live_demo)}  # every persona's phone sweep looks at these already
    for number, path in enumerate(path for path in PHONE_PAGES + detail_pages() if path not in swept):
        page.goto(live_demo.url + path)
        settled(page)
        wide = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        screenshot(f"lists-phone-{number:02d}")
        assert wide <= 0, f"{path} is {wide}px wider than a 390px phone"

    page.goto(f"{live_demo.url}/images/?project=cn-north-4")
    fold = page.locator("[data-filter-fold]")
    expect(fold).to_be_visible()
    expect(page.locator("#image-filters")).to_be_hidden()
    fold.click()
    expect(page.locator("#image-filters")).to_be_visible()
    expect(fold).to_have_attribute("aria-expanded", "true")
    screenshot("lists-phone-image-filters-open")
    label = page.locator("#image-results tbody tr td[data-label='Size']").first
    assert "Size" in page.evaluate("cell => getComputedStyle(cell, '::before').content", label.element_handle())

    page.goto(f"{live_demo.url}/iam/audit/")
    action = page.locator("#audit-results td[data-label='Action'] code").first
    assert action.locator("wbr").count() >= 1  # an action name breaks at its colons, not mid-word
    user_cell = page.locator("#audit-results tbody tr td[data-label='User']").first
    assert "User" in page.evaluate("cell => getComputedStyle(cell, '::before').content", user_cell.element_handle())
