"""A page state's fingerprint, and the states a test run has already checked (shared by xdist's workers).

The browser sweeps look at every page as every persona sees it. Many personas see the same markup (a
refusal page, a list they may all read): checking that markup once per run says as much as checking it
seven times. `fingerprint` names a state by what can change the sweeps' answers, and `Checked.first`
says whether this run has looked at that state yet.

What the fingerprint keeps: every element in document order with all its attributes and their values
(role, aria-*, class (colours), style, hidden, open, href…), every text, and, from the live page
(`live_state`), each form control's value and checkedness, the focused element and the rendered size of
each target (links, buttons, fields, summaries, menu items) and of the top bar.

What it replaces, because it differs between two renderings of the same state and no check reads it:
- CSRF token values (the hidden inputs, `hx-headers` on <body>) and CSP nonces: random per response;
  axe reads neither (a hidden input is not rendered; an attribute value of a token is not a name, a
  label or a colour).
- The signed-in person's name in the top bar (`[data-testid=current-user]`), a plain <span>, not a
  target. Its text is never empty, so axe's name and contrast rules answer the same whatever it says
  (contrast reads the span's colours, not its letters). Its length moves the Sign out button sideways
  and could wrap the top bar: so the top bar's height and every target's rendered width and height
  are part of the fingerprint, and a name that wrapped the bar or resized a target makes a state of
  its own. What stays unhashed is the sideways shift itself, which only axe's target-size rule could
  read, and only for a target under 24 px next to the name; the top bar has none (the sizes are in
  the fingerprint, so one appearing there would show as a new state rather than hide).
  The phone tour's overflow check depends on that width too, so the tour measures overflow for every
  persona and uses the fingerprint only to take each distinct state's screenshots once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

USER_PLACEHOLDER = "<signed-in user>"
TOKEN_PLACEHOLDER = "<csrf token>"

# Read from the live page: what the markup does not say (properties, focus, rendered sizes).
LIVE_STATE = """() => {
  const controls = [...document.querySelectorAll('input, select, textarea')]
    .filter(el => !(el.type === 'hidden' && el.name === 'csrfmiddlewaretoken'))
    .map(el => [el.name || el.id, el.type, el.value, !!el.checked]);
  const focused = document.activeElement;
  const path = [];
  for (let el = focused; el && el.parentElement; el = el.parentElement) {
    path.unshift([...el.parentElement.children].indexOf(el));
  }
  const sizes = [...document.querySelectorAll(
      'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [role=menuitem],'
      + ' [role=tab], [tabindex]')]
    .map(el => { const r = el.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]; });
  const bar = document.querySelector('header.topbar');
  return {controls, focused: path, sizes, topbar: bar ? Math.round(bar.getBoundingClientRect().height) : null};
}"""


class _Canonical(HTMLParser):
    """Elements with sorted attributes and collapsed texts; comments dropped; token values noted."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.events: list[list] = []
        self.tokens: set[str] = set()
        self.in_user = 0  # depth inside the signed-in person's name

    def handle_starttag(self, tag, attrs):
        values = {name: value or "" for name, value in attrs}
        if values.get("name") == "csrfmiddlewaretoken" and values.get("value"):
            self.tokens.add(values["value"])
        if "hx-headers" in values:
            try:
                token = json.loads(values["hx-headers"]).get("X-CSRFToken")
            except (ValueError, AttributeError):
                token = None
            if token:
                self.tokens.add(token)
        if "nonce" in values:
            values["nonce"] = "<nonce>"
        if self.in_user:
            self.in_user += 1
        elif values.get("data-testid") == "current-user":
            self.in_user = 1
            self.events.append(["<", tag, sorted(values.items())])
            self.events.append(["#", USER_PLACEHOLDER])
            return
        self.events.append(["<", tag, sorted(values.items())])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if self.in_user:
            self.in_user -= 1
            if self.in_user:
                return
        self.events.append([">", tag])

    def handle_data(self, data):
        text = " ".join(data.split())
        if text and not self.in_user:
            self.events.append(["#", text])


def canonical(html: str) -> str:
    """The markup as the sweeps see it: the same string for two renderings of the same state."""
    parser = _Canonical()
    parser.feed(html)
    parser.close()
    text = json.dumps(parser.events, ensure_ascii=False)
    for token in parser.tokens:
        text = text.replace(token, TOKEN_PLACEHOLDER)
    return text


def fingerprint(html: str, live: dict | None = None, *extra: str) -> str:
    """A short name for the state: its canonical markup, what the live page adds, and any `extra` (the part
    of the page a check looks at, the check's name)."""
    digest = hashlib.sha256(canonical(html).encode())
    digest.update(json.dumps(live, sort_keys=True).encode())
    for part in extra:
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()[:32]


def page_fingerprint(page, *extra: str) -> str:
    """The fingerprint of what `page` shows now."""
    return fingerprint(page.content(), page.evaluate(LIVE_STATE), *extra)


_this_process: dict[str, dict[str, str]] = {}


def _tidy_earlier_runs(older_than: float = 24 * 3600) -> None:
    """The folders of runs that ended long ago (a run's own is a few hundred empty-sized files)."""
    for folder in Path(tempfile.gettempdir()).glob("imsperm-page-states-*"):
        with contextlib.suppress(OSError):
            if time.time() - folder.stat().st_mtime > older_than:
                shutil.rmtree(folder, ignore_errors=True)


class Checked:
    """The states a test run has checked, for one kind of check ("axe", "tour").

    Under xdist the workers share a directory under the temporary directory named by the run's id
    (PYTEST_XDIST_TESTRUNUID): the first to create a state's file (an exclusive create, atomic) checks it
    and its test reports what it finds; the others skip it. Without xdist, a set in this process."""

    def __init__(self, kind: str):
        run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
        self.folder = Path(tempfile.gettempdir()) / f"imsperm-page-states-{run}" / kind if run else None
        if self.folder:
            _tidy_earlier_runs()
            self.folder.mkdir(parents=True, exist_ok=True)
        self.local = _this_process.setdefault(kind, {})

    def first(self, state: str, who: str) -> str | None:
        """None if `who` is the first to claim `state` in this run (so must check it); else who claimed it."""
        if self.folder is None:
            if state in self.local:
                return self.local[state]
            self.local[state] = who
            return None
        path = self.folder / state
        self.folder.mkdir(parents=True, exist_ok=True)  # should something have tidied the temporary directory
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return path.read_text() or "another test"
        with os.fdopen(descriptor, "w") as claimed:
            claimed.write(who)
        return None
