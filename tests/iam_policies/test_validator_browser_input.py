"""Issue 19, item 12: the JSON editor's validator runs on every change of the text (the `input` event,
debounced), so a paste, a drop or a fill without any key leaves no stale findings."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

BROKEN = '{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:gte"]}]}'
FIXED = '{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:get"]}]}'


def _validations(page):
    sent = []
    page.on("request", lambda request: sent.append(request.url) if "/policies/validate/" in request.url else None)
    return sent


def test_fill_and_paste_without_keys_refresh_the_findings(page, live_demo, sign_in, screenshot):
    page.set_default_timeout(8_000)
    sign_in("iam-admin")
    page.goto(f"{live_demo.url}/iam/policies/new/?mode=json")
    text = page.locator("textarea[data-policy-text]")
    expect(text).to_be_visible()
    sent = _validations(page)

    text.fill(BROKEN)  # sets the value and fires `input`: no keyup, no change
    expect(page.locator("li.finding-error")).to_contain_text('did you mean "ims:images:get"')
    screenshot("policy-validator-after-fill")

    # A paste: the value changes and an `input` event of type insertFromPaste follows, no key at all.
    text.evaluate("""(area, value) => {
        area.value = value;
        area.dispatchEvent(new InputEvent("input", {bubbles: true, inputType: "insertFromPaste", data: value}));
    }""", FIXED)
    expect(page.get_by_test_id("no-findings")).to_be_visible()
    expect(page.locator("li.finding-error")).to_have_count(0)
    screenshot("policy-validator-after-paste")
    assert len(sent) == 2, sent


def test_typing_is_debounced_into_one_validation(page, live_demo, sign_in):
    page.set_default_timeout(8_000)
    sign_in("iam-admin")
    page.goto(f"{live_demo.url}/iam/policies/new/?mode=json")
    text = page.locator("textarea[data-policy-text]")
    text.fill("")
    page.wait_for_timeout(700)
    sent = _validations(page)
    text.press_sequentially(BROKEN, delay=5)
    expect(page.locator("li.finding-error")).to_contain_text('did you mean "ims:images:get"')
    page.wait_for_timeout(700)
    assert 1 <= len(sent) <= 3, sent  # dozens of keystrokes, a few requests
