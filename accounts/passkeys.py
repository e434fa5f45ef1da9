"""Passkeys and security keys (WebAuthn) as a second factor, beside the authenticator app.

django-otp-webauthn does the protocol: it keeps each credential as a django-otp device, makes the
options, and checks every answer with py_webauthn (challenge, origin, RP ID, signature, user
presence, sign count). This module only says how the console uses it:

- a person adds passkeys once MFA is on (as GitHub: the app and its recovery codes stay the way
  back in), in sudo mode, and every addition or removal is audited;
- at sign-in's second step and on "Confirm it's you", a passkey of *that* person is as good as a
  code: the same `mfa.mark_verified`, so g:MFAPresent and g:MFAAge mean the same whichever factor;
- passwordless sign-in is off: a passkey is never the first factor;
- every refusal is a JSON 400 with the reason (403 only when sudo mode is needed), never a 500,
  and a refused passkey at sign-in or confirmation is audited (a sign count that went backwards
  is named: the authenticator may have been cloned, so that passkey is disabled).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.db import transaction
from django.http import JsonResponse
from django.http.request import split_domain_port
from django.middleware import csrf
from django.urls import reverse
from django.utils.translation import override
from django_otp_webauthn import exceptions as webauthn_errors
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.views import (
    BeginCredentialAuthenticationView,
    BeginCredentialRegistrationView,
    CompleteCredentialAuthenticationView,
    CompleteCredentialRegistrationView,
)
from webauthn.helpers import parse_authentication_credential_json
from webauthn.helpers.exceptions import InvalidAuthenticationResponse
from webauthn.helpers.structs import ResidentKeyRequirement

from . import audit, mfa, sudo
from .enforcement import record_refusal
from .findings import localized
from .permissions import login_only, public_view
from .policy.locate import UnusableJSON, loads
from .policy.messages import Message, gettext_noop

MAX_PASSKEYS = 10
NAME_MAX_LENGTH = 64  # django-otp's Device.name holds 64


def passkeys_of(user):
    """The person's passkeys, newest first."""
    return WebAuthnCredential.objects.filter(user=user).order_by("-created_at", "-pk")


def has_passkeys(user) -> bool:
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()


# --- the library's helper, as the console configures it ----------------------------------------

def relying_party_id(request) -> str:
    """The RP ID (OTP_WEBAUTHN_RP_ID_CALLABLE): IMSPERM_WEBAUTHN_RP_ID, else the request's host name
    (Host is checked against ALLOWED_HOSTS)."""
    if settings.IMSPERM_WEBAUTHN_RP_ID:
        return settings.IMSPERM_WEBAUTHN_RP_ID
    domain, _ = split_domain_port(request.get_host())
    return domain


class PasskeyHelper(WebAuthnHelper):
    """The relying party is this console: its host name and origin, unless settings name them."""

    def get_allowed_origins(self) -> list[str]:
        configured = settings.IMSPERM_WEBAUTHN_ORIGINS
        if configured:
            return list(configured)
        return [f"{self.request.scheme}://{self.request.get_host()}"]

    def get_discoverable_credentials_preference(self) -> ResidentKeyRequirement:
        # A second factor only: security keys with little memory are welcome.
        return ResidentKeyRequirement.PREFERRED

    def create_credential(self, user, response, parsed_credential, original_data):
        device = super().create_credential(user, response, parsed_credential, original_data)
        device.name = default_name(user)
        return device

    def register_complete(self, user, state, data):
        """The library's checks, then the new passkey and its audit event in one transaction."""
        with transaction.atomic():
            device = super().register_complete(user, state, data)
            audit.record(actor=user, action="mfa:passkeyAdd", target=user,
                         message=Message(gettext_noop("Added the passkey “%(name)s”."), name=device.name),
                         details={"passkey_id": device.pk, "aaguid": device.aaguid})
        return device

    def authenticate_complete(self, user, state, data):
        """The library's checks; a sign count that did not go up is named as a possible clone
        (py_webauthn refuses it) and the passkey is disabled: a copy would otherwise only have to
        count past the original to be let in at its next try."""
        try:
            return super().authenticate_complete(user, state, data)
        except InvalidAuthenticationResponse as error:
            if "sign count" in str(error).lower():
                disable_suspected_clone(data)
                raise PossibleClone() from error
            raise


def disable_suspected_clone(data: dict) -> None:
    """Disable the passkey whose answer was signed with a sign count behind the one stored (the library
    then refuses it: CredentialDisabled); its person removes it and adds it again."""
    credential = parse_authentication_credential_json(data)
    WebAuthnCredential.objects.filter(
        credential_id_sha256=WebAuthnCredential.get_credential_id_sha256(credential.raw_id)).update(confirmed=False)


def default_name(user) -> str:
    count = WebAuthnCredential.objects.filter(user=user).count()
    return f"Passkey {count + 1}"


# --- refusals ------------------------------------------------------------------------------------

def quoted(exc) -> str:
    """A refusal's reason for the audit log: the console's own sentence (a Message, read in the reader's
    language), or the library's text in English, quoted verbatim."""
    if hasattr(exc.detail, "template"):
        return exc.detail
    with override("en"):
        return str(exc.detail)


class Refused(webauthn_errors.OTPWebAuthnApiError):
    status_code = 400
    default_code = "refused"


class MfaOff(Refused):
    default_detail = Message(gettext_noop("Turn MFA on with an authenticator app first: passkeys are added beside "
                                          "it, and its recovery codes stay your way back in."))
    default_code = "mfa_off"


class TooMany(Refused):
    default_detail = Message(gettext_noop("You have %(count)s passkeys, the most there may be. Remove one first."),
                             count=MAX_PASSKEYS)
    default_code = "too_many_passkeys"


class NoPendingSignIn(Refused):
    default_detail = Message(gettext_noop("Sign in with your user name and password first."))
    default_code = "no_pending_sign_in"


class NoPasskeys(Refused):
    default_detail = Message(gettext_noop("You have no passkeys. Enter a code instead."))
    default_code = "no_passkeys"


class PossibleClone(Refused):
    default_detail = Message(gettext_noop("This passkey was refused and disabled: its use counter went backwards, "
                                          "so it may have been copied. Enter a code instead; then remove the passkey "
                                          "and add it again."))
    default_code = "possible_clone"


class SudoNeeded(webauthn_errors.OTPWebAuthnApiError):
    status_code = 403
    default_code = "sudo_required"


# The library's refusals that are about the request's state or content: all 400 here.
FORBIDDEN = (webauthn_errors.NotAuthenticated, webauthn_errors.NotVerified, SudoNeeded)


class JsonCeremony:
    """The library's views with the console's answers: bodies read by the one JSON check
    (accounts.policy.locate), every refusal a JSON 400 with the reason (403: sign-in or sudo)."""

    refusal_action = ""
    takes_body = True  # the "complete" steps; a "begin" step reads nothing from its request

    def _parse_request_data(self, request):
        if not self.takes_body:
            return {}
        if request.content_type.split(";", 1)[0] != "application/json":
            raise webauthn_errors.MalformedRequest(detail=Message(gettext_noop("Send the credential as "
                                                                                "application/json.")))
        try:
            data = loads(request.body)
        except UnusableJSON as error:
            unusable = Message(gettext_noop("The body is not usable JSON: %(error)s"), error=str(error))
            raise webauthn_errors.MalformedRequest(detail=unusable) from None
        if not isinstance(data, dict):
            raise webauthn_errors.MalformedRequest(detail=Message(gettext_noop("The body must be a JSON object.")))
        return data

    def handle_exception(self, exc):
        if not isinstance(exc, webauthn_errors.OTPWebAuthnApiError):
            raise exc
        status = exc.status_code if isinstance(exc, FORBIDDEN) else 400
        self.refused(exc)
        return JsonResponse({"detail": localized(exc.detail), "code": exc.code}, status=status)

    def refused(self, exc) -> None:
        """Audit a refused ceremony (the views that complete one say how)."""


# --- adding a passkey (sudo mode) ---------------------------------------------------------------

class RegistrationChecks:
    """Sudo mode (a fresh proof) and MFA on, before the library's own checks."""

    def initial(self, request, *args, **kwargs):
        if request.user.is_authenticated and not sudo.is_fresh(request):
            raise SudoNeeded(detail=Message(gettext_noop("Confirm it’s you first: reload this page, confirm, then add "
                                                         "the passkey.")))
        super().initial(request, *args, **kwargs)

    def check_can_register(self):
        user = self.get_user()
        if not mfa.has_mfa(user):
            raise MfaOff()
        if WebAuthnCredential.objects.filter(user=user).count() >= MAX_PASSKEYS:
            raise TooMany()

    def refused(self, exc):
        user = self.request.user
        if isinstance(exc, SudoNeeded):
            record_refusal(user, "sudo:confirm", target=user,
                           message=Message(gettext_noop("Adding a passkey was refused: the last proof that it was "
                                                        "them is older than %(window)s."), window=sudo.window_text()),
                           details={"path": self.request.path})
        elif isinstance(exc, webauthn_errors.UnprocessableEntity):
            record_refusal(user, "mfa:passkeyAdd", target=user,
                           message=Message(gettext_noop("Adding a passkey was refused: %(reason)s"),
                                           reason=quoted(exc)),
                           details={"reason": exc.code})


class RegisterBegin(RegistrationChecks, JsonCeremony, BeginCredentialRegistrationView):
    takes_body = False


class RegisterComplete(RegistrationChecks, JsonCeremony, CompleteCredentialRegistrationView):
    pass


def _mark_sudo_guarded(view):
    setattr(view, sudo.MARK, True)
    return view


passkey_register_begin = _mark_sudo_guarded(login_only(RegisterBegin.as_view()))
passkey_register_complete = _mark_sudo_guarded(login_only(RegisterComplete.as_view()))


# --- using a passkey: sign-in's second step, and "Confirm it's you" ------------------------------

class PasskeyAuthentication(JsonCeremony):
    """A ceremony for one known person, with only their passkeys offered and accepted."""

    def check_can_authenticate(self):
        user = self.get_user()
        if user is None:
            raise NoPendingSignIn()
        if not self.takes_body and not has_passkeys(user):  # begin; complete finds the passkey or says why not
            raise NoPasskeys()

    def refused(self, exc):
        user = self.get_user() if hasattr(self, "request") else None
        if user is None or not self.refusal_action or isinstance(exc, NoPasskeys):
            return
        clone = isinstance(exc, PossibleClone)
        record_refusal(user, self.refusal_action, target=user,
                       message=(Message(gettext_noop("A passkey was refused and disabled: its sign count went "
                                                     "backwards (possibly a cloned authenticator)."))
                                if clone else Message(gettext_noop("A passkey was refused: %(reason)s"),
                                                      reason=quoted(exc))),
                       details={"reason": exc.code, "factor": "passkey"})


class PendingSignIn:
    """The person whose password was right a moment ago (accounts.mfa.start_pending)."""

    def get_user(self):
        if not hasattr(self, "_pending_user"):
            waiting = mfa.pending(self.request)
            self._waiting = waiting
            self._pending_user = None if waiting is None else get_user_model().objects.filter(
                pk=waiting.user_id, is_active=True).first()
        return self._pending_user


class SignInBegin(PendingSignIn, PasskeyAuthentication, BeginCredentialAuthenticationView):
    takes_body = False


class SignInComplete(PendingSignIn, PasskeyAuthentication, CompleteCredentialAuthenticationView):
    refusal_action = "signin:passkeyRefused"

    def complete_auth(self, device):
        user = self.get_user()
        mfa.clear_pending(self.request)
        auth_login(self.request, user, backend=self._waiting.backend)
        mfa.mark_verified(self.request, device)

    def get_success_url(self):
        return self._waiting.next_url or settings.LOGIN_REDIRECT_URL


class SignedIn:
    def get_user(self):
        user = self.request.user
        return user if user.is_authenticated else None


class ConfirmBegin(SignedIn, PasskeyAuthentication, BeginCredentialAuthenticationView):
    takes_body = False


class ConfirmComplete(SignedIn, PasskeyAuthentication, CompleteCredentialAuthenticationView):
    refusal_action = "sudo:confirm"

    def complete_auth(self, device):
        mfa.mark_verified(self.request, device)
        sudo.mark_confirmed(self.request)
        audit.record(actor=self.request.user, action="sudo:confirm", target=self.request.user,
                     message=Message(gettext_noop("Confirmed it was them with the passkey “%(name)s”: sensitive "
                                                  "changes allowed for %(window)s."), name=device.name,
                                     window=sudo.window_text()),
                     details={"next": self.get_redirect_url()[:200], "factor": "passkey"})

    def get_success_url(self):
        return self.get_redirect_url() or "/"


sign_in_begin = public_view(SignInBegin.as_view())
sign_in_complete = public_view(SignInComplete.as_view())
confirm_begin = login_only(ConfirmBegin.as_view())
confirm_complete = login_only(ConfirmComplete.as_view())


def _configuration(request, **urls) -> dict:
    """What the library's bundled scripts read (json_script): our URLs and the CSRF token. The
    library's own URLs are not routed: its passwordless views are not part of the console. The next
    field is marked (data-passkey-next): the top bar's theme switch holds a `next` of its own."""
    return {"autocompleteLoginFieldSelector": None, "nextFieldSelector": "input[name='next'][data-passkey-next]",
            "csrfToken": csrf.get_token(request), **{key: reverse(name) for key, name in urls.items()}}


def verification_configuration(request, begin: str, complete: str) -> dict:
    return _configuration(request, beginAuthenticationUrl=begin, completeAuthenticationUrl=complete)


def registration_configuration(request) -> dict:
    return _configuration(request, beginRegistrationUrl="accounts:passkey-register-begin",
                          completeRegistrationUrl="accounts:passkey-register-complete")
