"""Django admin is for operators (staff): a signed-in person who is not staff gets the console's 403
page saying so, at once, instead of a redirect loop between /admin/login/ and /accounts/login/;
anonymous visitors are still sent to sign in."""

from urllib.parse import unquote

import pytest
from django.test import Client

from accounts.models import User

pytestmark = pytest.mark.usefixtures("demo")

OPERATORS_ONLY = "Django admin is for operators"


@pytest.mark.parametrize("path", ["/admin/", "/admin/accounts/user/", "/admin/images/image/add/",
                                  "/admin/password_change/"])
def test_a_signed_in_non_staff_person_gets_the_consoles_403(as_user, path):
    client = as_user("viewer")
    response = client.get(path)
    assert response.status_code == 403
    text = response.content.decode()
    assert OPERATORS_ONLY in text and 'data-testid="forbidden"' in text


def test_following_the_redirects_ends_on_the_403_page_not_in_a_loop(as_user):
    client = as_user("developer")
    response = client.get("/admin/login/?next=/admin/", follow=True)
    assert response.status_code == 403
    assert OPERATORS_ONLY in response.content.decode()
    assert len(response.redirect_chain) <= 1


def test_an_htmx_request_gets_the_refusal_fragment(as_user):
    response = as_user("viewer").get("/admin/", headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#messages"
    assert OPERATORS_ONLY in response.content.decode()


def test_anonymous_visitors_are_still_sent_to_sign_in():
    response = Client().get("/admin/", follow=True)
    assert response.redirect_chain[0][0].startswith("/admin/login/")
    assert unquote(response.redirect_chain[-1][0]) == "/accounts/login/?next=/admin/"
    assert response.status_code == 200


def test_staff_still_get_the_admin(as_user):
    assert User.objects.get(username="admin").is_staff
    assert as_user("admin").get("/admin/").status_code == 200
    # a staff member who opens the admin's sign-in address is sent on, not asked again
    assert as_user("admin").get("/admin/login/?next=/admin/")["Location"] == "/admin/"
