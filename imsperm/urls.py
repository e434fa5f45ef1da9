from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.permissions import public_view
from accounts.views import home

urlpatterns = [
    path("", home, name="home"),
    path("accounts/login/", public_view(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
         name="login"),
    path("accounts/logout/", public_view(auth_views.LogoutView.as_view()), name="logout"),
    path("me/", include("accounts.urls")),
    path("iam/", include("accounts.iam_urls")),
    path("images/", include("images.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "imsperm.errors.bad_request"
handler403 = "imsperm.errors.permission_denied"
handler404 = "imsperm.errors.page_not_found"
handler500 = "imsperm.errors.server_error"
