"""No lost updates: a Modify or Tags form loaded before someone else's save answers 409 instead of
reverting that save, keeps what the user typed and shows the values saved meanwhile."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from images import services
from images.models import Image

pytestmark = pytest.mark.usefixtures("demo")

IMAGE = "cn-north-4-centos-data-01"  # active private image of cn-north-4, tags env=dev team=team-0


def loaded_revision(client, image) -> int:
    """The revision the details page puts in the Modify form (what a browser would send back)."""
    html = client.get(f"/images/{image.pk}/?project=cn-north-4").content.decode()
    return int(re.search(r'name="revision" value="(\d+)"', html).group(1))


def modify_data(revision, **changes):
    data = {"name": IMAGE, "description": "", "os_version": "CentOS 7.9 64bit", "min_disk": "40",
            "min_ram": "2048", "revision": revision}
    return {**data, **changes}


@pytest.fixture
def image():
    return Image.objects.get(name=IMAGE)


def test_every_attribute_or_tag_write_moves_the_revision_on(image):
    actor = User.objects.get(username="ims-admin")
    start = image.revision
    services.image_update(actor=actor, image=image, expected_revision=start, description="one")
    services.image_tags_set(actor=actor, image=image, tags={"env": "prod"}, expected_revision=start + 1)
    assert Image.objects.get(pk=image.pk).revision == start + 2


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "page"])
def test_a_stale_modify_answers_409_keeps_the_input_and_shows_the_current_values(as_user, image, htmx):
    client = as_user("ims-admin")
    revision = loaded_revision(client, image)
    # Someone else saves first, from a form loaded at the same revision.
    other = as_user("admin")
    assert other.post(f"/images/{image.pk}/modify/?project=cn-north-4",
                      modify_data(revision, description="theirs")).status_code == 302
    client = as_user("ims-admin")
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.post(f"/images/{image.pk}/modify/?project=cn-north-4",
                           modify_data(revision, description="mine", min_ram="4096"), **headers)
    assert response.status_code == 409
    html = response.content.decode()
    assert "was changed by someone else after you opened it" in html
    assert "\nmine</textarea>" in html and 'value="4096"' in html  # the user's input is kept
    current = re.search(r'data-testid="current-values">(.*?)</div>', html, re.S).group(1)
    assert "<dd>theirs</dd>" in current and "<dd>2048</dd>" in current
    assert f'name="revision" value="{revision + 1}"' in html  # saving again is a deliberate overwrite
    if htmx:
        assert html.lstrip().startswith("<form")
    image.refresh_from_db()
    assert (image.description, image.min_ram, image.revision) == ("theirs", 2048, revision + 1)


def test_saving_again_after_the_conflict_overwrites_deliberately(as_user, image):
    client = as_user("ims-admin")
    stale = loaded_revision(client, image)
    services.image_update(actor=None, image=image, expected_revision=stale, description="theirs")
    assert client.post(f"/images/{image.pk}/modify/", modify_data(stale, description="mine")).status_code == 409
    assert client.post(f"/images/{image.pk}/modify/", modify_data(stale + 1, description="mine")).status_code == 302
    image.refresh_from_db()
    assert image.description == "mine"


def test_a_stale_tags_form_answers_409_and_keeps_both_versions_visible(as_user, image):
    client = as_user("ims-admin")
    revision = loaded_revision(client, image)
    services.image_tags_set(actor=None, image=image, tags={"env": "prod"}, expected_revision=revision)
    response = client.post(f"/images/{image.pk}/tags/?project=cn-north-4",
                           {"tags": "env=stage\nowner=me", "revision": revision}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    html = response.content.decode()
    # the typed tags are kept, as key/value rows
    assert 'name="tag-key" value="env"' in html and 'name="tag-value" value="stage"' in html
    assert 'name="tag-key" value="owner"' in html and 'name="tag-value" value="me"' in html
    assert "<dd>env=prod</dd>" in html
    assert {(t.key, t.value) for t in image.tags.all()} == {("env", "prod")}


def test_an_upload_moves_the_revision_on_so_older_forms_turn_stale():
    """A status change is a change of the image too: a form loaded before it no longer applies."""
    queued = Image.objects.get(name="eu-west-101-windows-data-07")
    before = queued.revision
    outcome = services.image_upload(actor=None, image=queued, max_bytes=10_000,
                                    uploaded=SimpleUploadedFile("disk.qcow2", b"not a disk image" * 100))
    assert outcome.problem and Image.objects.get(pk=queued.pk).revision == before + 1


@pytest.mark.parametrize("revision", ["", "abc", "-1", "9" * 30])
def test_a_missing_or_mangled_revision_counts_as_stale(as_user, image, revision):
    response = as_user("ims-admin").post(f"/images/{image.pk}/modify/", modify_data(revision, description="x"))
    assert response.status_code == 409
    image.refresh_from_db()
    assert image.description == ""
