"""Grant services: attach with role dependencies, detach refusing orphaned dependents (SPEC 7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext, gettext_lazy, ngettext_lazy

from accounts import audit, authz
from accounts.enforcement import atomic_service, require
from accounts.models import MAX_GRANTS_PER_GROUP, Grant, Policy, Project, UserGroup
from accounts.policy import expand_pattern, names_global_services_only
from accounts.policy.messages import Message, gettext_noop

from . import escalation


def is_global_only(policy: Policy) -> bool:
    """True when every action the document names belongs to IAM (a global service)."""
    return names_global_services_only(policy.document)


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
    expires: datetime | None = None

    @property
    def message(self) -> str:
        """What was attached, for the person who attached it (in their language; policy and project names verbatim)."""
        names = ", ".join(p.name for p in self.requested)
        scope = gettext("All resources") if self.all_resources else ", ".join(p.name for p in self.projects)
        if self.expires:
            text = gettext("Attached %(policies)s on %(scope)s until %(until)s.") % {
                "policies": names, "scope": scope, "until": expires_text(self.expires)}
        else:
            text = gettext("Attached %(policies)s on %(scope)s.") % {"policies": names, "scope": scope}
        if self.dependencies:
            deps = self.dependencies[0].name
            for policy in self.dependencies[1:]:
                deps = gettext("%(first)s and %(second)s") % {"first": deps, "second": policy.name}
            text += " " + gettext("Dependencies attached with the same scope: %(policies)s.") % {"policies": deps}
        return text


def expires_text(moment: datetime | None) -> str:
    """An end as the audit log and messages spell it: '2026-12-31 18:00 UTC' ('' for none)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else ""  # not the reader's zone


def combined_expires(kept: datetime | None, asked: datetime | None) -> datetime | None:
    """The end of a grant attached again (docs/decisions.md): attaching widens, so the later end
    wins, and a grant without an end (either one) has none. Shortening is detach, then attach."""
    if kept is None or asked is None:
        return None
    return max(kept, asked)


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
def grant_attach(*, actor, group: UserGroup, policies, all_resources: bool, projects=(),
                 expires: datetime | None = None) -> AttachResult:
    """Attach roles/policies to a group with one scope and, if given, an end (`expires`: from then
    on the grants are absent); role dependencies come along with both (SPEC 7)."""
    policies = list(policies)
    projects = list(projects)
    if not policies:
        raise ValidationError(gettext_lazy("Choose at least one role or policy to attach."))
    now = authz.clock()
    expires = _future_end(expires, now)
    _require_may_attach(actor, group, policies)
    dependencies = dependency_closure(policies)
    _require_holds_handed_over(actor, group, policies, dependencies, all_resources=all_resources,
                               projects=projects)
    UserGroup.objects.select_for_update().filter(pk=group.pk).first()
    existing = {g.policy_id: g for g in group.grants.prefetch_related("projects")}
    new_count = sum(1 for p in policies + dependencies if p.pk not in existing)
    if len(existing) + new_count > MAX_GRANTS_PER_GROUP:
        raise ValidationError(gettext_lazy("A group can hold at most %(max_grants_per_group)s grants."),
                              params={"max_grants_per_group": MAX_GRANTS_PER_GROUP})
    for policy in policies + dependencies:
        whole = all_resources or is_global_only(policy)
        if not whole and not projects:
            raise ValidationError({"projects": ValidationError(
                gettext_lazy("Choose at least one project, or the scope All resources."))})
        _attach_one(actor, group, policy, existing.get(policy.pk), whole=whole, projects=projects,
                    expires=expires, now=now, dependency=policy in dependencies)
    return AttachResult(tuple(policies), tuple(dependencies), all_resources, tuple(projects), expires)


def _future_end(expires: datetime | None, now: datetime) -> datetime | None:
    """The asked end to the second, as IAM-as-code files spell it; an end already past is refused."""
    if expires is None:
        return None
    expires = expires.replace(microsecond=0)
    if expires <= now:
        raise ValidationError({"expires": ValidationError(gettext_lazy("The end must be in the future."))})
    return expires


def _require_may_attach(actor, group: UserGroup, policies) -> None:
    """The actor may grant each policy to this group (refusals recorded by `require`)."""
    for policy in policies:
        require(actor, "iam:permissions:grantPermission", target=group,
                target_repr=f"{policy.name} → {group.name}")
    escalation.require_may_change_group(actor, "iam:permissions:grantPermission", group)


def _require_holds_handed_over(actor, group: UserGroup, policies, dependencies, *, all_resources: bool,
                               projects) -> None:
    """No escalation: the actor holds outright everything the policies and their dependencies would hand
    over on this scope (a policy of IAM actions only is global: all resources)."""
    handed_over: set = set()
    for policy in policies + dependencies:
        handed_over |= escalation.scoped(escalation.document_allows(policy.document),
                                         all_resources=all_resources or is_global_only(policy),
                                         project_names=[p.name for p in projects])
    escalation.require_holds(actor, "iam:permissions:grantPermission", handed_over,
                             doing=escalation.attaching(", ".join(p.name for p in policies), group.name),
                             target=group)


def _attach_one(actor, group: UserGroup, policy: Policy, grant: Grant | None, *, whole: bool, projects,
                expires: datetime | None, now: datetime, dependency: bool) -> None:
    """Attach one policy — a new grant, an ended one started afresh, or a held one widened — and audit it
    with its scope and end before and after."""
    grant, before = _start_or_widen(group, policy, grant, whole=whole, expires=expires, now=now)
    if not grant.all_resources:
        grant.projects.add(*projects)
    after = {"scope": "All resources" if grant.all_resources else
             ", ".join(sorted(grant.projects.values_list("name", flat=True))),
             "expires": expires_text(grant.expires)}
    audit.record(actor=actor, action="iam:permissions:grantPermission", target=group,
                 target_repr=f"{policy.name} → {group.name}",
                 message=Message(gettext_noop("dependency")) if dependency else "",
                 details={"policy": policy.name, "before": before, "after": after})


def _start_or_widen(group: UserGroup, policy: Policy, grant: Grant | None, *, whole: bool,
                    expires: datetime | None, now: datetime) -> tuple[Grant, dict | None]:
    """The grant to add the projects to, and what it was before (None: it is new). Attaching never narrows:
    a held grant only widens to all resources and keeps the later end (combined_expires)."""
    if grant is None:
        return Grant.objects.create(group=group, policy=policy, all_resources=whole, expires=expires), None
    if grant.expires is not None and grant.expires <= now:
        # Ended but not removed yet: it is absent already, so this attach starts it afresh.
        before = {"scope": grant.scope_label, "expires": expires_text(grant.expires), "ended": True}
        grant.all_resources, grant.expires = whole, expires
        grant.save(update_fields=["all_resources", "expires"])
        grant.projects.clear()
        return grant, before
    before = {"scope": grant.scope_label, "expires": expires_text(grant.expires)}
    if whole and not grant.all_resources:
        grant.all_resources = True
        grant.save(update_fields=["all_resources"])
        grant.projects.clear()
    until = combined_expires(grant.expires, expires)
    if until != grant.expires:
        grant.expires = until
        grant.save(update_fields=["expires"])
    return grant, before


@atomic_service
def grant_set_expires(*, actor, group: UserGroup, policy: Policy, expires: datetime | None) -> bool:
    """Set a grant's end to exactly `expires` (None: no end), as IAM-as-code says it; an end in the past
    ends the grant at once. Checked like attaching it (a later end hands the permissions over for longer).
    Returns whether anything changed."""
    require(actor, "iam:permissions:grantPermission", target=group, target_repr=f"{policy.name} → {group.name}")
    escalation.require_may_change_group(actor, "iam:permissions:grantPermission", group)
    grant = (Grant.objects.select_for_update().filter(group=group, policy=policy).prefetch_related("projects")
             .first())
    if grant is None:
        raise ValidationError(gettext_lazy("%(name)s is not attached to %(name2)s."),
                              params={"name": policy.name, "name2": group.name})
    expires = expires.replace(microsecond=0) if expires is not None else None
    if grant.expires == expires:
        return False
    handed_over = escalation.scoped(escalation.document_allows(policy.document),
                                    all_resources=grant.all_resources or is_global_only(policy),
                                    project_names=[p.name for p in grant.projects.all()])
    escalation.require_holds(actor, "iam:permissions:grantPermission", handed_over,
                             doing=escalation.setting_end(policy.name, group.name), target=group)
    before = {"scope": grant.scope_label, "expires": expires_text(grant.expires)}
    grant.expires = expires
    grant.save(update_fields=["expires"])
    audit.record(actor=actor, action="iam:permissions:grantPermission", target=group,
                 target_repr=f"{policy.name} → {group.name}", message=Message(gettext_noop("end changed")),
                 details={"policy": policy.name, "before": before,
                          "after": {"scope": grant.scope_label, "expires": expires_text(expires)}})
    return True


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
        raise ValidationError(gettext_lazy("The built-in admin group keeps its permissions: nothing can be detached "
                                           "from it."))
    escalation.require_may_detach(actor, "iam:permissions:revokePermission", group, policies)
    blockers = detach_blockers(group, policies)
    if blockers:
        needed = ", ".join(p.name for p in blockers)
        raise ValidationError(
            ngettext_lazy("%(needed)s still depends on what you are detaching: detach %(needed)s in the same step.",
                          "%(needed)s still depend on what you are detaching: detach %(needed)s in the same step.",
                          len(blockers)),
            code="dependents",
            params={"needed": needed, "dependents": [p.pk for p in blockers]},
        )
    grants = list(Grant.objects.select_for_update().filter(group=group, policy__in=policies)
                  .select_related("policy").prefetch_related("projects"))
    for grant in grants:
        audit.record(actor=actor, action="iam:permissions:revokePermission", target=group,
                     target_repr=f"{grant.policy.name} → {group.name}",
                     details={"policy": grant.policy.name, "before": {"scope": grant.scope_label}})
        grant.delete()
    return [g.policy for g in grants]


def expire_grants(*, now: datetime | None = None) -> list[str]:
    """Remove the grants that have ended, auditing each removal as the system.

    The engine left them out from their end on (authz.live), so removing them changes no decision;
    it only tidies. Run by `manage.py expire_grants`, never needed for a permission to end.
    Returns the removed grants as "policy → group" labels.
    """
    removed = []
    with transaction.atomic():
        ended = list(Grant.objects.select_for_update().filter(expires__lte=now or authz.clock())
                     .select_related("group", "policy").prefetch_related("projects").order_by("pk"))
        for grant in ended:
            label = f"{grant.policy.name} → {grant.group.name}"
            audit.record(actor=None, action="iam:permissions:revokePermission", target=grant.group,
                         target_repr=label, message=Message(gettext_noop("expired")),
                         details={"policy": grant.policy.name, "before": {
                             "scope": grant.scope_label, "expires": expires_text(grant.expires)}})
            grant.delete()
            removed.append(label)
    return removed


def actions_of(policy: Policy) -> frozenset[str]:
    """Every catalogued action the policy's Allow statements name (for descriptions and pickers)."""
    names: set[str] = set()
    for statement in policy.document.get("Statement", []):
        if statement.get("Effect") == "Allow":
            for pattern in statement.get("Action", []):
                names |= expand_pattern(pattern)
    return frozenset(names)
