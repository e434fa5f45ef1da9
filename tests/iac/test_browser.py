"""IAM as code in Chromium: export the file, edit it, import it, read the plan, confirm, see it applied."""

import json

import pytest
from playwright.sync_api import expect

from accounts.models import Membership, UserGroup

pytestmark = pytest.mark.browser


def test_export_edit_import_plan_and_confirm(page, live_demo, sign_in, screenshot, tmp_path):
    page.set_default_timeout(15_000)
    sign_in("admin")
    page.goto(f"{live_demo.url}/iam/config/")
    expect(page.get_by_role("heading", name="IAM configuration")).to_be_visible()
    expect(page.get_by_role("link", name="Configuration")).to_have_attribute("aria-current", "page")
    screenshot("iac-page")

    with page.expect_download() as download_info:
        page.get_by_test_id("export").click()
    download = download_info.value
    assert download.suggested_filename.startswith("imsperm-iam-")
    exported = tmp_path / "iam.json"
    download.save_as(exported)
    data = json.loads(exported.read_text())
    assert {"regions", "users", "groups", "policies", "grants"} <= set(data)

    # The edit a reviewer would make in version control: a new team member, a wider grant.
    data["users"].append({"username": "frank", "email": "frank@example.com"})
    viewers = next(g for g in data["groups"] if g["name"] == "viewers")
    viewers["members"].append("frank")
    viewers["description"] = "Read-only access to images, everywhere"
    data["grants"].append({"group": "viewers", "policy": "Server Administrator", "scope": ["cn-north-4_dev"]})
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data, indent=2))

    page.set_input_files("input[name=file]", str(edited))
    page.get_by_test_id("review").click()
    plan = page.get_by_test_id("plan")
    expect(plan).to_be_visible()
    expect(page.get_by_test_id("plan-counts")).to_contain_text("5 to create, 1 to change, 0 to remove")
    expect(plan).to_contain_text("frank in viewers")
    expect(plan).to_contain_text("comes along with Server Administrator (a role dependency)")
    expect(plan.locator('[data-testid=effect][data-user="frank"]')).to_be_visible()
    expect(plan.locator('[data-testid=effect][data-user="viewer"]')).to_contain_text("denied → allowed")
    screenshot("iac-plan")
    assert not UserGroup.objects.filter(name="viewers", memberships__user__username="frank").exists()

    page.get_by_test_id("apply").click()
    dialog = page.locator("dialog.confirm-dialog")
    expect(dialog).to_be_visible()
    screenshot("iac-confirm")
    dialog.locator("[data-confirm-ok]").click()

    result = page.get_by_test_id("result")
    expect(result).to_contain_text("Imported: 5 created, 1 changed, 0 removed")
    expect(page.get_by_test_id("created-users")).to_contain_text("frank")
    screenshot("iac-applied")
    assert Membership.objects.filter(group__name="viewers", user__username="frank").exists()

    # The same file again: nothing to do.
    page.set_input_files("input[name=file]", str(edited))
    page.get_by_test_id("review").click()
    expect(page.get_by_test_id("plan-noop")).to_be_visible()


def test_a_refused_file_shows_where_and_changes_nothing(page, live_demo, sign_in, screenshot):
    page.set_default_timeout(15_000)
    sign_in("iam-admin")
    data = json.loads(page.request.get(f"{live_demo.url}/iam/config/export.json").text())
    data["grants"].append({"group": "iam-admins", "policy": "IMS FullAccess", "scope": "all_resources"})
    page.goto(f"{live_demo.url}/iam/config/")
    page.fill("textarea[name=document]", json.dumps(data, indent=2))
    page.get_by_test_id("review").click()
    errors = page.get_by_test_id("errors")
    expect(errors).to_contain_text(f"$.grants[{len(data['grants']) - 1}]")
    expect(errors).to_contain_text("would hand over permissions you do not hold yourself")
    expect(page.get_by_test_id("apply")).to_have_count(0)
    screenshot("iac-refused")
