"""The simulator's pickers: actions as grouped checkboxes, the current project first, and an image
picker offering only images the signed-in user may open, with the condition keys each supplies."""

import pytest

pytestmark = pytest.mark.usefixtures("demo")


def test_actions_are_grouped_checkboxes_and_the_current_project_and_user_come_first(as_user):
    client = as_user("admin")
    client.get("/images/?project=cn-north-4_dev")  # the image browser remembers the project
    html = client.get("/iam/simulator/").content.decode()
    assert 'type="checkbox" name="actions" value="ims:images:delete"' in html
    assert "<legend>IMS · images</legend>" in html and "<legend>IAM · users</legend>" in html
    assert '<option value="cn-north-4_dev" selected>' in html
    assert '<option value="admin" selected>' in html


def test_the_image_picker_fills_the_keys_of_images_the_user_may_open(as_user):
    client = as_user("admin")
    html = client.get("/iam/simulator/?subject=user&user=developer&project=cn-north-4_dev").content.decode()
    assert 'data-testid="image-picker"' in html
    assert 'value="cn-north-4-dev-centos-system-00"' in html
    assert "ims:ImageType=private\nims:OsType=Linux\nims:Platform=CentOS" in html


def test_no_image_is_offered_to_someone_who_may_not_open_images_there(as_user):
    html = as_user("iam-admin").get("/iam/simulator/?subject=user&user=developer&project=cn-north-4_dev")
    assert 'data-testid="image-picker"' not in html.content.decode()
