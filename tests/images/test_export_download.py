"""Issue 19, item 10: an export ends somewhere. Each export is recorded (name, size, sha256, time, who),
the image page lists the exports of the project it is opened in, and whoever the engine allows
ims:images:export on that image downloads them: a streamed attachment, audited. Others get 403
(audited) or, for an image outside their projects, 404 like every image page."""

import hashlib

from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditEvent, User
from images.models import Image

from .conftest import qcow2_bytes

UBUNTU_00 = "cn-north-4-ubuntu-system-00"  # active, owned by cn-north-4, shared (accepted) with cn-north-4_dev
EU_ACTIVE = "eu-west-101-euleros-system-06"  # active, private to eu-west-101
QUEUED_EU = "eu-west-101-windows-data-07"  # queued qcow2 in eu-west-101


def _export(client, image, project):
    response = client.post(f"/images/{image.pk}/export/?project={project}", follow=True)
    assert response.status_code == 200
    from images.models import ImageExport

    return ImageExport.objects.filter(image=image).order_by("-created_at").first(), response


def _download_url(export):
    return f"/images/{export.image_id}/exports/{export.pk}/"


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_export_is_recorded_listed_and_downloaded_with_its_checksum(demo, as_user):
    image = Image.objects.get(name=UBUNTU_00)
    client = as_user("ims-admin")
    export, response = _export(client, image, "cn-north-4")
    assert export is not None, "the export is not recorded"
    page = response.content.decode()
    assert _download_url(export) in page  # the success message leads to the download
    assert "exported to exports/" not in page  # no bare storage path that leads nowhere

    detail = client.get(f"/images/{image.pk}/?project=cn-north-4").content.decode()
    listing = detail.split('data-testid="image-exports"')[1]
    assert export.name in listing and export.sha256 in listing and _download_url(export) in listing

    download = client.get(_download_url(export) + "?project=cn-north-4")
    assert download.status_code == 200 and download.streaming
    assert download["Content-Disposition"].startswith("attachment;") and export.name in download["Content-Disposition"]
    body = _body(download)
    assert hashlib.sha256(body).hexdigest() == export.sha256 and len(body) == export.size
    event = AuditEvent.objects.filter(action="ims:images:export", target_id=str(image.pk),
                                      details__download=str(export.pk)).get()
    assert event.outcome == "allowed" and event.actor.username == "ims-admin"
    assert event.details["sha256"] == export.sha256


def test_an_image_file_is_exported_byte_for_byte(demo, as_user):
    image = Image.objects.get(name=QUEUED_EU)
    client = as_user("ims-admin")
    data = qcow2_bytes(8192)
    assert client.post(f"/images/{image.pk}/upload/?project=eu-west-101",
                       {"file": SimpleUploadedFile("disk.qcow2", data)}).status_code in (200, 204, 302)
    export, _ = _export(client, image, "eu-west-101")
    assert export.name.endswith(".qcow2") and export.size == len(data)
    assert export.sha256 == hashlib.sha256(data).hexdigest()
    assert _body(client.get(_download_url(export) + "?project=eu-west-101")) == data


def test_who_may_not_export_gets_403_audited_and_sees_no_exports(demo, as_user):
    image = Image.objects.get(name=UBUNTU_00)
    export, _ = _export(as_user("ims-admin"), image, "cn-north-4")
    viewer = as_user("viewer")  # IMS ReadOnlyAccess everywhere: opens the image, may not export it
    assert viewer.get(_download_url(export) + "?project=cn-north-4").status_code == 403
    assert AuditEvent.objects.filter(action="ims:images:export", outcome="denied", actor__username="viewer",
                                     target_id=str(image.pk)).exists()
    detail = viewer.get(f"/images/{image.pk}/?project=cn-north-4").content.decode()
    assert 'data-testid="image-exports"' not in detail
    assert 'data-testid="export-download"' not in detail


def test_outside_ones_projects_is_404_and_another_projects_export_is_404(demo, as_user):
    eu = Image.objects.get(name=EU_ACTIVE)
    eu_export, _ = _export(as_user("ims-admin"), eu, "eu-west-101")
    developer = as_user("developer")  # cn-north-4_dev only
    assert developer.get(_download_url(eu_export)).status_code == 404
    # UBUNTU_00 is shared with cn-north-4_dev, where the developer may export: the owner's exports stay
    # the owner's (each project sees the exports made from it, as it sees its own history).
    shared = Image.objects.get(name=UBUNTU_00)
    owner_export, _ = _export(as_user("ims-admin"), shared, "cn-north-4")
    assert developer.get(_download_url(owner_export) + "?project=cn-north-4_dev").status_code == 404
    # An export id under another image is not found either.
    admin_client = as_user("admin")
    assert admin_client.get(f"/images/{shared.pk}/exports/{eu_export.pk}/?project=cn-north-4").status_code == 404


def test_download_answers_get_only_and_within_a_query_budget(demo, as_user, django_assert_max_num_queries):
    image = Image.objects.get(name=UBUNTU_00)
    client = as_user("ims-admin")
    export, _ = _export(client, image, "cn-north-4")
    assert client.post(_download_url(export) + "?project=cn-north-4").status_code == 405
    with django_assert_max_num_queries(12):
        assert client.get(_download_url(export) + "?project=cn-north-4").status_code == 200
    with django_assert_max_num_queries(11):
        assert client.get(f"/images/{image.pk}/?project=cn-north-4").status_code == 200


def test_exports_are_in_django_admin_read_only(demo, as_user):
    from images.models import ImageExport

    model_admin = admin.site._registry.get(ImageExport)
    assert model_admin is not None
    image = Image.objects.get(name=UBUNTU_00)
    export, _ = _export(as_user("ims-admin"), image, "cn-north-4")
    superuser = User.objects.get(username="admin")
    client = as_user("admin")
    if superuser.is_staff:
        page = client.get(f"/admin/images/imageexport/{export.pk}/change/")
        assert page.status_code == 200 and export.sha256 in page.content.decode()
        assert client.get("/admin/images/imageexport/add/").status_code == 403


def test_deleting_an_image_removes_its_export_files(demo, as_user, media_in_tmp):
    image = Image.objects.get(name=EU_ACTIVE)
    client = as_user("ims-admin")
    export, _ = _export(client, image, "eu-west-101")
    stored = media_in_tmp / export.file.name
    assert stored.exists()
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert client.post(f"/images/{image.pk}/delete/?project=eu-west-101").status_code in (200, 204, 302)
    assert not stored.exists()
