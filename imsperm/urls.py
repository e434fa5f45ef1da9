import functools

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import URLPattern, URLResolver, include, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy, gettext_noop

from accounts import passkeys
from accounts.permissions import public_view
from accounts.search import search_page
from accounts.signin import SignInView, sign_in_code
from accounts.sudo import for_own_account, sudo_required
from accounts.views import home
from imsperm import errors
from imsperm.health import healthz

OPERATORS_ONLY = gettext_noop("Django admin is for operators (staff accounts). Everything your permissions allow "
                              "is in this console.")


def _is_operator(user) -> bool:
    """Django admin's own test (AdminSite.has_permission)."""
    return user.is_active and user.is_staff


def admin_sign_in(request):
    """The admin's sign-in address. One way in: the admin's own form would skip the lockout page and
    the MFA step, so anonymous visitors go to the console's sign-in. A signed-in person is never sent
    there (it would send them straight back: a loop): they go on to the admin page they asked for,
    which serves an operator and refuses anyone else (_operators_only)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.GET.get("next") or reverse("admin:index"))
    candidate = request.GET.get("next", "")
    safe = url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure())
    return redirect(candidate if safe and candidate else reverse("admin:index"))


def _operators_only(view):
    """A signed-in person who is not staff gets the console's 403 page from every admin address."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.is_authenticated and not _is_operator(request.user):
            return errors.permission_denied(request, PermissionDenied(gettext_lazy(OPERATORS_ONLY)))
        return view(request, *args, **kwargs)

    return wrapper


def _guard_admin(patterns):
    """Django admin's URL patterns with the console's guards: operators only (see admin_sign_in),
    and sudo mode for changing one's own password (the site's page, and the user's password page
    when the user is oneself)."""
    guarded = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            guarded.append(URLResolver(entry.pattern, _guard_admin(entry.url_patterns), entry.default_kwargs,
                                       entry.app_name, entry.namespace))
            continue
        view, name = entry.callback, entry.name or ""
        if name in ("login", "logout"):
            guarded.append(entry)
            continue
        if name == "password_change":
            view = sudo_required(view)
        elif name.endswith("_password_change"):
            view = sudo_required(view, when=for_own_account("id"))
        guarded.append(URLPattern(entry.pattern, _operators_only(view), entry.default_args, entry.name))
    return guarded


admin_patterns, admin_app_name, admin_namespace = admin.site.urls

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/login/", public_view(SignInView.as_view()), name="login"),
    path("accounts/login/code/", public_view(sign_in_code), name="login-code"),
    path("accounts/login/passkey/begin/", passkeys.sign_in_begin, name="login-passkey-begin"),
    path("accounts/login/passkey/complete/", passkeys.sign_in_complete, name="login-passkey-complete"),
    path("accounts/oidc/", include("federation.signin_urls")),
    path("accounts/logout/", public_view(auth_views.LogoutView.as_view()), name="logout"),
    path("me/", include("accounts.urls")),
    path("iam/identity-providers/", include("federation.urls")),
    path("iam/", include("accounts.iam_urls")),
    path("images/", include("images.urls")),
    path("api/v1/", include(("api.urls", "api"), namespace="api")),
    path("me/api-tokens/", include("api.token_urls")),
    path("me/preferences/", include("preferences.urls")),
    path("search/", search_page, name="search"),
    path("admin/login/", public_view(admin_sign_in)),
    path("admin/", (_guard_admin(admin_patterns), admin_app_name, admin_namespace)),
]

handler400 = "imsperm.errors.bad_request"
handler403 = "imsperm.errors.permission_denied"
handler404 = "imsperm.errors.page_not_found"
handler500 = "imsperm.errors.server_error"
