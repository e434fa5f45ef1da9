"""The plan of an import: what applying a configuration would create, change and (with prune) remove.

`build_plan` compares the file with the stored configuration (a fixed number of queries) and
turns every difference into a readable `Change` and a `Step` — one call of an existing service
(accounts.services), carrying the JSON path it came from. `trial_plan` then runs those steps in
a transaction that is always rolled back, as the actor: every permission check, limit and the
no-escalation rule answer exactly as they would on apply, and the users whose effective
permissions change are read from the engine before and after.

Semantics: everything named in the file is made to match it. Without prune nothing is removed
(users, groups, custom policies, memberships and grants absent from the file stay); with prune
they are removed. Regions and projects are never removed (no service deletes them). A role
granted without its dependencies gets them with the same scope, as attaching it by hand does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts import authz, services
from accounts.models import ADMIN_GROUP_NAME, Membership, Policy, Project, Region, User, UserGroup
from accounts.policy import ACTIONS, SERVICES, get_action
from accounts.policy.messages import Message, gettext_noop
from accounts.services import escalation
from accounts.services.policies import PolicyDocumentError
from federation.iac import LocatedError

from .document import ALL_RESOURCES, Configuration, DocumentError, digest, dumps, expires_moment
from .export import export_text, grant_ends, grant_scopes
from .limits import changes_refusal, kind_refusals

EFFECTS_COMPARED = 50
# Section titles are data (keys of limits.KIND_ACTIONS, the CLI's headings); the page translates them.
SECTIONS = (gettext_noop("Regions and projects"), gettext_noop("Users"), gettext_noop("Custom policies"),
            gettext_noop("User groups"), gettext_noop("Members"), gettext_noop("Grants"),
            gettext_noop("Identity providers"))
USER_FIELDS = ("email", "first_name", "last_name", "is_active", "is_staff")
OUTCOME_LABELS = {"allow": "allowed", "explicit_deny": "denied explicitly", "implicit_deny": "denied"}
# The order steps run in: removals of memberships and grants before additions (limits count what
# is there), policy edits after detaching (only the remaining grants are widened), deletions last.
PHASES = ("regions", "projects", "users", "policy-create", "groups", "detach", "leave", "policy-update",
          "attach", "expires", "join", "identity-providers", "group-delete", "policy-delete", "user-delete")


@dataclass
class Change:
    """One readable line of a plan: `kind` is create, change or remove."""

    section: str
    kind: str
    subject: str
    path: str = ""
    before: str = ""
    after: str = ""
    note: str = ""


@dataclass
class Step:
    """One service call of an import, with the place in the file it answers for."""

    phase: str
    path: str
    run: Callable


@dataclass
class Effect:
    """A user whose effective permissions change: (action, where, before, after) for each decision."""

    username: str
    cells: list[tuple[str, str, str, str]]

    def lines(self) -> list[tuple[str, str, list[str], list[str]]]:
        """The cells folded for reading: (before, after, actions, places), actions sharing the same places."""
        by_change: dict[tuple[str, str, str], list[str]] = {}
        for action, where, before, after in self.cells:
            by_change.setdefault((before, after, action), []).append(where)
        folded: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
        for (before, after, action), wheres in by_change.items():
            folded.setdefault((before, after, tuple(wheres)), []).append(action)
        return [(before, after, actions, list(wheres)) for (before, after, wheres), actions in folded.items()]


@dataclass
class Plan:
    document_hash: str
    config_hash: str
    prune: bool
    changes: list[Change] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    affected_usernames: set[str] = field(default_factory=set)
    # What the changes touch, so only those decisions are compared: (policy document, scope) pairs,
    # and the users whose every decision changes (activated, deactivated, removed).
    touched: list[tuple[dict, object]] = field(default_factory=list)
    whole_users: set[str] = field(default_factory=set)
    effects_omitted: int = 0  # affected users past EFFECTS_COMPARED, not compared
    filed_ends: dict[tuple[str, str], str | None] = field(default_factory=dict)  # (group, policy) → the file's end

    @property
    def is_noop(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, int]:
        return {kind: sum(1 for c in self.changes if c.kind == kind) for kind in ("create", "change", "remove")}

    def sections(self) -> list[tuple[str, list[Change]]]:
        """The changes grouped by section, in SECTIONS order."""
        return [(title, [c for c in self.changes if c.section == title])
                for title in SECTIONS if any(c.section == title for c in self.changes)]

    def ordered_steps(self) -> list[Step]:
        return sorted(self.steps, key=lambda step: PHASES.index(step.phase))


def _scope_text(scope) -> str:
    return "All resources" if scope == ALL_RESOURCES else ", ".join(sorted(scope))


def _covers(wide, narrow) -> bool:
    if wide == ALL_RESOURCES:
        return True
    return narrow != ALL_RESOURCES and set(narrow) <= set(wide)


def _union(a, b):
    if a == ALL_RESOURCES or b == ALL_RESOURCES:
        return ALL_RESOURCES
    return frozenset(a) | frozenset(b)


def _global_only(document: dict) -> bool:
    patterns = {p.split(":", 1)[0].lower() for s in document.get("Statement", []) for p in s.get("Action", [])}
    return patterns == {"iam"}


def _canonical(document) -> str:
    return json.dumps(document, sort_keys=True)


class _State:
    """The stored configuration, loaded once for a plan."""

    def __init__(self):
        self.regions = {r.code: r for r in Region.objects.all()}
        self.projects = {p.name: p for p in Project.objects.select_related("region")}
        self.users = {u["username"]: u for u in User.objects.values("username", *USER_FIELDS)}
        self.groups = {g.name: g for g in UserGroup.objects.all()}
        self.members: dict[str, set[str]] = {}
        for group_name, username in Membership.objects.values_list("group__name", "user__username"):
            self.members.setdefault(group_name, set()).add(username)
        self.policies = {p.name: p for p in Policy.objects.prefetch_related("depends_on")}
        self.depends = {p.name: sorted(d.name for d in p.depends_on.all()) for p in self.policies.values()}
        self.grants = {(group, policy): scope for group, policy, scope in grant_scopes()}
        self.ends = grant_ends()  # (group, policy) → the stored end, as the file spells it
        # Indexes, so that no step of a plan scans every grant (a plan costs in proportion to the file).
        self.grants_by_group: dict[str, list[tuple[str, object]]] = {}
        self.grants_by_policy: dict[str, list[tuple[str, object]]] = {}
        for (group, policy), scope in self.grants.items():
            self.grants_by_group.setdefault(group, []).append((policy, scope))
            self.grants_by_policy.setdefault(policy, []).append((group, scope))
        self._closures: dict[str, list[str]] = {}
        # Filled by build_plan from the file: its policies' documents, its grants and members by group.
        self.filed_documents: dict[str, list[dict]] = {}
        self.filed_grants: dict[str, list[tuple[str, object]]] = {}
        self.filed_members: dict[str, list[str]] = {}
        self.touched_keys: set = set()
        self.touched_groups: set[str] = set()

    def read_file(self, configuration: Configuration) -> None:
        for entry in configuration.policies:
            self.filed_documents.setdefault(entry.name, []).append(entry.document)
        for grant in configuration.grants:
            self.filed_grants.setdefault(grant.group, []).append((grant.policy, grant.scope))
        for group in configuration.groups:
            self.filed_members.setdefault(group.name, []).extend(group.members)

    def closure(self, name: str) -> list[str]:
        found = self._closures.get(name)
        if found is not None:
            return found
        found, seen, stack = [], {name}, [name]
        while stack:
            for dependency in self.depends.get(stack.pop(), []):
                if dependency not in seen:
                    seen.add(dependency)
                    found.append(dependency)
                    stack.append(dependency)
        self._closures[name] = found
        return found


def _touch(plan, state, configuration, policy_name: str, scope) -> None:
    """Record that grants of `policy_name` on `scope` change for someone (its stored and filed documents).

    Each (policy, scope) is recorded once: the decisions it can change are the same however often."""
    key = (policy_name, scope if scope == ALL_RESOURCES else frozenset(scope))
    if key in state.touched_keys:
        return
    state.touched_keys.add(key)
    for document in state.filed_documents.get(policy_name, ()):
        plan.touched.append((document, scope))
    stored = state.policies.get(policy_name)
    if stored is not None:
        plan.touched.append((stored.document, scope))
    for dependency in state.closure(policy_name):
        plan.touched.append((state.policies[dependency].document, scope))


def _touch_group(plan, state, configuration, group_name: str) -> None:
    """A membership of the group changes: every grant it holds now or per the file is touched (once a group)."""
    if group_name in state.touched_groups:
        return
    state.touched_groups.add(group_name)
    for policy, scope in state.grants_by_group.get(group_name, ()):
        _touch(plan, state, configuration, policy, scope)
    for policy, scope in state.filed_grants.get(group_name, ()):
        _touch(plan, state, configuration, policy, scope)


# Errors and warnings are English Messages (the CLI prints them, the audit log keeps them); the page
# translates them (accounts.findings.localized). Names, paths and values stay verbatim.
_ALREADY_LISTED = {
    "The region": gettext_noop("The region %(name)s is already listed at %(first)s (names that differ only in "
                               "letter case count as the same)"),
    "The user": gettext_noop("The user %(name)s is already listed at %(first)s (names that differ only in letter "
                             "case count as the same)"),
    "The group": gettext_noop("The group %(name)s is already listed at %(first)s (names that differ only in letter "
                              "case count as the same)"),
    "The policy": gettext_noop("The policy %(name)s is already listed at %(first)s (names that differ only in "
                               "letter case count as the same)"),
    "The grant": gettext_noop("The grant %(name)s is already listed at %(first)s (names that differ only in letter "
                              "case count as the same)"),
    "The project": gettext_noop("The project %(name)s is already listed at %(first)s (names that differ only in "
                                "letter case count as the same)"),
    "The identity provider": gettext_noop("The identity provider %(name)s is already listed at %(first)s (names "
                                          "that differ only in letter case count as the same)"),
}


def _duplicates(errors, items, key, path, what):
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        folded = key(item).lower()
        if folded in seen:
            errors.append((f"{path}[{index}]", Message(_ALREADY_LISTED[what], name=repr(key(item)),
                                                       first=f"{path}[{seen[folded]}]")))
        else:
            seen[folded] = index


def build_plan(configuration: Configuration, *, prune: bool = False, config_text: str | None = None) -> Plan:
    """Compare the file with the stored configuration: located errors, readable changes, service steps."""
    state = _State()
    state.read_file(configuration)
    plan = Plan(document_hash=digest(dumps(configuration)), prune=prune,
                config_hash=digest(config_text) if config_text is not None else "")
    _check_references(configuration, state, plan.errors)
    if plan.errors:
        return plan
    _plan_regions(configuration, state, plan)
    _plan_users(configuration, state, plan)
    _plan_policies(configuration, state, plan)
    _plan_groups(configuration, state, plan)
    _plan_grants(configuration, state, plan)
    _plan_identity_providers(configuration, state, plan)
    return plan


def _plan_identity_providers(configuration, state, plan) -> None:
    """Providers and their rules (federation.iac): one step per provider, after the groups exist; the
    same services as the console, so the same no-escalation rule, refused at the rule's group."""
    from federation import iac

    filed_groups = {g.name for g in configuration.groups}
    _duplicates(plan.errors, configuration.identity_providers, lambda p: p.name, "$.identity_providers",
                "The identity provider")
    for p_index, entry in enumerate(configuration.identity_providers):
        for r_index, rule in enumerate(entry.rules):
            for g_index, name in enumerate(rule.groups):
                if name not in filed_groups and name not in state.groups:
                    plan.errors.append((f"$.identity_providers[{p_index}].rules[{r_index}].groups[{g_index}]",
                                        Message(gettext_noop("There is no user group named %(name)s."),
                                                name=repr(name))))
    if plan.errors:
        return
    for change in iac.plan_entries(configuration.identity_providers, prune=plan.prune):
        plan.changes.append(Change("Identity providers", change.kind, change.name, change.path,
                                   iac.describe(change.before), iac.describe(change.after)))
        plan.steps.append(Step("identity-providers", change.path,
                               lambda actor, change=change: iac.apply_change(change, configuration.identity_providers,
                                                                             actor=actor)))


def _check_references(configuration: Configuration, state: _State, errors: list) -> None:
    """What the file itself gets wrong: duplicates, names it uses but does not define, scopes."""
    _check_duplicates(configuration, errors)
    projects = _check_regions(configuration, state, errors)
    _check_members(configuration, errors)
    names = _Names(projects=projects, groups={g.name for g in configuration.groups},
                   custom={p.name: p for p in configuration.policies},
                   system={name for name, p in state.policies.items() if p.is_system})
    _check_policies(configuration, names.system, errors)
    for index, grant in enumerate(configuration.grants):
        _check_grant(grant, f"$.grants[{index}]", state, names, errors)
    _check_dependency_scopes(configuration, state, errors)


@dataclass
class _Names:
    """What the file and the console define, for checking the grants' references."""

    projects: dict[str, str]  # filed project → its region
    groups: set[str]
    custom: dict  # filed policy name → its entry
    system: set[str]


def _check_duplicates(configuration: Configuration, errors: list) -> None:
    """Each list names an entry once (letter case aside): the plan is keyed by these names."""
    _duplicates(errors, configuration.regions, lambda r: r.code, "$.regions", "The region")
    _duplicates(errors, configuration.users, lambda u: u.username, "$.users", "The user")
    _duplicates(errors, configuration.groups, lambda g: g.name, "$.groups", "The group")
    _duplicates(errors, configuration.policies, lambda p: p.name, "$.policies", "The policy")
    _duplicates(errors, configuration.grants, lambda g: f"{g.group} / {g.policy}", "$.grants", "The grant")


def _check_regions(configuration: Configuration, state: _State, errors: list) -> dict[str, str]:
    """Projects are named after their region, stay in it, and each region lists its default project.
    Returns every filed project's region, by project name (the grants' scopes are checked against it)."""
    projects: dict[str, str] = {}
    for r_index, region in enumerate(configuration.regions):
        path = f"$.regions[{r_index}]"
        _duplicates(errors, region.projects, lambda p: p.name, f"{path}.projects", "The project")
        for p_index, project in enumerate(region.projects):
            _check_project(region, project, f"{path}.projects[{p_index}].name", state, errors)
            projects[project.name] = region.code
        if region.code not in {p.name for p in region.projects}:
            errors.append((f"{path}.projects", Message(gettext_noop("The region's default project %(project)s is "
                                                                    "missing."), project=region.code)))
    return projects


def _check_project(region, project, where: str, state: _State, errors: list) -> None:
    """A project's name starts with its region's code, and a stored project cannot move to another region."""
    if project.name != region.code and not project.name.startswith(f"{region.code}_"):
        errors.append((where, Message(gettext_noop("A project of %(region)s is named %(region)s or "
                                                   "%(region)s_<name>."), region=region.code)))
    stored = state.projects.get(project.name)
    if stored is not None and stored.region.code != region.code:
        errors.append((where, Message(gettext_noop("The project %(project)s belongs to the region %(region)s."),
                                      project=project.name, region=stored.region.code)))


def _check_members(configuration: Configuration, errors: list) -> None:
    """Members are users the file lists, each once in a group."""
    usernames = {u.username for u in configuration.users}
    for g_index, group in enumerate(configuration.groups):
        seen = set()
        for m_index, member in enumerate(group.members):
            where = f"$.groups[{g_index}].members[{m_index}]"
            if member not in usernames:
                errors.append((where, Message(gettext_noop("No user named %(name)s in users."), name=repr(member))))
            elif member in seen:
                errors.append((where, Message(gettext_noop("%(name)s is listed twice."), name=member)))
            seen.add(member)


def _check_policies(configuration: Configuration, system: set[str], errors: list) -> None:
    """Custom policies take no system name and hold documents the validator accepts (its errors, located)."""
    system_folded = {name.lower(): name for name in system}
    for p_index, policy in enumerate(configuration.policies):
        clash = system_folded.get(policy.name.lower())
        if clash:
            errors.append((f"$.policies[{p_index}].name",
                           Message(gettext_noop("%(name)s is a system-defined role or policy."), name=clash)))
        try:
            services.parse_policy_document(policy.document)
        except PolicyDocumentError as error:
            errors.extend((f"$.policies[{p_index}].document" + (f".{f.path}" if f.path else ""), f.message)
                          for f in error.findings if f.tier == "error")


def _check_grant(grant, where: str, state: _State, names: _Names, errors: list) -> None:
    """A grant names a filed group and a known policy; its scope names filed projects, and a policy of
    IAM actions only (global) is granted on all resources."""
    if grant.group not in names.groups:
        errors.append((f"{where}.group", Message(gettext_noop("No group named %(name)s in groups."),
                                                 name=repr(grant.group))))
    if grant.policy not in names.custom and grant.policy not in names.system:
        errors.append((f"{where}.policy", Message(gettext_noop("No custom policy named %(name)s in policies, and no "
                                                           "system role or policy of that name."),
                                                  name=repr(grant.policy))))
        return
    if grant.scope == ALL_RESOURCES:
        return
    for s_index, name in enumerate(grant.scope):
        if name not in names.projects:
            errors.append((f"{where}.scope[{s_index}]", Message(gettext_noop("No project named %(name)s in regions."),
                                                                name=repr(name))))
    named = names.custom.get(grant.policy) or state.policies[grant.policy]
    if _global_only(named.document):
        errors.append((f"{where}.scope", Message(gettext_noop("%(policy)s names IAM actions only, which are global: "
                                                          "its scope is %(scope)s."),
                                                 policy=grant.policy, scope=repr(ALL_RESOURCES))))


def _check_dependency_scopes(configuration: Configuration, state: _State, errors: list) -> None:
    """A role's dependency granted explicitly to the same group must cover the role's scope: attaching
    the role would otherwise widen (or the dependency's narrower grant would break) the dependency."""
    explicit = {(g.group, g.policy): (i, g.scope) for i, g in enumerate(configuration.grants)}
    for index, grant in enumerate(configuration.grants):
        for dependency in state.closure(grant.policy):
            found = explicit.get((grant.group, dependency))
            if found is not None and not _covers(found[1], grant.scope):
                errors.append((f"$.grants[{found[0]}].scope", Message(
                    gettext_noop("%(policy)s needs %(dependency)s on its scope (%(scope)s), which this grant of "
                                 "%(dependency)s to %(group)s does not cover: it would break a role dependency (see "
                                 "%(path)s)."),
                    policy=grant.policy, dependency=dependency, scope=_scope_text(grant.scope), group=grant.group,
                    path=f"$.grants[{index}]")))


def _plan_regions(configuration, state, plan):
    """Regions and their projects: created or renamed/redescribed; never removed (prune only warns)."""
    for r_index, region in enumerate(configuration.regions):
        path = f"$.regions[{r_index}]"
        stored = state.regions.get(region.code)
        _plan_region(region, stored, path, plan)
        for p_index, project in enumerate(region.projects):
            _plan_project(region, project, created_with_region=stored is None and project.name == region.code,
                          where=f"{path}.projects[{p_index}]", state=state, plan=plan)
    if plan.prune:
        listed = {p.name for r in configuration.regions for p in r.projects}
        for name in sorted(set(state.projects) - listed):
            plan.warnings.append(("$.regions", Message(gettext_noop("The project %(project)s is not in the file and "
                                                                    "stays: regions and projects cannot be removed."),
                                                       project=name)))


def _plan_region(region, stored, path: str, plan) -> None:
    """A region the console lacks is created; one whose name differs is renamed."""
    if stored is None:
        plan.changes.append(Change("Regions and projects", "create", f"region {region.code}", path,
                                   after=region.name))
        plan.steps.append(Step("regions", path, lambda actor, r=region: services.region_create(
            actor=actor, code=r.code, name=r.name)))
    elif stored.name != region.name:
        plan.changes.append(Change("Regions and projects", "change", f"region {region.code}", f"{path}.name",
                                   before=stored.name, after=region.name))
        plan.steps.append(Step("regions", f"{path}.name", lambda actor, r=region: services.region_update(
            actor=actor, region=Region.objects.get(code=r.code), name=r.name)))


def _plan_project(region, project, *, created_with_region: bool, where: str, state, plan) -> None:
    """A project is created, or its description changed. A new region's default project comes with the
    region (described "default project"), so the file's description of it is a change shown as a create."""
    current = state.projects.get(project.name)
    before = current.description if current else ("default project" if created_with_region else None)
    if before is None:
        plan.changes.append(Change("Regions and projects", "create", f"project {project.name}", where,
                                   after=project.description or "(no description)"))
        plan.steps.append(Step("projects", where, lambda actor, r=region, p=project: services.project_create(
            actor=actor, region=Region.objects.get(code=r.code), name=p.name, description=p.description)))
    elif before != project.description:
        kind = "create" if created_with_region else "change"
        plan.changes.append(Change("Regions and projects", kind, f"project {project.name}",
                                   f"{where}.description", before=before, after=project.description,
                                   note="the region's default project" if created_with_region else ""))
        plan.steps.append(Step("projects", f"{where}.description",
                               lambda actor, p=project: services.project_update(
                                   actor=actor, project=Project.objects.get(name=p.name), name=p.name,
                                   description=p.description)))


def _plan_users(configuration, state, plan):
    listed = set()
    for index, entry in enumerate(configuration.users):
        path = f"$.users[{index}]"
        listed.add(entry.username)
        stored = state.users.get(entry.username)
        wanted = {name: getattr(entry, name) for name in USER_FIELDS}
        if stored is None:
            plan.changes.append(Change("Users", "create", f"user {entry.username}", path,
                                       after=_fields_text(wanted),
                                       note="without a password until an administrator sets one"))
            plan.steps.append(Step("users", path, lambda actor, u=entry: services.user_create(
                actor=actor, username=u.username, without_password=True,
                **{name: getattr(u, name) for name in USER_FIELDS})))
            plan.affected_usernames.add(entry.username)
            continue
        changed = {name: value for name, value in wanted.items() if stored[name] != value}
        if changed:
            plan.changes.append(Change("Users", "change", f"user {entry.username}", path,
                                       before=_fields_text({k: stored[k] for k in changed}),
                                       after=_fields_text(changed)))
            plan.steps.append(Step("users", path, lambda actor, u=entry.username, c=changed: services.user_update(
                actor=actor, user=User.objects.get(username=u), **c)))
            if "is_active" in changed:
                plan.affected_usernames.add(entry.username)
                plan.whole_users.add(entry.username)
    if plan.prune:
        for username in sorted(set(state.users) - listed):
            plan.changes.append(Change("Users", "remove", f"user {username}",
                                       before=_fields_text({k: state.users[username][k] for k in USER_FIELDS})))
            plan.steps.append(Step("user-delete", "$.users", lambda actor, u=username: services.user_delete(
                actor=actor, user=User.objects.get(username=u))))
            plan.affected_usernames.add(username)
            plan.whole_users.add(username)


def _fields_text(fields: dict) -> str:
    return ", ".join(f"{name}: {json.dumps(value)}" for name, value in fields.items())


def _plan_policies(configuration, state, plan):
    listed = set()
    for index, entry in enumerate(configuration.policies):
        path = f"$.policies[{index}]"
        listed.add(entry.name)
        stored = state.policies.get(entry.name)
        after_text = json.dumps(entry.document, sort_keys=True, indent=2)
        if stored is None:
            plan.changes.append(Change("Custom policies", "create", f"policy {entry.name}", path,
                                       after=f"{entry.description}\n{after_text}".strip()))
            plan.steps.append(Step("policy-create", path, lambda actor, p=entry: services.policy_create(
                actor=actor, name=p.name, description=p.description, document=p.document)))
            continue
        same_document = _canonical(stored.document) == _canonical(entry.document)
        if same_document and stored.description == entry.description:
            continue
        before, after = [], []
        if stored.description != entry.description:
            before.append(f"description: {json.dumps(stored.description)}")
            after.append(f"description: {json.dumps(entry.description)}")
        if not same_document:
            before.append(json.dumps(stored.document, sort_keys=True, indent=2))
            after.append(after_text)
            for group, scope in state.grants_by_policy.get(entry.name, ()):
                plan.affected_usernames |= state.members.get(group, set())
                _touch(plan, state, configuration, entry.name, scope)
        plan.changes.append(Change("Custom policies", "change", f"policy {entry.name}", path,
                                   before="\n".join(before), after="\n".join(after)))
        plan.steps.append(Step("policy-update", path, lambda actor, p=entry, revision=stored.revision:
                               services.policy_update(actor=actor, policy=Policy.objects.get(name=p.name),
                                                      name=p.name, description=p.description, document=p.document,
                                                      expected_revision=revision)))
    if plan.prune:
        for name in sorted(n for n, p in state.policies.items() if not p.is_system and n not in listed):
            plan.changes.append(Change("Custom policies", "remove", f"policy {name}",
                                       before=state.policies[name].description))
            plan.steps.append(Step("policy-delete", "$.policies", lambda actor, n=name: services.policy_delete(
                actor=actor, policy=Policy.objects.get(name=n))))


def _plan_groups(configuration, state, plan):
    listed = set()
    for index, entry in enumerate(configuration.groups):
        path = f"$.groups[{index}]"
        listed.add(entry.name)
        stored = state.groups.get(entry.name)
        if stored is None:
            plan.changes.append(Change("User groups", "create", f"group {entry.name}", path,
                                       after=entry.description or "(no description)"))
            plan.steps.append(Step("groups", path, lambda actor, g=entry: services.group_create(
                actor=actor, name=g.name, description=g.description)))
        elif stored.description != entry.description:
            plan.changes.append(Change("User groups", "change", f"group {entry.name}", f"{path}.description",
                                       before=stored.description, after=entry.description))
            plan.steps.append(Step("groups", f"{path}.description", lambda actor, g=entry: services.group_update(
                actor=actor, group=UserGroup.objects.get(name=g.name), name=g.name, description=g.description)))
        current = state.members.get(entry.name, set())
        for m_index, member in enumerate(entry.members):
            if member in current:
                continue
            where = f"{path}.members[{m_index}]"
            plan.changes.append(Change("Members", "create", f"{member} in {entry.name}", where))
            plan.steps.append(Step("join", where, lambda actor, g=entry.name, u=member: services.group_add_member(
                actor=actor, group=UserGroup.objects.get(name=g), user=User.objects.get(username=u))))
            plan.affected_usernames.add(member)
            _touch_group(plan, state, configuration, entry.name)
        if plan.prune:
            for member in sorted(current.difference(entry.members)):
                plan.changes.append(Change("Members", "remove", f"{member} in {entry.name}", f"{path}.members"))
                plan.steps.append(Step("leave", f"{path}.members", lambda actor, g=entry.name, u=member:
                                       services.group_remove_member(actor=actor, group=UserGroup.objects.get(name=g),
                                                                    user=User.objects.get(username=u))))
                plan.affected_usernames.add(member)
                _touch_group(plan, state, configuration, entry.name)
    if plan.prune:
        for name in sorted(set(state.groups) - listed):
            group = state.groups[name]
            if group.is_admin_group:
                plan.warnings.append(("$.groups", Message(gettext_noop("The built-in %(group)s group is not in the "
                                                                   "file and stays: it cannot be removed."),
                                                      group=ADMIN_GROUP_NAME)))
                continue
            grants = sorted(p for p, _ in state.grants_by_group.get(name, ()))
            members = sorted(state.members.get(name, ()))
            plan.changes.append(Change("User groups", "remove", f"group {name}",
                                       before=f"members: {', '.join(members) or 'none'}; "
                                              f"grants: {', '.join(grants) or 'none'}",
                                       note="its memberships and grants go with it"))
            plan.steps.append(Step("group-delete", "$.groups", lambda actor, n=name: services.group_delete(
                actor=actor, group=UserGroup.objects.get(name=n))))
            plan.affected_usernames |= set(members)
            _touch_group(plan, state, configuration, name)


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


def _plan_grants(configuration, state, plan):
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
            needed = scope if key not in desired else _union(desired[key][0], scope)
            current = state.grants.get(key)
            wanted = current if current is not None and _covers(current, needed) else (
                needed if current is None else _union(current, needed))
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
    _touch(plan, state, configuration, policy, scope if current is None else _union(scope, current))
    if along:
        # Attaching the role again (even unchanged) is what brings its dependencies along.
        gathered.add_attach(group, along, desired[(group, along)][0], path)
    plan.changes.append(_grant_change(plan, key, scope, current, path, along))
    if current is not None and not _covers(scope, current):
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
                      after=_scope_text(scope) + (f", until {end}" if end else ""), note=note)
    narrowed = not _covers(scope, current)
    return Change("Grants", "change", f"{policy} → {group}", f"{path}.scope" if not along else "",
                  before=_scope_text(current), after=_scope_text(scope),
                  note=note or ("narrowed: detached, then attached again" if narrowed else ""))


def _plan_grant_removals(configuration, state, plan, desired, gathered) -> None:
    """With prune, stored grants the file does not hold are detached, except a removed group's (they go
    with the group)."""
    pruned_groups = set(state.groups) - {g.name for g in configuration.groups}
    for key in sorted(set(state.grants) - set(desired)):
        group, policy = key
        if group in pruned_groups:
            continue
        plan.changes.append(Change("Grants", "remove", f"{policy} → {group}", before=_scope_text(state.grants[key])))
        gathered.add_detach(group, policy)
        plan.affected_usernames |= state.members.get(group, set())
        _touch(plan, state, configuration, policy, state.grants[key])


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
        _touch(plan, state, configuration, policy, scope)


# --- running steps, and the effective permissions before and after

class StepFailed(Exception):
    """A service refused a step: where in the file, why, and the service's exception."""

    def __init__(self, path: str, message: str, error: Exception):
        super().__init__(f"{path}: {message}")
        self.path, self.message, self.error = path, message, error


def _message(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or "Refused."


def run_steps(plan: Plan, actor) -> list:
    """Run the plan's steps in order (inside the caller's transaction); StepFailed at the first refusal.

    The actor's permissions are read afresh before each step, as they would be for the same
    changes made one by one in the console.
    """
    results = []
    for step in plan.ordered_steps():
        if actor is not None:
            authz.forget(actor)
        try:
            results.append(step.run(actor))
        except PolicyDocumentError as error:
            raise StepFailed(f"{step.path}.document", _message(error), error) from error
        except LocatedError as error:
            path, message = error.errors[0]
            raise StepFailed(path, message, error.refused or error) from error
        except (ValidationError, PermissionDenied) as error:
            raise StepFailed(step.path, _message(error), error) from error
        except (User.DoesNotExist, UserGroup.DoesNotExist, Policy.DoesNotExist, Region.DoesNotExist,
                Project.DoesNotExist) as error:
            raise StepFailed(step.path, "It names something another change removed or never created.",
                             error) from error
    if actor is not None:
        authz.forget(actor)
    return results


def _where_names() -> list[str | None]:
    return [None, *Project.objects.order_by("name").values_list("name", flat=True)]


def all_cells() -> list[tuple[str, str | None]]:
    """Every catalogued action in every project (IAM actions once: they are global)."""
    wheres = _where_names()[1:]
    return [(action.name, None) if SERVICES[action.service].is_global else (action.name, where)
            for action in ACTIONS for where in ([None] if SERVICES[action.service].is_global else wheres)]


def touched_cells(touched, extra_projects=()) -> set[tuple[str, str | None]]:
    """The decisions that grants of these (document, scope) pairs can change."""
    projects = sorted({*_where_names()[1:], *extra_projects})
    cells: set[tuple[str, str | None]] = set()
    for document, scope in touched:
        actions = escalation.document_allows(document) | escalation.document_denies(document)
        where = projects if scope == ALL_RESOURCES else sorted(scope)
        for action in actions:
            cells |= {(action, None)} if SERVICES[get_action(action).service].is_global else {
                (action, name) for name in where}
    return cells


def loaded(usernames, cells=None) -> list[tuple[str, object, list]]:
    """What deciding needs from the database, read now: each user's compiled grants, and the cells
    (every cell by default). Deciding them (`decided`) reads nothing more."""
    cells = all_cells() if cells is None else sorted(cells, key=lambda c: (c[0], c[1] or ""))
    return [(user.username, authz.Authorization(authz.load_grants(user, stamp="")), cells)
            for user in User.objects.filter(username__in=sorted(usernames))]


def decided(table_of_loaded) -> dict[str, dict[tuple[str, str | None], str]]:
    return {username: {(action, where): authorization.decide(action, where).outcome for action, where in cells}
            for username, authorization, cells in table_of_loaded}


def decisions(usernames, cells=None) -> dict[str, dict[tuple[str, str | None], str]]:
    """The engine's outcome of each cell (action, project or None) for these users; every cell by default."""
    return decided(loaded(usernames, cells))


def compare(before: dict, after: dict) -> list[Effect]:
    """Each user whose decisions differ between `before` and `after` (or who is created or removed), with
    the cells that differ."""
    effects = []
    for username in sorted(set(before) | set(after)):
        old, new = before.get(username), after.get(username)
        cells = _changed_cells(old, new)
        if cells or (old is None) != (new is None):
            effects.append(Effect(username, cells))
    return effects


def _changed_cells(old: dict | None, new: dict | None) -> list[tuple[str, str, str, str]]:
    """The cells whose outcome differs, as (action, where, before, after). A user created or removed shows
    only what they are allowed or denied explicitly (denied is what a user who is not there gets)."""
    cells = []
    for key in sorted(set(old or {}) | set(new or {}), key=lambda k: (k[0], k[1] or "")):
        was = "new user" if old is None else OUTCOME_LABELS[old.get(key, "implicit_deny")]
        now = "user removed" if new is None else OUTCOME_LABELS[new.get(key, "implicit_deny")]
        if was == now or (old is None and now == "denied") or (new is None and was == "denied"):
            continue
        cells.append((key[0], key[1] or "global", was, now))
    return cells


class _Rollback(Exception):
    pass


def trial_plan(configuration: Configuration, *, actor, prune: bool = False, max_changes: int | None = None) -> Plan:
    """The plan, tried: every step run as the actor in a transaction that is rolled back.

    Refusals (permission, no-escalation, limits, dependencies) become located errors; the
    console passes `max_changes` (limits.MAX_CHANGES): a longer plan is refused before its trial. The
    users whose effective permissions change are listed with each decision before and after.

    Only the steps run inside the transaction (on SQLite it holds the write lock, on PostgreSQL
    the rows it writes): the plan, the kinds of change the actor may not make at all, and every
    decision are worked out outside it, so other writers wait only for the trial's own writes.
    """
    config_text = export_text()
    plan = build_plan(configuration, prune=prune, config_text=config_text)
    if plan.errors or plan.is_noop:
        return plan
    plan.errors.extend(kind_refusals(plan.changes, actor))
    if max_changes is not None and len(plan.changes) > max_changes:
        plan.errors.extend(changes_refusal(plan.changes))
    if plan.errors:
        return plan
    new_projects = {p.name for r in configuration.regions for p in r.projects}
    cells = touched_cells(plan.touched, new_projects)
    # Decisions cost about a millisecond each for a user of 200 grants: the first users are compared.
    shown = set(sorted(plan.affected_usernames)[:EFFECTS_COMPARED])
    plan.effects_omitted = len(plan.affected_usernames) - len(shown)
    partial = shown - plan.whole_users

    def load_all():
        return [*loaded(partial, cells), *loaded(shown & plan.whole_users)]

    before = decided(load_all())
    after = None
    try:
        with transaction.atomic():
            run_steps(plan, actor)
            after = load_all()  # the users' grants as the steps left them: read here, decided after the rollback
            raise _Rollback
    except _Rollback:
        plan.effects = compare(before, decided(after))
    except StepFailed as failure:
        plan.errors.append((failure.path, failure.message))
        _audit_refused_trial(failure, actor)
    except DocumentError as error:
        plan.errors.extend(error.errors)
    return plan


def _audit_refused_trial(failure: StepFailed, actor) -> None:
    """A permission the trial refused is audited (its own event went with the rollback): a file that would
    escalate is refused and recorded at its plan too (the import page, `iam_apply`, its --dry-run), as when
    applied."""
    from .apply import _record_refused_import  # the one way a refused import is audited

    _record_refused_import(failure, actor, "", "")
