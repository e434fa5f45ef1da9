"""The impact of a change before it is made: who gains and who loses which decision where.

One function per change a confirmation page offers — attach, detach, a policy's new document (also
the restore review's), a member added or removed, a user (de)activated, a group deleted — each
answering a who_can.Impact (the grouped form the restore review shows: "Members of developers (21
users): gain ims:images:delete in cn-north-4_dev"), shown through who_can.impact_for (names only for
those who may ask who-can). Nothing is written: each function describes the directory after the
change (the changed group's grants, the user's groups, the user's activity) and asks the engine,
through accounts.changed_decisions, for every affected user's decision of every action the change
can touch, in every project, before and after.

The work stays small: only the affected users (the group's members, or the one user), only the
actions the changed grants name, and for each action only the users whose changed groups name it.
Users whose groups bring the same statements for an action share its decisions; each distinct
statement is decided once (changed_decisions says how), and only decisions whose conditions read
g:UserId or g:UserName are made per user. Decisions are made without an image: "(with
conditions)" marks an answer some images or requests change.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field, replace

from accounts.policy import SERVICES, expand_pattern, get_action
from accounts.policy.catalogue import ACTIONS

from . import authz, who_can
from .changed_decisions import DecisionChanges
from .models import Grant, Membership, Policy, Project, User, UserGroup
from .services.grants import is_global_only

_ALL_ACTIONS = tuple(action.name for action in ACTIONS)
NOT_GRANTED = who_can.OUTCOME_LABELS["implicit_deny"]
ALLOWED = who_can.OUTCOME_LABELS["allow"]


def _is_global(action: str) -> bool:
    return SERVICES[get_action(action).service].is_global


def _project_names() -> list[str]:
    return list(Project.objects.order_by("name").values_list("name", flat=True))


@dataclass
class Change:
    """A change to the directory as the engine sees it, for the users it touches.

    `groups`: each touched user's groups to decide with (after an add, the group is among them);
    `before` / `after`: a group's grant rules where they differ from the directory's on that side (a
    group the user joins brings nothing before; one they leave, or one deleted, nothing after);
    `heading`: the groups named in "Members of …" for each user.
    """

    heading: dict[int, tuple[str, ...]]
    groups: dict[int, tuple[int, ...]]
    before: dict[int, list] = field(default_factory=dict)
    after: dict[int, list] = field(default_factory=dict)
    actions: tuple[str, ...] | None = None  # None: the actions the changed rules name


def _as_engine_sees(rules) -> list[tuple]:
    """Rules as changed_decisions reads them: (rule, its compiled policy, the document it was compiled from)."""
    return [(rule, rule.compiled, rule.document) for rule in rules]


def _rules_of(directory: who_can.Directory):
    def rules_of(group_id):
        part = directory.parts.get(group_id)
        return _as_engine_sees(part.rules) if part is not None else []

    return rules_of


def _named_actions(rules) -> tuple[str, ...]:
    """The catalogued actions some statement of `rules` names: the only ones changing them can change."""
    named = [rule.compiled for rule in rules]
    return tuple(a for a in _ALL_ACTIONS if any(compiled.statements_for(a) for compiled in named))


def _by_class(decisions: DecisionChanges, members, groups_of, active_of) -> dict[int, tuple]:
    """User id -> their changes, decided once per class of members (the groups naming some action, the
    same activity): leaving out the groups naming none lets more members share one class (the admin group
    stays: it decides everything)."""
    naming = decisions.naming | {decisions.directory.admin_group_id}
    classes: dict[tuple, list[who_can.Member]] = defaultdict(list)
    for member in members:
        groups = tuple(g for g in groups_of(member) if g in naming)
        admin = decisions.directory.admin_group_id is not None and decisions.directory.admin_group_id in groups
        classes[(groups, (active_of(member), admin))].append(member)
    found: dict[int, tuple] = {}
    for (group_ids, flags), alike in classes.items():
        found.update(decisions.changes(group_ids, flags, alike))
    return found


def _decided(directory: who_can.Directory, change: Change, *, is_active=None) -> dict[int, tuple]:
    """User id -> the who_can.Change of each decision `change` changes for them."""
    before = {g: _as_engine_sees(rules) for g, rules in change.before.items()}
    after = {g: _as_engine_sees(rules) for g, rules in change.after.items()}
    actions = change.actions
    if actions is None:
        rules_of = _rules_of(directory)
        changed = [rule for g in before.keys() | after.keys()
                   for rule, _compiled, _document in (before.get(g, rules_of(g)) + after.get(g, rules_of(g)))]
        actions = _named_actions(changed)
    involved = {g for groups in change.groups.values() for g in groups}
    decisions = DecisionChanges(directory, actions, _project_names(), _rules_of(directory),
                                before=before, after=after, groups=involved)
    members = [member for member in directory.members if member.user_id in change.groups]
    return _by_class(decisions, members, lambda member: change.groups[member.user_id],
                     lambda member: member.is_active if is_active is None else is_active)


def _grouped(members, heading_of, changes_of, member_count: int, project_count: int) -> who_can.Impact:
    """Users with the same heading and the same changes together, the largest group first."""
    together: dict[tuple, list[str]] = defaultdict(list)
    for member in members:
        changes = changes_of.get(member.user_id)
        if changes:
            together[(heading_of(member), changes)].append(member.username)
    groups = [who_can.MemberGroup(heading, tuple(sorted(users)), changes)
              for (heading, changes), users in together.items()]
    groups.sort(key=lambda group: (-len(group.usernames), group.groups, group.usernames))
    return who_can.Impact(tuple(groups), member_count, project_count)


def _impact(directory: who_can.Directory, heading: dict, found: dict[int, tuple]) -> who_can.Impact:
    """The changes grouped as the restore review shows them: users with the same heading and changes together."""
    members = [member for member in directory.members if member.user_id in heading]
    return _grouped(members, lambda member: heading[member.user_id], found, len(members), Project.objects.count())


def evaluate(change: Change, directory: who_can.Directory | None = None) -> who_can.Impact:
    """Every decision `change` changes for the users it touches, grouped as the restore review shows it."""
    directory = directory or who_can.Directory.current()
    return _impact(directory, change.heading, _decided(directory, change))


# --- one user's every decision (activity, the admin group) ----------------------------------------------


def _every_pair(project_names) -> list[tuple[str, str | None]]:
    return [(action, project) for action in _ALL_ACTIONS
            for project in ([None] if _is_global(action) else project_names)]


def _own_states(directory: who_can.Directory, member: who_can.Member, group_ids) -> dict[tuple, str]:
    """(action, project) -> the decision of an active non-admin member of `group_ids`, for every decision that
    is not "Not granted": the member leaving all of them, as a change, says exactly those."""
    group_ids = tuple(g for g in group_ids if g != directory.admin_group_id)
    change = Change(heading={member.user_id: ()}, groups={member.user_id: group_ids},
                    after={g: [] for g in group_ids}, actions=_ALL_ACTIONS)
    found = _decided(directory, change, is_active=True).get(member.user_id, ())
    return {(each.action, project): each.before for each in found for project in each.projects}


def _states(directory, member, group_ids, *, is_active: bool, project_names) -> dict[tuple, str]:
    """Every decision of `member` with `group_ids` and this activity (the admin group allows everything)."""
    if not is_active:
        return dict.fromkeys(_every_pair(project_names), NOT_GRANTED)
    if directory.admin_group_id in group_ids:
        return dict.fromkeys(_every_pair(project_names), ALLOWED)
    own = _own_states(directory, member, group_ids)
    return {pair: own.get(pair, NOT_GRANTED) for pair in _every_pair(project_names)}


def _whole_user(directory, member, heading, *, groups_after, active_after) -> who_can.Impact:
    """A change to one user's every decision (activity, the admin group): before and after, compared."""
    project_names = _project_names()
    order = {name: place for place, name in enumerate(project_names)}
    before = _states(directory, member, member.group_ids, is_active=member.is_active, project_names=project_names)
    after = _states(directory, member, groups_after, is_active=active_after, project_names=project_names)
    by_change: dict[tuple, list] = defaultdict(list)
    for (action, project), state in before.items():
        if state != after[(action, project)]:
            by_change[(action, state, after[(action, project)])].append(project)
    changes = tuple(who_can.Change(action, was, now, tuple(sorted(projects, key=lambda p: order.get(p, -1))))
                    for (action, was, now), projects in sorted(by_change.items()))
    return _impact(directory, {member.user_id: heading}, {member.user_id: changes})


# --- the changes the console offers ---------------------------------------------------------


def _members_of(directory: who_can.Directory, group: UserGroup) -> list[who_can.Member]:
    return [member for member in directory.members if group.pk in member.group_ids]


def _member(directory: who_can.Directory, user: User) -> who_can.Member | None:
    return next((m for m in directory.members if m.user_id == user.pk), None)


def _group_rules(directory: who_can.Directory, group: UserGroup) -> list[authz.GrantRule]:
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


def _group_change(directory, group: UserGroup, *, after: list) -> who_can.Impact:
    """`group`'s members with `after` as the group's rules."""
    members = _members_of(directory, group)
    return evaluate(Change(heading={m.user_id: (group.name,) for m in members},
                           groups={m.user_id: m.group_ids for m in members}, after={group.pk: after}), directory)


def attach_impact(group: UserGroup, policies, *, all_resources: bool, projects=()) -> who_can.Impact:
    """Attaching `policies` (and the dependencies that come along) to `group` on this scope. An end
    (expires) changes no decision until then, so it is not an input."""
    from .services import dependency_closure

    directory = who_can.Directory.current()
    policies = list(policies)
    rules = {rule.policy_id: rule for rule in _group_rules(directory, group)}
    project_names = [getattr(project, "name", project) for project in projects]
    for policy in policies + dependency_closure(policies):
        rules[policy.pk] = _attached_rule(group, policy, rules.get(policy.pk), project_names=project_names,
                                          whole=all_resources or is_global_only(policy))
    return _group_change(directory, group, after=list(rules.values()))


def detach_impact(group: UserGroup, policies) -> who_can.Impact:
    """Detaching `policies` from `group`."""
    directory = who_can.Directory.current()
    leaving = {policy.pk for policy in policies}
    return _group_change(directory, group,
                         after=[rule for rule in _group_rules(directory, group) if rule.policy_id not in leaving])


def group_delete_impact(group: UserGroup) -> who_can.Impact:
    """Deleting `group`: its members leave it (the users are kept)."""
    directory = who_can.Directory.current()
    if group.is_admin_group:  # never deleted (the service refuses); each member as if removed
        impacts = [membership_impact(group, User(pk=m.user_id), add=False) for m in _members_of(directory, group)]
        return who_can.Impact(tuple(g for found in impacts for g in found.member_groups), len(impacts),
                              Project.objects.count())
    return _group_change(directory, group, after=[])


def membership_impact(group: UserGroup, user: User, *, add: bool) -> who_can.Impact:
    """Adding `user` to `group` (add) or removing them from it."""
    directory = who_can.Directory.current()
    member = _member(directory, user)
    if member is None:
        return who_can.Impact((), 0, Project.objects.count())
    others = tuple(g for g in member.group_ids if g != group.pk)
    heading = (group.name,)
    if group.pk == directory.admin_group_id:  # the admin group allows everything
        return _whole_user(directory, member, heading, groups_after=(*others, group.pk) if add else others,
                           active_after=member.is_active)
    change = Change(heading={user.pk: heading}, groups={user.pk: (*others, group.pk)})
    if add:
        change.before = {group.pk: []}
    else:
        change.after = {group.pk: []}
    return evaluate(change, directory)


def activity_impact(user: User, *, active: bool) -> who_can.Impact:
    """Activating (active) or deactivating `user`: an inactive user is allowed nothing."""
    directory = who_can.Directory.current()
    member = _member(directory, user)
    if member is None or member.is_active == active:
        return who_can.Impact((), int(member is not None), Project.objects.count())
    names = dict(UserGroup.objects.filter(pk__in=member.group_ids).values_list("pk", "name"))
    heading = tuple(names[g] for g in member.group_ids if g in names)
    return _whole_user(directory, member, heading, groups_after=member.group_ids, active_after=active)


def document_impact(policy: Policy, document: dict) -> who_can.Impact:
    """Every decision that changes for the members of the groups holding `policy` if it said `document`
    (the policy editor's confirmation and the restore review).

    Only actions whose naming statements differ between the documents can change, only where the
    policy's grants apply, and only through what the member's groups bring there.
    """
    holder_grants = list(authz.live(Grant.objects.filter(policy=policy)).values_list("pk", "group_id", "all_resources"))
    project_names = _project_names()
    user_ids = set(Membership.objects.filter(group__grants__policy=policy).values_list("user_id", flat=True))
    if not user_ids:
        return who_can.Impact((), 0, len(project_names))
    directory = who_can.Directory(user_ids=user_ids)
    after_compiled = authz.compile_cached(document)
    after = {group_id: [(rule, after_compiled, document) if rule.policy_id == policy.pk
                        else (rule, rule.compiled, rule.document) for rule in part.rules]
             for group_id, part in directory.parts.items() if any(rule.policy_id == policy.pk for rule in part.rules)}
    decisions = DecisionChanges(directory, _changed_actions(policy.document, document), project_names,
                                _rules_of(directory), after=after, groups=directory.parts.keys())
    changes_of = _by_class(decisions, directory.members, lambda member: member.group_ids,
                           lambda member: member.is_active)
    holders = {group_id for _, group_id, _ in holder_grants}
    group_names = dict(UserGroup.objects.filter(pk__in=holders).values_list("pk", "name"))
    return _grouped(directory.members, lambda member: tuple(group_names[g] for g in member.group_ids if g in holders),
                    changes_of, len(directory.members), len(project_names))


def _changed_actions(before: dict, after: dict) -> list[str]:
    """The actions either document names whose naming statements differ between the two: the only
    actions whose decisions can change."""
    actions: set[str] = set()
    for each in (before, after):
        for statement in each.get("Statement", []):
            for pattern in statement.get("Action", []):
                actions |= expand_pattern(pattern)
    return sorted(a for a in actions if _naming_statements(before, a) != _naming_statements(after, a))


def _naming_statements(document: dict, action: str) -> list[str]:
    """The statements of `document` naming `action`, as canonical text: all a decision of it reads."""
    compiled = authz.compile_cached(document)
    return [json.dumps(document["Statement"][statement.index], sort_keys=True)
            for statement in compiled.statements_for(action)]


# --- on a page ---------------------------------------------------------------------------------

SHOWN_GROUPS = 20  # groups of users listed before "and N more" (each lists who_can.SHOWN_NAMES names)


def for_page(authorization, preview: who_can.Impact) -> dict:
    """The template context of a preview for this reader: names only when who_can.may_see_names (else
    counts), the first SHOWN_GROUPS groups of users, and how many more groups and users there are."""
    seen = who_can.impact_for(authorization, preview)
    groups = seen.member_groups if seen.names_shown else seen.counted_groups
    rest = groups[SHOWN_GROUPS:]
    more_users = sum(len(group.usernames) if seen.names_shown else group.user_count for group in rest)
    return {"impact": seen, "impact_groups": groups[:SHOWN_GROUPS], "impact_more_groups": len(rest),
            "impact_more_users": more_users}


# --- deleting images --------------------------------------------------------------------------------


def accepted_elsewhere(images, project) -> dict:
    """Image id -> the other projects that have accepted it (shares in use there): what deleting it takes
    away from them. One query for all the images."""
    from images.models import ImageMember

    found: dict = defaultdict(list)
    accepted = (ImageMember.objects.filter(image__in=[image.pk for image in images],
                                           status=ImageMember.Status.ACCEPTED)
                .exclude(project=project).order_by("project__name").values_list("image_id", "project__name"))
    for image_id, project_name in accepted:
        found[image_id].append(project_name)
    return dict(found)
