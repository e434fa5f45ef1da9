"""Who can: every user's answer to one request, and what a group or a policy allows, from the engine.

Nothing here decides by itself: each answer is `Authorization.decide` of accounts.authz over the
user's own grants, so it is the answer the console gives that user. What is shared is the
work: the directory (users, memberships, every group's grant rules) is read in a fixed number
of queries, each group's rules that name the action and cover the project are picked once per
group, and users whose groups contribute the same rules share one compiled decision table
(`CompiledGrants.for_member`). A thousand users in a few hundred groups cost a few queries
and a handful of tables, not a thousand loads.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

from accounts.policy import SERVICES, CompiledPolicy, get_action
from accounts.policy.evaluator import CompiledStatement

from . import authz
from .models import ADMIN_GROUP_NAME, Grant, Membership, Policy, Project, User, UserGroup
from .process_cache import ProcessCache

_MAX_JOINED = 50_000  # joined tables kept per directory (group sets × actions × projects asked)


@dataclass(frozen=True)
class Member:
    user_id: int
    username: str
    is_active: bool
    group_ids: tuple[int, ...]


class Directory:
    """Users, memberships and every group's grant rules, read at once in a fixed number of queries.

    `user_ids` limits the users read (a restore's review reads the members of the groups holding a policy).
    """

    def __init__(self, *, user_ids=None):
        self.stamp, self.now = authz.current_stamp(), authz.clock()
        users = User.objects.order_by("username")
        memberships = Membership.objects.values_list("user_id", "group_id")
        if user_ids is not None:
            users, memberships = users.filter(pk__in=user_ids), memberships.filter(user_id__in=user_ids)
        groups = dict(UserGroup.objects.values_list("pk", "name"))
        self.admin_group_id = (UserGroup.objects.filter(name=ADMIN_GROUP_NAME, is_builtin=True)
                               .values_list("pk", flat=True).first())
        groups_of: dict[int, list[int]] = defaultdict(list)
        for user_id, group_id in memberships:
            groups_of[user_id].append(group_id)
        self.members = [
            Member(pk, username, is_active, tuple(sorted(groups_of.get(pk, ()), key=lambda g: groups[g])))
            for pk, username, is_active in users.values_list("pk", "username", "is_active")
        ]
        self.parts = self._group_parts(groups)
        self._joined: dict[tuple, authz.CompiledGrants] = {}

    def _group_parts(self, groups: dict[int, str]) -> dict[int, authz.CompiledGrants]:
        """Each group's grants as the engine sees them (one CompiledGrants per group, compiled once)."""
        scopes: dict[int, set[str]] = defaultdict(set)
        for grant_id, project_name in Grant.projects.through.objects.values_list("grant_id", "project__name"):
            scopes[grant_id].add(project_name)
        # Grants not ended now; the directory is rebuilt once the earliest end among them is reached.
        grants = list(authz.live(Grant.objects.all(), self.now)
                      .values_list("pk", "group_id", "policy_id", "all_resources", "expires"))
        self.valid_until = min((g[4] for g in grants if g[4] is not None), default=None)
        policies = {policy.pk: policy for policy in Policy.objects.filter(pk__in={g[2] for g in grants})
                    .only("pk", "name", "kind", "is_system", "document")}
        compiled = {pk: (policy.document, authz.compile_cached(policy.document)) for pk, policy in policies.items()}
        rules_of: dict[int, list[authz.GrantRule]] = defaultdict(list)
        for grant_id, group_id, policy_id, all_resources, expires in grants:
            policy = policies[policy_id]
            document, compiled_policy = compiled[policy_id]
            rules_of[group_id].append(authz.GrantRule(
                grant_id=grant_id, group_name=groups[group_id], policy_id=policy_id, policy_name=policy.name,
                policy_kind=policy.kind_label, all_resources=all_resources,
                project_names=frozenset(scopes.get(grant_id, ())), document=document, compiled=compiled_policy,
                expires=expires))
        return {
            group_id: authz.CompiledGrants(user_id=None, username="", is_active=True, is_admin=False,
                                           rules=sorted(rules, key=lambda rule: rule.policy_name), stamp=self.stamp)
            for group_id, rules in rules_of.items()
        }

    def is_admin(self, member: Member) -> bool:
        return self.admin_group_id is not None and self.admin_group_id in member.group_ids

    def grants_for(self, member: Member, action: str, project_name: str | None) -> authz.CompiledGrants:
        """The member's grants, with the cell of `action` in `project_name` joined from their groups' cells.

        Members of the same groups share one joined table; each is then decided with their own
        request keys (g:UserId, g:UserName).
        """
        # Groups with no statement naming the action here add nothing to its table: leaving them
        # out lets more members share one.
        parts = tuple(group_id for group_id in member.group_ids
                      if group_id in self.parts and self._names(group_id, action, project_name))
        key = (action, project_name, self.is_admin(member), member.is_active, parts)
        shared = self._joined.get(key)
        if shared is None:
            if len(self._joined) >= _MAX_JOINED:
                self._joined.clear()
            shared = self._joined[key] = authz.CompiledGrants.joined(
                [self.parts[group_id] for group_id in parts], action, project_name,
                is_active=member.is_active, is_admin=self.is_admin(member), stamp=self.stamp)
        return shared.for_member(user_id=member.user_id, username=member.username, is_active=member.is_active)

    def _names(self, group_id: int, action: str, project_name: str | None) -> bool:
        cell = self.parts[group_id].cell(action, project_name)
        return cell.table is not None and cell.table.names_action

    def decisions(self, action: str, project=None, image=None) -> list[tuple[Member, authz.Explanation, bool]]:
        """(member, the engine's explanation, whether conditions can change it here) for every user.

        A cell no condition can change is the same Explanation for every member sharing it (the
        engine answers it without a request, as Authorization.decide does); the others are decided
        per member, with the member's own request keys and the image's.
        """
        project_name = getattr(project, "name", project)
        if image is not None and project_name is None:
            project_name = image.project.name
        if SERVICES[get_action(action).service].is_global:
            project, project_name = None, None
        answers = []
        for member in self.members:
            grants = self.grants_for(member, action, project_name)
            cell = grants.cell(action, project_name)
            if cell.explanation is not None:
                answers.append((member, cell.explanation, False))
                continue
            authorization = authz.Authorization(grants)
            explanation = authorization.decide(action, project, image)
            answers.append((member, explanation, bool(cell.table.conditional_effects)))
        return answers

    @classmethod
    def current(cls) -> Directory:
        """The whole directory as of the database's authorization stamp, shared by every request until
        any change to users, memberships, grants or policies bumps the stamp (as authz caches grants)."""
        return _DIRECTORIES.get_or_build(authz.current_stamp(), cls, still_valid=lambda kept: (
            kept.valid_until is None or authz.clock() < kept.valid_until))


_DIRECTORIES: ProcessCache[Directory] = ProcessCache("who-can directories", 1)  # the current stamp's


# Saying who holds what (users and groups by name, their grants and decisions) reads users and their
# grants: the actions the who-can page needs. Every page that names holders asks may_see_names.
NAMES_ACTIONS = ("iam:users:listUsers", "iam:permissions:listPermissions")


def may_see_names(authorization) -> bool:
    """Whether a page may name the users and groups holding what, for this request's Authorization:
    the engine must allow every action who-can needs. The one decision for every such page (the policy
    restore review, a policy's detail and delete review, the simulator's user pages, the grant grid);
    without it they give counts, not names."""
    return authorization is not None and all(authorization.allows(action) for action in NAMES_ACTIONS)


@dataclass(frozen=True)
class Answer:
    """Who may do `action` in `project` (to `image`): allowed and explicitly denied users, explained."""

    action: str
    project: object
    image: object
    allowed: list
    denied: list
    conditional: list  # users whose answer here depends on conditions (allowed or denied above)
    user_count: int


def who_can(action: str, project=None, image=None, *, directory: Directory | None = None) -> Answer:
    """Every user allowed `action` here and every user explicitly denied it, each with the engine's reasons."""
    directory = directory or Directory.current()
    allowed, denied, conditional = [], [], []
    for member, explanation, depends in directory.decisions(action, project, image):
        entry = (member, explanation)
        if explanation.allowed:
            allowed.append(entry)
        elif explanation.outcome == "explicit_deny":
            denied.append(entry)
        if depends and member.is_active:
            conditional.append(entry)
    return Answer(action, project, image, allowed, denied, conditional, len(directory.members))


# --- what a group or a policy allows -------------------------------------------------------------


def _as_authorization(rules, *, is_admin: bool = False) -> authz.Authorization:
    grants = authz.CompiledGrants(user_id=None, username="", is_active=True, is_admin=is_admin,
                                  rules=rules, stamp=authz.current_stamp())
    return authz.Authorization(grants)


def _grants_of(**filters):
    return list(authz.live(Grant.objects.filter(**filters)).select_related("group", "policy")
                .prefetch_related("projects").order_by("group__name", "policy__name"))


def group_authorization(group: UserGroup) -> authz.Authorization:
    """What a member of `group` (and of no other group) would be allowed."""
    rules = [authz.grant_rule(grant) for grant in _grants_of(group=group)]
    return _as_authorization(rules, is_admin=group.is_admin_group)


def policy_authorization(policy: Policy, *, holders: bool = True) -> tuple[authz.Authorization, bool]:
    """What `policy` allows where it is attached (every grant of it together), and whether it is attached.

    A policy attached nowhere, or asked without its `holders` (for a reader who may not see who holds
    what, see may_see_names), is shown as if granted on All resources.
    """
    grants = _grants_of(policy=policy) if holders else []
    if grants:
        return _as_authorization([authz.grant_rule(grant) for grant in grants]), True
    rule = authz.GrantRule(grant_id=0, group_name="(not attached)" if holders else "(holders not shown)",
                           policy_id=policy.pk, policy_name=policy.name,
                           policy_kind=policy.kind_label, all_resources=True, project_names=frozenset(),
                           document=policy.document, compiled=authz.compile_cached(policy.document))
    return _as_authorization([rule]), False


# --- what a document change does to the people holding it ---------------------------------------


OUTCOME_LABELS = {"allow": "Allowed", "explicit_deny": "Denied explicitly", "implicit_deny": "Not granted"}
SHOWN_NAMES = 20  # user names listed per group of members before "and N more"
_USER_KEYS = frozenset({"g:userid", "g:username"})
_PROJECT_KEYS = frozenset({"g:projectname", "g:requestedregion"})


def _state(explanation: authz.Explanation, conditional: bool) -> str:
    return OUTCOME_LABELS[explanation.outcome] + (" (with conditions)" if conditional else "")


@dataclass(frozen=True)
class Change:
    """One action's decision, before and after, in some projects (None: global)."""

    action: str
    before: str
    after: str
    projects: tuple[str | None, ...]

    @property
    def gained(self) -> bool:
        return self.after.startswith(OUTCOME_LABELS["allow"]) and not self.before.startswith(OUTCOME_LABELS["allow"])

    @property
    def lost(self) -> bool:
        return self.before.startswith(OUTCOME_LABELS["allow"]) and not self.after.startswith(OUTCOME_LABELS["allow"])

    @property
    def is_global(self) -> bool:
        return self.projects == (None,)


@dataclass(frozen=True)
class MemberGroup:
    """Users whose decisions change alike: members of `groups` (the groups holding the policy)."""

    groups: tuple[str, ...]
    usernames: tuple[str, ...]
    changes: tuple[Change, ...]

    @property
    def shown_names(self) -> tuple[str, ...]:
        return self.usernames[:SHOWN_NAMES]

    @property
    def more_names(self) -> int:
        return max(0, len(self.usernames) - SHOWN_NAMES)

    @property
    def decision_count(self) -> int:
        return len(self.usernames) * sum(len(change.projects) for change in self.changes)


@dataclass(frozen=True)
class Impact:
    """Every decision a document change changes for the members of the groups holding the policy."""

    member_groups: tuple[MemberGroup, ...]
    member_count: int  # users in the groups holding the policy
    project_count: int
    names_shown = True

    @property
    def changed_users(self) -> int:
        return sum(len(group.usernames) for group in self.member_groups)

    @property
    def decision_count(self) -> int:
        return sum(group.decision_count for group in self.member_groups)

    def per_member(self) -> set[tuple[str, str, str | None, str, str]]:
        """(user, action, project, before, after) for every changed decision: the grouping undone."""
        return {(name, change.action, project, change.before, change.after)
                for group in self.member_groups for name in group.usernames
                for change in group.changes for project in change.projects}


@dataclass(frozen=True)
class CountedGroup:
    """Users whose decisions change alike, counted: how many groups holding the policy they are in, how many."""

    group_count: int
    user_count: int
    changes: tuple[Change, ...]

    @property
    def decision_count(self) -> int:
        return self.user_count * sum(len(change.projects) for change in self.changes)


@dataclass(frozen=True)
class CountedImpact:
    """An Impact without a name in it: what changes, and for how many users, for a reader who may not see
    who holds what (see may_see_names)."""

    counted_groups: tuple[CountedGroup, ...]
    member_count: int
    project_count: int
    names_shown = False

    @property
    def changed_users(self) -> int:
        return sum(group.user_count for group in self.counted_groups)

    @property
    def decision_count(self) -> int:
        return sum(group.decision_count for group in self.counted_groups)


def impact_for(authorization, impact: Impact) -> Impact | CountedImpact:
    """`impact` as this reader may see it: with names when may_see_names, else counted (the names are
    left out here, so no template can show them)."""
    if may_see_names(authorization):
        return impact
    counted: dict[tuple, list[int]] = {}
    for group in impact.member_groups:
        found = counted.setdefault((len(group.groups), group.changes), [0])
        found[0] += len(group.usernames)
    groups = tuple(CountedGroup(group_count, users, changes) for (group_count, changes), (users,) in counted.items())
    return CountedImpact(tuple(sorted(groups, key=lambda g: -g.user_count)), impact.member_count,
                         impact.project_count)


def _naming_statements(document: dict, action: str) -> list[str]:
    """The statements of `document` naming `action`, as canonical text: all a decision of it reads."""
    compiled = authz.compile_cached(document)
    return [json.dumps(document["Statement"][statement.index], sort_keys=True)
            for statement in compiled.statements_for(action)]


class _Reduced:
    """The engine's decisions of one action for whatever distinct statements name it.

    A decision reads, of the statements naming the action, only their effects and conditions:
    order and duplicates never matter (accounts.policy.evaluator). So a member's decision of
    `action` in a project is the engine's decision over the distinct (effect, condition) pairs
    their grants bring there, written as one document and decided by authz like any grant.
    Hundreds of members holding different groups of similar policies share a handful of these.
    """

    def __init__(self, stamp: str, now):
        self.stamp, self.now = stamp, now
        self._grants: dict[tuple, authz.CompiledGrants] = {}
        self._answers: dict[tuple, str] = {}
        self._reads: dict[tuple, tuple[bool, bool, str | None]] = {}
        self.pairs: dict[tuple, tuple[str, str]] = {}  # (action, (before, after), flags) -> both states
        self.statements: dict[tuple, CompiledStatement] = {}  # (action, (effect, condition)) -> one naming it

    def grants(self, action: str, contents: frozenset, flags: tuple[bool, bool]) -> authz.CompiledGrants:
        """Someone holding, on All resources, one statement of each of `contents` (as compiled from
        the member's own policies: one CompiledPolicy of those statements, nothing compiled again)."""
        key = (action, contents, flags)
        found = self._grants.get(key)
        if found is None:
            rules = []
            if contents:
                compiled = CompiledPolicy(tuple(self.statements[(action, content)] for content in sorted(
                    contents, key=lambda content: (content[0], content[1] or ""))))
                rules = [authz.GrantRule(grant_id=0, group_name="", policy_id=0, policy_name="", policy_kind="",
                                         all_resources=True, project_names=frozenset(), document={},
                                         compiled=compiled)]
            is_active, is_admin = flags
            found = self._grants[key] = authz.CompiledGrants(user_id=None, username="", is_active=is_active,
                                                             is_admin=is_admin, rules=rules, stamp=self.stamp)
        return found

    def reads(self, action: str, contents: frozenset, flags, project: str | None) -> tuple[bool, bool]:
        """Whether the decision reads the user's keys, and the project's keys (g:ProjectName,
        g:RequestedRegion). The statements apply everywhere, so a decision reading neither is
        the same in every project: it is made once, in the first project asked."""
        key = (action, contents, flags)
        found = self._reads.get(key)
        if found is None:
            keys = {name.lower() for name in
                    authz.Authorization(self.grants(action, contents, flags)).condition_keys_read(action, project)}
            found = self._reads[key] = (bool(keys & _USER_KEYS), bool(keys & _PROJECT_KEYS), project)
        return found[:2]

    def state(self, action: str, contents: frozenset, flags, project: str | None, member: Member | None) -> str:
        user_keyed, project_keyed = self.reads(action, contents, flags, project)
        if not project_keyed:
            project = self._reads[(action, contents, flags)][2]
        if not user_keyed:
            member = None
        key = (action, contents, flags, project, member and member.user_id)
        found = self._answers.get(key)
        if found is None:
            grants = self.grants(action, contents, flags)
            if member is not None:
                grants = grants.for_member(user_id=member.user_id, username=member.username, is_active=flags[0])
            authorization = authz.Authorization(grants, now=self.now)
            explanation = authorization.decide(action, project)
            found = self._answers[key] = _state(explanation, bool(authorization.conditional_effects(action, project)))
        return found


def _contributions(rules, actions, statement_text):
    """For each action, the (effect, condition) pairs the rules bring everywhere, and to single projects."""
    everywhere: dict[str, set] = defaultdict(set)
    scoped: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for rule, compiled in rules:
        for action in actions:
            statements = compiled.statements_for(action)
            if not statements:
                continue
            contents = {statement_text(action, rule, compiled, statement) for statement in statements}
            if rule.all_resources:
                everywhere[action] |= contents
            else:
                for project_name in rule.project_names:
                    scoped[action][project_name] |= contents
    return everywhere, scoped


def _merged(by_group, group_ids):
    """What a member of `group_ids` brings: the groups' contributions, per action, put together."""
    everywhere: dict[str, set] = defaultdict(set)
    scoped: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for group_id in group_ids:
        found = by_group.get(group_id)
        if found is None:
            continue
        for action, contents in found[0].items():
            everywhere[action] |= contents
        for action, projects in found[1].items():
            for project_name, contents in projects.items():
                scoped[action][project_name] |= contents
    return everywhere, scoped


def document_change_impact(policy: Policy, document: dict) -> Impact:
    """Every decision that changes for the members of the groups holding `policy` if it said `document`.

    Complete, and cheap whatever the number of members: only actions whose naming statements
    differ between the documents can change, only in the projects the policy's grants cover
    (or globally for IAM actions), and only through what the member's groups bring there. Members
    whose groups bring the same statements share one decision by the engine (see _Reduced); only
    decisions whose conditions read g:UserId or g:UserName are made per member. Decisions are made
    without an image: "(with conditions)" marks an answer some images or requests change.
    """
    from datetime import UTC, datetime

    holder_grants = list(authz.live(Grant.objects.filter(policy=policy)).values_list("pk", "group_id", "all_resources"))
    project_names = list(Project.objects.order_by("name").values_list("name", flat=True))
    user_ids = set(Membership.objects.filter(group__grants__policy=policy).values_list("user_id", flat=True))
    if not user_ids:
        return Impact((), 0, len(project_names))
    actions = _changed_actions(policy.document, document)
    directory = Directory(user_ids=user_ids)
    after_compiled = authz.compile_cached(document)
    reduced = _Reduced(directory.stamp, datetime.now(UTC))
    statement_text = _statement_texts(policy, document, after_compiled, reduced)
    sides = [_contributions_by_group(directory, policy, after_compiled if replaced else None, actions, statement_text)
             for replaced in (False, True)]
    scope_of = _holder_scopes(policy, holder_grants)
    group_names = dict(UserGroup.objects.filter(pk__in=scope_of).values_list("pk", "name"))
    setting = _ImpactSetting(
        directory=directory, reduced=reduced, actions=actions, sides=sides, scope_of=scope_of,
        project_names=project_names, order={name: place for place, name in enumerate(project_names)},
        global_actions={action: SERVICES[get_action(action).service].is_global for action in actions})
    classes: dict[tuple, list[Member]] = defaultdict(list)
    for member in directory.members:
        classes[(member.group_ids, member.is_active)].append(member)
    changes_of: dict[int, list[tuple[str, str | None, str, str]]] = {}
    for (group_ids, is_active), members in classes.items():
        shared, own = _class_changes(setting, group_ids, is_active, members)
        for member in members:
            changes_of[member.user_id] = shared + own.get(member.user_id, [])
    return _grouped(directory.members, changes_of, scope_of, group_names, setting.order, len(project_names))


def _changed_actions(before: dict, after: dict) -> list[str]:
    """The actions either document names whose naming statements differ between the two: the only
    actions whose decisions can change."""
    from accounts.policy import expand_pattern

    actions: set[str] = set()
    for each in (before, after):
        for statement in each.get("Statement", []):
            for pattern in statement.get("Action", []):
                actions |= expand_pattern(pattern)
    return sorted(a for a in actions if _naming_statements(before, a) != _naming_statements(after, a))


def _statement_texts(policy: Policy, document: dict, after_compiled, reduced: _Reduced):
    """statement_text(action, rule, compiled, statement): a statement as (deny, its condition as JSON),
    read from `document` for the policy's rules after the change; remembered once per statement, and
    one statement naming `action` kept for each such text (reduced.statements)."""
    texts: dict[tuple[int, int], tuple[bool, str | None]] = {}

    def statement_text(action, rule, compiled, statement):
        key = (id(compiled), statement.index)
        found = texts.get(key)
        if found is None:
            source = document if compiled is after_compiled and rule.policy_id == policy.pk else rule.document
            condition = source["Statement"][statement.index].get("Condition")
            found = texts[key] = (statement.deny, json.dumps(condition, sort_keys=True) if condition else None)
        reduced.statements.setdefault((action, found), statement)  # one that names `action`
        return found

    return statement_text


def _contributions_by_group(directory: Directory, policy: Policy, after_compiled, actions, statement_text) -> dict:
    """Group id -> what its rules bring for `actions`; with `after_compiled`, the policy's rules say the
    new document."""
    by_group = {}
    for group_id, part in directory.parts.items():
        rules = [(rule, after_compiled if after_compiled is not None and rule.policy_id == policy.pk
                  else rule.compiled) for rule in part.rules]
        by_group[group_id] = _contributions(rules, actions, statement_text)
    return by_group


def _holder_scopes(policy: Policy, holder_grants) -> dict[int, set[str] | None]:
    """Holder group -> the projects the policy's grants cover there (None: all resources)."""
    scope_of: dict[int, set[str] | None] = {}
    scoped_projects = defaultdict(set)
    for grant_id, project_name in Grant.projects.through.objects.filter(grant__policy=policy).values_list(
            "grant_id", "project__name"):
        scoped_projects[grant_id].add(project_name)
    for grant_id, group_id, all_resources in holder_grants:
        if all_resources or scope_of.get(group_id, set()) is None:
            scope_of[group_id] = None
        else:
            scope_of[group_id] = scope_of.get(group_id, set()) | scoped_projects[grant_id]
    return scope_of


@dataclass(frozen=True)
class _ImpactSetting:
    """What every member class of a change impact is compared against."""

    directory: Directory
    reduced: _Reduced
    actions: list[str]
    sides: list[dict]  # before, after: group id -> its contributions
    scope_of: dict[int, set[str] | None]
    project_names: list[str]
    order: dict[str, int]
    global_actions: dict[str, bool]


def _class_changes(setting: _ImpactSetting, group_ids, is_active, members) -> tuple[list, dict[int, list]]:
    """The changes of one class of members (same groups, same activity): those all share, and each one's own."""
    flags = (is_active, setting.directory.is_admin(members[0]))
    holders = [g for g in group_ids if g in setting.scope_of]
    everywhere = any(setting.scope_of[g] is None for g in holders)
    scope = set(setting.project_names) if everywhere else set().union(*(setting.scope_of[g] for g in holders))
    shared: list[tuple] = []
    own: dict[int, list[tuple]] = defaultdict(list)
    # Only the groups holding the policy bring something different after: the others are merged once.
    others = _merged(setting.sides[0], [g for g in group_ids if g not in setting.scope_of])
    merged = [_merged(by_group, holders) for by_group in setting.sides]
    for action in setting.actions:
        if setting.global_actions[action] and not everywhere:
            continue
        for (before, after), projects in _action_blocks(setting, action, others, merged, scope):
            if before != after:
                _compare(setting.reduced, action, (before, after), flags, projects, members, shared, own)
    return shared, own


def _action_blocks(setting: _ImpactSetting, action, others, merged, scope) -> list[tuple[tuple, list]]:
    """((statements before, after), projects) for `action`: one block per project where a group brings
    something of its own, one for the rest of `scope` ([None] for a global action)."""
    base = others[0].get(action, set())
    bases = [frozenset(base | side[0].get(action, set())) for side in merged]
    if setting.global_actions[action]:
        return [((bases[0], bases[1]), [None])]
    shared_extra = others[1].get(action, {})
    extras = [side[1].get(action, {}) for side in merged]
    special = (shared_extra.keys() | extras[0].keys() | extras[1].keys()) & scope
    blocks = [(tuple(bases[n] | shared_extra.get(p, set()) | extras[n].get(p, set()) for n in (0, 1)), [p])
              for p in special]
    rest = sorted(scope - special, key=setting.order.get)
    if rest:
        blocks.append(((bases[0], bases[1]), rest))
    return blocks


def _compare(reduced: _Reduced, action, contents, flags, projects, members, shared, own) -> None:
    """Decide `action` before and after in `projects` for a class of `members`; append what differs."""
    first = projects[0]
    pair = reduced.pairs.get((action, contents, flags))
    if pair is None:  # not decided yet for another member class
        keyed = [reduced.reads(action, side, flags, first) for side in contents]
        per_user = any(user_keyed for user_keyed, _ in keyed)
        per_project = any(project_keyed for _, project_keyed in keyed)
        if per_user or per_project:
            _compare_each(reduced, action, contents, flags, projects, members if per_user else None,
                          per_project, shared, own)
            return
        # The common case: one pair of decisions for every project and member.
        pair = reduced.pairs[(action, contents, flags)] = tuple(
            reduced.state(action, side, flags, first, None) for side in contents)
    if pair[0] != pair[1]:
        shared.extend((action, p, *pair) for p in projects)


def _compare_each(reduced: _Reduced, action, contents, flags, projects, members, per_project, shared, own) -> None:
    """Decide per project (`per_project`) and per member (`members`, else None), for conditions that read them."""
    for project in (projects if per_project else projects[:1]):
        where = [project] if per_project else projects
        for member in (members if members is not None else [None]):
            before, after = (reduced.state(action, side, flags, project, member) for side in contents)
            if before != after:
                target = shared if member is None else own[member.user_id]
                target.extend((action, p, before, after) for p in where)


def _grouped(members, changes_of, scope_of, group_names, order, project_count) -> Impact:
    """Members with the same changes and the same groups holding the policy, together."""
    together: dict[tuple, list[str]] = defaultdict(list)
    for member in members:
        found = changes_of.get(member.user_id)
        if not found:
            continue
        by_change: dict[tuple, list] = defaultdict(list)
        for action, project, before, after in found:
            by_change[(action, before, after)].append(project)
        changes = tuple(Change(action, before, after, tuple(sorted(set(projects), key=lambda p: order.get(p, -1))))
                        for (action, before, after), projects in sorted(by_change.items()))
        holders = tuple(group_names[g] for g in member.group_ids if g in scope_of)
        together[(holders, changes)].append(member.username)
    groups = [MemberGroup(holders, tuple(sorted(names)), changes) for (holders, changes), names in together.items()]
    groups.sort(key=lambda group: (-len(group.usernames), group.groups, group.usernames))
    return Impact(tuple(groups), len(members), project_count)
