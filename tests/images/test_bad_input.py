"""Bad input gets a clear message on the form, and nothing is half-written."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditEvent
from images.models import Image, ImageMember

from .conftest import qcow2_bytes, vhd_fixed_bytes

pytestmark = pytest.mark.usefixtures("demo")

QUEUED_QCOW2 = "eu-west-101-windows-data-07"  # queued, qcow2, in eu-west-101


def upload(client, image, content, name="disk.qcow2", **headers):
    return client.post(f"/images/{image.pk}/upload/", {"file": SimpleUploadedFile(name, content)}, **headers)


@pytest.fixture
def queued(as_user):
    return as_user("ims-admin"), Image.objects.get(name=QUEUED_QCOW2)


def stored_files(media_root):
    folder = media_root / "images"
    return list(folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize(("content", "message"), [
    (b"hello, I am a text file\n" * 40, "not a disk image this console recognises"),
    (qcow2_bytes()[:60], "The QCOW2 file is truncated"),
    (vhd_fixed_bytes(), "The file is a VHD image, but this image&#x27;s disk format is QCOW2."),
    (b"", "The submitted file is empty."),
])
def test_a_bad_file_kills_the_image_with_a_clear_message_and_stores_nothing(queued, media_in_tmp, content, message):
    client, image = queued
    response = upload(client, image, content, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    image.refresh_from_db()
    assert stored_files(media_in_tmp) == []
    assert image.size == 0 and not image.file
    if content:  # an empty submission never reaches the content check
        assert image.status == "killed"
        # The image itself changed, so the whole page is reloaded (nothing on it may still say
        # "Queued"), and the reason comes with it as a message.
        assert response["HX-Refresh"] == "true"
        html = client.get(image.get_absolute_url()).content.decode()
        assert message in html and "the image is now killed" in html
        assert 'data-testid="image-status">Killed' in html
        event = AuditEvent.objects.filter(target_id=str(image.pk), action="ims:images:upload").first()
        assert event.outcome == "error"
        assert event.message.replace("'", "&#x27;") in html
    else:
        html = response.content.decode()
        assert message in html
        assert html.lstrip().startswith("<form")  # the upload form itself, swapped in place
        assert image.status == "queued"


def test_an_oversized_upload_is_refused_and_the_image_stays_queued(queued, settings, media_in_tmp):
    settings.IMSPERM_MAX_UPLOAD_BYTES = 1000
    client, image = queued
    response = upload(client, image, qcow2_bytes(4096))
    assert response.status_code == 422
    message = "The file is 4,096 bytes; uploads are limited to 1,000 bytes. Nothing was stored."
    assert message in response.content.decode()
    image.refresh_from_db()
    assert image.status == "queued" and stored_files(media_in_tmp) == []


def test_an_invalid_name_is_refused_on_the_create_form(as_user):
    client = as_user("ims-admin")
    client.get("/images/?project=eu-west-101")
    response = client.post("/images/create/", {
        "name": " bad/name ", "kind": "system", "os_type": "Linux", "platform": "Ubuntu", "os_bit": "64",
        "architecture": "x86", "disk_format": "qcow2", "min_disk": "0", "min_ram": "1024"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Use 1–128 letters, digits, spaces, hyphens, periods or underscores" in html
    assert "Ensure this value is greater than or equal to 1." in html
    assert not Image.objects.filter(name__contains="bad").exists()


def test_an_11th_tag_is_refused_and_the_tags_stay_as_they_were(as_user):
    client = as_user("ims-admin")
    image = Image.objects.get(name="cn-north-4-centos-data-01")
    tags = "\n".join(f"key{i}=v{i}" for i in range(11))
    response = client.post(f"/images/{image.pk}/tags/?project=cn-north-4", {"tags": tags}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "An image can have at most 10 tags; you gave 11." in response.content.decode()
    assert {t.key for t in image.tags.all()} == {"env", "team"}


def test_a_bad_tag_key_says_which_line(as_user):
    image = Image.objects.get(name="cn-north-4-centos-data-01")
    response = as_user("ims-admin").post(f"/images/{image.pk}/tags/?project=cn-north-4", {"tags": "ok=1\nbad key=2"})
    assert response.status_code == 422
    assert "Line 2: a tag key is 1 to 36 letters" in response.content.decode()


def test_sharing_with_an_unknown_project_is_refused_and_adds_no_member(as_user):
    image = Image.objects.get(name="cn-north-4-centos-data-01")
    before = set(ImageMember.objects.filter(image=image).values_list("project__name", flat=True))
    response = as_user("ims-admin").post(f"/images/{image.pk}/share/?project=cn-north-4",
                                         {"projects": "eu-west-101, nowhere-9"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "No project is called nowhere-9." in response.content.decode()
    assert set(ImageMember.objects.filter(image=image).values_list("project__name", flat=True)) == before


def test_sharing_with_the_owner_or_a_member_again_is_refused(as_user):
    image = Image.objects.get(name="cn-north-4-centos-data-01")  # already pending for ap-southeast-1
    response = as_user("ims-admin").post(f"/images/{image.pk}/share/?project=cn-north-4",
                                         {"projects": "cn-north-4 ap-southeast-1"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "cn-north-4 owns the image: it cannot be a member." in html
    assert "The image is already shared with ap-southeast-1." in html


def test_replicating_an_encrypted_image_to_another_region_is_refused(as_user):
    image = Image.objects.get(name="cn-north-4-centos-data-07")  # encrypted, active
    client = as_user("ims-admin")
    response = client.post(f"/images/{image.pk}/replicate/", {"target": "eu-west-101"})
    assert response.status_code == 422
    assert "Encrypted images cannot be replicated to another region." in response.content.decode()
    assert not Image.objects.filter(source=image).exists()
    assert client.post(f"/images/{image.pk}/replicate/", {"target": "cn-north-4_dev"}).status_code == 302
