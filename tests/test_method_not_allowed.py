"""A method a console address does not accept answers the console's own 405 page (a fragment for
htmx), with the Allow header; the API (/api/) keeps its own JSON answers."""

import pytest
from django.test import Client

pytestmark = pytest.mark.usefixtures("demo")


def test_a_wrong_method_answers_the_consoles_405_page(as_user):
    response = as_user("viewer").get("/me/mfa/start/")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["Content-Type"].startswith("text/html")
    text = response.content.decode()
    assert 'data-testid="method-not-allowed"' in text
    assert "GET" in text and "POST" in text
    assert "<html" in text and "Sign out" in text  # the console's layout, not a bare body


def test_an_anonymous_wrong_method_gets_the_page_too():
    response = Client().get("/accounts/logout/")
    assert response.status_code == 405
    assert "POST" in response["Allow"]
    assert 'data-testid="method-not-allowed"' in response.content.decode()


def test_an_htmx_request_gets_the_fragment(as_user):
    response = as_user("viewer").delete("/me/api-tokens/create/", headers={"HX-Request": "true"})
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["HX-Retarget"] == "#messages"
    text = response.content.decode()
    assert 'data-testid="refusal"' in text and "DELETE" in text and "<html" not in text


def test_the_api_keeps_its_own_answers(as_user):
    response = as_user("viewer").get("/api/v1/authorize")
    assert response.status_code == 405
    assert 'data-testid="method-not-allowed"' not in response.content.decode()  # the API's answer, not the page
