"""Which decisions a change to the directory changes: the step every impact preview shares (accounts.impact).

A user's decision of an action in a project reads, of the statements naming the action that their
groups' grants bring there, only each statement's effect and condition, each condition on its own
(the evaluator: explicit deny wins, then allow, else implicit deny; order and duplicates never
matter). So the engine decides each distinct statement (effect, condition) of an action once, alone
— again per project or per user only when its condition reads the project's or the user's keys —
and a set of them is labelled by that rule: the strongest outcome among them, "(with conditions)"
when any has one. Hundreds of users holding different mixes of the same few statements cost a
few dozen decisions, not one table per mix.

A group brings, for an action, some statements on All resources and some in single projects, held
as bits; a user's statements are the OR of their groups'. Users whose groups bring the same for an
action share its changes; only the groups whose rules differ before and after can change anything,
so an action none of a user's changed groups names is skipped. Decisions are made without an image:
"(with conditions)" marks an answer some images or requests change.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict

from accounts.policy import SERVICES, CompiledPolicy, get_action, strongest

from . import authz
from .who_can import Change, outcome_label

_USER_KEYS = frozenset({"g:userid", "g:username"})
_PROJECT_KEYS = frozenset({"g:projectname", "g:requestedregion"})


class _Statements:
    """An action's distinct statements (effect, condition) as bits, with one compiled statement for each."""

    def __init__(self):
        self.bit: dict[tuple, int] = {}
        self.compiled: list = []
        self.user_keyed = 0  # bits whose condition reads g:UserId or g:UserName
        self.project_keyed = 0  # bits whose condition reads g:ProjectName or g:RequestedRegion

    def add(self, text: tuple, statement) -> int:
        found = self.bit.get(text)
        if found is None:
            found = self.bit[text] = 1 << len(self.compiled)
            self.compiled.append(statement)
            keys = statement.key_names.keys()
            if _USER_KEYS & keys:
                self.user_keyed |= found
            if _PROJECT_KEYS & keys:
                self.project_keyed |= found
        return found


class DecisionChanges:
    """The decisions of `actions` before and after a change, for classes of members of `directory`.

    `rules_of(group)`: a group's rules as (rule, compiled policy, its document) where the change leaves
    them; `before` / `after`: the groups whose rules the change replaces on that side.
    """

    def __init__(self, directory, actions, project_names, rules_of, *, before=None, after=None, groups=()):
        self.directory, self.project_names = directory, list(project_names)
        self.actions = sorted(actions)
        self.is_global = {action: SERVICES[get_action(action).service].is_global for action in self.actions}
        self._place = {name: place for place, name in enumerate(self.project_names)}
        self._texts: dict[tuple[int, int], tuple] = {}
        self.statements = {action: _Statements() for action in self.actions}
        self._ones: dict[int, int] = {}
        found = self._brought_by_group(rules_of, before or {}, after or {}, groups)
        # action -> group -> (lanes, statements on All resources) before and after, for the groups naming the
        # action on either side; the groups whose decisions of it can differ
        self.brings: dict[str, dict[int, tuple]] = {}
        self.changed: dict[str, set[int]] = {}
        for action, by_group in found.items():
            self.brings[action] = {group_id: tuple((self._lanes(action, side), side[0]) for side in brought)
                                   for group_id, brought in by_group.items()}
            self.changed[action] = {group_id for group_id, (was, now) in self.brings[action].items()
                                    if (was[1] != now[1] if self.is_global[action] else was != now)}
        self.naming = {group_id for found in self.brings.values() for group_id in found}  # name some action
        self._alone: dict[tuple, tuple[int, bool]] = {}
        self._grants: dict[tuple, authz.CompiledGrants] = {}
        self._labels: dict[tuple, str] = {}
        self._shared: dict[tuple, tuple[Change, ...]] = {}
        self._pairs: dict[tuple, tuple[str, str]] = {}  # (action, flags, before, after) -> their decisions

    def _brought_by_group(self, rules_of, before, after, groups) -> dict[str, dict[int, list]]:
        """Action -> group -> what it brings before and after, for the groups naming the action on either side."""
        found: dict[str, dict[int, list]] = {action: {} for action in self.actions}
        for group_id in set(groups) | before.keys() | after.keys():
            same = rules_of(group_id)
            sides = (before.get(group_id, same), after.get(group_id, same))
            for action in self.actions:
                brought = [self._brought(action, sides[0])]
                brought.append(brought[0] if sides[1] is sides[0] else self._brought(action, sides[1]))
                if brought[0] != (0, {}) or brought[1] != (0, {}):
                    found[action][group_id] = brought
        return found

    def _brought(self, action: str, rules) -> tuple[int, dict[int, int]]:
        """What `rules` bring for `action`: the statements on All resources, and those in single projects."""
        statements = self.statements[action]
        everywhere, scoped = 0, {}
        for rule, compiled, document in rules:
            naming = compiled.statements_for(action)
            if not naming:
                continue
            mask = 0
            for statement in naming:
                mask |= statements.add(self._text(compiled, document, statement), statement)
            if rule.all_resources:
                everywhere |= mask
            else:
                for name in rule.project_names:
                    place = self._place[name]
                    scoped[place] = scoped.get(place, 0) | mask
        return everywhere, scoped

    def _lanes(self, action: str, brought: tuple[int, dict[int, int]]) -> int:
        """What a group brings for `action` in every project at once: one lane of bits per project (the
        statements on All resources in every lane), so a member's is the OR of their groups'."""
        width = _lane_bits(len(self.statements[action].compiled))
        everywhere, scoped = brought
        ones = self._ones.get(width)
        if ones is None:  # 1 in every lane
            ones = self._ones[width] = sum(1 << (place * width) for place in range(len(self.project_names)))
        lanes = everywhere * ones
        for place, mask in scoped.items():
            lanes |= mask << (place * width)
        return lanes

    def _unpacked(self, action: str, lanes: int):
        """Each project's statements from `lanes`, in project order."""
        count = len(self.project_names)
        width = _lane_bits(len(self.statements[action].compiled))
        if width in _LANE_FORMATS:
            return memoryview(lanes.to_bytes(width // 8 * count, sys.byteorder)).cast(_LANE_FORMATS[width])
        every = (1 << width) - 1
        return [(lanes >> (place * width)) & every for place in range(count)]

    def _text(self, compiled, document, statement) -> tuple[bool, str | None]:
        """A statement as (deny, its condition as JSON): what a decision reads of it."""
        key = (id(compiled), statement.index)
        found = self._texts.get(key)
        if found is None:
            condition = document["Statement"][statement.index].get("Condition")
            found = self._texts[key] = (statement.deny, json.dumps(condition, sort_keys=True) if condition else None)
        return found

    # --- the engine's decisions ---------------------------------------------------------------

    def _one(self, action: str, bit: int, flags, project: str | None, member) -> tuple[int, bool]:
        """The engine's decision of `action` for someone holding the statement `bit` alone on All resources
        (none: no statement), as (outcome, whether conditions can change it)."""
        statements = self.statements[action]
        if not bit & statements.project_keyed:
            project = self.project_names[0] if project is not None and self.project_names else project
        if not bit & statements.user_keyed:
            member = None
        key = (action, bit, flags, project, member and member.user_id)
        found = self._alone.get(key)
        if found is None:
            grants = self._held(action, bit, flags)
            if member is not None:
                grants = grants.for_member(user_id=member.user_id, username=member.username, is_active=flags[0])
            authorization = authz.Authorization(grants, now=self.directory.now)
            explanation = authorization.decide(action, project)
            found = self._alone[key] = (explanation.outcome,
                                        bool(authorization.conditional_effects(action, project)))
        return found

    def _held(self, action: str, bit: int, flags) -> authz.CompiledGrants:
        key = (action, bit, flags)
        found = self._grants.get(key)
        if found is None:
            rules = []
            if bit:
                statement = self.statements[action].compiled[bit.bit_length() - 1]
                rules = [authz.GrantRule(grant_id=0, group_name="", policy_id=0, policy_name="", policy_kind="",
                                         all_resources=True, project_names=frozenset(), document={},
                                         compiled=CompiledPolicy((statement,)))]
            is_active, is_admin = flags
            found = self._grants[key] = authz.CompiledGrants(user_id=None, username="", is_active=is_active,
                                                             is_admin=is_admin, rules=rules, stamp=self.directory.stamp)
        return found

    def label(self, action: str, mask: int, flags, project: str | None, member=None) -> str:
        """The decision of someone holding the statements `mask` (bits) on All resources, as a preview shows it."""
        statements = self.statements[action]
        key = (action, mask, flags, project if mask & statements.project_keyed else 0,
               member.user_id if member is not None and mask & statements.user_keyed else None)
        found = self._labels.get(key)
        if found is None:
            alone = [self._one(action, 0, flags, project, None)]
            rest = mask
            while rest:
                low = rest & -rest
                rest ^= low
                alone.append(self._one(action, low, flags, project, member))
            found = self._labels[key] = outcome_label(strongest(outcome for outcome, _ in alone),
                                                      any(conditional for _, conditional in alone))
        return found

    # --- a class of members -------------------------------------------------------------------

    def changes(self, group_ids, flags, members) -> dict[int, tuple[Change, ...]]:
        """User id -> the changes of each of `members` (alike: `group_ids`, flags (active, admin)), in
        the order of (action, before, after), each change's projects in name order."""
        shared: list[Change] = []
        own: dict[int, dict[tuple, list]] = defaultdict(dict)
        for action in self.actions:
            brings = self.brings[action]
            present = tuple(g for g in group_ids if g in brings)
            if not self.changed[action].intersection(present):
                continue
            key = (action, present, flags)
            found = self._shared.get(key)
            if found is None:
                found, per_member = self._action_changes(action, present, flags, members)
                if per_member:
                    for user_id, entries in per_member.items():
                        own[user_id].update(entries)
                else:
                    self._shared[key] = found
            shared.extend(found)
        common = tuple(shared)
        result = {}
        for member in members:
            mine = own.get(member.user_id)
            result[member.user_id] = common if not mine else self._with_own(common, mine)
        return result

    def _with_own(self, common: tuple[Change, ...], mine: dict[tuple, list]) -> tuple[Change, ...]:
        """A member's changes: the class's and their own (decisions reading their name or id), merged."""
        entries: dict[tuple, set] = defaultdict(set)
        for change in common:
            entries[(change.action, change.before, change.after)].update(
                self._place.get(p) for p in change.projects)
        for entry, places in mine.items():
            entries[entry].update(places)
        return self._as_changes(entries)

    def _as_changes(self, entries) -> tuple[Change, ...]:
        names = self.project_names
        return tuple(Change(action, before, after,
                            (None,) if None in places else tuple(names[place] for place in sorted(places)))
                     for (action, before, after), places in sorted(entries.items()) if places)

    def _action_changes(self, action, present, flags, members) -> tuple[tuple[Change, ...], dict]:
        """`action`'s changes for members of `present` (the groups naming it): those all share, and, when
        a decision reads the user's keys, each member's own with the shared ones ({} when none does)."""
        statements = self.statements[action]
        entries: dict[tuple, set] = defaultdict(set)
        own: dict[int, dict[tuple, set]] = {}
        for before, after, places in self._blocks(action, present):
            project_keyed = (before | after) & statements.project_keyed
            for member in (members if (before | after) & statements.user_keyed else [None]):
                found = entries if member is None else own.setdefault(member.user_id, defaultdict(set))
                for alike in ([[place] for place in places] if project_keyed else [places]):
                    pair = self._pair(action, flags, (before, after), alike[0], member)
                    if pair[0] != pair[1]:
                        found[(action, *pair)].update(alike)
        if not own:
            return self._as_changes(entries), {}
        for member in members:
            mine = own.setdefault(member.user_id, defaultdict(set))
            for entry, places in entries.items():
                mine[entry] |= places
        return (), own

    def _pair(self, action: str, flags, masks: tuple[int, int], place: int | None, member) -> tuple[str, str]:
        """The decisions before and after in the project at `place` (None: global), for `member` (None: any)."""
        project = None if place is None else self.project_names[place]
        if member is not None or (masks[0] | masks[1]) & self.statements[action].project_keyed:
            return tuple(self.label(action, mask, flags, project, member) for mask in masks)
        key = (action, flags, masks)
        found = self._pairs.get(key)
        if found is None:
            found = self._pairs[key] = tuple(self.label(action, mask, flags, project) for mask in masks)
        return found

    def _blocks(self, action, present) -> list[tuple[int, int, list]]:
        """(statements before, after, project places) for `action`, one block per distinct pair that
        differs ([None] for a global action: a grant on single projects allows no global action)."""
        brings = self.brings[action]
        lanes, everywhere = [0, 0], [0, 0]
        for group_id in present:
            for side, (in_projects, on_all) in enumerate(brings[group_id]):
                lanes[side] |= in_projects
                everywhere[side] |= on_all
        if self.is_global[action]:
            return [(everywhere[0], everywhere[1], [None])] if everywhere[0] != everywhere[1] else []
        if lanes[0] == lanes[1]:
            return []
        places: dict[tuple[int, int], list[int]] = defaultdict(list)
        for place, pair in enumerate(zip(self._unpacked(action, lanes[0]), self._unpacked(action, lanes[1]),
                                         strict=True)):
            if pair[0] != pair[1]:
                places[pair].append(place)
        return [(before, after, found) for (before, after), found in places.items()]


def _lane_bits(statement_count: int) -> int:
    """A project's lane: 8, 16, 32 or 64 bits (read at once as bytes), else as many as there are statements."""
    return next((width for width in _LANE_FORMATS if statement_count <= width), statement_count)


_LANE_FORMATS = {8: "B", 16: "H", 32: "I", 64: "Q"}

