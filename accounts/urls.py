from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("permissions/", views.my_permissions, name="my-permissions"),
    path("mfa/", views.mfa_settings, name="mfa"),
    path("mfa/start/", views.mfa_start, name="mfa-start"),
    path("mfa/confirm/", views.mfa_confirm, name="mfa-confirm"),
    path("mfa/remove/", views.mfa_remove, name="mfa-remove"),
]
