"""Multi-factor sign-in state: which devices a user has, whether this session verified one, and
the condition keys (g:MFAPresent, g:MFAAge) that follow from it.

django-otp owns the devices, their secrets, replay protection and throttling; this module only
says how the console uses them: an authenticator app (TOTP) is what turns MFA on, and its ten
recovery codes live on a static device beside it.
"""

from __future__ import annotations

import time
from base64 import b32encode
from dataclasses import dataclass
from datetime import UTC, datetime

import django_otp
import qrcode
import qrcode.image.svg
from django.conf import settings
from django.utils.translation import gettext_noop
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import wording
from .policy.messages import Message

VERIFIED_AT_SESSION_KEY = "imsperm_mfa_verified_at"
PENDING_SESSION_KEY = "imsperm_mfa_pending"
RECOVERY_CODE_COUNT = 10
MFA_CONDITION_KEYS = frozenset({"g:MFAPresent", "g:MFAAge"})


def has_mfa(user) -> bool:
    """Whether the user has turned MFA on (a confirmed authenticator app)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def normalise_code(code: str) -> str:
    """Codes as people type them: spaces and dashes dropped, recovery codes in lower case."""
    return "".join(code.split()).replace("-", "").lower()


def device_for_code(user, code: str):
    """The confirmed device a code is meant for: six digits go to the app, anything else is a
    recovery code. Choosing one device keeps a recovery code from counting as a wrong app code
    (django-otp throttles each device on its own failures)."""
    model = TOTPDevice if code.isdigit() and len(code) == 6 else StaticDevice
    return model.objects.filter(user=user, confirmed=True).first()


def verify_code(user, code: str):
    """The device that accepts `code` (used up if it is a recovery code), or None.

    django-otp verifies in its own transaction, so a wrong code's throttling survives any
    rollback of the caller.
    """
    code = normalise_code(code)
    device = device_for_code(user, code) if code else None
    if device is None:
        return None
    return django_otp.verify_token(user, device.persistent_id, code)


WRONG_CODE = gettext_noop("That code is not valid. Enter the current code from your authenticator app, "
                          "or one of your recovery codes.")
USED_CODE = gettext_noop("That code was already used: each code from the authenticator app works once. "
                         "Wait for the next code (a new one every %(step)s seconds), then enter it.")


def code_was_used(user, code: str) -> bool:
    """Whether `code` is one the user's app showed within its tolerance and that was already accepted
    (django-otp refuses a step at or before the last one used, against replay)."""
    code = normalise_code(code)
    if not (code.isdigit() and len(code) == 6):
        return False
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None or device.last_t < 0:
        return False
    counter = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    for offset in range(-device.tolerance, device.tolerance + 1):
        counter.drift = device.drift + offset
        if counter.t() <= device.last_t and counter.token() == int(code):
            return True
    return False


def refused_code_message(user, code: str, wrong: str = WRONG_CODE):
    """What to tell someone whose code was refused: to wait for the next code when the one typed was
    already used (the app still shows it), else `wrong` (a template). The one wording at every door that takes
    a code; a lazy text, read in the person's language where it is shown, worded when stored."""
    if code_was_used(user, code):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        return wording.lazy(Message(USED_CODE, step=device.step if device else 30))
    return wording.lazy(Message(wrong))


def seconds_until_allowed(user, code: str) -> int:
    """How long django-otp's throttle makes the user wait before this kind of code is tried (0: now)."""
    device = device_for_code(user, normalise_code(code))
    if device is None:
        return 0
    allowed, info = device.verify_is_allowed()
    if allowed or not info or "locked_until" not in info:
        return 0
    return max(1, int((info["locked_until"] - datetime.now(UTC)).total_seconds() + 0.999))


def mark_verified(request, device) -> None:
    """Record in the session that its user proved a second factor just now."""
    django_otp.login(request, device)
    request.session[VERIFIED_AT_SESSION_KEY] = time.time()


def forget_verification(request) -> None:
    request.session.pop(django_otp.DEVICE_ID_SESSION_KEY, None)
    request.session.pop(VERIFIED_AT_SESSION_KEY, None)
    if hasattr(request.user, "otp_device"):
        request.user.otp_device = None


def session_keys(request) -> dict[str, object]:
    """g:MFAPresent (this session verified a device that still exists, or signed in through an identity
    provider whose MFA the console trusts: federation.trust) and, when it did, g:MFAAge (whole seconds
    since)."""
    user = getattr(request, "user", None)
    verified_at = request.session.get(VERIFIED_AT_SESSION_KEY) if hasattr(request, "session") else None
    is_verified = getattr(user, "is_verified", None)
    present = bool(verified_at is not None and is_verified is not None and is_verified())
    if not present:
        from federation import trust

        verified_at = trust.verified_at(request) if hasattr(request, "session") else None
        if verified_at is None:
            return {"g:MFAPresent": False}
    return {"g:MFAPresent": True, "g:MFAAge": max(0, int(time.time() - float(verified_at)))}


# --- sign-in between the password and the code ---------------------------------------------

@dataclass(frozen=True)
class PendingSignIn:
    user_id: int
    backend: str
    next_url: str


def start_pending(request, user, next_url: str) -> None:
    """The password was right and a code is needed: remember who, for a few minutes, in a fresh session."""
    request.session.cycle_key()
    request.session[PENDING_SESSION_KEY] = {
        "user_id": user.pk, "backend": user.backend, "at": time.time(), "next": next_url,
    }


def pending(request) -> PendingSignIn | None:
    """The sign-in waiting for its code, or None (none started, or older than the allowed minutes)."""
    data = request.session.get(PENDING_SESSION_KEY)
    if not isinstance(data, dict):
        return None
    if time.time() - float(data.get("at", 0)) > settings.IMSPERM_MFA_PENDING_SECONDS:
        request.session.pop(PENDING_SESSION_KEY, None)
        return None
    return PendingSignIn(int(data["user_id"]), str(data["backend"]), str(data.get("next", "")))


def clear_pending(request) -> None:
    request.session.pop(PENDING_SESSION_KEY, None)


def qr_svg(text: str) -> str:
    """`text` as a QR code in inline SVG: no image request, nothing for the CSP to allow."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


def secret_for_people(device: TOTPDevice) -> str:
    """The device's secret in base32, in groups of four, for typing into an app by hand."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
