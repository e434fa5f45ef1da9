from django.urls import path

from . import passkeys, sudo, views
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
    # Passkeys: adding one (its page and the two JSON steps) and removing one ask for a fresh proof too.
    path("mfa/passkeys/add/", sudo_required(views.passkey_add), name="passkey-add"),
    path("mfa/passkeys/add/begin/", passkeys.passkey_register_begin, name="passkey-register-begin"),
    path("mfa/passkeys/add/complete/", passkeys.passkey_register_complete, name="passkey-register-complete"),
    path("mfa/passkeys/rename/", views.passkey_rename, name="passkey-rename"),
    path("mfa/passkeys/<int:pk>/remove/", sudo_required(views.passkey_remove, back="accounts:mfa"),
         name="passkey-remove"),
    path("confirm/passkey/begin/", passkeys.confirm_begin, name="confirm-passkey-begin"),
    path("confirm/passkey/complete/", passkeys.confirm_complete, name="confirm-passkey-complete"),
]
