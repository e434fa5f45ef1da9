"""The browser sweeps check each distinct page state once per run (tests/page_states.py): two renderings of
the same state must share a fingerprint, and anything that can change a check's answer must not."""

from __future__ import annotations

from .page_states import Checked, canonical, fingerprint

PAGE = """<!DOCTYPE html><html lang="en" data-theme="auto"><head>
<script src="/static/js/console.js" defer nonce="{nonce}"></script></head>
<body hx-headers='{{"X-CSRFToken": "{token}"}}'>
<header class="topbar"><div class="userbox">
  <span class="username" data-testid="current-user">{user}</span>
  <form method="post" action="/accounts/logout/"><input type="hidden" name="csrfmiddlewaretoken" value="{token}">
  <button type="submit" class="link-button">Sign out</button></form></div></header>
<main id="main" tabindex="-1"><h1>Users</h1>
  <a class="button" href="/iam/users/new/" aria-label="Create user">Create</a>
  <span class="badge status-active" role="status">active</span>
  <!-- rendered in {ms} ms -->
</main></body></html>"""

LIVE = {"controls": [], "focused": [1, 0], "sizes": [[80, 32], [64, 24]], "topbar": 56}


def rendering(user="admin", token="a" * 64, nonce="n0nce1", ms=3, **changes) -> str:
    html = PAGE.format(user=user, token=token, nonce=nonce, ms=ms)
    for old, new in changes.items():
        assert old.replace("_", "-") in html
        html = html.replace(old.replace("_", "-"), new)
    return html


def test_two_personas_renderings_of_the_same_state_share_a_fingerprint():
    admin = rendering()
    viewer = rendering(user="iam-admin", token="Zq" * 32, nonce="other", ms=7)
    assert admin != viewer
    assert fingerprint(admin, LIVE) == fingerprint(viewer, LIVE)


def test_anything_a_check_can_read_makes_a_state_of_its_own():
    same = fingerprint(rendering(), LIVE)
    changed = {
        "an attribute's value": rendering(**{'aria-label="Create user"': 'aria-label="Create"'}),
        "an attribute gone": rendering(**{' aria-label="Create user"': ""}),
        "an attribute added": rendering(**{'tabindex="-1"': 'tabindex="-1" hidden'}),
        "a role": rendering(**{'role="status"': 'role="alert"'}),
        "a colour class": rendering(**{"status-active": "status-failed"}),
        "an element": rendering(**{"<h1>Users</h1>": "<h2>Users</h2>"}),
        "a text": rendering(**{">Create</a>": "></a>"}),
        "the name outside the top bar": rendering(**{"<h1>Users</h1>": "<h1>admin</h1>"}),
    }
    for what, html in changed.items():
        assert fingerprint(html, LIVE) != same, what
    for what, live in {"a target's size": {**LIVE, "sizes": [[80, 32], [64, 20]]},
                       "the top bar wrapped": {**LIVE, "topbar": 96},
                       "the focus": {**LIVE, "focused": [1, 1]}}.items():
        assert fingerprint(rendering(), live) != same, what
    assert fingerprint(rendering(), LIVE, "[role=menu]") != same  # a part of the page is a check of its own


def test_only_the_tokens_and_the_name_are_replaced():
    text = canonical(rendering(user="newcomer", token="b" * 64))
    assert "b" * 64 not in text and "newcomer" not in text and "n0nce1" not in text
    assert "Create user" in text and "status-active" in text and "link-button" in text


def test_a_state_is_claimed_once_per_run(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_TESTRUNUID", f"test-{tmp_path.name}")
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    first, second = Checked("axe"), Checked("axe")  # as two workers would
    assert first.first("state-1", "admin /iam/users/") is None
    assert second.first("state-1", "viewer /iam/users/") == "admin /iam/users/"
    assert second.first("state-2", "viewer /iam/groups/") is None
    monkeypatch.delenv("PYTEST_XDIST_TESTRUNUID")
    alone = Checked(f"tour-{tmp_path.name}")
    assert alone.first("state-1", "admin") is None and alone.first("state-1", "viewer") == "admin"
