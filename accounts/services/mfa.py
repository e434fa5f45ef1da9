"""MFA services for the signed-in user: turn it on (authenticator app + recovery codes), turn it off,
name and remove passkeys (added through accounts.passkeys, which audits each addition).

Managing one's own second factor needs no IAM action (as in the cloud); turning it off needs a
current code, so a borrowed session cannot remove it. A code is checked before the writing
transaction opens: django-otp records a wrong code's throttling in its own transaction, which a
rollback here must not undo.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy, gettext_noop
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from accounts import audit, mfa
from accounts.enforcement import atomic_service, record_refusal, require
from accounts.policy import messages
from accounts.policy.messages import Message

from . import escalation

WRONG_CODE = gettext_noop("That code is not valid. Enter the current six-digit code from your authenticator app.")


def mfa_enrolment_start(*, actor) -> TOTPDevice:
    """A new, unconfirmed authenticator-app secret for `actor` (replacing any unfinished one)."""
    with transaction.atomic():
        if mfa.has_mfa(actor):
            raise ValidationError(gettext_lazy("MFA is already on. Turn it off first to set up a new authenticator "
                                               "app."))
        TOTPDevice.objects.filter(user=actor, confirmed=False).delete()
        return TOTPDevice.objects.create(user=actor, name="Authenticator app", confirmed=False)


def mfa_enrolment_confirm(*, actor, code: str) -> tuple[TOTPDevice, list[str]]:
    """Turn MFA on once the app shows a right code; returns the device and ten recovery codes
    (shown once: only django-otp's copies remain, each usable once)."""
    device = TOTPDevice.objects.filter(user=actor, confirmed=False).order_by("-pk").first()
    if device is None:
        raise ValidationError(gettext_lazy("Start the set-up again: there is no authenticator app waiting to be "
                                           "confirmed."))
    code = mfa.normalise_code(code)
    if not (code.isdigit() and device.verify_token(code)):
        raise ValidationError(gettext_lazy(WRONG_CODE))
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        StaticDevice.objects.filter(user=actor).delete()
        recovery = StaticDevice.objects.create(user=actor, name="Recovery codes", confirmed=True)
        codes = [StaticToken.random_token() for _ in range(mfa.RECOVERY_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=recovery, token=c) for c in codes)
        audit.record(actor=actor, action="mfa:enable", target=actor,
                     message=Message(gettext_noop("Turned MFA on (authenticator app, %(count)s recovery codes)."),
                                     count=len(codes)))
    return device, codes


def mfa_remove(*, actor, code: str) -> None:
    """Turn MFA off after a current code (app or recovery); a wrong code is refused and audited."""
    wait = mfa.seconds_until_allowed(actor, code)
    if wait:
        raise ValidationError(gettext_lazy("Too many wrong codes. Wait %(wait)s seconds, then try again."),
                              params={"wait": wait})
    device = mfa.verify_code(actor, code)
    if device is None:
        record_refusal(actor, "mfa:disable", target=actor,
                       message=Message(gettext_noop("Turning MFA off was refused: the code was not valid.")))
        raise ValidationError(mfa.refused_code_message(actor, code))
    with transaction.atomic():
        TOTPDevice.objects.filter(user=actor).delete()
        StaticDevice.objects.filter(user=actor).delete()
        passkeys = WebAuthnCredential.objects.filter(user=actor).delete()[1].get(WebAuthnCredential._meta.label, 0)
        audit.record(actor=actor, action="mfa:disable", target=actor,
                     message=messages.ngettext("Turned MFA off. Removed %(passkeys)s passkey.",
                                               "Turned MFA off. Removed %(passkeys)s passkeys.", passkeys,
                                               passkeys=passkeys)
                     if passkeys else Message(gettext_noop("Turned MFA off.")))


def passkey_rename(*, actor, passkey_id, name: str) -> WebAuthnCredential:
    """Name one of one's own passkeys (another person's is not found)."""
    name = " ".join("".join(c for c in str(name) if c.isprintable()).split())[:64]  # no NUL, no control
    if not name:
        raise ValidationError(gettext_lazy("Give the passkey a name."))
    with transaction.atomic():
        passkey = _own_passkey(actor, passkey_id)
        old = passkey.name
        passkey.name = name
        passkey.save(update_fields=["name"])
        audit.record(actor=actor, action="mfa:passkeyRename", target=actor,
                     message=Message(gettext_noop("Renamed the passkey “%(old)s” to “%(name)s”."), old=old, name=name),
                     details={"passkey_id": passkey.pk})
    return passkey


def passkey_remove(*, actor, passkey_id) -> str:
    """Remove one of one's own passkeys (sudo mode is the view's); returns its name."""
    with transaction.atomic():
        passkey = _own_passkey(actor, passkey_id)
        name = passkey.name
        passkey.delete()
        audit.record(actor=actor, action="mfa:passkeyRemove", target=actor,
                     message=Message(gettext_noop("Removed the passkey “%(name)s”."), name=name),
                     details={"passkey_id": passkey_id})
    return name


def _own_passkey(actor, passkey_id) -> WebAuthnCredential:
    try:
        return WebAuthnCredential.objects.select_for_update().get(pk=int(passkey_id), user=actor)
    except (TypeError, ValueError, OverflowError, WebAuthnCredential.DoesNotExist):
        raise WebAuthnCredential.DoesNotExist("No such passkey of yours.") from None


@atomic_service
def mfa_reset(*, actor, user) -> None:
    """An administrator turns off another person's MFA (they lost the app and the recovery codes).

    It weakens that person's sign-in, so it is acting on everything they hold: the same rules as
    setting their password (iam:users:updateUser, and the no-escalation rule).
    """
    require(actor, "iam:users:updateUser", target=user)
    if actor is not None and actor.pk == user.pk:
        raise ValidationError(gettext_lazy("Turn your own MFA off on the Sign-in security page, with a current code."))
    escalation.require_covers_user(actor, "iam:users:updateUser", user, doing="resetting the MFA of")
    passkeys = WebAuthnCredential.objects.filter(user=user)
    if not mfa.has_mfa(user) and not passkeys.exists():
        raise ValidationError(gettext_lazy("%(get_username)s has no MFA to reset."),
                              params={"get_username": user.get_username()})
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    removed = passkeys.delete()[1].get(WebAuthnCredential._meta.label, 0)
    audit.record(actor=actor, action="iam:users:updateUser", target=user,
                 message=messages.ngettext("MFA reset: the authenticator app, recovery codes and %(passkeys)s passkey "
                                           "were removed.",
                                           "MFA reset: the authenticator app, recovery codes and %(passkeys)s passkeys "
                                           "were removed.", removed, passkeys=removed)
                 if removed else Message(gettext_noop("MFA reset: the authenticator app and recovery codes were "
                                                      "removed.")))
