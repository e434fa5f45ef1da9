"""The image browser in Chromium, as viewer, developer and ims-admin: what each sees and can do."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import qcow2_bytes

pytestmark = pytest.mark.browser
TIMEOUT = 5000


def enabled_operations(page, scope="body"):
    """The data-operation names of the enabled controls inside `scope`, read once the page has loaded."""
    page.wait_for_load_state()
    page.locator(scope).first.wait_for(state="attached")
    return set(page.eval_on_selector_all(
        f"{scope} [data-operation]:not([aria-disabled=true]):not([disabled])",
        "nodes => nodes.map(n => n.dataset.operation)",
    ))


def test_viewer_browses_filters_and_pages_with_htmx_and_sees_no_operations(sign_in, live_demo, screenshot):
    page = sign_in("viewer")
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{live_demo.url}/images/?project=cn-north-4&size=10")
    expect(page.get_by_test_id("image-table")).to_be_visible()
    expect(page.get_by_test_id("page-summary")).to_have_text("1–10 of 11")
    assert page.locator("[data-image-id]").count() == 10
    assert enabled_operations(page) == set()
    assert page.locator("[data-operation]").count() == 0  # every IMS write is denied: nothing is drawn

    page.get_by_role("link", name="Next").click()
    expect(page.get_by_test_id("page-summary")).to_have_text("11–11 of 11")
    expect(page).to_have_url(re.compile(r"cursor="))

    page.fill("#filter-q", "data")
    expect(page.get_by_test_id("page-summary")).to_have_text("1–4 of 4")
    expect(page).to_have_url(re.compile(r"q=data"))
    page.select_option("#filter-architecture", "arm")
    expect(page.get_by_test_id("page-summary")).to_have_text("1–2 of 2")
    expect(page).to_have_url(re.compile(r"architecture=arm"))
    screenshot("images-viewer-filtered")

    page.reload()  # the pushed URL loads the same list directly
    expect(page.get_by_test_id("page-summary")).to_have_text("1–2 of 2")
    page.get_by_role("link", name="cn-north-4-centos-data-01").click()
    expect(page.get_by_test_id("image-name")).to_have_text("cn-north-4-centos-data-01")
    assert page.locator("[data-operation]").count() == 0
    screenshot("images-viewer-details")


def test_developer_creates_an_image_and_uploads_a_qcow2_file_with_a_progress_bar(
    sign_in, live_demo, screenshot, tmp_path
):
    page = sign_in("developer")
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{live_demo.url}/images/")
    expect(page.get_by_test_id("current-project")).to_have_text("cn-north-4_dev")
    switcher = page.locator("#project-switcher")
    assert switcher.locator("option[value='cn-north-4']").is_disabled()
    row = page.locator("tr", has_text="cn-north-4-dev-centos-system-00")
    row.get_by_text("Operations").click()
    open_menu = "tr[data-image-id] [role=menu]:not([hidden])"
    assert enabled_operations(page, open_menu) == {"modify", "share", "export", "replicate"}
    assert row.locator("[data-operation=delete]").count() == 0  # DenyImageDeletion: not even drawn
    screenshot("images-developer-list")

    page.get_by_role("link", name="Create system disk image").click()
    page.fill("#id_name", "dev web 1")
    page.select_option("#id_disk_format", "qcow2")
    page.get_by_role("button", name="Create image").click()
    expect(page.get_by_test_id("image-status")).to_have_text("Queued")
    assert enabled_operations(page, "[data-testid=operation-bar]") == {"tags", "upload", "share"}

    disk = tmp_path / "small.qcow2"
    disk.write_bytes(qcow2_bytes(3 * 1024 * 1024))
    # A slow uplink (1 MB/s) so the progress bar is seen moving.
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    network.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 1024 * 1024})
    page.set_input_files("input[type=file]", str(disk))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("[data-upload-percent]")).to_have_text(re.compile(r"^\d+%$"))
    expect(page.locator("progress[data-upload-progress]")).to_be_visible()
    screenshot("images-developer-upload-progress")
    expect(page.get_by_test_id("image-status")).to_have_text("Active")
    expect(page.locator("#messages")).to_contain_text("is now active")
    screenshot("images-developer-uploaded")


def test_ims_admin_shares_accepts_and_deletes(sign_in, live_demo, screenshot):
    page = sign_in("ims-admin")
    page.set_default_timeout(TIMEOUT)
    native = []
    page.on("dialog", lambda dialog: (native.append(dialog.message), dialog.dismiss()))
    page.goto(f"{live_demo.url}/images/?project=eu-west-101")
    page.get_by_role("link", name="eu-west-101-euleros-system-06").click()
    expect(page.get_by_test_id("image-name")).to_have_text("eu-west-101-euleros-system-06")
    assert enabled_operations(page, "[data-testid=operation-bar]") == {
        "modify", "tags", "share", "export", "replicate", "delete"}
    # an active image never takes a file again: Upload is left out, not shown disabled
    expect(page.locator("[data-testid=operation-bar] [data-operation=upload]")).to_have_count(0)
    page.get_by_role("button", name="Share", exact=True).click()
    expect(page.locator("#share")).to_contain_text("Choose at least one project.")
    picker = page.get_by_test_id("share-picker")
    picker.get_by_placeholder("Filter projects").fill("dev")  # a searchable list, not typed names
    expect(picker.locator("[data-share-choice]:visible")).to_have_count(1)
    picker.get_by_label("cn-north-4_dev").check()
    page.get_by_role("button", name="Share", exact=True).click()
    expect(page.locator("#messages")).to_contain_text("is shared with cn-north-4_dev")
    expect(page.locator("[data-member='cn-north-4_dev']")).to_contain_text("Pending")
    screenshot("images-admin-shared")

    page.goto(f"{live_demo.url}/images/?project=cn-north-4_dev&tab=awaiting")
    row = page.locator("tr", has_text="eu-west-101-euleros-system-06")
    row.get_by_text("Operations").click()
    screenshot("images-admin-awaiting")
    row.locator("[data-operation=accept]").click()
    expect(page.locator("#messages")).to_contain_text("You accepted eu-west-101-euleros-system-06 in cn-north-4_dev")
    page.goto(f"{live_demo.url}/images/?project=cn-north-4_dev&tab=shared")
    expect(page.locator("tr", has_text="eu-west-101-euleros-system-06")).to_be_visible()

    page.goto(f"{live_demo.url}/images/?project=eu-west-101")
    row = page.locator("tr", has_text="eu-west-101-euleros-system-06")
    row.get_by_text("Operations").click()
    row.locator("[data-operation=delete]").click()
    dialog = page.locator("dialog.confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Delete image eu-west-101-euleros-system-06? This cannot be undone.")
    screenshot("images-admin-delete-confirm")
    page.keyboard.press("Escape")  # cancelling sends nothing and gives focus back to the menu's button
    expect(dialog).to_be_hidden()
    expect(row.locator("[data-menu-button]")).to_be_focused()
    expect(page.locator("tr", has_text="eu-west-101-euleros-system-06")).to_have_count(1)
    row.locator("[data-menu-button]").click()
    row.locator("[data-operation=delete]").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator("#messages")).to_contain_text("Image eu-west-101-euleros-system-06 was deleted.")
    assert native == []  # asked once, in the console's own dialog
    expect(page.locator("tr", has_text="eu-west-101-euleros-system-06")).to_have_count(0)
    screenshot("images-admin-deleted")


def test_newcomer_sees_what_is_missing_instead_of_an_empty_table(sign_in, live_demo, screenshot):
    page = sign_in("newcomer")
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{live_demo.url}/images/")
    expect(page.get_by_test_id("no-list-permission")).to_contain_text("ims:images:list")
    screenshot("images-newcomer")


def test_a_stale_modify_is_refused_in_place_keeping_the_input_and_a_second_save_overwrites(
    sign_in, live_demo, screenshot
):
    from images import services
    from images.models import Image

    page = sign_in("ims-admin")
    page.set_default_timeout(TIMEOUT)
    image = Image.objects.get(name="cn-north-4-centos-data-01")
    page.goto(f"{live_demo.url}/images/{image.pk}/?project=cn-north-4")
    form = page.locator("#modify form")
    form.locator("textarea[name=description]").fill("mine")
    # Meanwhile someone else saves the image from the revision this page loaded.
    services.image_update(actor=None, image=image, expected_revision=image.revision, description="theirs")

    form.get_by_role("button", name="Save changes").click()
    expect(page.locator("#modify [role=alert]")).to_contain_text("was changed by someone else")
    expect(page.get_by_test_id("current-values")).to_contain_text("theirs")
    expect(page.locator("#modify textarea[name=description]")).to_have_value("mine")
    screenshot("images-modify-conflict")

    page.locator("#modify").get_by_role("button", name="Save changes").click()
    expect(page.get_by_test_id("image-name")).to_have_text("cn-north-4-centos-data-01")
    expect(page.locator("[data-testid=attributes]")).to_contain_text("mine")
    image.refresh_from_db()
    assert image.description == "mine"


def test_a_failed_upload_leaves_no_part_of_the_page_saying_queued(sign_in, live_demo, screenshot, tmp_path):
    """The file's content kills the image: the header, the banner and the controls all follow."""
    page = sign_in("developer")
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{live_demo.url}/images/create/?kind=system")
    page.fill("#id_name", "dev broken 1")
    page.select_option("#id_disk_format", "qcow2")
    page.get_by_role("button", name="Create image").click()
    expect(page.get_by_test_id("image-status")).to_have_text("Queued")
    not_a_disk = tmp_path / "notes.qcow2"
    not_a_disk.write_bytes(b"these are meeting notes, not a disk image\n" * 100)
    page.set_input_files("input[type=file]", str(not_a_disk))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_test_id("image-status")).to_have_text("Killed")
    expect(page.locator("#messages")).to_contain_text("now killed")
    assert "upload" not in enabled_operations(page, "[data-testid=operation-bar]")
    expect(page.get_by_text("Upload its file next")).to_have_count(0)
    screenshot("images-developer-upload-killed")
