"""The policy editor and the simulator in Chromium, with a screenshot of every page they show."""

import pytest
from playwright.sync_api import expect

from accounts import services
from accounts.models import Policy, User

pytestmark = pytest.mark.browser


def _settled(page):
    """Wait until htmx has swapped, processed and settled what it last received."""
    expect(page.locator(".htmx-request, .htmx-added, .htmx-settling, .htmx-swapping")).to_have_count(0)


def test_iam_admin_writes_a_policy_in_both_editors(page, live_demo, sign_in, screenshot):
    page.set_default_timeout(8_000)
    sign_in("iam-admin")
    page.goto(f"{live_demo.url}/iam/policies/new/")
    page.fill("input[name=name]", "Image readers in CI")
    page.fill("input[name=description]", "Read images, nothing else")
    page.check('input[name="s0-actions"][value="ims:images:get"]')
    page.check('input[name="s0-actions"][value="ims:images:list"]')
    _settled(page)
    page.click("text=Add condition")
    page.select_option('select[name="s0-c0-operator"]', "StringEquals")
    page.fill('input[name="s0-c0-key"]', "g:UserName")
    page.fill('input[name="s0-c0-values"]', "ci-bot, release-bot")
    page.locator('input[name="s0-c0-values"]').blur()
    expect(page.get_by_test_id("no-findings")).to_be_visible()
    screenshot("policy-editor-visual")

    page.get_by_test_id("switch-json").click()
    text = page.locator("textarea[data-policy-text]")
    expect(text).to_be_visible()
    expect(text).to_have_value(
        '{\n  "Version": "1.1",\n  "Statement": [\n    {\n      "Effect": "Allow",\n      "Action": [\n'
        '        "ims:images:list",\n        "ims:images:get"\n      ],\n      "Condition": {\n'
        '        "StringEquals": {\n          "g:UserName": [\n            "ci-bot",\n            "release-bot"\n'
        "          ]\n        }\n      }\n    }\n  ]\n}")
    page.get_by_test_id("switch-visual").click()
    expect(page.locator('input[name="s0-actions"][value="ims:images:get"]')).to_be_checked()
    expect(page.locator('input[name="s0-actions"][value="ims:images:list"]')).to_be_checked()
    expect(page.locator('input[name="s0-c0-values"]')).to_have_value("ci-bot, release-bot")

    page.get_by_test_id("switch-json").click()
    expect(page.locator("#policy-editor")).to_have_attribute("data-mode", "json")
    _settled(page)
    broken = text.input_value().replace('"ims:images:get"', '"ims:images:gte"')
    text.fill(broken)
    text.press("End")
    finding = page.locator("li.finding-error")
    expect(finding).to_contain_text('did you mean "ims:images:get"')
    expect(finding.locator(".finding-where")).to_have_text("8:9")
    expect(page.locator('.gutter-line[data-line="8"]')).to_have_class("gutter-line has-error")
    screenshot("policy-editor-json-finding")
    page.get_by_test_id("save-policy").click()
    expect(page.get_by_test_id("not-saved")).to_be_visible()
    assert not Policy.objects.filter(name="Image readers in CI").exists()

    text.fill(broken.replace("gte", "get"))
    text.press("End")
    expect(page.get_by_test_id("no-findings")).to_be_visible()
    expect(page.get_by_test_id("not-saved")).to_have_count(0)  # the banner follows the fix
    expect(page.get_by_test_id("errors-fixed")).to_contain_text("the errors are fixed: save to keep the policy")
    page.get_by_test_id("save-policy").click()
    expect(page.get_by_role("heading", name="Image readers in CI")).to_be_visible()
    expect(page.get_by_test_id("policy-document")).to_contain_text('"release-bot"')
    screenshot("policy-detail-custom")
    page.goto(f"{live_demo.url}/iam/policies/?kind=custom")
    row = page.locator('tr[data-policy="Image readers in CI"]')
    expect(row).to_contain_text("Read images, nothing else")
    expect(row).to_contain_text("Custom policy")
    screenshot("policy-list-custom")


def test_simulator_shows_developer_deletion_denied_by_deny_image_deletion(page, live_demo, sign_in, screenshot):
    page.set_default_timeout(8_000)
    sign_in("iam-admin")
    page.goto(f"{live_demo.url}/iam/simulator/")
    expect(page.locator(".subject-document")).to_be_hidden()
    page.select_option("select[name=user]", "developer")
    page.check("input[name=actions][value=\"ims:images:delete\"]")
    page.check("input[name=actions][value=\"ims:images:list\"]")
    page.select_option("select[name=project]", "cn-north-4_dev")
    page.get_by_test_id("simulate").click()
    delete = page.locator('article[data-action="ims:images:delete"]')
    expect(delete).to_have_attribute("data-outcome", "explicit_deny")
    expect(delete.locator('tr[data-policy="DenyImageDeletion"]')).to_contain_text("Statement 1")
    expect(delete.locator('tr[data-policy="DenyImageDeletion"]')).to_contain_text("developers")
    expect(page.locator('article[data-action="ims:images:list"]')).to_have_attribute("data-outcome", "allow")
    screenshot("simulator-developer")

    page.check("input[name=subject][value=document]")
    expect(page.locator(".subject-user")).to_be_hidden()
    page.fill("textarea[name=document]", '{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": '
              '["ims:images:delete"], "Condition": {"StringEquals": {"ims:ResourceTag/env": ["dev"]}}}]}')
    page.check("input[name=actions][value=\"ims:images:delete\"]")
    page.get_by_test_id("simulate").click()
    expect(page.get_by_test_id("missing-keys")).to_contain_text("ims:ResourceTag/env")
    screenshot("simulator-pasted-policy")

    page.get_by_role("link", name="What can this user do").click()
    page.select_option("#effective-user", "developer")
    page.get_by_test_id("show-effective").click()
    cell = page.locator('tr[data-action="ims:images:delete"] td[data-project="cn-north-4_dev"]')
    expect(cell).to_have_attribute("data-outcome", "explicit_deny")
    cell.locator("summary").click()
    expect(cell).to_contain_text("DenyImageDeletion Statement 1")
    screenshot("simulator-effective-developer")


def test_every_other_policy_page(page, live_demo, sign_in, screenshot):
    """List, a system role, clone, delete (refused and allowed), and a concurrent-edit conflict."""
    page.set_default_timeout(8_000)
    sign_in("iam-admin")
    page.goto(f"{live_demo.url}/iam/policies/")
    expect(page.get_by_test_id("policy-list")).to_contain_text("Server Administrator")
    screenshot("policy-list")
    page.click("text=Server Administrator")
    expect(page.get_by_test_id("dependencies")).to_contain_text("IMS Administrator")
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    screenshot("policy-detail-system-role")
    page.get_by_role("link", name="Clone").click()
    expect(page.locator("input[name=name]")).to_have_value("Server Administrator (copy)")
    screenshot("policy-clone")
    page.get_by_role("button", name="Create copy").click()
    expect(page.get_by_role("heading", name="Server Administrator (copy)")).to_be_visible()

    deny = Policy.objects.get(name="DenyImageDeletion")
    page.goto(f"{live_demo.url}/iam/policies/{deny.pk}/delete/")
    expect(page.get_by_test_id("delete-confirm")).to_contain_text("attached to developers")
    screenshot("policy-delete-refused")

    copy = Policy.objects.get(name="Server Administrator (copy)")
    page.goto(f"{live_demo.url}/iam/policies/{copy.pk}/edit/?mode=json")
    services.policy_update(actor=User.objects.get(username="admin"), policy=copy, name=copy.name, description="",
                           document={"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:*:*"]}]},
                           expected_revision=copy.revision)
    text = page.locator("textarea[data-policy-text]")
    text.fill('{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]}')
    page.get_by_test_id("save-policy").click()
    expect(page.get_by_test_id("conflict")).to_contain_text("was changed by someone else")
    expect(text).to_have_value('{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]}')
    expect(page.get_by_test_id("their-version")).to_contain_text('"ims:*:*"')
    screenshot("policy-edit-conflict")

    page.goto(f"{live_demo.url}/iam/policies/{copy.pk}/delete/")
    screenshot("policy-delete-confirm")
    page.get_by_role("button", name="Delete Server Administrator (copy)").click()
    expect(page.locator("#messages")).to_contain_text("Deleted Server Administrator (copy).")


def test_viewer_sees_the_pages_disabled_and_refused(page, live_demo, sign_in, screenshot):
    page.set_default_timeout(8_000)
    sign_in("viewer")
    expect(page.locator(".sidenav span.disabled", has_text="Policies")).to_be_visible()
    page.goto(f"{live_demo.url}/iam/simulator/")
    expect(page.get_by_test_id("forbidden")).to_contain_text("iam:permissions:listPermissions")
    screenshot("simulator-forbidden-viewer")
