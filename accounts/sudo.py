"""Sudo mode: a change to how a person signs in, or to the credentials they hold, asks for the
password again (a current code instead, when MFA is on) if the last proof is older than
IMSPERM_SUDO_SECONDS — GitHub's "sudo mode".

A session signed in long ago and left open (a borrowed laptop) must not turn MFA on with another
person's authenticator app, turn it off, add a factor, create an API token or change a password.
`sudo_required` guards such a view: a fresh proof lets it run; otherwise a GET is sent to
"Confirm it's you" with `next` back to itself, and any other method is never run — it is sent to
the confirm page with `next` at the page the form was on, where the person does it again.

Signing in is a proof (the receiver in accounts.signin); so is confirming here, with the password, a
code or a passkey (accounts.passkeys, whose JSON steps answer 403 instead of redirecting). A wrong password
counts toward django-axes' lockout exactly like a wrong sign-in (same name and address); a wrong
code is throttled by django-otp. Both are audited as `sudo:confirm`, denied; a proof as allowed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.http import HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django_htmx.http import HttpResponseClientRedirect
from django_otp.plugins.otp_static.models import StaticDevice

from . import audit, mfa
from .enforcement import record_refusal
from .findings import localized
from .forms import CodeForm
from .permissions import login_only
from .policy import messages as policy_messages
from .policy.messages import Message, gettext_noop

SESSION_KEY = "imsperm_sudo_at"
MARK = "sudo_required"  # set on every guarded view (tests/security/test_sudo_mode.py reads it)
SAFE_METHODS = ("GET", "HEAD")
# The request attribute accounts.signin.lockout_response reads to answer a lockout on this page.
CONFIRMING_ATTR = "imsperm_confirming_sudo"


def window_seconds() -> int:
    return int(getattr(settings, "IMSPERM_SUDO_SECONDS", 300))


def window_text() -> str:
    """How long sudo mode lasts, in English ("5 minutes": the audit log's), worded for a page to translate
    (accounts.findings.localized)."""
    minutes = max(1, window_seconds() // 60)
    return policy_messages.ngettext("%(minutes)s minute", "%(minutes)s minutes", minutes, minutes=minutes)


def is_fresh(request) -> bool:
    """Whether this session proved its person (password or code) within the window."""
    session = getattr(request, "session", None)
    at = session.get(SESSION_KEY) if session is not None else None
    try:
        age = time.time() - float(at)
    except (TypeError, ValueError):
        return False
    return 0 <= age <= window_seconds()


def mark_confirmed(request) -> None:
    """Record that the person proved themselves just now (at sign-in, or on the confirm page)."""
    request.session[SESSION_KEY] = time.time()


def _next_query(next_url: str) -> str:
    query = QueryDict(mutable=True)
    query["next"] = next_url or "/"
    return query.urlencode(safe="/")


def confirm_url(next_url: str) -> str:
    return f"{reverse('accounts:confirm')}?{_next_query(next_url)}"


def _signs_in_elsewhere(user, uses_code: bool) -> bool:
    """No password to give and no code (an account that signs in through an identity provider): the
    proof is signing in again, which starts sudo mode fresh."""
    return not uses_code and not user.has_usable_password()


def _safe(request, candidate: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                     require_https=request.is_secure()):
        return candidate
    return ""


def sudo_required(view: Callable | None = None, *, back: str | Callable = "",
                  when: Callable | None = None):
    """Guard a view that changes sign-in or credentials (usable bare or with arguments).

    back: where a refused non-GET request leads after the proof (a URL name, or a callable of the
    request; default: the same address). when: a callable (request, **kwargs) → bool narrowing
    the guard (a password page guarded only for one's own account). Anonymous requests pass on to
    the view's own sign-in check.
    """

    def decorate(view):
        @functools.wraps(view)
        def guarded(request, *args, **kwargs):
            user = getattr(request, "user", None)
            if (user is None or not user.is_authenticated or is_fresh(request)
                    or (when is not None and not when(request, *args, **kwargs))):
                return view(request, *args, **kwargs)
            return ask_for_proof(request, back)

        setattr(guarded, MARK, True)
        return guarded

    return decorate(view) if view is not None else decorate


def for_own_account(kwarg: str = "pk") -> Callable:
    """A `when` for sudo_required: guard a page only when the account in the URL is one's own (a
    password page: changing another person's is an IAM action, decided by the engine)."""

    def own(request, *args, **kwargs) -> bool:
        return str(kwargs.get(kwarg, "")) == str(request.user.pk)

    return own


def ask_for_proof(request, back: str | Callable = ""):
    """Send the request to "Confirm it's you" without running anything it asked for."""
    if request.method in SAFE_METHODS:
        return redirect(confirm_url(request.get_full_path()))
    if callable(back):
        target = back(request)
    elif back:
        target = reverse(back)
    else:
        target = request.path
    messages.info(request, gettext("Nothing was changed. Confirm it’s you, then do it again (you will not be asked "
                                   "again for %(window_text)s).") % {"window_text": localized(window_text())},
                  fail_silently=True)
    url = confirm_url(_safe(request, target) or "/")
    if getattr(request, "htmx", False) or request.headers.get("HX-Request") == "true":
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url, status=303)


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )


def _page(request, form, *, next_url: str, status: int = 200, lockout_message: str = ""):
    from . import passkeys  # it builds on this module

    uses_code = isinstance(form, CodeForm)
    context = {"form": form, "next": next_url, "uses_code": uses_code, "window": localized(window_text()),
               "lockout_message": lockout_message, "sign_in_again": _signs_in_elsewhere(request.user, uses_code),
               "login_again": f"{reverse('login')}?{_next_query(next_url)}"}
    if uses_code and passkeys.has_passkeys(request.user):
        context["passkey_config"] = passkeys.verification_configuration(
            request, "accounts:confirm-passkey-begin", "accounts:confirm-passkey-complete")
    return render(request, "accounts/sudo_confirm.html", context, status=status)


def lockout_response(request):
    """django-axes' lockout, answered on this page (the person stays signed in, nothing changes)."""
    from .signin import lockout_message

    return _page(request, PasswordConfirmForm(), next_url=_safe(request, request.POST.get("next", "")),
                 status=429, lockout_message=lockout_message())


def _prove(request, user, form, uses_code: bool):
    """Check the posted proof: (what proved it, or None; how, in words for the audit)."""
    if uses_code:
        proved = mfa.verify_code(user, form.cleaned_data["code"])
        return proved, (Message(gettext_noop("a recovery code")) if isinstance(proved, StaticDevice)
                        else Message(gettext_noop("a code from the authenticator app")))
    setattr(request, CONFIRMING_ATTR, True)
    # Through the authentication backends: django-axes counts a failure (name and address, as
    # at sign-in) and refuses while locked out (accounts.signin.lockout_response answers).
    proved = authenticate(request, username=user.get_username(), password=form.cleaned_data["password"])
    if proved is not None and proved.pk != user.pk:
        proved = None
    return proved, Message(gettext_noop("the password"))


def _refused(request, user, form, uses_code: bool, next_url: str):
    """A wrong code or password: said on the form and audited (a locked-out name answers as axes says)."""
    if getattr(request, "axes_locked_out", False):
        return lockout_response(request)
    field = "code" if uses_code else "password"
    form.add_error(field, mfa.refused_code_message(user, form.cleaned_data["code"]) if uses_code
                   else gettext("That is not your password."))
    record_refusal(user, "sudo:confirm", target=user,
                   message=Message(gettext_noop("Confirming it was them was refused: the code was not right.")
                                   if uses_code else
                                   gettext_noop("Confirming it was them was refused: the password was not right.")))
    return _page(request, form, next_url=next_url, status=400)


@login_only
@sensitive_post_parameters("password", "code")
@csrf_protect
@never_cache
def confirm(request):
    """"Confirm it's you": the password (or, with MFA on, a current code), then on to `next`."""
    user = request.user
    uses_code = mfa.has_mfa(user)
    form_class = CodeForm if uses_code else PasswordConfirmForm
    next_url = _safe(request, request.POST.get("next") or request.GET.get("next") or "")
    if request.method != "POST":
        return _page(request, form_class(), next_url=next_url)
    form = form_class(request.POST)
    if not form.is_valid():
        return _page(request, form, next_url=next_url, status=400)
    if uses_code:
        wait = mfa.seconds_until_allowed(user, form.cleaned_data["code"])
        if wait:
            form.add_error("code", (gettext("Too many wrong codes. Wait %(wait)s seconds, then try again.")
                                    % {"wait": wait}))
            return _page(request, form, next_url=next_url, status=429)
    proved, proof = _prove(request, user, form, uses_code)
    if proved is None:
        return _refused(request, user, form, uses_code, next_url)
    if uses_code:
        mfa.mark_verified(request, proved)
    mark_confirmed(request)
    audit.record(actor=user, action="sudo:confirm", target=user,
                 message=Message(gettext_noop("Confirmed it was them with %(proof)s: sensitive changes allowed for "
                                              "%(window)s."), proof=proof, window=window_text()),
                 details={"next": next_url[:200]})
    return redirect(next_url or "/")
