"""A TOTP code already used (the app still shows it) is refused with the reason and what to do: wait
for the next code. A wrong code keeps the usual words. At sign-in, at "confirm it's you" and when
turning MFA off."""

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User

pytestmark = pytest.mark.usefixtures("demo")

REUSED = "already used"
NEXT = "Wait for the next code"


@pytest.fixture(autouse=True)
def no_throttle(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def code_for(device):
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def enrolled(username="viewer"):
    return TOTPDevice.objects.create(user=User.objects.get(username=username), name="app", confirmed=True)


def sign_in(client, device):
    client.post("/accounts/login/", {"username": device.user.username, "password": "imsperm-demo"})
    return client.post("/accounts/login/code/", {"code": code_for(device)})


def test_signing_in_again_with_the_code_just_used_says_to_wait_for_the_next(client):
    device = enrolled()
    assert sign_in(client, device).status_code == 302
    again = sign_in(Client(), device)
    assert again.status_code == 400
    page = again.content.decode()
    assert REUSED in page and NEXT in page


def test_a_wrong_code_is_still_just_wrong(client):
    device = enrolled()
    client.post("/accounts/login/", {"username": "viewer", "password": "imsperm-demo"})
    wrong = "000000" if code_for(device) != "000000" else "111111"
    page = client.post("/accounts/login/code/", {"code": wrong}).content.decode()
    assert "That code is not valid" in page and REUSED not in page


def test_confirming_with_the_sign_in_code_says_to_wait_for_the_next(client):
    device = enrolled()
    assert sign_in(client, device).status_code == 302
    page = client.post("/me/confirm/", {"code": code_for(device), "next": "/me/"}).content.decode()
    assert REUSED in page and NEXT in page


def test_turning_mfa_off_with_a_used_code_says_to_wait_for_the_next(client):
    device = enrolled()
    assert sign_in(client, device).status_code == 302
    page = client.post("/me/mfa/remove/", {"code": code_for(device)}, follow=True).content.decode()
    assert REUSED in page and NEXT in page
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
