"""Sudo mode: changes to how a person signs in, or to the credentials they hold, ask for the password
(or a current code, with MFA on) again when the last proof is older than IMSPERM_SUDO_SECONDS.

A borrowed session (signed in long ago, the owner away) must not turn MFA on with someone else's
authenticator, turn it off, add a factor, create an API token or change a password. A POST without a
fresh proof never performs the change; a GET of such a page shows "Confirm it's you" first.
"""

import time

import pytest
from axes.models import AccessAttempt
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import resolve
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEvent, User
from api.models import ApiToken

pytestmark = pytest.mark.usefixtures("demo")

PASSWORD = "imsperm-demo"
SUDO_KEY = "imsperm_sudo_at"  # the session's time of the last proof (accounts.sudo.SESSION_KEY)
CONFIRM = "/me/confirm/"


def code_for(device, steps_ahead=0):
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + steps_ahead):06d}"


def enrol(username):
    user = User.objects.get(username=username)
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    recovery = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    recovery.token_set.create(token="recover000")
    return device


def borrowed(username, *, age=3600):
    """A session its owner signed in to `age` seconds ago and then left: the proof is old."""
    client = Client()
    client.force_login(User.objects.get(username=username))
    session = client.session
    session[SUDO_KEY] = time.time() - age
    session.save()
    return client


@pytest.fixture
def no_throttle(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


# --- a borrowed session changes nothing --------------------------------------------------------

def test_a_borrowed_session_cannot_start_mfa_enrolment():
    client = borrowed("viewer")
    response = client.post("/me/mfa/start/")
    assert response.status_code in (302, 303)
    assert response["Location"].startswith(f"{CONFIRM}?next=/me/mfa/")
    assert not TOTPDevice.objects.filter(user__username="viewer").exists()


def test_a_borrowed_session_cannot_confirm_an_attackers_authenticator():
    """The reported attack: the attacker's app confirms enrolment, the owner then needs its code."""
    viewer = User.objects.get(username="viewer")
    attacker_app = TOTPDevice.objects.create(user=viewer, name="Authenticator app", confirmed=False)
    client = borrowed("viewer")
    response = client.post("/me/mfa/confirm/", {"code": code_for(attacker_app)})
    assert response.status_code in (302, 303)
    attacker_app.refresh_from_db()
    assert not attacker_app.confirmed
    assert not StaticDevice.objects.filter(user=viewer).exists()
    assert not AuditEvent.objects.filter(action="mfa:enable", actor=viewer).exists()
    # the owner still signs in with the password alone
    assert Client().post("/accounts/login/", {"username": "viewer", "password": PASSWORD})["Location"] == "/"


def test_a_borrowed_session_cannot_turn_mfa_off_even_with_a_code(no_throttle):
    device = enrol("viewer")
    client = borrowed("viewer")
    response = client.post("/me/mfa/remove/", {"code": code_for(device)})
    assert response.status_code in (302, 303)
    assert TOTPDevice.objects.filter(user__username="viewer", confirmed=True).exists()
    assert not AuditEvent.objects.filter(action="mfa:disable", outcome="allowed").exists()


def test_a_borrowed_session_cannot_create_an_api_token():
    client = borrowed("viewer")
    response = client.post("/me/api-tokens/create/", {"name": "exfiltrate"})
    assert response.status_code in (302, 303)
    assert response["Location"].startswith(f"{CONFIRM}?next=/me/api-tokens/")
    assert not ApiToken.objects.filter(user__username="viewer").exists()


def test_a_borrowed_htmx_post_is_sent_to_the_confirm_page_without_the_change():
    client = borrowed("viewer")
    response = client.post("/me/api-tokens/create/", {"name": "x"}, headers={"HX-Request": "true"})
    assert response["HX-Redirect"].startswith(f"{CONFIRM}?next=")
    assert not ApiToken.objects.exists()


def test_a_borrowed_session_cannot_change_its_password_in_django_admin():
    admin = User.objects.get(username="admin")
    before = admin.password
    client = borrowed("admin")
    page = client.get("/admin/password_change/")
    assert page.status_code == 302 and page["Location"] == f"{CONFIRM}?next=/admin/password_change/"
    response = client.post("/admin/password_change/", {"old_password": PASSWORD, "new_password1": "Zx9!long-enough",
                                                       "new_password2": "Zx9!long-enough"})
    assert response.status_code in (302, 303) and response["Location"].startswith(CONFIRM)
    admin.refresh_from_db()
    assert admin.password == before
    own = f"/admin/accounts/user/{admin.pk}/password/"
    assert client.get(own)["Location"] == f"{CONFIRM}?next={own}"
    response = client.post(own, {"password1": "Zx9!long-enough", "password2": "Zx9!long-enough"})
    assert response["Location"].startswith(CONFIRM)
    admin.refresh_from_db()
    assert admin.password == before


def test_a_borrowed_session_cannot_set_its_own_password_in_the_iam_console():
    admin = User.objects.get(username="admin")
    before = admin.password
    client = borrowed("admin")
    own = f"/iam/users/{admin.pk}/password/"
    assert client.get(own)["Location"] == f"{CONFIRM}?next={own}"
    response = client.post(own, {"password_mode": "set", "password1": "Zx9!long-enough",
                                 "password2": "Zx9!long-enough"})
    assert response.status_code in (302, 303) and response["Location"] == f"{CONFIRM}?next={own}"
    admin.refresh_from_db()
    assert admin.password == before
    # another person's password is an IAM action (iam:users:updateUser), decided as before
    newcomer = User.objects.get(username="newcomer")
    assert client.get(f"/iam/users/{newcomer.pk}/password/").status_code == 200


def test_every_sensitive_route_is_behind_sudo_mode():
    for url in ("/me/mfa/start/", "/me/mfa/confirm/", "/me/mfa/remove/", "/me/api-tokens/create/",
                "/admin/password_change/"):
        assert getattr(resolve(url).func, "sudo_required", False), url


def test_the_proof_lasts_the_configured_seconds(settings):
    settings.IMSPERM_SUDO_SECONDS = 300
    fresh = borrowed("viewer", age=200)
    assert fresh.post("/me/mfa/start/")["Location"] == "/me/mfa/"
    assert TOTPDevice.objects.filter(user__username="viewer").exists()
    stale = borrowed("developer", age=400)
    assert stale.post("/me/mfa/start/")["Location"].startswith(CONFIRM)


def test_signing_in_is_a_fresh_proof(client):
    assert client.post("/accounts/login/", {"username": "viewer", "password": PASSWORD}).status_code == 302
    assert client.post("/me/api-tokens/create/", {"name": "ci"}).status_code == 201


# --- confirming ---------------------------------------------------------------------------------

def test_confirming_with_the_password_lets_the_change_through_and_is_audited():
    client = borrowed("viewer")
    page = client.get(f"{CONFIRM}?next=/me/api-tokens/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Confirm it’s you" in text and 'name="password"' in text and 'name="code"' not in text
    assert 'name="next" value="/me/api-tokens/"' in text
    response = client.post(CONFIRM, {"password": PASSWORD, "next": "/me/api-tokens/"})
    assert response.status_code == 302 and response["Location"] == "/me/api-tokens/"
    event = AuditEvent.objects.get(action="sudo:confirm", actor__username="viewer")
    assert event.outcome == "allowed"
    assert client.post("/me/api-tokens/create/", {"name": "ci"}).status_code == 201


def test_a_wrong_password_is_refused_audited_and_counted_toward_the_lockout():
    client = borrowed("viewer")
    response = client.post(CONFIRM, {"password": "wrong", "next": "/me/mfa/"})
    assert response.status_code == 400
    assert "not your password" in response.content.decode()
    assert AuditEvent.objects.filter(action="sudo:confirm", outcome="denied", actor__username="viewer").exists()
    assert AccessAttempt.objects.get(username="viewer").failures_since_start == 1
    assert client.post("/me/mfa/start/")["Location"].startswith(CONFIRM)


def test_wrong_passwords_lock_out_confirming_and_signing_in(settings):
    client = borrowed("viewer")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(CONFIRM, {"password": "wrong", "next": "/me/mfa/"})
    locked = client.post(CONFIRM, {"password": PASSWORD, "next": "/me/mfa/"})
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "Too many failed" in text and "Confirm it’s you" in text
    assert client.post("/me/mfa/start/")["Location"].startswith(CONFIRM)
    assert not TOTPDevice.objects.exists()
    assert AuditEvent.objects.filter(action="signin:lockout", target_repr="viewer").exists()
    assert Client().post("/accounts/login/", {"username": "viewer", "password": PASSWORD}).status_code == 429


def test_with_mfa_on_the_confirm_page_asks_for_a_current_code(no_throttle):
    device = enrol("developer")
    client = borrowed("developer")
    text = client.get(f"{CONFIRM}?next=/me/mfa/").content.decode()
    assert 'name="code"' in text and 'name="password"' not in text
    assert client.post(CONFIRM, {"password": PASSWORD, "next": "/me/mfa/"}).status_code == 400
    wrong = client.post(CONFIRM, {"code": "000000", "next": "/me/mfa/"})
    assert wrong.status_code == 400
    assert AuditEvent.objects.filter(action="sudo:confirm", outcome="denied", actor__username="developer").exists()
    right = client.post(CONFIRM, {"code": code_for(device), "next": "/me/mfa/"})
    assert right.status_code == 302 and right["Location"] == "/me/mfa/"
    assert AuditEvent.objects.filter(action="sudo:confirm", outcome="allowed", actor__username="developer").exists()
    response = client.post("/me/mfa/remove/", {"code": code_for(device, steps_ahead=1)})
    assert response["Location"] == "/me/mfa/"
    assert not TOTPDevice.objects.filter(user__username="developer").exists()


def test_an_account_without_a_password_confirms_by_signing_in_again():
    """An account that signs in through an identity provider has no password to give: it signs in
    again (which is a fresh proof) and comes back to the step it was on."""
    viewer = User.objects.get(username="viewer")
    viewer.set_unusable_password()
    viewer.save(update_fields=["password"])
    client = borrowed("viewer")
    text = client.get(f"{CONFIRM}?next=/me/mfa/").content.decode()
    assert 'data-testid="sudo-sign-in-again"' in text and 'name="password"' not in text
    response = client.post("/accounts/logout/", {"next": "/accounts/login/?next=/me/mfa/"})
    assert response["Location"] == "/accounts/login/?next=/me/mfa/"


def test_the_next_address_stays_on_this_site():
    client = borrowed("viewer")
    response = client.post(CONFIRM, {"password": PASSWORD, "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"
    page = client.get(f"{CONFIRM}?next=//evil.example/").content.decode()
    assert "evil.example" not in page


def test_the_confirm_page_needs_a_signed_in_user():
    response = Client().get(CONFIRM)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_confirm_form_needs_csrf():
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username="viewer"))
    assert client.post(CONFIRM, {"password": PASSWORD}).status_code == 403


# --- the decorator, for views to come (identity providers) ------------------------------------

def test_the_decorator_never_runs_a_post_without_a_fresh_proof(settings):
    from accounts.sudo import sudo_required

    ran = []

    @sudo_required(back="accounts:mfa")
    def change_identity_provider(request):
        ran.append(request.method)
        return HttpResponse("changed")

    viewer = User.objects.get(username="viewer")
    request = RequestFactory().post("/iam/identity-providers/1/", {"x": "1"})
    request.user = viewer
    request.session = borrowed("viewer").session
    response = change_identity_provider(request)
    assert ran == [] and response["Location"] == f"{CONFIRM}?next=/me/mfa/"
    get = RequestFactory().get("/iam/identity-providers/1/?tab=a")
    get.user, get.session = viewer, request.session
    assert change_identity_provider(get)["Location"] == f"{CONFIRM}?next=/iam/identity-providers/1/%3Ftab%3Da"
    request.session["imsperm_sudo_at"] = time.time()
    assert change_identity_provider(request).content == b"changed" and ran == ["POST"]
