"""IAM writes as named service functions: each checks the actor's permission with the policy
engine, runs in a transaction and writes its audit event. Views, Django admin and commands all
call these, so the rules live in one place.

`actor=None` means the system itself (data migrations, seed_demo): no permission check.
"""

from .grants import (
    AttachResult,
    actions_of,
    dependency_closure,
    describe_dependencies,
    detach_blockers,
    expire_grants,
    expires_text,
    grant_attach,
    grant_detach,
    grant_set_expires,
    is_global_only,
    ungrantable_actions,
)
from .groups import group_add_member, group_create, group_delete, group_remove_member, group_update
from .policies import (
    ConcurrentEditError,
    PolicyDocumentError,
    parse_policy_document,
    policy_clone,
    policy_create,
    policy_delete,
    policy_restore,
    policy_update,
)
from .projects import project_create, project_update, region_create, region_update
from .users import generate_password, user_create, user_delete, user_set_password, user_update

__all__ = [
    "AttachResult",
    "ConcurrentEditError",
    "PolicyDocumentError",
    "actions_of",
    "dependency_closure",
    "describe_dependencies",
    "detach_blockers",
    "expire_grants",
    "expires_text",
    "generate_password",
    "grant_attach",
    "grant_detach",
    "grant_set_expires",
    "group_add_member",
    "group_create",
    "group_delete",
    "group_remove_member",
    "group_update",
    "is_global_only",
    "parse_policy_document",
    "policy_clone",
    "policy_create",
    "policy_delete",
    "policy_restore",
    "policy_update",
    "project_create",
    "project_update",
    "region_create",
    "region_update",
    "ungrantable_actions",
    "user_create",
    "user_delete",
    "user_set_password",
    "user_update",
]
