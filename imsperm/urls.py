from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.permissions import public_view
from accounts.signin import SignInView, sign_in_code
from accounts.views import home
from imsperm.health import healthz

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/login/", public_view(SignInView.as_view()), name="login"),
    path("accounts/login/code/", public_view(sign_in_code), name="login-code"),
    path("accounts/logout/", public_view(auth_views.LogoutView.as_view()), name="logout"),
    path("me/", include("accounts.urls")),
    path("iam/", include("accounts.iam_urls")),
    path("images/", include("images.urls")),
    path("api/v1/", include(("api.urls", "api"), namespace="api")),
    path("me/api-tokens/", include("api.token_urls")),
    # One way in: the admin's own sign-in form would skip the lockout page and the MFA step.
    path("admin/login/", public_view(RedirectView.as_view(pattern_name="login", query_string=True))),
    path("admin/", admin.site.urls),
]

handler400 = "imsperm.errors.bad_request"
handler403 = "imsperm.errors.permission_denied"
handler404 = "imsperm.errors.page_not_found"
handler500 = "imsperm.errors.server_error"
