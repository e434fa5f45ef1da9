"""IAM writes as named service functions: each checks the actor's permission with the policy
engine, runs in a transaction and writes its audit event. Views, Django admin and commands all
call these, so the rules live in one place.

`actor=None` means the system itself (data migrations, seed_demo): no permission check.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from accounts.policy import expand_pattern, validate_document, validate_text

from . import audit
from .enforcement import atomic_service, require
from .models import (
    ADMIN_GROUP_NAME,
    MAX_CUSTOM_POLICIES,
    MAX_GRANTS_PER_GROUP,
    MAX_GROUPS_PER_USER,
    Grant,
    Membership,
    Policy,
    Project,
    User,
    UserGroup,
)


class PolicyDocumentError(ValidationError):
    """A policy document with validator errors; `findings` holds every finding, located."""

    def __init__(self, result):
        self.findings = result.findings
        messages = [f"{f.path or 'document'}: {f.message}" for f in result.errors]
        super().__init__(messages or ["The policy document is invalid."], code="invalid_policy")


class ConcurrentEditError(ValidationError):
    """Someone saved the same policy after this editor loaded it."""


def _diff(before: dict, after: dict) -> dict:
    changed = {k for k in after if before.get(k) != after.get(k)}
    return {"before": {k: before.get(k) for k in changed}, "after": {k: after[k] for k in changed}}


def _active_admins() -> int:
    return Membership.objects.filter(
        group__name=ADMIN_GROUP_NAME, group__is_builtin=True, user__is_active=True
    ).count()


def _is_admin_member(user) -> bool:
    return Membership.objects.filter(user=user, group__name=ADMIN_GROUP_NAME, group__is_builtin=True).exists()


# --- users ------------------------------------------------------------------------------------


def generate_password() -> str:
    return secrets.token_urlsafe(12)


@atomic_service
def user_create(*, actor, username: str, password: str | None = None, email: str = "",
                first_name: str = "", last_name: str = "", is_active: bool = True,
                is_staff: bool = False) -> tuple[User, str | None]:
    """Create a user; returns it and the generated password when none was given (shown once)."""
    require(actor, "iam:users:createUser", target_repr=username)
    generated = None
    if not password:
        password = generated = generate_password()
    user = User(username=username, email=email, first_name=first_name, last_name=last_name,
                is_active=is_active, is_staff=is_staff)
    user.set_password(password)
    user.full_clean()
    user.save()
    audit.record(actor=actor, action="iam:users:createUser", target=user,
                 details={"after": {"username": username, "email": email, "is_active": is_active}})
    return user, generated


@atomic_service
def user_update(*, actor, user: User, **changes) -> User:
    """Change a user's attributes (username, email, names, is_active, is_staff)."""
    require(actor, "iam:users:updateUser", target=user)
    allowed = {"username", "email", "first_name", "last_name", "is_active", "is_staff"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
    locked = User.objects.select_for_update().get(pk=user.pk)
    before = {k: getattr(locked, k) for k in changes}
    if changes.get("is_active") is False and locked.is_active and _is_admin_member(locked):
        if _active_admins() <= 1:
            raise ValidationError({"is_active": "This is the last active member of the admin group: "
                                                "it cannot be deactivated."})
    for key, value in changes.items():
        setattr(locked, key, value)
    locked.full_clean()
    locked.save()
    audit.record(actor=actor, action="iam:users:updateUser", target=locked, details=_diff(before, changes))
    for key, value in changes.items():
        setattr(user, key, value)
    return locked


@atomic_service
def user_set_password(*, actor, user: User, password: str | None = None) -> str | None:
    """Set (or generate, returning it once) a user's password."""
    require(actor, "iam:users:updateUser", target=user)
    generated = None
    if not password:
        password = generated = generate_password()
    user.set_password(password)
    user.save(update_fields=["password"])
    audit.record(actor=actor, action="iam:users:updateUser", target=user, message="password changed")
    return generated


@atomic_service
def user_delete(*, actor, user: User) -> None:
    require(actor, "iam:users:deleteUser", target=user)
    if user.is_active and _is_admin_member(user) and _active_admins() <= 1:
        raise ValidationError("This is the last active member of the admin group: it cannot be deleted.")
    if actor is not None and actor.pk == user.pk:
        raise ValidationError("You cannot delete your own user.")
    audit.record(actor=actor, action="iam:users:deleteUser", target=user,
                 details={"before": {"username": user.username, "groups": list(
                     user.iam_groups.values_list("name", flat=True))}})
    user.delete()


# --- groups and membership --------------------------------------------------------------------


@atomic_service
def group_create(*, actor, name: str, description: str = "") -> UserGroup:
    require(actor, "iam:groups:createGroup", target_repr=name)
    group = UserGroup(name=name, description=description)
    group.full_clean()
    group.save()
    audit.record(actor=actor, action="iam:groups:createGroup", target=group,
                 details={"after": {"name": name, "description": description}})
    return group


@atomic_service
def group_update(*, actor, group: UserGroup, name: str, description: str) -> UserGroup:
    require(actor, "iam:groups:updateGroup", target=group)
    if group.is_builtin and name != group.name:
        raise ValidationError({"name": "The built-in admin group cannot be renamed."})
    before = {"name": group.name, "description": group.description}
    group.name, group.description = name, description
    group.full_clean()
    group.save()
    audit.record(actor=actor, action="iam:groups:updateGroup", target=group,
                 details=_diff(before, {"name": name, "description": description}))
    return group


@atomic_service
def group_delete(*, actor, group: UserGroup) -> None:
    require(actor, "iam:groups:deleteGroup", target=group)
    if group.is_builtin:
        raise ValidationError("The built-in admin group cannot be deleted.")
    audit.record(actor=actor, action="iam:groups:deleteGroup", target=group, details={"before": {
        "name": group.name,
        "members": list(group.members.values_list("username", flat=True)),
        "grants": list(group.grants.values_list("policy__name", flat=True)),
    }})
    group.delete()


@atomic_service
def group_add_member(*, actor, group: UserGroup, user: User) -> Membership:
    require(actor, "iam:groups:addUserToGroup", target=group)
    User.objects.select_for_update().filter(pk=user.pk).first()
    if Membership.objects.filter(group=group, user=user).exists():
        raise ValidationError(f"{user} is already a member of {group}.")
    if Membership.objects.filter(user=user).count() >= MAX_GROUPS_PER_USER:
        raise ValidationError(f"{user} is already in {MAX_GROUPS_PER_USER} groups, the most a user can be in.")
    membership = Membership.objects.create(group=group, user=user)
    audit.record(actor=actor, action="iam:groups:addUserToGroup", target=group,
                 details={"after": {"member": user.username}})
    return membership


@atomic_service
def group_remove_member(*, actor, group: UserGroup, user: User) -> None:
    require(actor, "iam:groups:removeUserFromGroup", target=group)
    membership = Membership.objects.select_for_update().filter(group=group, user=user).first()
    if membership is None:
        raise ValidationError(f"{user} is not a member of {group}.")
    if group.is_admin_group and user.is_active and _active_admins() <= 1:
        raise ValidationError("This is the last active member of the admin group: it cannot be removed.")
    membership.delete()
    audit.record(actor=actor, action="iam:groups:removeUserFromGroup", target=group,
                 details={"before": {"member": user.username}})


# --- policies ---------------------------------------------------------------------------------


def parse_policy_document(document_or_text) -> dict:
    """Validate a custom policy document (text or parsed); raise PolicyDocumentError if it has errors."""
    if isinstance(document_or_text, str):
        result = validate_text(document_or_text)
    else:
        result = validate_document(document_or_text)
    if not result.ok:
        raise PolicyDocumentError(result)
    return result.document


@atomic_service
def policy_create(*, actor, name: str, description: str = "", document) -> Policy:
    require(actor, "iam:roles:createRole", target_repr=name)
    parsed = parse_policy_document(document)
    if Policy.objects.filter(is_system=False).count() >= MAX_CUSTOM_POLICIES:
        raise ValidationError(f"This account already has {MAX_CUSTOM_POLICIES} custom policies, the most allowed.")
    policy = Policy(name=name, description=description, document=parsed, kind=Policy.Kind.POLICY)
    policy.full_clean()
    policy.save()
    audit.record(actor=actor, action="iam:roles:createRole", target=policy,
                 details={"after": {"name": name, "description": description, "document": parsed}})
    return policy


@atomic_service
def policy_update(*, actor, policy: Policy, name: str, description: str, document,
                  expected_revision: int) -> Policy:
    """Save a custom policy, refusing if someone saved it after `expected_revision` was read."""
    require(actor, "iam:roles:updateRole", target=policy)
    if policy.is_system:
        raise ValidationError("System-defined roles and policies are read-only.")
    parsed = parse_policy_document(document)
    current = Policy.objects.select_for_update().get(pk=policy.pk)
    if current.revision != expected_revision:
        raise ConcurrentEditError(
            f"{current.name} was changed by someone else (now revision {current.revision}, you edited "
            f"revision {expected_revision}). Your text is kept below: review their version, then save again.",
            code="conflict",
        )
    before = {"name": current.name, "description": current.description, "document": current.document}
    current.name, current.description, current.document = name, description, parsed
    current.revision += 1
    current.full_clean()
    current.save()
    audit.record(actor=actor, action="iam:roles:updateRole", target=current,
                 details=_diff(before, {"name": name, "description": description, "document": parsed}))
    policy.refresh_from_db()
    return current


@atomic_service
def policy_delete(*, actor, policy: Policy) -> None:
    require(actor, "iam:roles:deleteRole", target=policy)
    if policy.is_system:
        raise ValidationError("System-defined roles and policies cannot be deleted.")
    groups = list(UserGroup.objects.filter(grants__policy=policy).values_list("name", flat=True))
    if groups:
        raise ValidationError(f"{policy.name} is attached to {', '.join(groups)}: detach it first.")
    audit.record(actor=actor, action="iam:roles:deleteRole", target=policy,
                 details={"before": {"name": policy.name, "document": policy.document}})
    policy.delete()


# --- grants -----------------------------------------------------------------------------------


def is_global_only(policy: Policy) -> bool:
    """True when every action the document names belongs to IAM (a global service)."""
    services = {
        pattern.split(":", 1)[0].lower()
        for statement in policy.document.get("Statement", [])
        for pattern in statement.get("Action", [])
    }
    return services == {"iam"}


def dependency_closure(policies) -> list[Policy]:
    """The roles the given ones depend on, transitively, not counting the given ones."""
    given = {p.pk for p in policies}
    edges: dict[int, list[Policy]] = {}
    for policy in Policy.objects.prefetch_related("depends_on").filter(kind=Policy.Kind.ROLE):
        edges[policy.pk] = list(policy.depends_on.all())
    found: dict[int, Policy] = {}
    stack = list(policies)
    while stack:
        for dependency in edges.get(stack.pop().pk, []):
            if dependency.pk not in given and dependency.pk not in found:
                found[dependency.pk] = dependency
                stack.append(dependency)
    return sorted(found.values(), key=lambda p: p.name)


@dataclass(frozen=True)
class AttachResult:
    requested: tuple[Policy, ...]
    dependencies: tuple[Policy, ...]
    all_resources: bool
    projects: tuple[Project, ...]

    @property
    def message(self) -> str:
        names = ", ".join(p.name for p in self.requested)
        scope = "All resources" if self.all_resources else ", ".join(p.name for p in self.projects)
        text = f"Attached {names} on {scope}."
        if self.dependencies:
            deps = " and ".join(p.name for p in self.dependencies)
            text += f" Dependencies attached with the same scope: {deps}."
        return text


def describe_dependencies(policies) -> str:
    """A sentence like 'Server Administrator needs IMS Administrator, which needs Tenant Administrator'."""
    parts = []
    for policy in policies:
        chain, current = [policy.name], policy
        while True:
            deps = list(current.depends_on.all())
            if not deps:
                break
            current = deps[0]
            chain.append(current.name)
        if len(chain) > 1:
            parts.append(chain[0] + " needs " + ", which needs ".join(chain[1:]))
    return "; ".join(parts)


@atomic_service
def grant_attach(*, actor, group: UserGroup, policies, all_resources: bool, projects=()) -> AttachResult:
    """Attach roles/policies to a group with one scope; role dependencies come along (SPEC 7)."""
    policies = list(policies)
    projects = list(projects)
    if not policies:
        raise ValidationError("Choose at least one role or policy to attach.")
    for policy in policies:
        require(actor, "iam:permissions:grantPermission", target=group,
                target_repr=f"{policy.name} → {group.name}")
    dependencies = dependency_closure(policies)
    UserGroup.objects.select_for_update().filter(pk=group.pk).first()
    existing = {g.policy_id: g for g in group.grants.prefetch_related("projects")}
    new_count = sum(1 for p in policies + dependencies if p.pk not in existing)
    if len(existing) + new_count > MAX_GRANTS_PER_GROUP:
        raise ValidationError(f"A group can hold at most {MAX_GRANTS_PER_GROUP} grants.")
    for policy in policies + dependencies:
        whole = all_resources or is_global_only(policy)
        if not whole and not projects:
            raise ValidationError({"projects": "Choose at least one project, or the scope All resources."})
        grant = existing.get(policy.pk)
        before = None
        if grant is None:
            grant = Grant.objects.create(group=group, policy=policy, all_resources=whole)
        else:
            before = {"scope": grant.scope_label}
            if whole and not grant.all_resources:
                grant.all_resources = True
                grant.save(update_fields=["all_resources"])
                grant.projects.clear()
        if not grant.all_resources:
            grant.projects.add(*projects)
        after = {"scope": "All resources" if grant.all_resources else
                 ", ".join(sorted(grant.projects.values_list("name", flat=True)))}
        audit.record(actor=actor, action="iam:permissions:grantPermission", target=group,
                     target_repr=f"{policy.name} → {group.name}",
                     message="dependency" if policy in dependencies else "",
                     details={"policy": policy.name, "before": before, "after": after})
    return AttachResult(tuple(policies), tuple(dependencies), all_resources, tuple(projects))


def detach_blockers(group: UserGroup, policies) -> list[Policy]:
    """Roles attached to the group, not being detached, that need one of `policies`."""
    leaving = {p.pk for p in policies}
    attached = list(Policy.objects.filter(grants__group=group).exclude(pk__in=leaving))
    blockers = []
    for role in attached:
        if leaving & {d.pk for d in dependency_closure([role])}:
            blockers.append(role)
    return blockers


@atomic_service
def grant_detach(*, actor, group: UserGroup, policies) -> list[Policy]:
    """Detach roles/policies from a group; refused while an attached role still needs one of them."""
    policies = list(policies)
    for policy in policies:
        require(actor, "iam:permissions:revokePermission", target=group,
                target_repr=f"{policy.name} → {group.name}")
    blockers = detach_blockers(group, policies)
    if blockers:
        needed = ", ".join(p.name for p in blockers)
        raise ValidationError(
            f"{needed} still depend{'s' if len(blockers) == 1 else ''} on what you are detaching: "
            f"detach {needed} in the same step.",
            code="dependents",
            params={"dependents": [p.pk for p in blockers]},
        )
    grants = list(Grant.objects.select_for_update().filter(group=group, policy__in=policies)
                  .select_related("policy").prefetch_related("projects"))
    for grant in grants:
        audit.record(actor=actor, action="iam:permissions:revokePermission", target=group,
                     target_repr=f"{grant.policy.name} → {group.name}",
                     details={"policy": grant.policy.name, "before": {"scope": grant.scope_label}})
        grant.delete()
    return [g.policy for g in grants]


def actions_of(policy: Policy) -> frozenset[str]:
    """Every catalogued action the policy's Allow statements name (for descriptions and pickers)."""
    names: set[str] = set()
    for statement in policy.document.get("Statement", []):
        if statement.get("Effect") == "Allow":
            for pattern in statement.get("Action", []):
                names |= expand_pattern(pattern)
    return frozenset(names)
