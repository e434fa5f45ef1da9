"""The stored configuration a plan compares the file against, loaded once, and what the changes touch.

`State` reads the console's regions, projects, users, groups, memberships, policies and grants in a
fixed number of queries, indexed so that no planning step scans every grant (a plan costs in
proportion to the file). `touch` and `touch_group` record the (policy document, scope) pairs whose
decisions a change can alter, so that the trial compares only those.
"""

from __future__ import annotations

from accounts.models import Membership, Policy, Project, Region, User, UserGroup

from .document import ALL_RESOURCES, Configuration
from .export import grant_ends, grant_scopes

USER_FIELDS = ("email", "first_name", "last_name", "is_active", "is_staff")


class State:
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


def touch(plan, state, configuration, policy_name: str, scope) -> None:
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


def touch_group(plan, state, configuration, group_name: str) -> None:
    """A membership of the group changes: every grant it holds now or per the file is touched (once a group)."""
    if group_name in state.touched_groups:
        return
    state.touched_groups.add(group_name)
    for policy, scope in state.grants_by_group.get(group_name, ()):
        touch(plan, state, configuration, policy, scope)
    for policy, scope in state.filed_grants.get(group_name, ()):
        touch(plan, state, configuration, policy, scope)
