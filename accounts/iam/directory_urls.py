"""The IAM console's directory pages: users, groups with their grants, and the audit log."""

from django.urls import path

from accounts.sudo import for_own_account, sudo_required

from . import audit, groups, projects, users

urlpatterns = [
    path("users/", users.user_list, name="user-list"),
    path("users/new/", users.user_create, name="user-create"),
    path("users/<int:pk>/", users.user_detail, name="user-detail"),
    path("users/<int:pk>/edit/", users.user_edit, name="user-edit"),
    path("users/<int:pk>/active/", users.user_set_active, name="user-set-active"),
    # One's own password is a sign-in change: sudo mode (accounts.sudo).
    path("users/<int:pk>/password/", sudo_required(users.user_password, when=for_own_account()),
         name="user-password"),
    path("users/<int:pk>/mfa/reset/", users.user_mfa_reset, name="user-mfa-reset"),
    path("users/<int:pk>/delete/", users.user_delete, name="user-delete"),
    path("users/<int:pk>/groups/add/", users.user_group_add, name="user-group-add"),
    path("users/<int:pk>/groups/<int:group_pk>/remove/", users.user_group_remove, name="user-group-remove"),
    path("groups/", groups.group_list, name="group-list"),
    path("groups/new/", groups.group_create, name="group-create"),
    path("groups/<int:pk>/", groups.group_detail, name="group-detail"),
    path("groups/<int:pk>/edit/", groups.group_edit, name="group-edit"),
    path("groups/<int:pk>/delete/", groups.group_delete, name="group-delete"),
    path("groups/<int:pk>/members/candidates/", groups.group_candidates, name="group-candidates"),
    path("groups/<int:pk>/members/add/", groups.group_member_add, name="group-member-add"),
    path("groups/<int:pk>/members/<int:user_pk>/remove/", groups.group_member_remove, name="group-member-remove"),
    path("groups/<int:pk>/permissions/", groups.group_permissions, name="group-permissions"),
    path("groups/<int:pk>/permissions/attach/", groups.group_attach, name="group-attach"),
    path("groups/<int:pk>/permissions/detach/", groups.group_detach, name="group-detach"),
    path("projects/", projects.project_list, name="project-list"),
    path("projects/new/", projects.project_create, name="project-create"),
    path("audit/", audit.audit_list, name="audit"),
    path("audit/export.csv", audit.audit_export, name="audit-export"),
]
