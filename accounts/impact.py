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

import json
from collections import defaultdict
from dataclasses import dataclass, field, replace

from accounts.policy import SERVICES, get_action
from accounts.policy.catalogue import ACTIONS

from . import authz, who_can
from .models import Policy, Project, User, UserGroup
from .services.grants import is_global_only

_ALL_ACTIONS = tuple(action.name for action in ACTIONS)
NOT_GRANTED = who_can.OUTCOME_LABELS["implicit_deny"]
ALLOWED = who_can.OUTCOME_LABELS["allow"]


def _is_global(action: str) -> bool:
    return SERVICES[get_action(action).service].is_global


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


def _statement_texts(reduced):
    """statement_text(action, rule, compiled, statement) for who_can's contributions: a statement as (deny,
    its condition as JSON), read from the rule's own document; one statement kept per text (reduced)."""
    texts: dict[tuple[int, int], tuple[bool, str | None]] = {}

    def statement_text(action, rule, compiled, statement):
        key = (id(compiled), statement.index)
        found = texts.get(key)
        if found is None:
            condition = rule.document["Statement"][statement.index].get("Condition")
            found = texts[key] = (statement.deny, json.dumps(condition, sort_keys=True) if condition else None)
        reduced.statements.setdefault((action, found), statement)
        return found

    return statement_text


def _scope(rules) -> set[str] | None:
    """Where `rules` apply: None for All resources, else their projects."""
    if any(rule.all_resources for rule in rules):
        return None
    return set().union(*(rule.project_names for rule in rules)) if rules else set()


def _changed_rules(change: Change, rules_of) -> dict[int, list]:
    """Changed group -> the rules on either side (what can change, and where)."""
    return {g: list(change.before.get(g, rules_of(g))) + list(change.after.get(g, rules_of(g)))
            for g in change.before.keys() | change.after.keys()}


def _setting(directory: who_can.Directory, change: Change) -> who_can._ImpactSetting:
    """What every class of touched members is compared against: each involved group's contributions
    before and after (who_can's statements as (effect, condition)), and where each changed group applies."""
    def rules_of(g):
        part = directory.parts.get(g)
        return list(part.rules) if part is not None else []

    changed = _changed_rules(change, rules_of)
    actions = change.actions
    if actions is None:
        named = [rule.compiled for rules in changed.values() for rule in rules]
        actions = tuple(a for a in _ALL_ACTIONS if any(compiled.statements_for(a) for compiled in named))
    project_names = list(Project.objects.order_by("name").values_list("name", flat=True))
    reduced = who_can._Reduced(directory.stamp, directory.now)
    statement_text = _statement_texts(reduced)
    involved = {g for groups in change.groups.values() for g in groups}
    sides = [{g: who_can._contributions([(rule, rule.compiled) for rule in overrides.get(g, rules_of(g))],
                                        actions, statement_text) for g in involved}
             for overrides in (change.before, change.after)]
    return who_can._ImpactSetting(
        directory=directory, reduced=reduced, actions=list(actions), sides=sides,
        scope_of={g: _scope(rules) for g, rules in changed.items()}, project_names=project_names,
        order={name: place for place, name in enumerate(project_names)},
        global_actions={action: _is_global(action) for action in actions})


def _decided(directory: who_can.Directory, change: Change, *, is_active=None) -> dict[int, list[tuple]]:
    """User id -> (action, project, before, after) for every decision `change` changes (who_can's reduced
    decisions: members bringing the same statements share one decision by the engine)."""
    setting = _setting(directory, change)
    # A group naming none of the actions on either side brings nothing to their decisions: leaving it out
    # lets more members share one class (the admin group stays: it decides everything).
    bringing = {g for g in setting.sides[0] if any(side[g][0] or side[g][1] for side in setting.sides)}
    bringing.add(directory.admin_group_id)
    classes: dict[tuple, list[who_can.Member]] = defaultdict(list)
    for member in directory.members:
        if member.user_id in change.groups:
            groups = tuple(g for g in change.groups[member.user_id] if g in bringing)
            active = member.is_active if is_active is None else is_active
            classes[(groups, active)].append(replace(member, group_ids=groups))
    found: dict[int, list[tuple]] = {}
    for (group_ids, active), alike in classes.items():
        shared, own = who_can._class_changes(setting, group_ids, active, alike)
        for member in alike:
            found[member.user_id] = shared + own.get(member.user_id, [])
    return found


def _impact(directory: who_can.Directory, heading: dict, found: dict[int, list[tuple]]) -> who_can.Impact:
    """The changes grouped as the restore review shows them: users with the same heading and changes together."""
    project_names = list(Project.objects.order_by("name").values_list("name", flat=True))
    order = {name: place for place, name in enumerate(project_names)}
    names = {m.user_id: m.username for m in directory.members if m.user_id in heading}
    together: dict[tuple, list[str]] = defaultdict(list)
    for user_id, changes in found.items():
        by_change: dict[tuple, list] = defaultdict(list)
        for action, project, before, after in changes:
            by_change[(action, before, after)].append(project)
        if by_change:
            key = tuple(who_can.Change(action, before, after, tuple(sorted(set(projects), key=order.get)))
                        for (action, before, after), projects in sorted(by_change.items()))
            together[(heading[user_id], key)].append(names[user_id])
    groups = [who_can.MemberGroup(groups, tuple(sorted(users)), changes)
              for (groups, changes), users in together.items()]
    groups.sort(key=lambda group: (-len(group.usernames), group.groups, group.usernames))
    return who_can.Impact(tuple(groups), len(names), len(project_names))


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
    found = _decided(directory, change, is_active=True).get(member.user_id, [])
    return {(action, project): before for action, project, before, _after in found}


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
    project_names = list(Project.objects.order_by("name").values_list("name", flat=True))
    before = _states(directory, member, member.group_ids, is_active=member.is_active, project_names=project_names)
    after = _states(directory, member, groups_after, is_active=active_after, project_names=project_names)
    changes = [(action, project, before[(action, project)], after[(action, project)])
               for action, project in before if before[(action, project)] != after[(action, project)]]
    return _impact(directory, {member.user_id: heading}, {member.user_id: changes})


# --- the changes the console offers ---------------------------------------------------------


def _members_of(directory: who_can.Directory, group: UserGroup) -> list[who_can.Member]:
    return [member for member in directory.members if group.pk in member.group_ids]


def _member(directory: who_can.Directory, user: User) -> who_can.Member | None:
    return next((m for m in directory.members if m.user_id == user.pk), None)


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
    rules = {rule.policy_id: rule for rule in _rules_of(directory, group)}
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
                         after=[rule for rule in _rules_of(directory, group) if rule.policy_id not in leaving])


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
    """`policy` saying `document`: who_can.document_change_impact, the restore review's computation."""
    return who_can.document_change_impact(policy, document)


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
