"""The public addresses of "Sign in with <provider>" (namespace "federation-signin"), under /accounts/oidc/."""

from django.urls import path

from . import views

app_name = "federation-signin"

urlpatterns = [
    path("<int:pk>/login/", views.oidc_login, name="login"),
    path("<int:pk>/callback/", views.oidc_callback, name="callback"),
]
