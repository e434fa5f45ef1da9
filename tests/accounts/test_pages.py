"""Sign-in, sign-out and My permissions as a user sees them."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.usefixtures("demo")


def test_sign_in_page_shows_the_form(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content and b'name="password"' in response.content


def test_signing_in_with_the_demo_password_works_and_a_wrong_one_says_so(client):
    response = client.post("/accounts/login/", {"username": "viewer", "password": "imsperm-demo"})
    assert response.status_code == 302
    bad = Client().post("/accounts/login/", {"username": "viewer", "password": "nope"})
    assert bad.status_code == 200
    assert b"correct username and password" in bad.content


def test_sign_in_needs_the_csrf_token():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "viewer", "password": "imsperm-demo"})
    assert response.status_code == 403


def test_sign_out_is_a_post(as_user):
    client = as_user("viewer")
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/me/permissions/").status_code == 302


def test_my_permissions_needs_a_signed_in_user(client):
    response = client.get("/me/permissions/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def cells(response):
    """{(operation label, project): allowed} read from the rendered grid."""
    html = response.content.decode()
    found = {}
    for row in re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", html, re.S):
        label = row.split("<br>")[0].strip()
        for project, allowed in re.findall(r'data-project="([^"]+)"[^>]*data-allowed="(true|false)"', row):
            found[(label, project)] = allowed == "true"
    return found


# The seed's common-operations table, per persona, by hand (Y = allowed).
@pytest.mark.parametrize(("persona", "project", "create", "delete", "query", "update"), [
    ("viewer", "cn-north-4", False, False, True, False),
    ("viewer", "eu-west-101", False, False, True, False),
    ("ims-admin", "ap-southeast-1", True, True, True, True),
    ("developer", "cn-north-4_dev", True, False, True, True),
    ("developer", "cn-north-4", False, False, False, False),
    ("north-ops", "cn-north-4", True, True, True, True),
    ("north-ops", "eu-west-101", False, False, False, False),
    ("newcomer", "cn-north-4", False, False, False, False),
    ("admin", "eu-west-101", True, True, True, True),
])
def test_my_permissions_grid_shows_the_common_operations(as_user, persona, project, create, delete, query, update):
    grid = cells(as_user(persona).get("/me/permissions/"))
    assert grid[("Creating images", project)] is create
    assert grid[("Deleting images", project)] is delete
    assert grid[("Querying images", project)] is query
    assert grid[("Updating image information", project)] is update


def test_every_ims_action_has_a_row(as_user):
    grid = cells(as_user("viewer").get("/me/permissions/"))
    assert len({label for label, _ in grid}) == 4 + 13 - 5  # common rows cover 5 of the 13 actions
    assert len({project for _, project in grid}) == 4


def test_a_denied_cell_explains_which_statement_decided(as_user):
    html = as_user("developer").get("/me/permissions/").content.decode()
    assert "DenyImageDeletion Statement 1, granted to group developers on cn-north-4_dev" in html


def test_a_newcomer_is_told_why_nothing_is_allowed(as_user):
    assert b"You are in no group yet" in as_user("newcomer").get("/me/permissions/").content


def test_my_permissions_query_budget_is_constant(as_user, django_assert_max_num_queries):
    client = as_user("developer")
    client.get("/me/permissions/")
    with django_assert_max_num_queries(8):
        assert client.get("/me/permissions/").status_code == 200
