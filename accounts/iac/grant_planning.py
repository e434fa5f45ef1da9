"""The grants' part of a plan: attach, detach, re-attach and end dates, with role dependencies.

A grant new or wider is attached, a narrower one detached and attached again, one the file lacks
detached with prune; a role's dependencies come along on its scope, a detach that a remaining role
needs takes that role along and attaches it again, and each filed end is set exactly.
"""

from __future__ import annotations

from accounts import authz, services
from accounts.models import Policy, Project, UserGroup
from accounts.policy.messages import Message, gettext_noop

from .document import ALL_RESOURCES, expires_moment
from .plan import Change, Step
from .scopes import covers, scope_text, union
from .state import touch


class _GrantSteps:
    """The grants' detach and attach steps, gathered before they become steps: detaches by group, and
    each (group, policy) attached once, in the order it was first asked for."""

    def __init__(self):
        self.detach: dict[str, set[str]] = {}
        self.attach: list[tuple[str, str, object, str]] = []
        self.attaching: set[tuple[str, str]] = set()

    def add_attach(self, group, policy, scope, path) -> None:
        if (group, policy) not in self.attaching:
            self.attaching.add((group, policy))
            self.attach.append((group, policy, scope, path))

    def add_detach(self, group, policy) -> None:
        self.detach.setdefault(group, set()).add(policy)


def plan_grants(configuration, state, plan):
    """Grants: attach what is new or wider, detach and re-attach what is narrower, detach (prune) the rest."""
    desired = _filed_grants(configuration, state, plan)  # key → (scope, path, comes along with)
    _plan_ends(configuration, state, plan, desired)
    _add_dependencies(state, desired)
    gathered = _GrantSteps()
    for key in sorted(desired):
        _plan_grant(configuration, state, plan, desired, key, gathered)
    if plan.prune:
        _plan_grant_removals(configuration, state, plan, desired, gathered)
    _plan_detach_steps(state, plan, desired, gathered)
    _plan_attach_steps(state, plan, gathered)
    _plan_expires_steps(state, plan, desired, gathered)


def _filed_grants(configuration, state, plan) -> dict[tuple[str, str], tuple]:
    """The file's grants as (group, policy) → (scope, path, None). A grant not attached yet whose end has
    passed is left out with a warning: it would grant nothing."""
    desired: dict[tuple[str, str], tuple] = {}
    now = authz.clock()
    for index, grant in enumerate(configuration.grants):
        scope = grant.scope if grant.scope == ALL_RESOURCES else frozenset(grant.scope)
        key = (grant.group, grant.policy)
        if key not in state.grants and grant.end is not None and grant.end <= now:
            plan.warnings.append((f"$.grants[{index}].expires", Message(
                gettext_noop("%(policy)s → %(group)s ended at %(expires)s: it is not attached."),
                policy=grant.policy, group=grant.group, expires=grant.expires)))
            continue
        desired[key] = (scope, f"$.grants[{index}]", None)
    return desired


def _add_dependencies(state, desired) -> None:
    """A filed role's dependencies come along on its scope, as attaching it by hand does: (scope, the
    role's path, the role). A stored grant of a dependency is widened if needed, never narrowed; a
    dependency the file grants itself keeps the file's scope."""
    for (group, policy), (scope, path, _) in list(desired.items()):
        for dependency in state.closure(policy):
            key = (group, dependency)
            if key in desired and desired[key][2] is None:
                continue
            needed = scope if key not in desired else union(desired[key][0], scope)
            current = state.grants.get(key)
            wanted = current if current is not None and covers(current, needed) else (
                needed if current is None else union(current, needed))
            desired[key] = (wanted, path, policy)


def _plan_grant(configuration, state, plan, desired, key, gathered) -> None:
    """One wanted grant against the stored one: nothing, a create, or a change of scope (a narrower scope is
    detached, then attached again). A dependency is attached by attaching its role again."""
    scope, path, along = desired[key]
    group, policy = key
    current = state.grants.get(key)
    if current is not None and current == scope:
        return
    plan.affected_usernames |= state.members.get(group, set()).union(state.filed_members.get(group, ()))
    touch(plan, state, configuration, policy, scope if current is None else union(scope, current))
    if along:
        # Attaching the role again (even unchanged) is what brings its dependencies along.
        gathered.add_attach(group, along, desired[(group, along)][0], path)
    plan.changes.append(_grant_change(plan, key, scope, current, path, along))
    if current is not None and not covers(scope, current):
        gathered.add_detach(group, policy)
    if not along:
        gathered.add_attach(group, policy, scope, path)


def _grant_change(plan, key, scope, current, path, along) -> Change:
    """The readable line of a grant created (with the file's end) or changed; a dependency's has no path."""
    group, policy = key
    note = f"comes along with {along} (a role dependency)" if along else ""
    if current is None:
        end = plan.filed_ends.get(key) if not along else None
        return Change("Grants", "create", f"{policy} → {group}", path if not along else "",
                      after=scope_text(scope) + (f", until {end}" if end else ""), note=note)
    narrowed = not covers(scope, current)
    return Change("Grants", "change", f"{policy} → {group}", f"{path}.scope" if not along else "",
                  before=scope_text(current), after=scope_text(scope),
                  note=note or ("narrowed: detached, then attached again" if narrowed else ""))


def _plan_grant_removals(configuration, state, plan, desired, gathered) -> None:
    """With prune, stored grants the file does not hold are detached, except a removed group's (they go
    with the group)."""
    pruned_groups = set(state.groups) - {g.name for g in configuration.groups}
    for key in sorted(set(state.grants) - set(desired)):
        group, policy = key
        if group in pruned_groups:
            continue
        plan.changes.append(Change("Grants", "remove", f"{policy} → {group}", before=scope_text(state.grants[key])))
        gathered.add_detach(group, policy)
        plan.affected_usernames |= state.members.get(group, set())
        touch(plan, state, configuration, policy, state.grants[key])


def _plan_detach_steps(state, plan, desired, gathered) -> None:
    """One detach step per group, with the roles that still need what it detaches (see _detach_dependents)."""
    for group, policies in sorted(gathered.detach.items()):
        _detach_dependents(state, desired, gathered, group, policies)
        names = sorted(policies)
        plan.steps.append(Step("detach", "$.grants", lambda actor, g=group, names=names:
                               services.grant_detach(actor=actor, group=UserGroup.objects.get(name=g),
                                                     policies=list(Policy.objects.filter(name__in=names)))))


def _detach_dependents(state, desired, gathered, group, policies: set[str]) -> None:
    """Detaching a role that an attached role still needs is refused: detach that one too (until none is
    left), and attach it again afterwards with the scope the file gives it."""
    grown = True
    while grown:
        grown = False
        for p, _ in state.grants_by_group.get(group, ()):
            if p not in policies and policies.intersection(state.closure(p)):
                policies.add(p)
                grown = True
                if (group, p) in desired:
                    gathered.add_attach(group, p, desired[(group, p)][0], desired[(group, p)][1])


def _plan_attach_steps(state, plan, gathered) -> None:
    """One attach step per (group, policy). A new grant is attached with the file's end (its dependencies
    come along until then too); the "expires" phase then sets every filed end exactly (attaching again
    keeps the later one)."""
    for group, policy, scope, path in gathered.attach:
        end = expires_moment(plan.filed_ends.get((group, policy))) if (group, policy) not in state.grants else None
        plan.steps.append(Step("attach", path, lambda actor, g=group, p=policy, s=scope, e=end: services.grant_attach(
            actor=actor, group=UserGroup.objects.get(name=g), policies=[Policy.objects.get(name=p)],
            all_resources=s == ALL_RESOURCES,
            projects=[] if s == ALL_RESOURCES else list(Project.objects.filter(name__in=sorted(s))), expires=e)))


def _plan_expires_steps(state, plan, desired, gathered) -> None:
    """A filed grant that is kept or attached gets the file's end exactly when it differs from the stored
    one, and always when attached (attaching keeps the later of two ends)."""
    for key, (_, path, along) in sorted(desired.items()):
        if along is not None or (key not in state.grants and key not in gathered.attaching):
            continue
        end = plan.filed_ends.get(key)
        if end != state.ends.get(key) or key in gathered.attaching:
            group, policy = key
            plan.steps.append(Step("expires", f"{path}.expires", lambda actor, g=group, p=policy, e=end:
                                   services.grant_set_expires(actor=actor, group=UserGroup.objects.get(name=g),
                                                              policy=Policy.objects.get(name=p),
                                                              expires=expires_moment(e))))


def _plan_ends(configuration, state, plan, desired) -> None:
    """A filed grant whose end differs from the stored one: a change of its end (set exactly by the
    "expires" phase; an end already past ends the grant at once, with no scheduler)."""
    plan.filed_ends = {(g.group, g.policy): g.expires for g in configuration.grants}
    for key, (scope, path, _) in sorted(desired.items()):
        if key not in state.grants:
            continue
        before, after = state.ends.get(key), plan.filed_ends.get(key)
        if before == after:
            continue
        group, policy = key
        plan.changes.append(Change("Grants", "change", f"{policy} → {group}", f"{path}.expires",
                                   before=f"until {before}" if before else "no end",
                                   after=f"until {after}" if after else "no end"))
        plan.affected_usernames |= state.members.get(group, set()).union(state.filed_members.get(group, ()))
        touch(plan, state, configuration, policy, scope)
