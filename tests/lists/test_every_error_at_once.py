"""A form shows every field's error on the first submit: creating a user with a taken or malformed name
and a bad e-mail names both at once (it used to report the e-mail, then the name on the next submit:
the form checked its fields, the user's own rules waited for the service)."""

import re

import pytest

from accounts import services
from accounts.models import User

pytestmark = pytest.mark.usefixtures("demo")


def invalid_fields(response) -> set[str]:
    page = response.content.decode()
    return set(re.findall(r'<(?:input|select|textarea)[^>]*?name="(\w+)"[^>]*aria-invalid="true"', page)) | set(
        re.findall(r'<(?:input|select|textarea)[^>]*aria-invalid="true"[^>]*?name="(\w+)"', page))


@pytest.mark.parametrize(("username", "reason"), [
    ("viewer", "already exists"),  # taken
    ("no spaces!", "Enter a valid username"),  # malformed
])
def test_create_user_names_the_name_and_the_email_on_the_first_submit(as_user, username, reason):
    response = as_user("admin").post("/iam/users/new/", {
        "username": username, "email": "not-an-email", "password_mode": "set",
        "password1": "short", "password2": "different", "is_active": "on"})
    assert response.status_code == 422
    page = response.content.decode()
    assert {"username", "email", "password2"} <= invalid_fields(response), invalid_fields(response)
    assert reason in page and "Enter a valid email address" in page and "The two passwords differ" in page
    assert not User.objects.filter(email="not-an-email").exists()


def test_a_deleted_persons_name_is_named_beside_the_other_errors(as_user):
    gone, _ = services.user_create(actor=None, username="gone", password="imsperm-demo")
    services.user_delete(actor=User.objects.get(username="admin"), user=gone)
    response = as_user("admin").post("/iam/users/new/", {
        "username": "gone", "email": "bad@", "password_mode": "generate", "first_name": "x" * 200})
    assert response.status_code == 422
    assert {"username", "email", "first_name"} <= invalid_fields(response)
    assert "belonged to a deleted user" in response.content.decode()


def test_a_good_form_still_creates_the_user(as_user):
    response = as_user("admin").post("/iam/users/new/", {
        "username": "fresh", "email": "fresh@example.com", "password_mode": "generate", "is_active": "on"})
    assert response.status_code == 302
    assert User.objects.get(username="fresh").email == "fresh@example.com"
