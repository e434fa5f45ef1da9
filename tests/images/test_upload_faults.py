"""Uploads under faults (make faulttest): a file reaches the image's name only whole and only with its
row, an upload folder that refuses files answers 503 with Retry-After and changes nothing, and what
an interrupted upload left behind is tidied."""

import os
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from images import services, uploads
from images.models import Image
from images.uploads import StorageUnavailable

from .conftest import qcow2_bytes

pytestmark = pytest.mark.usefixtures("demo")
QUEUED = "eu-west-101-windows-data-07"  # a queued qcow2 image of the demo, in eu-west-101


class BrokenMidway(SimpleUploadedFile):
    """An upload whose stream fails after its first chunk (the disk, or the request, gave out)."""

    def chunks(self, chunk_size=None):
        yield self.read(512)
        raise OSError(28, "No space left on device")


def files_in(media):
    folder = media / "images"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_write_failing_midway_leaves_no_half_file_under_the_images_name_and_changes_nothing(media_in_tmp):
    image = Image.objects.get(name=QUEUED)
    with pytest.raises(StorageUnavailable, match="No space left"):
        services.image_upload(actor=None, image=image, uploaded=BrokenMidway("disk.qcow2", qcow2_bytes(4096)),
                              max_bytes=10**6)
    assert files_in(media_in_tmp) == []  # neither the half file nor its temporary copy
    image.refresh_from_db()
    assert (image.status, image.file.name) == ("queued", "")


def test_an_upload_folder_that_refuses_files_answers_503_with_retry_after_then_works_again(as_user, media_in_tmp):
    client = as_user("ims-admin")
    image = Image.objects.get(name=QUEUED)
    media_in_tmp.mkdir(parents=True)
    (media_in_tmp / "images").write_text("not a folder")  # how make faulttest takes the folder away
    response = client.post(f"/images/{image.pk}/upload/", {"file": SimpleUploadedFile("d.qcow2", qcow2_bytes())})
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    image.refresh_from_db()
    assert image.status == "queued"
    (media_in_tmp / "images").unlink()  # the folder comes back: the same request succeeds, no restart
    response = client.post(f"/images/{image.pk}/upload/", {"file": SimpleUploadedFile("d.qcow2", qcow2_bytes())})
    assert response.status_code == 302
    image.refresh_from_db()
    assert image.status == "active" and files_in(media_in_tmp) == [image.file.name.split("/")[1]]


def test_a_transaction_failing_after_the_file_was_written_removes_it(as_user, media_in_tmp, monkeypatch):
    image = Image.objects.get(name=QUEUED)
    seen = {}

    def audit_fails(**kwargs):
        seen["files"] = files_in(media_in_tmp)  # what a reader (or a backup) could find at this moment
        raise RuntimeError("the audit insert failed")

    monkeypatch.setattr(services.audit, "record", audit_fails)
    with pytest.raises(RuntimeError):
        services.image_upload(actor=None, image=image, uploaded=SimpleUploadedFile("d.qcow2", qcow2_bytes()),
                              max_bytes=10**6)
    assert seen["files"] and all(name.endswith(uploads.PARTIAL_SUFFIX) for name in seen["files"])
    assert files_in(media_in_tmp) == []
    image.refresh_from_db()
    assert image.status == "queued"


def test_tidy_uploads_removes_leftovers_older_than_the_grace_and_keeps_every_named_file(media_in_tmp, demo):
    image = Image.objects.get(name=QUEUED)
    services.image_upload(actor=None, image=image, uploaded=SimpleUploadedFile("d.qcow2", qcow2_bytes()),
                          max_bytes=10**6)
    folder = media_in_tmp / "images"
    old = time.time() - 7200
    for name in ("dead.abc.part", "1234.qcow2", "fresh.part"):
        (folder / name).write_bytes(b"x")
    for name in ("dead.abc.part", "1234.qcow2", image.file.name.split("/")[1]):
        os.utime(folder / name, (old, old))
    call_command("tidy_uploads", "--grace", "3600")
    assert files_in(media_in_tmp) == sorted([image.file.name.split("/")[1], "fresh.part"])
