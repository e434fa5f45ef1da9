"""The signed-in user's API tokens page (under /me/api-tokens/)."""

from django.urls import path

from . import views

app_name = "api-tokens"

urlpatterns = [
    path("", views.token_list, name="list"),
    path("create/", views.token_create, name="create"),
    path("<int:pk>/revoke/", views.token_revoke, name="revoke"),
]
