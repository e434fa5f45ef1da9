"""Sign-in throttling (django-axes) and Cache-Control, as a person at the sign-in page sees them."""

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client, override_settings

from accounts.models import AuditEvent

pytestmark = pytest.mark.usefixtures("demo")

PASSWORD = "imsperm-demo"
LOCKED = "Too many failed sign-in attempts. Try again in 15 minutes."
WRONG = "Please enter a correct username and password"


def sign_in(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def normalised(response, username):
    """The page without what differs by design: CSRF token, CSP nonce, the name the person typed."""
    html = re.sub(r'nonce="[^"]+"', "NONCE", response.content.decode())
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)
    html = re.sub(r'"X-CSRFToken": "[^"]+"', "CSRF", html)
    return html.replace(f'value="{username}"', 'value="NAME"')


def test_the_limit_and_the_wait_are_the_documented_defaults():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_the_fifth_wrong_password_locks_the_name_and_address_with_a_clear_message(client):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = sign_in(client, "viewer", "wrong")
        assert response.status_code == 200
        assert WRONG in response.content.decode()
    response = sign_in(client, "viewer", "wrong")
    assert response.status_code == 429
    html = response.content.decode()
    assert LOCKED in html
    assert WRONG not in html
    assert 'name="csrfmiddlewaretoken"' in html  # the form is still a CSRF-protected form


def test_unknown_and_known_names_get_the_same_answers_and_the_same_lockout():
    known, unknown = Client(), Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT + 2):
        a = sign_in(known, "viewer", "wrong")
        b = sign_in(unknown, "nobody-by-this-name", "wrong")
        assert a.status_code == b.status_code == (200 if attempt < settings.AXES_FAILURE_LIMIT - 1 else 429)
        assert normalised(a, "viewer") == normalised(b, "nobody-by-this-name")


def test_a_locked_name_and_address_is_refused_even_with_the_right_password(client):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "viewer", "wrong")
    response = sign_in(client, "viewer", PASSWORD)
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert client.get("/me/permissions/").status_code == 302  # not signed in


def test_the_same_name_from_another_address_is_not_locked(client):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "viewer", "wrong")
    elsewhere = Client(REMOTE_ADDR="192.0.2.77")
    response = sign_in(elsewhere, "viewer", PASSWORD)
    assert response.status_code == 302
    assert elsewhere.get("/me/permissions/").status_code == 200
    # ...and another name from the locked address is not locked either.
    assert sign_in(Client(), "developer", PASSWORD).status_code == 302


def test_the_lockout_is_audited_once_naming_the_attempted_name(client):
    for _ in range(settings.AXES_FAILURE_LIMIT + 3):
        sign_in(client, "nobody-by-this-name", "wrong")
    events = AuditEvent.objects.filter(action="signin:lockout")
    assert events.count() == 1
    event = events.get()
    assert event.outcome == AuditEvent.Outcome.DENIED
    assert event.actor is None and event.actor_name == "anonymous"
    assert event.target_repr == "nobody-by-this-name"
    assert event.details["source_ip"] == "127.0.0.1"


def test_a_successful_sign_in_resets_the_count(client):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "viewer", "wrong")
    assert sign_in(client, "viewer", PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "viewer", "wrong").status_code == 200
    assert sign_in(client, "viewer", PASSWORD).status_code == 302


def test_the_lockout_ends_after_the_wait(client):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "viewer", "wrong")
    assert sign_in(client, "viewer", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16))
    assert sign_in(client, "viewer", PASSWORD).status_code == 302


def test_the_wait_is_configurable_and_the_message_follows_it(client):
    with override_settings(AXES_FAILURE_LIMIT=2, AXES_COOLOFF_TIME=timedelta(minutes=1)):
        sign_in(client, "viewer", "wrong")
        response = sign_in(client, "viewer", "wrong")
    assert response.status_code == 429
    assert "Try again in 1 minute." in response.content.decode()


def test_the_test_client_can_still_sign_in_without_a_request(client):
    assert client.login(username="viewer", password=PASSWORD)
    assert client.get("/me/permissions/").status_code == 200


def test_the_admin_sign_in_form_leads_to_the_one_sign_in_page(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/"


# --- Cache-Control ---------------------------------------------------------------------------

def test_signed_in_pages_are_not_stored(as_user):
    client = as_user("viewer")
    for path in ("/me/permissions/", "/images/?project=cn-north-4", "/me/mfa/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"], path


def test_the_sign_in_pages_are_not_stored_either(client):
    assert "no-store" in client.get("/accounts/login/")["Cache-Control"]


@override_settings(WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True)
def test_static_files_keep_their_caching(as_user):
    response = as_user("viewer").get("/static/css/console.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    assert "max-age" in response["Cache-Control"]
