"""Back and Forward through the console's htmx history, taken the way a browser test must take them.

htmx keeps no snapshots here (`historyCacheSize` 0, `refreshOnHistoryMiss`): Back changes the address at
once, then reloads the page from it. A test that reads or acts before that reload lands races it: it reads
the page it left, or its next Back is swallowed by the reload still under way. These wait for the
reloaded page's load event."""

from __future__ import annotations


def back(page) -> None:
    """Back to an address htmx pushed, once the page has been reloaded from it."""
    with page.expect_event("load"):
        page.go_back()


def forward(page) -> None:
    """Forward to an address htmx pushed, once the page has been reloaded from it."""
    with page.expect_event("load"):
        page.go_forward()
