"""URLs of the policy pages and the policy simulator (namespace "iam", under /iam/)."""

from django.urls import path

from . import history, last_used, policies, policy_download, simulator, who_can_views

urlpatterns = [
    path("policies/", policies.policy_list, name="policy-list"),
    path("policies/new/", policies.policy_create, name="policy-create"),
    path("policies/editor/", policies.policy_editor, name="policy-editor"),
    path("policies/validate/", policies.policy_validate, name="policy-validate"),
    path("policies/<int:pk>/", policies.policy_detail, name="policy-detail"),
    path("policies/<int:pk>/edit/", policies.policy_edit, name="policy-edit"),
    path("policies/<int:pk>/clone/", policies.policy_clone, name="policy-clone"),
    path("policies/<int:pk>/delete/", policies.policy_delete, name="policy-delete"),
    path("policies/<int:pk>/history/", history.policy_history, name="policy-history"),
    path("policies/<int:pk>/download.json", policy_download.policy_download, name="policy-download"),
    path("policies/<int:pk>/revisions/<int:number>/download.json", policy_download.policy_revision_download,
         name="policy-revision-download"),
    path("policies/<int:pk>/restore/", history.policy_restore, name="policy-restore"),
    path("simulator/", simulator.simulator, name="simulator"),
    path("simulator/effective/", simulator.effective_permissions, name="simulator-effective"),
    path("simulator/who-can/", who_can_views.who_can_page, name="who-can"),
    path("simulator/grants/", who_can_views.grant_grid, name="grant-grid"),
    path("unused/", last_used.unused_permissions, name="unused-permissions"),
]
