"""The plan of an import, as data: the readable changes, the service steps and the users whose permissions change.

A `Plan` holds what applying a configuration would create, change and (with prune) remove: each
`Change` is one readable line, each `Step` one call of an existing service (accounts.services)
carrying the JSON path it came from, each `Effect` a user whose effective permissions differ.
planning.build_plan fills it; trial.trial_plan tries it; apply.apply_configuration runs it.

Semantics: everything named in the file is made to match it. Without prune nothing is removed
(users, groups, custom policies, memberships and grants absent from the file stay); with prune
they are removed. Regions and projects are never removed (no service deletes them). A role
granted without its dependencies gets them with the same scope, as attaching it by hand does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from accounts.policy.messages import gettext_noop

# Section titles are data (keys of limits.KIND_ACTIONS, the CLI's headings); the page translates them.
SECTIONS = (gettext_noop("Regions and projects"), gettext_noop("Users"), gettext_noop("Custom policies"),
            gettext_noop("User groups"), gettext_noop("Members"), gettext_noop("Grants"),
            gettext_noop("Identity providers"))


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
