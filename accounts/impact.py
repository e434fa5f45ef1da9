"""The impact of a change before it is made: who gains and who loses which decision where.

One function per change a confirmation page offers — attach, detach, a policy's new document, a
member added or removed, a user (de)activated, a group deleted — each answering a who_can.Impact
(the grouped form the restore review shows: "Members of developers (21 users): gain
ims:images:delete in cn-north-4_dev"), shown through who_can.impact_for (names only for those
who may ask who-can). Nothing is written: each function describes the directory after the change
(the changed group's grants, the user's groups, the user's activity) and asks the engine
(authz's compiled tables, as who_can.Directory joins them) for every affected user's decision of
every action the change can touch, in every project it can touch, before and after.

The work stays small: only the affected users (the group's members, or the one user), only the
actions the changed grants name, only the projects they cover (every project for All resources;
globally for IAM actions). Users whose relevant groups bring the same grants share one decision
table; only decisions whose conditions read g:UserId or g:UserName are made per user. Decisions
are made without an image: "(with conditions)" marks an answer some images or requests change.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

from accounts.policy import SERVICES, get_action
from accounts.policy.catalogue import ACTIONS

from . import authz, who_can
from .models import Policy, Project, User, UserGroup
from .services.grants import is_global_only

_USER_KEYS = frozenset({"g:userid", "g:username"})
_ALL_ACTIONS = tuple(action.name for action in ACTIONS)


def _is_global(action: str) -> bool:
    return SERVICES[get_action(action).service].is_global


@dataclass
class Change:
    """A change to the directory as the engine sees it: the users it touches, their groups and
    activity after it, the groups whose grants differ after it, and what it can touch."""

    heading: dict[int, tuple[str, ...]]  # user id -> the groups named in "Members of …"
    groups_after: dict[int, tuple[int, ...]] = field(default_factory=dict)  # user id -> groups after
    active_after: dict[int, bool] = field(default_factory=dict)
    parts_after: dict[int, authz.CompiledGrants | None] = field(default_factory=dict)  # group -> grants after
    rules: list = field(default_factory=list)  # the grant rules added or removed: what can change
    every_action: bool = False  # an admin membership or an activity change: every action can change


class _Engine:
    """Decisions of the directory before and after a change, shared where the grants are the same."""

    def __init__(self, directory: who_can.Directory):
        self.directory = directory
        self._joined: dict[tuple, authz.CompiledGrants] = {}
        self._states: dict[tuple, str] = {}
        self._names: dict[tuple, bool] = {}

    def _naming(self, part: authz.CompiledGrants, action: str, project: str | None) -> bool:
        key = (id(part), action, project)
        found = self._names.get(key)
        if found is None:
            cell = part.cell(action, project)
            found = self._names[key] = cell.table is not None and cell.table.names_action
        return found

    def state(self, parts: dict, group_ids, is_active: bool, action: str, project: str | None, member) -> str:
        """The member's decision of `action` in `project` as a label ("Allowed (with conditions)")."""
        is_admin = self.directory.admin_group_id is not None and self.directory.admin_group_id in group_ids
        chosen = tuple(parts[g] for g in group_ids if parts.get(g) is not None
                       and self._naming(parts[g], action, project))
        key = (action, project, is_admin, is_active, tuple(id(part) for part in chosen))
        joined = self._joined.get(key)
        if joined is None:
            joined = self._joined[key] = authz.CompiledGrants.joined(
                list(chosen), action, project, is_active=is_active, is_admin=is_admin, stamp=self.directory.stamp)
        cell = joined.cell(action, project)
        conditional = bool(cell.table is not None and cell.table.conditional_effects)
        if cell.explanation is not None:
            return who_can._state(cell.explanation, conditional)
        per_user = bool({name.lower() for name in cell.table.key_names} & _USER_KEYS)
        state_key = (key, member.user_id if per_user else None)
        found = self._states.get(state_key)
        if found is None:
            grants = joined.for_member(user_id=member.user_id, username=member.username, is_active=is_active)
            explanation = authz.Authorization(grants, now=self.directory.now).decide(action, project)
            found = self._states[state_key] = who_can._state(explanation, conditional)
        return found


def _rule_actions(rules) -> set[str]:
    return {action for rule in rules for action in _ALL_ACTIONS if rule.compiled.statements_for(action)}


def _where(rules, project_names: list[str], action: str) -> list[str | None]:
    """The projects where `rules` can change `action`: globally for IAM, else the rules' scopes."""
    if _is_global(action):
        return [None] if any(rule.all_resources for rule in rules) else []
    if any(rule.all_resources for rule in rules):
        return project_names
    covered = set().union(*(rule.project_names for rule in rules)) if rules else set()
    return [name for name in project_names if name in covered]


def _targets(change: Change, project_names: list[str]) -> list[tuple[str, list[str | None]]]:
    """(action, projects) pairs whose decisions the change can touch."""
    if change.every_action:
        return [(action, [None] if _is_global(action) else project_names) for action in _ALL_ACTIONS]
    pairs = []
    for action in sorted(_rule_actions(change.rules)):
        naming = [rule for rule in change.rules if rule.compiled.statements_for(action)]
        projects = _where(naming, project_names, action)
        if projects:
            pairs.append((action, projects))
    return pairs


def evaluate(change: Change, directory: who_can.Directory | None = None) -> who_can.Impact:
    """Every decision `change` changes for the users it touches, grouped as the restore review shows it."""
    directory = directory or who_can.Directory.current()
    project_names = list(Project.objects.order_by("name").values_list("name", flat=True))
    order = {name: place for place, name in enumerate(project_names)}
    engine = _Engine(directory)
    after_parts = {**directory.parts, **change.parts_after}
    targets = _targets(change, project_names)
    members = [m for m in directory.members if m.user_id in change.heading]
    together: dict[tuple, list[str]] = defaultdict(list)
    for member in members:
        groups_after = change.groups_after.get(member.user_id, member.group_ids)
        active_after = change.active_after.get(member.user_id, member.is_active)
        found: dict[tuple, list] = defaultdict(list)
        for action, projects in targets:
            for project in projects:
                before = engine.state(directory.parts, member.group_ids, member.is_active, action, project, member)
                after = engine.state(after_parts, groups_after, active_after, action, project, member)
                if before != after:
                    found[(action, before, after)].append(project)
        if found:
            changes = tuple(who_can.Change(action, before, after, tuple(sorted(projects, key=order.get)))
                            for (action, before, after), projects in sorted(found.items()))
            together[(change.heading[member.user_id], changes)].append(member.username)
    groups = [who_can.MemberGroup(heading, tuple(sorted(names)), changes)
              for (heading, changes), names in together.items()]
    groups.sort(key=lambda group: (-len(group.usernames), group.groups, group.usernames))
    return who_can.Impact(tuple(groups), len(members), len(project_names))


# --- the changes the console offers ---------------------------------------------------------


def _part(directory: who_can.Directory, rules) -> authz.CompiledGrants | None:
    if not rules:
        return None
    return authz.CompiledGrants(user_id=None, username="", is_active=True, is_admin=False,
                                rules=sorted(rules, key=lambda rule: rule.policy_name), stamp=directory.stamp)


def _members_of(directory: who_can.Directory, group: UserGroup) -> list[who_can.Member]:
    return [member for member in directory.members if group.pk in member.group_ids]


def _rules_of(directory: who_can.Directory, group: UserGroup) -> list[authz.GrantRule]:
    part = directory.parts.get(group.pk)
    return list(part.rules) if part is not None else []


def _attached_rule(group: UserGroup, policy: Policy, held, *, whole: bool, project_names) -> authz.GrantRule:
    """The grant of `policy` to `group` after attaching it (a held one only widens, as the service does)."""
    all_resources = whole or (held is not None and held.all_resources)
    names = frozenset() if all_resources else frozenset(project_names) | (held.project_names if held else frozenset())
    if held is not None:
        return replace(held, all_resources=all_resources, project_names=names, expires=None)
    return authz.GrantRule(grant_id=0, group_name=group.name, policy_id=policy.pk, policy_name=policy.name,
                           policy_kind=policy.kind_label, all_resources=all_resources, project_names=names,
                           document=policy.document, compiled=authz.compile_cached(policy.document))


def attach_impact(group: UserGroup, policies, *, all_resources: bool, projects=()) -> who_can.Impact:
    """Attaching `policies` (and the dependencies that come along) to `group` on this scope. An end
    (expires) does not change the decisions until then, so it is not an input."""
    from .services import dependency_closure

    directory = who_can.Directory.current()
    policies = list(policies)
    rules = {rule.policy_id: rule for rule in _rules_of(directory, group)}
    project_names = [getattr(project, "name", project) for project in projects]
    added = []
    for policy in policies + dependency_closure(policies):
        rule = _attached_rule(group, policy, rules.get(policy.pk), project_names=project_names,
                              whole=all_resources or is_global_only(policy))
        rules[policy.pk] = rule
        added.append(rule)
    heading = (group.name,)
    return evaluate(Change(heading={m.user_id: heading for m in _members_of(directory, group)},
                           parts_after={group.pk: _part(directory, list(rules.values()))}, rules=added), directory)


def detach_impact(group: UserGroup, policies) -> who_can.Impact:
    """Detaching `policies` from `group`."""
    directory = who_can.Directory.current()
    leaving = {policy.pk for policy in policies}
    rules = _rules_of(directory, group)
    heading = (group.name,)
    return evaluate(Change(
        heading={m.user_id: heading for m in _members_of(directory, group)},
        parts_after={group.pk: _part(directory, [rule for rule in rules if rule.policy_id not in leaving])},
        rules=[rule for rule in rules if rule.policy_id in leaving]), directory)


def group_delete_impact(group: UserGroup) -> who_can.Impact:
    """Deleting `group`: its members leave it (the users are kept)."""
    directory = who_can.Directory.current()
    members = _members_of(directory, group)
    heading = (group.name,)
    return evaluate(Change(
        heading={m.user_id: heading for m in members},
        groups_after={m.user_id: tuple(g for g in m.group_ids if g != group.pk) for m in members},
        rules=_rules_of(directory, group), every_action=group.is_admin_group), directory)


def membership_impact(group: UserGroup, user: User, *, add: bool) -> who_can.Impact:
    """Adding `user` to `group` (add) or removing them from it."""
    directory = who_can.Directory.current()
    member = next((m for m in directory.members if m.user_id == user.pk), None)
    if member is None:
        return who_can.Impact((), 0, Project.objects.count())
    others = tuple(g for g in member.group_ids if g != group.pk)
    after = (*others, group.pk) if add else others
    return evaluate(Change(heading={user.pk: (group.name,)}, groups_after={user.pk: after},
                           rules=_rules_of(directory, group), every_action=group.is_admin_group), directory)


def activity_impact(user: User, *, active: bool) -> who_can.Impact:
    """Activating (active) or deactivating `user`: an inactive user is allowed nothing."""
    directory = who_can.Directory.current()
    member = next((m for m in directory.members if m.user_id == user.pk), None)
    if member is None or member.is_active == active:
        return who_can.Impact((), int(member is not None), Project.objects.count())
    rules = [rule for g in member.group_ids for rule in _rules_of(directory, UserGroup(pk=g))]
    return evaluate(Change(heading={user.pk: member_groups_heading(directory, member)},
                           active_after={user.pk: active}, rules=rules,
                           every_action=directory.is_admin(member)), directory)


def member_groups_heading(directory: who_can.Directory, member: who_can.Member) -> tuple[str, ...]:
    names = dict(UserGroup.objects.filter(pk__in=member.group_ids).values_list("pk", "name"))
    return tuple(names[g] for g in member.group_ids if g in names)


def document_impact(policy: Policy, document: dict) -> who_can.Impact:
    """`policy` saying `document`: who_can.document_change_impact, the restore review's computation."""
    return who_can.document_change_impact(policy, document)
