"""TOTP multi-factor sign-in: enrolment, the code step, recovery codes, and g:MFAPresent/g:MFAAge
deciding for real. Codes are computed here from the device's secret, as an authenticator app would."""

import json
import re
import time
from base64 import b32decode

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import authz, mfa
from accounts.models import AuditEvent, User, UserGroup
from accounts.policy import compile_document, evaluate, validate_text
from accounts.services import grant_attach, policy_create
from images.models import Image

pytestmark = pytest.mark.usefixtures("demo")

PASSWORD = "imsperm-demo"
DELETABLE = "cn-north-4-centos-data-01"  # an image ims-admin may delete in cn-north-4
RECOVERY = [f"recover{i:03d}" for i in range(10)]
DENY_DELETE_WITHOUT_MFA = {
    "Version": "1.1",
    "Statement": [{"Effect": "Deny", "Action": ["ims:images:delete"],
                   "Condition": {"Bool": {"g:MFAPresent": ["false"]}}}],
}


def code_for(device, steps_ahead=0):
    """The code an authenticator app shows now (or `steps_ahead` 30-second steps later)."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + steps_ahead):06d}"


@pytest.fixture
def no_throttle(settings):
    """django-otp waits 1, 2, 4… seconds after a wrong code; tests that retry at once turn it off."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def enrol(username):
    """A user with MFA on: a confirmed app and the known recovery codes above."""
    user = User.objects.get(username=username)
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    recovery = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    for token in RECOVERY:
        recovery.token_set.create(token=token)
    return device


def password_step(client, username):
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD,
                                                "next": "/me/permissions/"})
    assert response.status_code == 302
    return response


def sign_in_with_code(client, username, device):
    password_step(client, username)
    response = client.post("/accounts/login/code/", {"code": code_for(device)})
    assert response.status_code == 302, response.content.decode()
    return client


# --- enrolment -------------------------------------------------------------------------------

def test_enrolment_shows_a_qr_code_and_secret_then_confirms_with_a_code_and_shows_ten_codes_once(as_user):
    client = as_user("viewer")
    page = client.get("/me/mfa/").content.decode()
    assert "MFA is off" in page
    assert client.post("/me/mfa/start/").status_code == 302
    page = client.get("/me/mfa/").content.decode()
    device = TOTPDevice.objects.get(user__username="viewer")
    assert not device.confirmed
    assert re.search(r'data-testid="mfa-qr"><svg[^>]*xmlns="http://www.w3.org/2000/svg"', page)
    secret = re.search(r'data-testid="mfa-secret">([A-Z2-7 ]+)<', page).group(1)
    assert b32decode(secret.replace(" ", "")) == device.bin_key  # what a person types into an app
    assert "<img" not in page  # nothing for the browser to fetch

    wrong = client.post("/me/mfa/confirm/", {"code": "000000" if code_for(device) != "000000" else "111111"})
    assert wrong.status_code == 400
    assert "That code is not valid" in wrong.content.decode()
    device.refresh_from_db()
    assert not device.confirmed

    device.throttle_reset()
    done = client.post("/me/mfa/confirm/", {"code": code_for(device)})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", done.content.decode())
    assert len(codes) == 10 == len(set(codes))
    assert sorted(codes) == sorted(StaticToken.objects.filter(device__user=device.user).values_list("token", flat=True))
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.filter(action="mfa:enable", actor=device.user, outcome="allowed").exists()

    later = client.get("/me/mfa/").content.decode()
    assert "MFA is on" in later and not any(code in later for code in codes)
    assert 'data-testid="recovery-left">10<' in later
    # Enrolling proved the app, so this very session counts as MFA-verified.
    assert "This session <strong>verified MFA</strong>" in later


def test_enrolment_forms_need_csrf(as_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username="viewer"))
    assert client.post("/me/mfa/start/").status_code == 403
    assert client.post("/me/mfa/confirm/", {"code": "123456"}).status_code == 403
    assert client.post("/me/mfa/remove/", {"code": "123456"}).status_code == 403
    device = enrol("developer")
    anonymous = Client(enforce_csrf_checks=True)
    page = anonymous.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    assert anonymous.post("/accounts/login/", {"username": "developer", "password": PASSWORD,
                                               "csrfmiddlewaretoken": token}).status_code == 302
    assert anonymous.post("/accounts/login/code/", {"code": code_for(device)}).status_code == 403


# --- signing in ------------------------------------------------------------------------------

def test_a_user_without_mfa_signs_in_with_the_password_only(client):
    response = client.post("/accounts/login/", {"username": "viewer", "password": PASSWORD})
    assert response["Location"] == "/"


def test_a_user_with_mfa_is_asked_for_a_code_and_is_not_signed_in_before_it(client, no_throttle):
    device = enrol("viewer")
    response = password_step(client, "viewer")
    assert response["Location"] == "/accounts/login/code/"
    assert client.get("/me/permissions/").status_code == 302  # not signed in yet
    page = client.get("/accounts/login/code/")
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.content.decode()

    wrong = client.post("/accounts/login/code/", {"code": "12345x"})
    assert wrong.status_code == 400
    assert "That code is not valid" in wrong.content.decode()
    assert client.get("/me/permissions/").status_code == 302
    refused = AuditEvent.objects.get(action="signin:codeRefused")
    assert (refused.actor_name, refused.outcome) == ("viewer", "denied")

    right = client.post("/accounts/login/code/", {"code": code_for(device)})
    assert right.status_code == 302 and right["Location"] == "/me/permissions/"
    assert client.get("/me/permissions/").status_code == 200


def test_a_used_code_cannot_be_used_again(client, no_throttle):
    device = enrol("viewer")
    code = code_for(device)
    sign_in_with_code(client, "viewer", device)
    other = Client()
    password_step(other, "viewer")
    assert other.post("/accounts/login/code/", {"code": code}).status_code == 400


def test_wrong_codes_are_throttled(client, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60  # the first wait is a minute, however slow this machine is
    device = enrol("viewer")
    password_step(client, "viewer")
    client.post("/accounts/login/code/", {"code": "000000" if code_for(device) != "000000" else "111111"})
    response = client.post("/accounts/login/code/", {"code": code_for(device)})
    assert response.status_code == 429
    assert "Too many wrong codes. Wait" in response.content.decode()
    assert AuditEvent.objects.filter(action="signin:codeRefused").count() == 1  # throttled tries write nothing


def test_a_recovery_code_signs_in_once(client):
    enrol("viewer")
    password_step(client, "viewer")
    response = client.post("/accounts/login/code/", {"code": "RECOVER 003"}, follow=True)
    assert response.redirect_chain[-1][0] == "/me/permissions/"
    assert "recovery code; 9 left" in response.content.decode()
    client.post("/accounts/logout/")
    again = Client()
    password_step(again, "viewer")
    assert again.post("/accounts/login/code/", {"code": "recover003"}).status_code == 400


def test_the_code_step_needs_a_recent_password(client):
    assert client.get("/accounts/login/code/")["Location"] == "/accounts/login/"
    device = enrol("viewer")
    password_step(client, "viewer")
    session = client.session
    session[mfa.PENDING_SESSION_KEY]["at"] = time.time() - 301
    session.save()
    response = client.post("/accounts/login/code/", {"code": code_for(device)})
    assert response["Location"] == "/accounts/login/"
    assert client.get("/me/permissions/").status_code == 302


def test_the_sign_in_session_is_a_new_one(client):
    enrol("viewer")
    client.get("/accounts/login/")
    before = client.session.session_key
    password_step(client, "viewer")
    assert client.session.session_key != before


# --- turning it off --------------------------------------------------------------------------

def test_turning_mfa_off_needs_a_current_code(client, no_throttle):
    device = enrol("viewer")
    sign_in_with_code(client, "viewer", device)
    wrong = client.post("/me/mfa/remove/", {"code": "99999z"})
    assert wrong.status_code == 400
    assert "That code is not valid" in wrong.content.decode()
    assert TOTPDevice.objects.filter(user__username="viewer").exists()
    assert AuditEvent.objects.filter(action="mfa:disable", outcome="denied").exists()

    response = client.post("/me/mfa/remove/", {"code": code_for(device, steps_ahead=1)}, follow=True)
    assert "MFA is off" in response.content.decode()
    assert not TOTPDevice.objects.filter(user__username="viewer").exists()
    assert not StaticDevice.objects.filter(user__username="viewer").exists()
    assert AuditEvent.objects.filter(action="mfa:disable", outcome="allowed").exists()
    assert client.post("/accounts/logout/").status_code == 302
    assert Client().post("/accounts/login/", {"username": "viewer", "password": PASSWORD})["Location"] == "/"


# --- g:MFAPresent and g:MFAAge ---------------------------------------------------------------

def test_the_catalogue_types_the_mfa_keys():
    assert validate_text('{"Version": "1.1", "Statement": [{"Effect": "Deny", "Action": ["ims:images:delete"], '
                         '"Condition": {"Bool": {"g:MFAPresent": ["false"]}, '
                         '"NumberGreaterThan": {"g:MFAAge": ["3600"]}}}]}').ok
    assert not validate_text('{"Version": "1.1", "Statement": [{"Effect": "Deny", "Action": ["ims:images:delete"], '
                             '"Condition": {"Bool": {"g:MFAAge": ["false"]}}}]}').ok


@pytest.fixture
def deny_delete_without_mfa():
    policy = policy_create(actor=None, name="DenyDeleteWithoutMFA", document=DENY_DELETE_WITHOUT_MFA)
    grant_attach(actor=None, group=UserGroup.objects.get(name="ims-admins"), policies=[policy], all_resources=True)
    return policy


def test_a_policy_requiring_mfa_refuses_delete_before_verification_and_allows_it_after(
        client, deny_delete_without_mfa):
    image = Image.objects.get(name=DELETABLE)
    password_only = Client()
    password_only.force_login(User.objects.get(username="ims-admin"))
    password_only.get("/images/?project=cn-north-4")
    refused = password_only.post(f"/images/{image.pk}/delete/")
    assert refused.status_code == 403
    assert "DenyDeleteWithoutMFA" in refused.content.decode()
    assert Image.objects.filter(pk=image.pk).exists()

    device = enrol("ims-admin")
    sign_in_with_code(client, "ims-admin", device)
    client.get("/images/?project=cn-north-4")
    response = client.post(f"/images/{image.pk}/delete/", follow=True)
    assert f"Image {DELETABLE} was deleted." in response.content.decode()
    assert not Image.objects.filter(pk=image.pk).exists()


def test_mfa_age_is_the_number_of_seconds_since_the_code(client):
    device = enrol("viewer")
    sign_in_with_code(client, "viewer", device)
    session = client.session
    session[mfa.VERIFIED_AT_SESSION_KEY] = time.time() - 600
    session.save()
    request = client.get("/me/permissions/").wsgi_request
    keys = authz.request_keys_for(request)
    assert keys["g:MFAPresent"] is True
    assert isinstance(keys["g:MFAAge"], int) and 600 <= keys["g:MFAAge"] < 660
    assert keys["g:SourceIp"] == "127.0.0.1"

    # A removed device no longer counts, whatever the session remembers.
    TOTPDevice.objects.filter(user=device.user).delete()
    request = client.get("/me/permissions/").wsgi_request
    assert authz.request_keys_for(request) == {"g:SourceIp": "127.0.0.1", "g:MFAPresent": False}


def test_mfa_age_decides_a_number_condition(client):
    device = enrol("viewer")
    sign_in_with_code(client, "viewer", device)
    request = client.get("/me/permissions/").wsgi_request
    document = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"],
                                                "Condition": {"NumberLessThan": {"g:MFAAge": ["300"]}}}]}
    fresh = authz.request_keys_for(request)
    assert evaluate([("p", compile_document(document))], "ims:images:list", fresh).allowed
    stale = {**fresh, "g:MFAAge": 301}
    assert not evaluate([("p", compile_document(document))], "ims:images:list", stale).allowed


def test_my_permissions_says_which_decisions_depend_on_mfa(client, deny_delete_without_mfa):
    def delete_cell(c):
        html = c.get("/me/permissions/").content.decode()
        return re.search(r'<td[^>]*data-project="cn-north-4" data-actions="ims:images:delete"[^>]*>(.*?)</td>',
                         html, re.S)

    password_only = Client()
    password_only.force_login(User.objects.get(username="ims-admin"))
    cell = delete_cell(password_only)
    assert 'data-allowed="false"' in cell.group(0) and "depends on MFA" in cell.group(1)
    assert "did not verify MFA" in cell.group(1)

    device = enrol("ims-admin")
    sign_in_with_code(client, "ims-admin", device)
    cell = delete_cell(client)
    assert 'data-allowed="true"' in cell.group(0) and "depends on MFA" in cell.group(1)
    # A decision that reads no MFA key says nothing about MFA.
    html = client.get("/me/permissions/").content.decode()
    listing = re.search(r'<td[^>]*data-project="cn-north-4" data-actions="ims:images:list ims:images:get"[^>]*>',
                        html)
    assert listing and "data-depends-on-mfa" not in listing.group(0)


def _simulated(client, **params):
    html = client.get("/iam/simulator/", params).content.decode()
    return html.split('data-action="ims:images:delete"')[1].split("</article>")[0]


def test_the_simulator_says_when_a_decision_depends_on_mfa(as_user, deny_delete_without_mfa):
    client = as_user("admin")
    user_case = _simulated(client, subject="user", user="ims-admin", actions=["ims:images:delete"],
                           project="cn-north-4")
    assert "depends on MFA" in user_case and "<code>g:MFAPresent</code> = false" in user_case
    verified = _simulated(client, subject="user", user="ims-admin", actions=["ims:images:delete"],
                          project="cn-north-4", context="g:MFAPresent=true")
    assert "<code>g:MFAPresent</code> = true" in verified
    pasted = _simulated(client, subject="document", document=json.dumps(DENY_DELETE_WITHOUT_MFA),
                        actions=["ims:images:delete"], project="cn-north-4")
    assert "depends on MFA" in pasted
    plain = client.get("/iam/simulator/", {"subject": "user", "user": "developer", "actions": ["ims:images:delete"],
                                           "project": "cn-north-4_dev"}).content.decode()
    assert "depends on MFA" not in plain


def test_the_simulator_decides_with_the_mfa_value_it_shows(as_user, deny_delete_without_mfa):
    client = as_user("admin")
    params = {"subject": "user", "user": "ims-admin", "actions": ["ims:images:delete"], "project": "cn-north-4"}
    without = client.get("/iam/simulator/", params).content.decode()
    with_mfa = client.get("/iam/simulator/", {**params, "context": "g:MFAPresent=true"}).content.decode()
    assert 'data-action="ims:images:delete" data-outcome="explicit_deny"' in without
    assert 'data-action="ims:images:delete" data-outcome="allow"' in with_mfa
