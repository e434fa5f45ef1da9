"""WCAG 2.2 A and AA in Chromium: axe-core over every page for every demo persona, and the keyboard.

axe-core comes bundled in axe-playwright-python (no CDN). The sweep visits every console page as
each persona sees it (refusal pages included), opens a row menu and the confirm dialog, both modes
of the policy editor, both steps of the attach flow and the next page of every paged list, and
expects no violation of the WCAG 2.0/2.1/2.2 A and AA rules. What axe cannot see is walked by
keyboard below: menus, the dialog, htmx swaps and the live regions.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import axe_playwright_python
import pytest
from playwright.sync_api import expect

from accounts.management.commands.seed_demo import PERSONAS, demo_id
from accounts.models import Policy, User, UserGroup

from .browsing import settled, sign_in
from .conftest import sweep_on_sqlite_only
from .page_states import Checked, page_fingerprint

pytestmark = pytest.mark.browser
TIMEOUT = 5000
FIRST_PAGE_TIMEOUT = 30000
PERSONA_NAMES = [name for name, *_ in PERSONAS]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_SCRIPT = Path(axe_playwright_python.__file__).parent / "axe.min.js"
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"], "iframes": False,
               "performanceTimer": False}
# The rules whose answer depends on the colours, and so on the scheme: the rest see the same markup.
AXE_COLOUR_OPTIONS = {**AXE_OPTIONS, "runOnly": {"type": "rule", "values": ["color-contrast", "link-in-text-block"]}}


def axe_violations(page, within: str | None = None, options: dict = AXE_OPTIONS) -> list[str]:
    """One line per failing element (of the page, or of the part `within` names): rule, target, summary.

    axe-core is loaded into every page by the context's init script (add_axe), so each check is
    one call, not a 500 kB script sent again."""
    violations = page.evaluate(
        "([within, options]) => axe.run(within ? {include: [within]} : document, options).then(r => r.violations)",
        [within, options])
    return [f"{v['id']} {node['target']}: {node.get('failureSummary', '')[:200]!r}"
            for v in violations for node in v["nodes"]]


def add_axe(page) -> None:
    page.context.add_init_script(path=str(AXE_SCRIPT))


def sign_in_as(page, base: str, username: str) -> None:
    page.context.clear_cookies()
    sign_in(page, base, username)


def sweep_pages() -> list[str]:
    """Every console page with real objects in it (refusal pages are swept too)."""
    group = UserGroup.objects.get(name="developers")
    policy = Policy.objects.filter(document__isnull=False).exclude(kind="system").first() or Policy.objects.first()
    user = User.objects.get(username="developer")
    image = demo_id("cn-north-4-ubuntu-system-00")
    return [
        "/", "/me/permissions/", "/me/mfa/", "/me/preferences/",
        "/iam/users/", "/iam/users/new/", f"/iam/users/{user.pk}/", f"/iam/users/{user.pk}/edit/",
        f"/iam/users/{user.pk}/password/",
        "/iam/groups/", "/iam/groups/new/", f"/iam/groups/{group.pk}/", f"/iam/groups/{group.pk}/edit/",
        f"/iam/groups/{group.pk}/permissions/", f"/iam/groups/{group.pk}/permissions/attach/",
        "/iam/audit/",
        "/iam/policies/", "/iam/policies/new/?mode=visual", "/iam/policies/new/?mode=json",
        f"/iam/policies/{policy.pk}/", f"/iam/policies/{policy.pk}/edit/?mode=visual",
        f"/iam/policies/{policy.pk}/edit/?mode=json", f"/iam/policies/{policy.pk}/clone/",
        "/iam/simulator/", "/iam/simulator/effective/",
        "/images/?project=cn-north-4&size=10", "/images/?project=cn-north-4&tab=public&size=10",
        "/images/?project=cn-north-4&tab=awaiting", "/images/?project=cn-north-4_dev&tab=shared",
        "/images/create/?kind=system", f"/images/{image}/",
        f"/images/{demo_id('cn-north-4-dev-windows-system-09')}/",
    ]


def more_than_a_page_of_users_and_groups() -> None:
    """So that the user and group lists have a next page to sweep too."""
    from accounts.iam.directory_selectors import PAGE_SIZE

    User.objects.bulk_create([User(username=f"sweep-user-{n:02}", password="!") for n in range(PAGE_SIZE)])
    UserGroup.objects.bulk_create([UserGroup(name=f"sweep-group-{n:02}") for n in range(PAGE_SIZE)])


class Sweep:
    """Runs axe on each state of a page and keeps the counts for the closing note.

    Each state is checked in the light scheme with every WCAG rule, then in the dark one with the
    colour rules (the device's prefers-color-scheme switched in place: the theme is pure CSS, so the
    same state is seen in both without loading it twice).

    A state is checked once per test run, by whichever persona's test meets it first (tests/page_states.py
    says what makes two renderings the same state, and what its fingerprint keeps): another persona who
    sees the same markup skips axe there and counts it, and the first one's test reports any violation,
    so the run still fails on it."""

    def __init__(self, page, base):
        self.page, self.base = page, base
        self.checked = Counter()
        self.already = Counter()
        self.failures: list[str] = []
        self.axe_seconds = self.fingerprint_seconds = 0.0
        self.states = Checked("axe")

    def check(self, persona: str, label: str, within: str | None = None) -> None:
        """Check the page, or only the part that changed (`within`) when the rest was just checked."""
        started = time.monotonic()
        state = page_fingerprint(self.page, within or "", "light: WCAG A and AA; dark: colour rules")
        self.fingerprint_seconds += time.monotonic() - started
        if self.states.first(state, f"{persona} {label}") is not None:
            self.already[persona] += 1
            return
        started = time.monotonic()
        self.checked[persona] += 1
        self.failures += [f"{persona} {label}: {line}" for line in axe_violations(self.page, within)]
        self.page.emulate_media(color_scheme="dark")
        self.failures += [f"{persona} {label} (dark): {line}"
                          for line in axe_violations(self.page, within, AXE_COLOUR_OPTIONS)]
        self.page.emulate_media(color_scheme="light")
        self.axe_seconds += time.monotonic() - started

    def visit(self, persona: str, path: str) -> None:
        self.page.goto(self.base + path, wait_until="load")
        settled(self.page)  # and the parts that load themselves after the page
        self.check(persona, path)
        self.open_row_menu(persona, path)
        self.follow_next_page(persona, path)
        if "/permissions/attach/" in path:
            self.attach_review(persona, path)

    def open_row_menu(self, persona: str, path: str) -> None:
        button = self.page.locator("[data-menu-button]").first
        if not button.count():
            return
        button.click()
        self.check(persona, path + " (row menu open)", "[role=menu]:not([hidden])")
        delete = self.page.locator("[role=menu]:not([hidden]) [data-operation=delete]:not([aria-disabled=true])")
        if delete.count():
            delete.first.click()
            expect(self.page.locator("dialog.confirm-dialog[open]")).to_be_visible()
            self.check(persona, path + " (confirm dialog open)", "dialog.confirm-dialog")
            self.page.keyboard.press("Escape")
        else:
            self.page.keyboard.press("Escape")

    def follow_next_page(self, persona: str, path: str) -> None:
        link = self.page.locator("nav.pagination a[rel=next]")
        if not link.count():
            return
        summary = self.page.locator("nav.pagination").first.inner_text()
        link.first.click()
        expect(self.page.locator("nav.pagination").first).not_to_have_text(summary)
        self.check(persona, path + " (next page)", "main")

    def attach_review(self, persona: str, path: str) -> None:
        boxes = self.page.locator("input[name=policies]")
        if not boxes.count():
            return
        boxes.first.check()
        self.page.get_by_role("button", name="Next: review").click()
        self.page.wait_for_load_state("load")
        self.check(persona, path + " (step 2: review)")


@sweep_on_sqlite_only
@pytest.mark.sweep
@pytest.mark.parametrize("persona", ["anonymous", *PERSONA_NAMES])
def test_axe_finds_no_wcag_22_aa_violation_on_any_page_for_any_persona_in_either_scheme(page, live_demo, persona):
    """One test per persona, so that the browser lane's workers share the sweep; anonymous sees sign-in."""
    page.set_default_timeout(TIMEOUT)
    page.emulate_media(color_scheme="light")
    add_axe(page)
    started = time.monotonic()
    sweep = Sweep(page, live_demo.url)
    pages = []
    # a server process's first page loads its templates and translations: seconds on a busy machine
    page.goto(live_demo.url + "/accounts/login/", timeout=FIRST_PAGE_TIMEOUT)
    if persona == "anonymous":
        settled(page)
        sweep.check(persona, "/accounts/login/")
    else:
        pages = sweep_pages()
        more_than_a_page_of_users_and_groups()
        sign_in_as(page, live_demo.url, persona)
        for path in pages:
            sweep.visit(persona, path)
    seconds = time.monotonic() - started
    print(f"\naxe sweep as {persona} (light, and dark's colour rules): {len(pages)} pages, "
          f"{sweep.checked[persona]} page states checked, {sweep.already[persona]} already checked in this run, "
          f"{len(sweep.failures)} violations, {seconds:.0f} s "
          f"({sweep.axe_seconds:.0f} s in axe, {sweep.fingerprint_seconds:.0f} s taking fingerprints)")
    print(f"by rule: {dict(violations_by_rule(sweep.failures))}")
    assert sweep.failures == [], "\n".join(distinct(sweep.failures))


def distinct(lines: list[str]) -> list[str]:
    """The first failure of each kind (rule and axe's summary, colours included), with its count."""
    kinds: dict[str, list[str]] = {}
    for line in lines:
        rule, rest = line.split(": ", 1)[1].split(" ", 1)
        summary = re.sub(r"\[.*?\]: ", "", rest)
        kinds.setdefault(rule + summary, []).append(line)
    return [f"{len(found)} x {found[0]}" for found in kinds.values()]


def violations_by_rule(lines: list[str]) -> Counter:
    return Counter(line.split(": ", 1)[1].split(" ", 1)[0] for line in lines)


# --- by keyboard alone --------------------------------------------------------------------------


def focused(page, selector: str) -> bool:
    return page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector)


def tab_to(page, selector: str, *, limit: int = 120, back: bool = False) -> None:
    """Press Tab (Shift+Tab) until the focused element matches `selector`, as a keyboard user would."""
    for _ in range(limit):
        if focused(page, selector):
            return
        page.keyboard.press("Shift+Tab" if back else "Tab")
    raise AssertionError(f"{selector} never took focus in {limit} presses of Tab")


def active(page, expression: str = "el => el.outerHTML.slice(0, 120)"):
    return page.evaluate(f"({expression})(document.activeElement)")


def sign_in_by_keyboard(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    assert focused(page, "input[name=username]"), active(page)  # the form takes the focus at once
    expect(page.locator("a.skip-link")).not_to_be_in_viewport()
    tab_to(page, "a.skip-link", back=True)  # first in the tab order, shown when focused
    expect(page.locator("a.skip-link")).to_be_in_viewport()
    tab_to(page, "input[name=username]")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    assert focused(page, "input[name=password]")
    page.keyboard.type("imsperm-demo")
    page.keyboard.press("Enter")
    page.wait_for_load_state("load")
    expect(page.get_by_test_id("current-user")).to_have_text(username)


def test_keyboard_only_sign_in_open_a_row_menu_start_a_delete_and_cancel(page, live_demo, screenshot):
    from images.models import Image

    page.set_default_timeout(TIMEOUT)
    sign_in_by_keyboard(page, live_demo.url, "ims-admin")
    page.goto(f"{live_demo.url}/images/?project=cn-north-4")
    image = demo_id("cn-north-4-ubuntu-system-00")
    button = f"#menu-button-{image}"
    menu = page.locator(f"#menu-{image}")
    tab_to(page, button)
    outline = active(page, "el => getComputedStyle(el).outlineStyle + ' ' + getComputedStyle(el).outlineWidth")
    assert outline.startswith("solid") and not outline.endswith(" 0px"), outline  # a visible focus ring

    page.keyboard.press("Enter")
    expect(menu).to_be_visible()
    expect(page.locator(button)).to_have_attribute("aria-expanded", "true")
    first = menu.locator("[role=menuitem]").first.get_attribute("data-operation")
    assert active(page, "el => el.dataset.operation") == first  # the first item has focus
    page.keyboard.press("ArrowDown")
    second = active(page, "el => el.dataset.operation")
    assert second != first
    page.keyboard.press("ArrowUp")
    assert active(page, "el => el.dataset.operation") == first
    page.keyboard.press("End")
    assert active(page, "el => el.dataset.operation") == menu.locator("[role=menuitem]").last.get_attribute(
        "data-operation")
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    assert focused(page, button)  # Escape gives focus back to the menu's button
    expect(page.locator(button)).to_have_attribute("aria-expanded", "false")

    page.keyboard.press(" ")  # Space opens it too
    expect(menu).to_be_visible()
    for _ in range(12):
        if active(page, "el => el.dataset.operation") == "delete":
            break
        page.keyboard.press("ArrowDown")
    assert active(page, "el => el.dataset.operation") == "delete"
    screenshot("a11y-keyboard-row-menu-open")
    page.keyboard.press("Enter")
    dialog = page.locator("dialog.confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Delete image cn-north-4-ubuntu-system-00?")
    assert focused(page, "dialog [data-confirm-cancel]")  # the safe answer first
    for _ in range(5):  # Tab goes round the dialog's two buttons and never leaves it
        page.keyboard.press("Tab")
        assert focused(page, "dialog.confirm-dialog button"), active(page)
    screenshot("a11y-keyboard-confirm-dialog")
    tab_to(page, "dialog [data-confirm-cancel]")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.locator(button)).to_be_focused()  # back on the button of the menu that asked (after `close`)
    assert Image.objects.filter(pk=image, status="active").exists()  # nothing was deleted

    page.keyboard.press("Enter")  # and once more, cancelled with Escape this time
    for _ in range(12):
        if active(page, "el => el.dataset.operation") == "delete":
            break
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator(button)).to_be_focused()  # the dialog's `close` event gives it back a moment later
    assert Image.objects.filter(pk=image, status="active").exists()

    page.keyboard.press("ArrowUp")  # opens on the last item: Delete
    assert active(page, "el => el.dataset.operation") == "delete"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert focused(page, "dialog [data-confirm-ok]")
    page.keyboard.press("Enter")  # this time, delete: the page that follows says so, and reads it out
    expect(page.locator("#messages")).to_contain_text("cn-north-4-ubuntu-system-00 was deleted")
    expect(page.get_by_test_id("announcer")).to_contain_text("cn-north-4-ubuntu-system-00 was deleted")


def test_attach_a_policy_to_a_group_by_keyboard(page, live_demo, screenshot):
    from accounts import services
    from accounts.models import Grant

    group = services.group_create(actor=None, name="keyboard-team")
    page.set_default_timeout(TIMEOUT)
    sign_in_by_keyboard(page, live_demo.url, "admin")
    page.goto(f"{live_demo.url}/iam/groups/{group.pk}/permissions/")
    tab_to(page, "a[href$='/permissions/attach/']")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("/permissions/attach/$"))
    tab_to(page, "#policy-filter")
    page.keyboard.type("readonly")
    readonly = Policy.objects.get(name="IMS ReadOnlyAccess")
    tab_to(page, f"input[name=policies][value='{readonly.pk}']")
    page.keyboard.press(" ")
    expect(page.locator(f"input[name=policies][value='{readonly.pk}']")).to_be_checked()
    if not page.locator("input[name=scope][value=projects]").is_checked():
        tab_to(page, "input[name=scope]")
        page.keyboard.press("ArrowDown")  # arrow keys move between the scope's radio buttons
        expect(page.locator("input[name=scope][value=projects]")).to_be_checked()
    north = page.locator("[data-project-picker] label", has_text="cn-north-4").first.locator("input")
    north_value = north.get_attribute("value")
    tab_to(page, f"[data-project-picker] input[value='{north_value}']")
    if not north.is_checked():
        page.keyboard.press(" ")
    expect(north).to_be_checked()
    screenshot("a11y-keyboard-attach-step-1")
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("attach-review")).to_contain_text("IMS ReadOnlyAccess")
    screenshot("a11y-keyboard-attach-step-2")
    tab_to(page, "button[data-action='iam:permissions:grantPermission']")
    page.keyboard.press("Enter")
    expect(page.locator('[data-grant="IMS ReadOnlyAccess"] [data-scope]')).to_have_text("cn-north-4")
    assert Grant.objects.filter(group=group, policy=readonly).exists()


BROKEN = '{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:gte"]}]}'


def test_fix_a_finding_in_the_policy_editor_by_keyboard_and_hear_it_announced(page, live_demo, screenshot):
    page.set_default_timeout(8000)
    sign_in_by_keyboard(page, live_demo.url, "iam-admin")
    page.goto(f"{live_demo.url}/iam/policies/new/")
    announcer = page.get_by_test_id("announcer")
    assert announcer.get_attribute("aria-live") == "polite" and announcer.get_attribute("role") == "status"
    expect(page.locator("#policy-editor")).to_have_attribute("data-mode", "visual")
    tab_to(page, "[data-testid=switch-json]")
    page.keyboard.press("Enter")  # to the JSON mode: focus lands in its text, not at the top of the page
    expect(page.locator("#policy-editor")).to_have_attribute("data-mode", "json")
    expect(page.locator("textarea[data-policy-text]")).to_be_focused()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(BROKEN)
    expect(announcer).to_contain_text("1 error")
    expect(announcer).to_contain_text('did you mean "ims:images:get"')
    assert focused(page, "textarea[data-policy-text]")  # the validator's answer does not take the focus
    screenshot("a11y-keyboard-editor-finding")

    tab_to(page, "#policy-findings .finding-error [data-goto-line]")
    page.keyboard.press("Enter")  # jumps to the finding's place in the text
    assert focused(page, "textarea[data-policy-text]")
    start = page.evaluate("() => document.activeElement.selectionStart")
    assert BROKEN[start:].startswith('"ims:images:gte"'), BROKEN[start:]
    for _ in range(len('"ims:images:')):
        page.keyboard.press("ArrowRight")
    for _ in range(3):
        page.keyboard.press("Shift+ArrowRight")
    page.keyboard.type("get")
    expect(announcer).to_have_text("No findings: this policy can be saved.")
    expect(page.get_by_test_id("no-findings")).to_be_visible()
    screenshot("a11y-keyboard-editor-fixed")


def test_focus_after_htmx_swaps_new_page_of_results_and_first_error_of_a_form(page, live_demo, screenshot):
    page.set_default_timeout(TIMEOUT)
    sign_in_by_keyboard(page, live_demo.url, "ims-admin")
    page.goto(f"{live_demo.url}/images/?project=cn-north-4&size=10")
    tab_to(page, "#image-results a[rel=next]")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("cursor="))
    expect(page.locator("#image-results")).to_be_focused()  # the new page of results, not the top of the page
    expect(page.get_by_test_id("announcer")).to_contain_text("Showing 11–")
    tab_to(page, "#image-results a[rel=prev]")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("page-summary")).to_contain_text("1–10")
    expect(page.locator("#image-results")).to_be_focused()

    page.goto(f"{live_demo.url}/images/{demo_id('cn-north-4-ubuntu-system-00')}/")
    name = page.locator("#modify input[name=name]")
    tab_to(page, "#modify input[name=name]")
    page.keyboard.press("End")
    page.keyboard.type("/oops")  # passes the browser's checks, refused by the server's
    page.keyboard.press("Enter")  # sent by htmx: the form comes back with its error
    expect(page.locator("#modify [aria-invalid=true]").first).to_be_focused()
    expect(name).to_have_attribute("aria-invalid", "true")
    screenshot("a11y-focus-first-error")


# --- row menus offer what applies, and say why the rest waits --------------------------------------


def menu_of(page, name: str):
    row = page.locator("tr[data-image-id]", has_text=name)
    return row, row.locator("[role=menu]")


def test_row_menus_of_a_public_image_and_of_your_own_image(page, live_demo, sign_in, screenshot):
    page.set_default_timeout(TIMEOUT)
    sign_in("ims-admin")
    page.goto(f"{live_demo.url}/images/?project=cn-north-4&tab=public")
    public = page.locator("tr[data-image-id]", has_text="Ubuntu-x86-public")
    expect(public).to_be_visible()
    assert public.locator("[data-operation]").count() == 0  # nothing can ever apply: no menu at all
    assert public.locator("[data-menu-button]").count() == 0
    screenshot("a11y-row-menu-public")

    page.goto(f"{live_demo.url}/images/?project=cn-north-4")
    row, menu = menu_of(page, "cn-north-4-windows-data-04")  # protected and saving
    row.locator("[data-menu-button]").click()
    expect(menu).to_be_visible()
    operations = menu.locator("[data-operation]").evaluate_all("ns => ns.map(n => n.dataset.operation)")
    assert "accept" not in operations and "reject" not in operations  # your own image: no share to answer
    delete = menu.locator("[data-operation=delete]")
    expect(delete).to_have_attribute("aria-disabled", "true")
    reason = delete.locator(".menu-reason")
    expect(reason).to_be_visible()  # written out, not only in a tooltip
    expect(reason).to_have_text("Protected images cannot be deleted. Turn protection off first.")
    expect(delete).to_have_accessible_name(re.compile("Delete.*Protected images cannot be deleted"))
    expect(menu.locator("[data-operation=modify] .menu-reason")).to_have_text(
        "Only active images can be modified; this one is saving.")
    screenshot("a11y-row-menu-own-image")

    page.goto(f"{live_demo.url}/images/?project=cn-north-4&tab=awaiting")
    row, menu = menu_of(page, "eu-west-101-euleros-system-00")  # shared with cn-north-4, pending
    row.locator("[data-menu-button]").click()
    expect(menu).to_be_visible()
    operations = menu.locator("[data-operation]").evaluate_all("ns => ns.map(n => n.dataset.operation)")
    assert sorted(operations) == ["accept", "reject"]
    assert menu.locator("[aria-disabled=true]").count() == 0
    screenshot("a11y-row-menu-awaiting")


def test_meaning_without_colour_cells_statuses_and_reasons_are_text(page, live_demo, sign_in):
    page.set_default_timeout(TIMEOUT)
    sign_in("developer")
    page.goto(f"{live_demo.url}/me/permissions/")
    cells = page.locator("[data-testid=permission-grid] td.cell summary")
    texts = set(cells.evaluate_all("ns => ns.map(n => n.textContent.trim())"))
    assert all(text for text in texts), texts
    assert len(texts) >= 2, texts  # allowed and denied read differently, not only by colour
    page.goto(f"{live_demo.url}/images/?project=cn-north-4_dev")
    statuses = page.locator("#image-results .badge[class*=status-]").evaluate_all(
        "ns => ns.map(n => n.textContent.trim())")
    assert statuses and all(statuses), statuses
