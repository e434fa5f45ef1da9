"""URLs of the policy pages and the policy simulator (namespace "iam", under /iam/)."""

from django.urls import path

from . import last_used, policies, simulator

urlpatterns = [
    path("policies/", policies.policy_list, name="policy-list"),
    path("policies/new/", policies.policy_create, name="policy-create"),
    path("policies/editor/", policies.policy_editor, name="policy-editor"),
    path("policies/validate/", policies.policy_validate, name="policy-validate"),
    path("policies/<int:pk>/", policies.policy_detail, name="policy-detail"),
    path("policies/<int:pk>/edit/", policies.policy_edit, name="policy-edit"),
    path("policies/<int:pk>/clone/", policies.policy_clone, name="policy-clone"),
    path("policies/<int:pk>/delete/", policies.policy_delete, name="policy-delete"),
    path("simulator/", simulator.simulator, name="simulator"),
    path("simulator/effective/", simulator.effective_permissions, name="simulator-effective"),
    path("unused/", last_used.unused_permissions, name="unused-permissions"),
]
