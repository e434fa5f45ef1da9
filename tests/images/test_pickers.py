"""Pickers of the details page without JavaScript: tags as key/value rows, share from a list."""

import pytest

from images.models import Image

pytestmark = pytest.mark.usefixtures("demo")

IMAGE = "cn-north-4-centos-data-01"


def detail(client, image_id):
    return client.get(f"/images/{image_id(IMAGE)}/?project=cn-north-4").content.decode()


def test_tags_are_edited_as_rows_and_a_cleared_row_removes_its_tag(as_user, image_id):
    client = as_user("ims-admin")
    html = detail(client, image_id)
    assert 'data-testid="tag-rows"' in html and 'name="tag-key" value="env"' in html
    image = Image.objects.get(name=IMAGE)
    response = client.post(f"/images/{image.pk}/tags/?project=cn-north-4", {
        "revision": image.revision, "tag-key": ["env", "", "owner"], "tag-value": ["", "", "qa"]}, follow=True)
    assert response.status_code == 200
    image.refresh_from_db()
    assert dict(image.tags.values_list("key", "value")) == {"env": "", "owner": "qa"}
    response = client.post(f"/images/{image.pk}/tags/?project=cn-north-4", {
        "revision": image.revision, "tag-key": ["owner", "", ""], "tag-value": ["qa", "", ""]}, follow=True)
    assert dict(Image.objects.get(pk=image.pk).tags.values_list("key", "value")) == {"owner": "qa"}


def test_bad_tag_rows_are_named_by_row_and_nothing_is_saved(as_user, image_id):
    client = as_user("ims-admin")
    image = Image.objects.get(name=IMAGE)
    before = dict(image.tags.values_list("key", "value"))
    response = client.post(f"/images/{image.pk}/tags/?project=cn-north-4", {
        "revision": image.revision, "tag-key": ["ok", "bad key", "ok"], "tag-value": ["1", "2", "3"]})
    html = response.content.decode()
    assert response.status_code in (400, 422)
    assert "Row 2: a tag key is 1 to 36 letters" in html and "Row 3: the key ok is given twice." in html
    assert 'name="tag-key" value="bad key"' in html  # the rows typed are kept
    assert dict(image.tags.values_list("key", "value")) == before


def test_share_offers_the_other_projects_marking_those_already_shared(as_user, image_id):
    html = detail(as_user("ims-admin"), image_id)
    picker = html[html.index('data-testid="share-picker"'):]
    picker = picker[:picker.index("</fieldset>")]
    assert 'value="cn-north-4"' not in picker  # its own project
    assert 'value="eu-west-101"' in picker
    assert "already shared (pending)" in picker  # ap-southeast-1 has a pending share


def test_share_from_the_list_shares_with_each_chosen_project(as_user, image_id):
    client = as_user("ims-admin")
    image = Image.objects.get(name=IMAGE)
    response = client.post(f"/images/{image.pk}/share/?project=cn-north-4",
                           {"projects": ["eu-west-101", "cn-north-4_dev"]}, follow=True)
    assert response.status_code == 200
    assert set(image.members.values_list("project__name", flat=True)) >= {"eu-west-101", "cn-north-4_dev"}


def test_share_with_nothing_chosen_says_so(as_user, image_id):
    client = as_user("ims-admin")
    image = Image.objects.get(name=IMAGE)
    response = client.post(f"/images/{image.pk}/share/?project=cn-north-4", {})
    assert "Choose at least one project." in response.content.decode()
