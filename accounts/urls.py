from django.urls import path

from . import sudo, views
from .sudo import sudo_required

app_name = "accounts"

# Turning MFA on or off changes how this person signs in: each asks for a fresh proof (accounts.sudo).
urlpatterns = [
    path("permissions/", views.my_permissions, name="my-permissions"),
    path("confirm/", sudo.confirm, name="confirm"),
    path("mfa/", views.mfa_settings, name="mfa"),
    path("mfa/start/", sudo_required(views.mfa_start, back="accounts:mfa"), name="mfa-start"),
    path("mfa/confirm/", sudo_required(views.mfa_confirm, back="accounts:mfa"), name="mfa-confirm"),
    path("mfa/remove/", sudo_required(views.mfa_remove, back="accounts:mfa"), name="mfa-remove"),
]
