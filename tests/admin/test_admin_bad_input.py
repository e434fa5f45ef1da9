"""Ids no row can have (23 digits, words) answer 4xx in the admin, never a database error."""

import pytest
from django.urls import reverse

from accounts.management.commands.seed_demo import demo_id
from accounts.models import Grant, UserGroup

from .conftest import form_data

pytestmark = pytest.mark.usefixtures("demo")
IMPOSSIBLE = ["9" * 23, "-" + "9" * 23, "abc"]


@pytest.mark.parametrize("value", IMPOSSIBLE)
@pytest.mark.parametrize("changelist", ["accounts_user", "accounts_grant", "accounts_policy", "images_image"])
def test_a_bulk_action_on_an_impossible_id_is_a_bad_request(operator, changelist, value):
    response = operator.post(reverse(f"admin:{changelist}_changelist"),
                             {"action": "delete_selected", "post": "yes", "_selected_action": [value]})
    assert response.status_code == 400


@pytest.mark.parametrize("value", IMPOSSIBLE)
def test_a_grant_naming_an_impossible_group_or_policy_is_a_bad_request(operator, value):
    before = Grant.objects.count()
    for data in ({"group": value, "policy": "1", "all_resources": "on"},
                 {"group": "1", "policy": value, "all_resources": "on"},
                 {"group": "1", "policy": "1", "projects": ["1", value]}):
        assert operator.post(reverse("admin:accounts_grant_add"), data).status_code == 400
    assert Grant.objects.count() == before


@pytest.mark.parametrize("value", IMPOSSIBLE)
def test_an_inline_row_naming_an_impossible_id_is_a_bad_request(operator, value):
    group = UserGroup.objects.get(name="viewers")
    path = reverse("admin:accounts_usergroup_change", args=[group.pk])
    data = form_data(operator.get(path), "usergroup", **{
        "memberships-TOTAL_FORMS": "2", "memberships-1-user": value})
    assert operator.post(path, data).status_code == 400
    image_path = reverse("admin:images_image_change", args=[demo_id("cn-north-4-ubuntu-system-00")])
    page = operator.get(image_path)
    total = int(form_data(page, "image")["members-TOTAL_FORMS"])
    data = form_data(page, "image", **{"members-TOTAL_FORMS": str(total + 1), f"members-{total}-project": value})
    assert operator.post(image_path, data).status_code == 400


@pytest.mark.parametrize("value", IMPOSSIBLE)
def test_an_impossible_object_id_in_the_url_is_not_found(operator, value):
    for name in ("accounts_user_change", "accounts_user_delete", "accounts_policy_change", "accounts_grant_delete",
                 "images_image_change", "images_image_delete", "accounts_user_password_change"):
        name = "auth_user_password_change" if name == "accounts_user_password_change" else name
        response = operator.post(reverse(f"admin:{name}", args=[value]), {"post": "yes"})
        assert response.status_code in (302, 404), (name, response.status_code)
