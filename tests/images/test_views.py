"""Every URL of the image browser four ways: anonymous, forbidden, allowed, out of the user's projects.

Expected answers are written out by hand from the seeded personas (tests/accounts/test_persona_matrix.py):
viewer reads everywhere, developer works only in cn-north-4_dev (no deletion), iam-admin holds no IMS
action anywhere, newcomer holds nothing.
"""

import re
import uuid
from html import unescape as html_unescape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Project, User
from images.models import Image, ImageTag

from .conftest import qcow2_bytes

pytestmark = pytest.mark.usefixtures("demo")

UBUNTU_00 = "cn-north-4-ubuntu-system-00"  # active zvhd2, shared (accepted) with cn-north-4_dev
EU_ACTIVE = "eu-west-101-euleros-system-06"  # active, private to eu-west-101, shared with nobody
DEV_ACTIVE = "cn-north-4-dev-centos-system-00"  # active vhd, private to cn-north-4_dev


def url_of(image_id, name, operation=""):
    return f"/images/{image_id(name)}/" + (f"{operation}/" if operation else "")


# --- /images/ -------------------------------------------------------------------------------


def test_list_sends_anonymous_users_to_sign_in(client):
    response = client.get("/images/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("persona", ["newcomer", "iam-admin"])
def test_list_without_ims_images_list_explains_what_is_missing(as_user, persona):
    response = as_user(persona).get("/images/")
    assert response.status_code == 403
    html = response.content.decode()
    assert 'data-testid="no-list-permission"' in html
    assert "ims:images:list" in html
    assert "admin group" in html and "Security Administrator" in html
    assert 'data-testid="image-table"' not in html


def test_list_shows_the_current_projects_private_images(as_user):
    response = as_user("viewer").get("/images/?project=cn-north-4")
    assert response.status_code == 200
    html = response.content.decode()
    assert "cn-north-4-centos-data-01" in html
    assert "eu-west-101-euleros-system-06" not in html
    assert "cn-north-4-ubuntu-system-06" not in html  # status deleted: only with the status filter
    assert 'data-action="ims:quotas:get"' in html


def test_list_of_an_unknown_project_is_404(as_user):
    assert as_user("viewer").get("/images/?project=nowhere-1").status_code == 404


def test_list_defaults_to_the_first_project_the_user_may_list_in_and_remembers_a_choice(as_user):
    client = as_user("developer")
    assert 'data-testid="current-project">cn-north-4_dev<' in client.get("/images/").content.decode()
    viewer = as_user("viewer")
    viewer.get("/images/?project=eu-west-101")
    assert 'data-testid="current-project">eu-west-101<' in viewer.get("/images/").content.decode()


def test_switcher_disables_projects_without_any_permission(as_user):
    html = as_user("developer").get("/images/").content.decode()
    assert '<option value="cn-north-4_dev" selected>' in html
    assert '<option value="cn-north-4" disabled' in html
    assert '<option value="eu-west-101" disabled' in html
    assert '<optgroup label="CN North-Beijing4 (cn-north-4)">' in html


@pytest.mark.parametrize(("query", "present", "absent"), [
    ("tab=public", "Ubuntu-x86-public", "cn-north-4-centos-data-01"),
    ("tab=shared", "ap-southeast-1-debian-system-00", "eu-west-101-euleros-system-00"),
    ("tab=awaiting", "eu-west-101-euleros-system-00", "ap-southeast-1-debian-system-00"),
    ("q=centos", "cn-north-4-centos-data-01", "cn-north-4-debian-whole-02"),
    ("architecture=arm&os_type=Linux", "cn-north-4-centos-data-01", "cn-north-4-ubuntu-system-00"),
    ("status=deleted", "cn-north-4-ubuntu-system-06", "cn-north-4-centos-data-01"),
    ("disk_format=qcow2", "cn-north-4-centos-data-07", "cn-north-4-debian-whole-08"),
    ("tag=env=prod", "cn-north-4-euleros-system-09", "cn-north-4-centos-data-01"),
    ("platform=Windows", "cn-north-4-windows-data-04", "cn-north-4-centos-data-01"),
])
def test_tabs_search_and_filters(as_user, query, present, absent):
    html = as_user("viewer").get(f"/images/?project=cn-north-4&{query}").content.decode()
    assert present in html
    assert absent not in html


def test_sorting_and_paging(as_user):
    client = as_user("viewer")
    html = client.get("/images/?project=cn-north-4&sort=-name&size=10").content.decode()
    names = [n for n in ("cn-north-4-windows-data-10", "cn-north-4-centos-data-01") if n in html]
    assert names == ["cn-north-4-windows-data-10"]  # descending: windows first, centos on page 2
    next_url = html_unescape(re.search(r'href="([^"]+)" rel="next"', html).group(1))
    page_two = client.get(f"/images/{next_url}").content.decode()
    assert "cn-north-4-centos-data-01" in page_two
    assert "11–11 of 11" in page_two and "Page 2 of 2" in page_two


def test_htmx_requests_get_only_the_results_and_direct_loads_the_whole_page(as_user):
    client = as_user("viewer")
    partial = client.get("/images/?project=cn-north-4&q=centos", HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div id="image-results"')
    assert "<html" not in partial
    full = client.get("/images/?project=cn-north-4&q=centos").content.decode()
    assert "<html" in full and 'id="image-results"' in full


def test_a_forbidden_htmx_list_request_answers_a_fragment_for_the_messages(as_user):
    response = as_user("newcomer").get("/images/", HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#messages"


# --- /images/<uuid>/ ---------------------------------------------------------------------------


def test_details_send_anonymous_users_to_sign_in(client, image_id):
    response = client.get(url_of(image_id, UBUNTU_00))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_details_are_forbidden_without_ims_images_get(as_user, image_id):
    """A person who may list in the image's project but not get it: 403 naming the action."""
    from accounts import services

    lister = services.policy_create(actor=None, name="ListOnly", document={
        "Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]})
    group = services.group_create(actor=None, name="listers")
    user, _ = services.user_create(actor=None, username="lister", password="imsperm-demo-lister")
    services.group_add_member(actor=None, group=group, user=user)
    services.grant_attach(actor=None, group=group, policies=[lister], all_resources=False,
                          projects=[Project.objects.get(name="cn-north-4")])
    response = as_user("lister").get(url_of(image_id, UBUNTU_00) + "?project=cn-north-4")
    assert response.status_code == 403
    assert "ims:images:get" in response.content.decode()


def test_iam_actions_alone_make_no_project_ones_own(as_user, image_id):
    """IAM is global: grants of IAM actions only (the IAM administrator's, or asking for access on
    All resources) give nothing in any region project, so an image there is outside one's projects."""
    assert as_user("iam-admin").get(url_of(image_id, UBUNTU_00)).status_code == 404


def test_details_show_attributes_tags_members_and_history(as_user, image_id):
    response = as_user("viewer").get(url_of(image_id, UBUNTU_00) + "?project=cn-north-4")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="image-name">cn-north-4-ubuntu-system-00<' in html
    assert "env=prod" in html
    assert 'data-member="cn-north-4_dev"' in html
    assert 'data-testid="operation-bar"' not in html  # a viewer may do nothing to it


@pytest.mark.parametrize(("persona", "name"), [
    ("developer", EU_ACTIVE),  # eu-west-101 is outside the developer's projects
    ("developer", "cn-north-4-centos-data-01"),  # cn-north-4's, not shared with cn-north-4_dev
    ("newcomer", UBUNTU_00),
    ("north-ops", "cn-north-4-dev-centos-system-00"),
])
def test_details_outside_the_users_projects_are_404(as_user, image_id, persona, name):
    assert as_user(persona).get(url_of(image_id, name)).status_code == 404


def test_details_of_an_unknown_image_are_404(as_user):
    assert as_user("admin").get(f"/images/{uuid.uuid4()}/").status_code == 404


def test_a_shared_image_opens_from_the_consumer_project(as_user, image_id):
    response = as_user("developer").get(url_of(image_id, UBUNTU_00))
    assert response.status_code == 200
    assert "shared with cn-north-4_dev" in response.content.decode()


# --- /images/create/ ---------------------------------------------------------------------------


def test_create_sends_anonymous_users_to_sign_in(client):
    assert client.get("/images/create/")["Location"].startswith("/accounts/login/")
    assert client.post("/images/create/", {"name": "x"})["Location"].startswith("/accounts/login/")


def test_create_is_forbidden_to_a_viewer(as_user):
    assert as_user("viewer").get("/images/create/").status_code == 403
    assert as_user("viewer").post("/images/create/", {"name": "x", "kind": "system"}).status_code == 403


def test_create_of_an_unknown_project_is_404(as_user):
    assert as_user("ims-admin").get("/images/create/?project=nowhere-1").status_code == 404


CREATE_FORM = {"name": "web server 1.0", "kind": "system", "description": "", "os_type": "Linux",
               "platform": "Ubuntu", "os_version": "Ubuntu 22.04", "os_bit": "64", "architecture": "x86",
               "disk_format": "qcow2", "min_disk": "40", "min_ram": "2048"}


def test_create_registers_a_queued_private_image_in_the_current_project(as_user):
    client = as_user("developer")
    assert client.get("/images/create/").status_code == 200
    response = client.post("/images/create/", CREATE_FORM)
    assert response.status_code == 302
    image = Image.objects.get(name="web server 1.0")
    assert (image.project.name, image.status, image.image_type) == ("cn-north-4_dev", "queued", "private")
    assert response["Location"] == f"/images/{image.pk}/"


# --- operations --------------------------------------------------------------------------------

ONE_CLICK = ["accept", "reject", "export", "delete"]
ALL_OPERATIONS = ["modify", "tags", "upload", "share", "unshare", "accept", "reject", "export", "replicate", "delete"]


@pytest.mark.parametrize("operation", ALL_OPERATIONS)
def test_operations_send_anonymous_users_to_sign_in(client, image_id, operation):
    response = client.post(url_of(image_id, UBUNTU_00, operation))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("operation", ALL_OPERATIONS)
def test_operations_are_forbidden_to_a_viewer_and_change_nothing(as_user, image_id, operation):
    response = as_user("viewer").post(url_of(image_id, UBUNTU_00, operation) + "?project=cn-north-4")
    assert response.status_code == 403
    assert Image.objects.filter(name=UBUNTU_00, status="active").exists()


@pytest.mark.parametrize("operation", ALL_OPERATIONS)
def test_operations_outside_the_users_projects_are_404(as_user, image_id, operation):
    assert as_user("developer").post(url_of(image_id, EU_ACTIVE, operation)).status_code == 404


def test_operations_need_get_not_allowed(as_user, image_id):
    assert as_user("ims-admin").get(url_of(image_id, UBUNTU_00, "delete")).status_code == 405


def test_developer_may_not_delete_even_in_the_dev_project(as_user, image_id):
    response = as_user("developer").post(url_of(image_id, DEV_ACTIVE, "delete"))
    assert response.status_code == 403
    assert "DenyImageDeletion" in response.content.decode()
    assert Image.objects.filter(name=DEV_ACTIVE).exists()


def test_a_forbidden_htmx_operation_answers_a_message_fragment(as_user, image_id):
    response = as_user("viewer").post(url_of(image_id, UBUNTU_00, "delete"), HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#messages"
    assert 'data-testid="refusal"' in response.content.decode()


def test_a_state_rule_answers_409_with_its_reason(as_user, image_id):
    protected = url_of(image_id, "cn-north-4-windows-data-04", "delete")
    response = as_user("ims-admin").post(protected + "?project=cn-north-4")
    assert response.status_code == 409
    assert "Protected images cannot be deleted" in response.content.decode()


@pytest.mark.parametrize(("operation", "data", "message"), [
    ("modify", {"name": "renamed", "description": "d", "os_version": "v", "min_disk": "41", "min_ram": "1024",
                "revision": "1"}, "was modified"),
    ("tags", {"tags": "env=stage\nowner=ops", "revision": "1"}, "Tags of"),
    ("share", {"projects": "eu-west-101"}, "is shared with eu-west-101"),
    ("unshare", {"project": "cn-north-4_dev"}, "no longer shared with cn-north-4_dev"),
    ("export", {}, "was exported as"),
    ("replicate", {"target": "ap-southeast-1"}, "was replicated to ap-southeast-1"),
    ("delete", {}, "was deleted"),
])
def test_operations_allowed_to_ims_admin_work(as_user, image_id, operation, data, message):
    client = as_user("ims-admin")
    client.get("/images/?project=cn-north-4")
    response = client.post(url_of(image_id, UBUNTU_00, operation), data, follow=True)
    assert response.redirect_chain and response.redirect_chain[0][1] == 302
    assert message in response.content.decode()


def test_upload_makes_a_queued_image_active(as_user, image_id):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = as_user("ims-admin")
    image = Image.objects.get(name="eu-west-101-windows-data-07")  # queued qcow2 in eu-west-101
    upload = SimpleUploadedFile("disk.qcow2", qcow2_bytes(4096))
    response = client.post(f"/images/{image.pk}/upload/", {"file": upload})
    assert response.status_code == 302
    image.refresh_from_db()
    assert (image.status, image.size) == ("active", 4096)
    assert image.file.name.startswith("images/")


def test_accept_and_reject_come_from_the_consumer_project(as_user, image_id):
    client = as_user("ims-admin")
    client.get("/images/?project=cn-north-4")
    pending = url_of(image_id, "eu-west-101-euleros-system-00")
    assert client.post(pending + "accept/").status_code == 302
    assert client.post(pending + "reject/").status_code == 409  # no longer pending
    html = client.get("/images/?project=cn-north-4&tab=shared").content.decode()
    assert "eu-west-101-euleros-system-00" in html


# --- bulk ----------------------------------------------------------------------------------------


def test_bulk_sends_anonymous_users_to_sign_in(client):
    assert client.post("/images/bulk/delete/", {"ids": []})["Location"].startswith("/accounts/login/")


def test_bulk_is_forbidden_to_a_viewer(as_user, image_id):
    response = as_user("viewer").post("/images/bulk/export/?project=cn-north-4",
                                      {"ids": [str(image_id("cn-north-4-centos-data-01"))]})
    assert response.status_code == 403


def test_bulk_outside_the_users_projects_is_404(as_user, image_id):
    client = as_user("developer")
    assert client.post("/images/bulk/export/", {"ids": [str(image_id(EU_ACTIVE))]}).status_code == 404
    assert client.post("/images/bulk/frobnicate/", {"ids": [str(image_id(DEV_ACTIVE))]}).status_code == 404


def test_bulk_says_per_image_what_happened(as_user, image_id):
    client = as_user("ims-admin")
    ids = [str(image_id(n)) for n in ("cn-north-4-centos-data-01", "cn-north-4-windows-data-04", EU_ACTIVE)]
    response = client.post("/images/bulk/delete/?project=cn-north-4", {"ids": ids}, follow=True)
    html = response.content.decode()
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == 1  # one summary, not a banner per image
    assert '<span class="bulk-headline" data-testid="bulk-summary">1 deleted, 2 skipped.</span>' in html
    assert "<strong>cn-north-4-centos-data-01</strong>: Image cn-north-4-centos-data-01 was deleted." in html
    assert "<strong>cn-north-4-windows-data-04</strong>: Protected images cannot be deleted" in html
    assert "<strong>1 selected image</strong>: not found in cn-north-4." in html
    assert not Image.objects.filter(name="cn-north-4-centos-data-01").exists()
    assert Image.objects.filter(name="cn-north-4-windows-data-04").exists()


# --- CSRF -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/images/create/", "/images/bulk/delete/", "delete", "share", "upload"])
def test_posts_without_a_csrf_token_fail(image_id, path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username="ims-admin"))
    url = path if path.startswith("/") else url_of(image_id, "cn-north-4-centos-data-01", path)
    response = client.post(url, {"ids": [str(image_id("cn-north-4-centos-data-01"))], "projects": "eu-west-101"})
    assert response.status_code == 403
    assert Image.objects.filter(name="cn-north-4-centos-data-01").exists()
    assert not Image.objects.get(name="cn-north-4-centos-data-01").members.filter(project__name="eu-west-101")


# --- query budgets ----------------------------------------------------------------------------


@pytest.fixture
def crowded_project(demo):
    """cn-north-4 with 60 more tagged, shared images, so a page can hold 50 rows."""
    project = Project.objects.get(name="cn-north-4")
    images = Image.objects.bulk_create(
        Image(name=f"bulk-{i:03d}", project=project, status="active", disk_format="qcow2") for i in range(60)
    )
    ImageTag.objects.bulk_create(ImageTag(image=image, key="env", value="prod") for image in images)
    ImageTag.objects.bulk_create(ImageTag(image=image, key="team", value="t") for image in images)
    return project


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("persona", ["ims-admin", "developer", "viewer"])
def test_list_queries_are_the_same_for_10_and_50_rows(as_user, crowded_project, persona, django_assert_max_num_queries):
    client = as_user(persona)
    project = "cn-north-4_dev" if persona == "developer" else "cn-north-4"
    client.get(f"/images/?project={project}")  # warm the process's compiled permissions
    small = count_queries(client, f"/images/?project={project}&size=10")
    large = count_queries(client, f"/images/?project={project}&size=50")
    assert small == large
    with django_assert_max_num_queries(10):
        client.get(f"/images/?project={project}&size=50&tab=public")


def test_details_queries_have_a_fixed_budget(as_user, image_id, django_assert_max_num_queries):
    client = as_user("ims-admin")
    client.get("/images/?project=cn-north-4")
    with django_assert_max_num_queries(10):
        response = client.get(url_of(image_id, UBUNTU_00))
    assert response.status_code == 200


def test_each_project_sees_only_its_own_history_of_a_shared_image(as_user, image_id):
    """cn-north-4-ubuntu-system-00 is shared with cn-north-4_dev: neither reads the other's events."""
    from accounts import audit

    image = Image.objects.get(pk=image_id(UBUNTU_00))
    admin = User.objects.get(username="admin")
    for name in ("cn-north-4", "cn-north-4_dev"):
        audit.record(actor=admin, action="ims:images:update", target=image, project=Project.objects.get(name=name),
                     message=f"note made in {name}")
    owner = as_user("admin").get(url_of(image_id, UBUNTU_00) + "?project=cn-north-4").content.decode()
    member = as_user("admin").get(url_of(image_id, UBUNTU_00) + "?project=cn-north-4_dev").content.decode()
    assert "note made in cn-north-4<" in owner and "note made in cn-north-4_dev" not in owner
    assert "note made in cn-north-4_dev" in member and "note made in cn-north-4<" not in member
