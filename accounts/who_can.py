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

from collections import defaultdict
from dataclasses import dataclass

from django.utils.translation import gettext_noop

from accounts.policy import SERVICES, get_action

from . import authz
from .models import ADMIN_GROUP_NAME, Grant, Membership, Policy, User, UserGroup
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


# --- what a change does to decisions, as previews show it (computed by accounts.impact) --------------


# English, as data (compared, cached); pages translate them as they show them ({% translate change.before %}).
OUTCOME_LABELS = {"allow": gettext_noop("Allowed"), "explicit_deny": gettext_noop("Denied explicitly"),
                  "implicit_deny": gettext_noop("Not granted")}
CONDITIONAL_LABELS = {"allow": gettext_noop("Allowed (with conditions)"),
                      "explicit_deny": gettext_noop("Denied explicitly (with conditions)"),
                      "implicit_deny": gettext_noop("Not granted (with conditions)")}
SHOWN_NAMES = 20  # user names listed per group of members before "and N more"


def outcome_label(outcome: str, conditional: bool) -> str:
    """An engine outcome as impact previews show it: "Allowed", "Denied explicitly" or "Not granted", and
    "(with conditions)" when some image or request could change it."""
    return (CONDITIONAL_LABELS if conditional else OUTCOME_LABELS)[outcome]


def decision_label(explanation: authz.Explanation, conditional: bool) -> str:
    """The engine's explanation as impact previews show it (see outcome_label)."""
    return outcome_label(explanation.outcome, conditional)


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
    """Every decision a change changes for the users it touches (a document change: the members of the groups
    holding the policy), grouped."""

    member_groups: tuple[MemberGroup, ...]
    member_count: int  # users the change touches (a document change: in the groups holding the policy)
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
