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
import threading
from collections import defaultdict
from dataclasses import dataclass

from accounts.policy import SERVICES, get_action

from . import authz
from .models import ADMIN_GROUP_NAME, Grant, Membership, Policy, Project, User, UserGroup

_lock = threading.Lock()
_current: Directory | None = None
_MAX_JOINED = 50_000  # joined tables kept per directory (group sets × actions × projects asked)


@dataclass(frozen=True)
class Member:
    user_id: int
    username: str
    is_active: bool
    group_ids: tuple[int, ...]


class Directory:
    """Users, memberships and every group's grant rules, read at once in a fixed number of queries.

    `documents` maps policy ids to a replacement document: the directory as it would be if those
    policies said that (a restore's review compares the two). `user_ids` limits the users read.
    """

    def __init__(self, *, documents: dict[int, dict] | None = None, user_ids=None):
        documents = documents or {}
        self.stamp = authz.current_stamp()
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
        self.parts = self._group_parts(groups, documents)
        self._joined: dict[tuple, authz.CompiledGrants] = {}

    def _group_parts(self, groups: dict[int, str], documents: dict[int, dict]) -> dict[int, authz.CompiledGrants]:
        """Each group's grants as the engine sees them (one CompiledGrants per group, compiled once)."""
        scopes: dict[int, set[str]] = defaultdict(set)
        for grant_id, project_name in Grant.projects.through.objects.values_list("grant_id", "project__name"):
            scopes[grant_id].add(project_name)
        grants = list(Grant.objects.values_list("pk", "group_id", "policy_id", "all_resources"))
        policies = {policy.pk: policy for policy in Policy.objects.filter(pk__in={g[2] for g in grants})
                    .only("pk", "name", "kind", "is_system", "document")}
        compiled: dict[int, tuple[dict, object]] = {}
        for pk, policy in policies.items():
            document = documents.get(pk, policy.document)
            compiled[pk] = (document, authz.compile_cached(document))
        rules_of: dict[int, list[authz.GrantRule]] = defaultdict(list)
        for grant_id, group_id, policy_id, all_resources in grants:
            policy = policies[policy_id]
            document, compiled_policy = compiled[policy_id]
            rules_of[group_id].append(authz.GrantRule(
                grant_id=grant_id, group_name=groups[group_id], policy_id=policy_id, policy_name=policy.name,
                policy_kind=policy.kind_label, all_resources=all_resources,
                project_names=frozenset(scopes.get(grant_id, ())), document=document, compiled=compiled_policy))
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
        global _current
        stamp = authz.current_stamp()
        with _lock:
            found = _current
        if found is not None and found.stamp == stamp:
            return found
        directory = cls()
        with _lock:
            _current = directory
        return directory


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
    return list(Grant.objects.filter(**filters).select_related("group", "policy").prefetch_related("projects")
                .order_by("group__name", "policy__name"))


def group_authorization(group: UserGroup) -> authz.Authorization:
    """What a member of `group` (and of no other group) would be allowed."""
    rules = [authz.grant_rule(grant) for grant in _grants_of(group=group)]
    return _as_authorization(rules, is_admin=group.is_admin_group)


def policy_authorization(policy: Policy) -> tuple[authz.Authorization, bool]:
    """What `policy` allows where it is attached (every grant of it together), and whether it is attached.

    A policy attached nowhere is shown as if granted on All resources.
    """
    grants = _grants_of(policy=policy)
    if grants:
        return _as_authorization([authz.grant_rule(grant) for grant in grants]), True
    rule = authz.GrantRule(grant_id=0, group_name="(not attached)", policy_id=policy.pk, policy_name=policy.name,
                           policy_kind=policy.kind_label, all_resources=True, project_names=frozenset(),
                           document=policy.document, compiled=authz.compile_cached(policy.document))
    return _as_authorization([rule]), False


# --- what a document change does to the people holding it ---------------------------------------


@dataclass(frozen=True)
class DecisionChange:
    """One user's decision of one action in one project (None: global), before and after a change."""

    username: str
    action: str
    project: str | None
    before: str
    after: str
    groups: tuple[str, ...]

    @property
    def gained(self) -> bool:
        return self.after.startswith(OUTCOME_LABELS["allow"]) and not self.before.startswith(OUTCOME_LABELS["allow"])

    @property
    def lost(self) -> bool:
        return self.before.startswith(OUTCOME_LABELS["allow"]) and not self.after.startswith(OUTCOME_LABELS["allow"])


OUTCOME_LABELS = {"allow": "Allowed", "explicit_deny": "Denied explicitly", "implicit_deny": "Not granted"}


def _state(explanation: authz.Explanation, conditional: bool) -> str:
    return OUTCOME_LABELS[explanation.outcome] + (" (with conditions)" if conditional else "")


IMPACT_BUDGET = 5_000  # member decisions a restore review compares before it says it stopped (≈ 4 s CPU cold)


def _naming_statements(document: dict, action: str) -> list[str]:
    """The statements of `document` naming `action`, as canonical text: all a decision of it reads."""
    compiled = authz.compile_cached(document)
    return [json.dumps(document["Statement"][statement.index], sort_keys=True)
            for statement in compiled.statements_for(action)]


def document_change_impact(policy: Policy, document: dict) -> tuple[list[DecisionChange], bool]:
    """Every decision that changes for the members of the groups holding `policy` if it said `document`,
    and whether every one was compared (False: stopped after IMPACT_BUDGET member decisions).

    Both sides are the engine's decisions (two directories of those members: as they are, and
    with the policy's document replaced), in every project (or globally for IAM), for each action
    whose naming statements differ between the documents (no other decision can change). Decisions
    are made without an image: "(with conditions)" marks an answer some images or requests change.
    """
    from accounts.policy import expand_pattern

    user_ids = set(Membership.objects.filter(group__grants__policy=policy).values_list("user_id", flat=True))
    if not user_ids:
        return [], True
    actions: set[str] = set()
    for each in (policy.document, document):
        for statement in each.get("Statement", []):
            for pattern in statement.get("Action", []):
                actions |= expand_pattern(pattern)
    actions = {a for a in actions if _naming_statements(policy.document, a) != _naming_statements(document, a)}
    before = Directory(user_ids=user_ids)
    after = Directory(documents={policy.pk: document}, user_ids=user_ids)
    holders = set(Grant.objects.filter(policy=policy).values_list("group_id", flat=True))
    group_names = dict(UserGroup.objects.filter(pk__in=holders).values_list("pk", "name"))
    project_names = list(Project.objects.order_by("name").values_list("name", flat=True))
    changes, compared = [], 0
    for action in sorted(actions):
        is_global = SERVICES[get_action(action).service].is_global
        for project_name in ([None] if is_global else project_names):
            if compared >= IMPACT_BUDGET:
                return sorted(changes, key=lambda c: (c.username, c.action, c.project or "")), False
            compared += len(user_ids)
            pairs = zip(before.decisions(action, project_name), after.decisions(action, project_name), strict=True)
            for (member, old, old_conditional), (_, new, new_conditional) in pairs:
                old_state, new_state = _state(old, old_conditional), _state(new, new_conditional)
                if old_state != new_state:
                    changes.append(DecisionChange(
                        member.username, action, project_name, old_state, new_state,
                        tuple(group_names[g] for g in member.group_ids if g in group_names)))
    return sorted(changes, key=lambda c: (c.username, c.action, c.project or "")), True
