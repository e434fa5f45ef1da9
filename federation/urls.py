"""IAM → Identity providers (namespace "federation"), under /iam/identity-providers/."""

from django.urls import path

from . import views

app_name = "federation"

urlpatterns = [
    path("", views.provider_list, name="provider-list"),
    path("new/", views.provider_create, name="provider-create"),
    path("<int:pk>/", views.provider_detail, name="provider-detail"),
    path("<int:pk>/edit/", views.provider_edit, name="provider-edit"),
    path("<int:pk>/active/", views.provider_set_active, name="provider-set-active"),
    path("<int:pk>/delete/", views.provider_delete, name="provider-delete"),
    path("<int:pk>/test/", views.provider_test, name="provider-test"),
    path("<int:pk>/preview/", views.provider_preview, name="provider-preview"),
    path("<int:pk>/rules/new/", views.rule_create, name="rule-create"),
    path("rules/<int:pk>/edit/", views.rule_edit, name="rule-edit"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="rule-delete"),
    path("rules/<int:pk>/move/", views.rule_move, name="rule-move"),
]
