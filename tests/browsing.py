"""How browser tests sign in, wait for a page and go Back and Forward: written once, the way each must be.

- Waiting for a page: `settled` waits until the page has loaded and each part htmx fetches after it
  (`hx-trigger="load"`: the access-request badge, the policy editor's check) has been swapped in.
  Playwright's `networkidle` waits for that too, then for half a second of silence on every page: idle
  seconds in every test, and a guess rather than the event the test means.
- History: htmx keeps no snapshots here (`historyCacheSize` 0, `refreshOnHistoryMiss`): Back changes the
  address at once, then reloads the page from it. A test that reads or acts before that reload lands
  races it: it reads the page it left, or its next Back is swallowed by the reload still under way.
"""

from __future__ import annotations

from accounts.management.commands.seed_demo import DEMO_PASSWORD as PASSWORD

HTMX_AT_REST = ("() => document.readyState === 'complete'"
                " && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


def settled(page) -> None:
    """Once the page has loaded and nothing htmx started is still in flight or being swapped in."""
    page.wait_for_function(HTMX_AT_REST)


def submit_and_settle(page, selector: str) -> None:
    """Clicks a button that submits a plain form (a navigation), then waits for the page it leads to."""
    with page.expect_navigation():
        page.click(selector)
    settled(page)


def sign_in(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Signs in through the real form and waits for the page it lands on (or the form again, refused)."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    submit_and_settle(page, "button[type=submit]")


def back(page) -> None:
    """Back to an address htmx pushed, once the page has been reloaded from it."""
    with page.expect_event("load"):
        page.go_back()


def forward(page) -> None:
    """Forward to an address htmx pushed, once the page has been reloaded from it."""
    with page.expect_event("load"):
        page.go_forward()
