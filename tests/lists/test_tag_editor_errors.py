"""The tag editor marks only the rows in error, each with its message next to it: the rows typed right
stay unmarked (the whole box used to turn red, with every message in a list under it)."""

import re

import pytest

from images.models import Image

pytestmark = pytest.mark.usefixtures("demo")

IMAGE = "cn-north-4-centos-data-01"


def rows(page: str) -> list[str]:
    box = page[page.index('data-testid="tag-rows"'):]
    box = box[:box.index("</fieldset>")]
    return re.findall(r"<tr data-tag-row.*?</tr>", box, re.S)


def test_only_the_rows_in_error_are_marked_each_with_its_message(as_user):
    image = Image.objects.get(name=IMAGE)
    response = as_user("ims-admin").post(f"/images/{image.pk}/tags/?project=cn-north-4", {
        "revision": image.revision, "tag-key": ["ok", "bad key", "", "fine", "ok", "long"],
        "tag-value": ["1", "2", "", "3", "4", "v" * 44]})
    assert response.status_code in (400, 422)
    page = response.content.decode()
    shown = rows(page)
    assert len(shown) >= 5
    marked = [i for i, row in enumerate(shown) if 'aria-invalid="true"' in row]
    assert marked == [1, 3, 4]  # "bad key", the second "ok", the long value (the cleared row is dropped)
    assert "a tag key is 1 to 36 letters" in shown[1] and 'name="tag-key" value="bad key"' in shown[1]
    assert "given twice" in shown[3]
    assert re.search(r'name="tag-value"[^>]*aria-invalid="true"', shown[4])  # the value, not the key
    assert not re.search(r'name="tag-key"[^>]*aria-invalid="true"', shown[4])
    for row in (shown[0], shown[2]):
        assert "field-error" not in row
    assert 'class="field tag-rows has-error"' not in page  # the box itself is not marked
    assert page.count("a tag key is 1 to 36 letters") == 1  # said once, next to its row


def test_too_many_tags_is_said_under_the_box(as_user):
    image = Image.objects.get(name=IMAGE)
    keys = [f"k{i}" for i in range(11)]
    response = as_user("ims-admin").post(f"/images/{image.pk}/tags/?project=cn-north-4", {
        "revision": image.revision, "tag-key": keys, "tag-value": [""] * 11})
    page = response.content.decode()
    assert "at most 10 tags" in page
    assert not any('aria-invalid="true"' in row for row in rows(page))
