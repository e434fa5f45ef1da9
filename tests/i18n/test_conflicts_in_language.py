"""A save refused because someone else saved first reads in the person's language, with the row's name and
revisions as they are (the three "changed by someone else" sentences were English in both languages)."""

import pytest

from accounts import services as iam_services
from accounts.models import Policy, User
from images.models import Image

from ..images.test_concurrent_edits import IMAGE, loaded_revision, modify_data
from .reading import ZH

pytestmark = pytest.mark.usefixtures("demo")


def test_a_stale_image_modify_says_so_in_chinese(as_user):
    image = Image.objects.get(name=IMAGE)
    revision = loaded_revision(as_user("ims-admin"), image)
    assert as_user("admin").post(f"/images/{image.pk}/modify/?project=cn-north-4",
                                 modify_data(revision, description="theirs")).status_code == 302
    response = as_user("ims-admin").post(f"/images/{image.pk}/modify/?project=cn-north-4",
                                         modify_data(revision, description="mine"), **ZH)
    assert response.status_code == 409
    html = response.content.decode()
    assert f"{IMAGE} 在您打开后已被他人修改（当前为修订版 {revision + 1}）" in html
    assert "was changed by someone else" not in html


def test_a_stale_user_edit_says_so_in_chinese(as_user):
    user = User.objects.get(username="viewer")
    client = as_user("admin")
    stale = user.revision
    iam_services.user_update(actor=User.objects.get(username="admin"), user=user, expected_revision=stale,
                             email="first@example.com")
    response = client.post(f"/iam/users/{user.pk}/edit/", {"email": "second@example.com", "is_active": "on",
                                                           "revision": stale}, **ZH)
    assert response.status_code == 409
    html = response.content.decode()
    assert f"viewer 在您打开后已被他人修改（当前为修订版 {stale + 1}）" in html


def test_a_stale_policy_save_says_so_in_chinese(as_user):
    admin = User.objects.get(username="admin")
    policy = iam_services.policy_create(actor=admin, name="Scratch", document={
        "Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:get"]}]})
    text = '{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]}'
    url = f"/iam/policies/{policy.pk}/edit/"
    client = as_user("iam-admin")
    assert client.post(url, {"name": "Scratch", "mode": "json", "document": text, "revision": "1"}).status_code == 302
    response = as_user("admin").post(url, {"name": "Scratch 2", "mode": "json", "document": text, "revision": "1"},
                                     **ZH)
    assert response.status_code == 409
    assert "Scratch 已被他人修改（当前为修订版 2，您编辑的是修订版 1）" in response.content.decode()
    assert Policy.objects.get(pk=policy.pk).name == "Scratch"
