"""Grant services: attach with role dependencies, detach refusing orphaned dependents (SPEC 7)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from accounts import audit
from accounts.enforcement import atomic_service, require
from accounts.models import MAX_GRANTS_PER_GROUP, Grant, Policy, Project, UserGroup
from accounts.policy import expand_pattern

from . import escalation


def is_global_only(policy: Policy) -> bool:
    """True when every action the document names belongs to IAM (a global service)."""
    services = {
        pattern.split(":", 1)[0].lower()
        for statement in policy.document.get("Statement", [])
        for pattern in statement.get("Action", [])
    }
    return services == {"iam"}


def _role_dependencies() -> dict[int, list[Policy]]:
    """Every role's direct dependencies, in two queries (the graph is small and read whole)."""
    roles = Policy.objects.prefetch_related("depends_on").filter(kind=Policy.Kind.ROLE)
    return {role.pk: list(role.depends_on.all()) for role in roles}


def dependency_closure(policies, edges: dict[int, list[Policy]] | None = None) -> list[Policy]:
    """The roles the given ones depend on, transitively, not counting the given ones."""
    given = {p.pk for p in policies}
    if edges is None:
        edges = _role_dependencies()
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


def ungrantable_actions(actor, policy: Policy, *, all_resources: bool, projects=()) -> list[str]:
    """What attaching `policy` on this scope would hand over that the actor does not hold outright
    ("ims:images:delete on cn-north-4"): granting it would be an escalation (escalation.py)."""
    whole = all_resources or is_global_only(policy)
    pairs = escalation.scoped(escalation.document_allows(policy.document), all_resources=whole,
                              project_names=[p.name for p in projects])
    return [f"{action} on {project or 'All resources'}" for action, project in
            escalation.missing_holdings(actor, pairs)]


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
    escalation.require_may_change_group(actor, "iam:permissions:grantPermission", group)
    dependencies = dependency_closure(policies)
    handed_over: set = set()
    for policy in policies + dependencies:
        handed_over |= escalation.scoped(escalation.document_allows(policy.document),
                                         all_resources=all_resources or is_global_only(policy),
                                         project_names=[p.name for p in projects])
    escalation.require_holds(actor, "iam:permissions:grantPermission", handed_over,
                             doing=f"attaching {', '.join(p.name for p in policies)} to {group.name}",
                             target=group)
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
    edges = _role_dependencies()
    return [role for role in attached if leaving & {d.pk for d in dependency_closure([role], edges)}]


@atomic_service
def grant_detach(*, actor, group: UserGroup, policies) -> list[Policy]:
    """Detach roles/policies from a group; refused while an attached role still needs one of them."""
    policies = list(policies)
    for policy in policies:
        require(actor, "iam:permissions:revokePermission", target=group,
                target_repr=f"{policy.name} → {group.name}")
    if group.is_admin_group:
        raise ValidationError("The built-in admin group keeps its permissions: nothing can be detached from it.")
    escalation.require_may_detach(actor, "iam:permissions:revokePermission", group, policies)
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
