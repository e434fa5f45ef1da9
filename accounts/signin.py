"""Signing in: password (throttled by django-axes), then a code — or a passkey (accounts.passkeys) —
for users who turned MFA on.

The answer never tells whether an account exists: a wrong password and an unknown name get the
same message, count the same way towards the lockout, and are locked out with the same page.
"""

from __future__ import annotations

from types import SimpleNamespace

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import LoginView
from django.dispatch import receiver
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from . import mfa, passkeys, sudo
from .client_address import client_address as address_of
from .enforcement import record_refusal
from .forms import CodeForm
from .policy.messages import Message, gettext_noop


def client_address(request) -> str:
    """The address sign-ins are counted by: the same one the policy engine sees as g:SourceIp."""
    return address_of(request)


def lockout_minutes() -> int:
    return max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))


def lockout_message() -> str:
    minutes = lockout_minutes()
    return ngettext("Too many failed sign-in attempts. Try again in %(minutes)s minute.",
                    "Too many failed sign-in attempts. Try again in %(minutes)s minutes.", minutes) % {
        "minutes": minutes}


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' answer to a locked name-and-address: the sign-in page again, saying why (429).

    It is the same page whether or not the name exists; each further try restarts the wait. A
    signed-in person locked out while confirming it is them (accounts.sudo) stays on that page.
    """
    if getattr(request, sudo.CONFIRMING_ATTR, False):
        return sudo.lockout_response(request)
    username = str((credentials or {}).get("username") or request.POST.get("username", ""))[:150]
    form = AuthenticationForm(request, initial={"username": username})
    context = {"form": form, "lockout_message": lockout_message(), "next": _safe_next(request)}
    return render(request, "registration/login.html", context, status=429)


@receiver(user_locked_out)
def audit_lockout(sender, request, username, ip_address, **kwargs):
    """One denied event when a name-and-address becomes locked (not one per try while locked)."""
    if getattr(request, "axes_failures_since_start", None) != settings.AXES_FAILURE_LIMIT:
        return
    attempted = str(username or "")[:150]
    record_refusal(
        SimpleNamespace(username="anonymous", is_authenticated=False),
        "signin:lockout",
        target_type="user",
        target_repr=attempted,
        message=Message(gettext_noop("Sign-in locked for %(minutes)s min after %(failures)s failures as %(name)s from "
                                     "%(address)s."), minutes=lockout_minutes(), failures=settings.AXES_FAILURE_LIMIT,
                        name=repr(attempted), address=str(ip_address)),
        details={"username": attempted, "source_ip": ip_address, "failures": settings.AXES_FAILURE_LIMIT},
    )


@receiver(user_logged_in)
def signing_in_is_a_proof(sender, request, user, **kwargs):
    """A sign-in proved the password (and the code, with MFA on): sudo mode starts fresh."""
    if request is not None and hasattr(request, "session"):
        sudo.mark_confirmed(request)


def demo_logins() -> list[tuple[str, str, str]]:
    """The demo logins that exist in this database, with who they are and what they can do."""
    from .management.commands.seed_demo import DEMO_LOGINS

    present = set(get_user_model().objects.filter(username__in=[login for login, _, _ in DEMO_LOGINS],
                                                  is_active=True).values_list("username", flat=True))
    return [row for row in DEMO_LOGINS if row[0] in present]


def _safe_next(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return candidate
    return ""


class SignInView(LoginView):
    """Django's sign-in; a user with MFA on is asked for a code before the session is theirs."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if settings.IMSPERM_DEMO_LOGINS:
            context["demo_logins"] = demo_logins()
        return context

    def form_valid(self, form):
        user = form.get_user()
        if not mfa.has_mfa(user):
            return super().form_valid(form)
        mfa.start_pending(self.request, user, self.get_success_url())
        return redirect("login-code")


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def sign_in_code(request):
    """The second step: a code from the authenticator app, or one recovery code (a passkey is used
    through accounts.passkeys' JSON steps from this page)."""
    waiting = mfa.pending(request)
    if waiting is None:
        messages.info(request, (gettext("Sign in with your user name and password first (the code is asked for "
                                        "within %(minutes)s minutes of it).")
                                % {"minutes": settings.IMSPERM_MFA_PENDING_SECONDS // 60}))
        return redirect("login")
    user = get_user_model().objects.filter(pk=waiting.user_id, is_active=True).first()
    if user is None:
        mfa.clear_pending(request)
        return redirect("login")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        wait = mfa.seconds_until_allowed(user, code)
        device = None if wait else mfa.verify_code(user, code)
        if device is not None:
            mfa.clear_pending(request)
            auth_login(request, user, backend=waiting.backend)
            mfa.mark_verified(request, device)
            if device.__class__.__name__ == "StaticDevice":
                left = device.token_set.count()
                messages.warning(request, gettext("You signed in with a recovery code; %(left)s left. Set up MFA "
                                                  "again from “Sign-in security” to get new ones.") % {"left": left})
            return redirect(waiting.next_url or settings.LOGIN_REDIRECT_URL)
        status = 429 if wait else 400
        form.add_error("code", (gettext("Too many wrong codes. Wait %(wait)s seconds, then try again.") % {"wait": wait}
                                if wait else mfa.refused_code_message(user, code)))
        if not wait:  # a throttled try checks nothing, so it is not recorded (no audit flood)
            record_refusal(user, "signin:codeRefused", target=user,
                           message=Message(gettext_noop("The password was right; the second-factor code was "
                                                        "refused.")))
    elif request.method == "POST":
        status = 400
    return render(request, "registration/login_code.html", {"form": form, **_passkey_offer(request, user)},
                  status=status)


def _passkey_offer(request, user) -> dict:
    """The "Use a passkey" button's configuration, for a person who has passkeys."""
    if not passkeys.has_passkeys(user):
        return {}
    return {"passkey_config": passkeys.verification_configuration(request, "login-passkey-begin",
                                                                  "login-passkey-complete")}
