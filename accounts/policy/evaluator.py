"""Deciding a request against compiled policies (SPEC section 6).

Documents are compiled once (action patterns to globs, conditions to callables) so a page
that checks every button of every row pays only for dictionary look-ups and a few calls.
Explicit deny wins, then allow, else implicit deny; order and duplicates never matter.

`evaluate` is the plain definition. `ActionTable` decides the same thing faster for a fixed set
of policies and one action: it keeps only the statements naming the action, answers with a ready
Decision when none has a condition, and otherwise tests only the conditions (each distinct one once),
remembering the Decision for the values of the keys they read.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from .catalogue import lookup_condition_key
from .conditions import CompiledCondition, compile_condition
from .glob import ActionPatterns, action_patterns

ALLOW = "allow"
EXPLICIT_DENY = "explicit_deny"
IMPLICIT_DENY = "implicit_deny"

_MAX_CACHED_ACTIONS = 1024
_MAX_REMEMBERED = 256  # decisions an ActionTable keeps, by the values of the keys its conditions read


@dataclass(frozen=True)
class CompiledStatement:
    index: int
    deny: bool
    actions: ActionPatterns
    condition: CompiledCondition | None
    key_names: Mapping[str, str]  # lower-cased key -> its catalogue spelling


class CompiledPolicy:
    """A policy document ready for decisions; build it with compile_document()."""

    __slots__ = ("_by_action", "statements")

    def __init__(self, statements: tuple[CompiledStatement, ...]):
        self.statements = statements
        self._by_action: dict[str, tuple[CompiledStatement, ...]] = {}

    def statements_for(self, action: str) -> tuple[CompiledStatement, ...]:
        """The statements with a pattern matching `action` (any case), memoised per action."""
        action = action.lower()
        found = self._by_action.get(action)
        if found is None:
            found = tuple(st for st in self.statements if st.actions.matches(action))
            if len(self._by_action) < _MAX_CACHED_ACTIONS:
                self._by_action[action] = found
        return found

    def matches_action(self, action: str) -> bool:
        """Whether some statement names `action`, whatever its effect and condition."""
        return bool(self.statements_for(action))


def compile_document(document: Mapping) -> CompiledPolicy:
    """Compile a policy document; raise ValueError if its shape cannot be evaluated.

    Run the validator first to tell a user what is wrong; this only refuses what it cannot
    decide with.
    """
    statements = document.get("Statement") if isinstance(document, Mapping) else None
    if not isinstance(statements, list):
        raise ValueError("A policy document needs a Statement list")
    return CompiledPolicy(tuple(_compile_statement(index, statement) for index, statement in enumerate(statements)))


def _compile_statement(index: int, statement) -> CompiledStatement:
    """One statement: its effect, its action patterns, its condition and the spelling of the keys it reads."""
    if not isinstance(statement, Mapping) or statement.get("Effect") not in ("Allow", "Deny"):
        raise ValueError(f"Statement[{index}] needs Effect Allow or Deny")
    actions = statement.get("Action")
    if not (
        isinstance(actions, list) and actions and all(isinstance(a, str) and a.count(":") == 2 for a in actions)
    ):
        raise ValueError(f"Statement[{index}] needs a list of service:type:operation patterns")
    block = statement.get("Condition")
    if block is not None and not isinstance(block, Mapping):
        raise ValueError(f"Statement[{index}].Condition must be an object")
    return CompiledStatement(
        index=index,
        deny=statement["Effect"] == "Deny",
        actions=action_patterns(tuple(sorted({a.lower() for a in actions}))),
        condition=compile_condition(block) if block else None,
        key_names=_key_names(block or {}),
    )


def _key_names(block: Mapping) -> dict[str, str]:
    """The condition keys a block reads, lower-cased, to their catalogue spelling (else as written)."""
    key_names = {}
    for entries in block.values():
        for key in entries:
            declared = lookup_condition_key(key)
            key_names[key.lower()] = declared.name if declared else key
    return key_names


@dataclass(frozen=True)
class Decision:
    """The outcome of one request and the statements that decided it.

    `matched` holds (policy key, statement index) of the matching Denies for an explicit
    deny, of the matching Allows for an allow, and nothing for an implicit deny, in input
    order. `missing_keys` are condition keys that statements naming the action read but the
    request context did not supply (in their catalogue spelling).
    """

    outcome: str
    matched: tuple[tuple[Hashable, int], ...] = ()
    missing_keys: frozenset[str] = frozenset()

    @property
    def allowed(self) -> bool:
        return self.outcome == ALLOW


def evaluate(
    policies: Iterable[tuple[Hashable, CompiledPolicy]],
    action: str,
    context: Mapping[str, object] | None = None,
) -> Decision:
    """Decide `action` against `policies` given the request `context` (keys any case).

    A context value may be a scalar or a list (a multi-valued key); None means absent.
    """
    request = lower_keys(context)
    denies: list[tuple[Hashable, int]] = []
    allows: list[tuple[Hashable, int]] = []
    missing: set[str] = set()
    for policy_key, policy in policies:
        for statement in policy.statements_for(action):
            if statement.condition is not None:
                missing.update(name for key, name in statement.key_names.items() if request.get(key) is None)
                if not statement.condition(request):
                    continue
            (denies if statement.deny else allows).append((policy_key, statement.index))
    if denies:
        return Decision(EXPLICIT_DENY, tuple(denies), frozenset(missing))
    if allows:
        return Decision(ALLOW, tuple(allows), frozenset(missing))
    return Decision(IMPLICIT_DENY, (), frozenset(missing))


def lower_keys(context: Mapping[str, object] | None) -> dict[str, object]:
    """The request context as conditions read it: keys lower-cased (the last spelling wins)."""
    return {str(key).lower(): value for key, value in (context or {}).items()}


class ActionTable:
    """What `evaluate(policies, action, context)` decides, prepared once for one action.

    Built from the statements of `policies` that name `action`, in input order, so `decide`
    returns exactly the Decision the plain evaluator returns (same outcome, same matched
    statements in the same order, same missing keys) for every context. When no statement
    has a condition that Decision is `constant`. Otherwise the Decision depends only on the
    values of the keys the conditions read, so `decide` remembers it by those values (a page of
    images asks with a handful of distinct tag values); when it must evaluate, it runs each
    distinct condition once (a policy granted to several groups shares its compiled conditions)
    and skips the Allow statements' conditions whenever a Deny holds.

    `explain`, if given, turns each Decision into what `decide` returns (the service's
    explanation), once per remembered Decision rather than on every call.
    """

    __slots__ = (
        "_allow_places", "_allows", "_conditions", "_denies", "_deny_places", "_explain", "_key_pairs",
        "_keys_read", "_remembered", "conditional_effects", "constant", "holds", "key_names",
    )

    def __init__(self, policies: Iterable[tuple[Hashable, CompiledPolicy]], action: str,
                 explain: Callable[[Decision], object] | None = None):
        conditions: dict[int, int] = {}  # id(condition) -> its place in self._conditions
        distinct: list[CompiledCondition] = []
        denies: list[tuple[tuple[Hashable, int], int | None]] = []
        allows: list[tuple[tuple[Hashable, int], int | None]] = []
        key_pairs: dict[tuple[str, str], None] = {}
        for policy_key, policy in policies:
            for statement in policy.statements_for(action):
                place = None
                if statement.condition is not None:
                    place = conditions.get(id(statement.condition))
                    if place is None:
                        place = conditions[id(statement.condition)] = len(distinct)
                        distinct.append(statement.condition)
                    key_pairs.update(dict.fromkeys(statement.key_names.items()))
                (denies if statement.deny else allows).append(((policy_key, statement.index), place))
        self._setup(distinct, denies, allows, key_pairs, explain)

    @classmethod
    def joined(cls, parts: Iterable[ActionTable],
               explain: Callable[[Decision], object] | None = None) -> ActionTable:
        """The table of the parts' policies taken together, in order, without scanning them again.

        Equal to `ActionTable(policies of every part, in order, action)`: statements keep their
        order, a condition shared by two parts is still tested once. Members of the same groups
        are decided by joining each group's table (accounts.who_can) instead of one scan per user.
        """
        table = cls.__new__(cls)
        conditions: dict[int, int] = {}
        distinct: list = []
        denies: list = []
        allows: list = []
        key_pairs: dict = {}
        for part in parts:
            if not part._conditions:  # nothing to renumber
                denies.extend(part._denies)
                allows.extend(part._allows)
                continue
            moved: dict[int, int] = {}
            for old_place, condition in enumerate(part._conditions):
                place = conditions.get(id(condition))
                if place is None:
                    place = conditions[id(condition)] = len(distinct)
                    distinct.append(condition)
                moved[old_place] = place
            denies.extend((item, None if place is None else moved[place]) for item, place in part._denies)
            allows.extend((item, None if place is None else moved[place]) for item, place in part._allows)
            key_pairs.update(dict.fromkeys(part._key_pairs))
        table._setup(distinct, denies, allows, key_pairs, explain)
        return table

    def _setup(self, distinct, denies, allows, key_pairs, explain) -> None:
        """Hold the statements naming the action ((policy key, index), the place of its condition in
        `distinct` or None) and what follows from them once: the conditions to test and in which order,
        the keys read, and the answer when it is constant."""
        self._conditions = tuple(distinct)
        self._denies = tuple(denies)
        self._allows = tuple(allows)
        self._deny_places, self._allow_places = _condition_places(denies, allows)
        self._key_pairs = tuple(key_pairs)
        self._keys_read = tuple(sorted({key for condition in distinct for key in condition.keys}
                                       | {key for key, _ in key_pairs}))
        self._remembered: dict[tuple, object] = {}
        self._explain = explain
        self.key_names = frozenset(name for _, name in key_pairs)
        # Held outright: some Allow without a condition, and no Deny naming the action at all.
        self.holds = not denies and any(place is None for _, place in allows)
        self.conditional_effects = _conditional_effects(denies, allows)
        self.constant = None if distinct else self._explained(_outcome(
            tuple(item for item, _ in denies), tuple(item for item, _ in allows), frozenset()
        ))

    @property
    def names_action(self) -> bool:
        """Whether some statement names the action (else the table adds nothing to a join)."""
        return bool(self._denies or self._allows)

    def decide(self, request: Mapping[str, object]):
        """Decide for a context whose keys are already lower-cased (see `lower_keys`): the Decision,
        or what `explain` made of it."""
        if self.constant is not None:
            return self.constant
        signature = _signature(request, self._keys_read)
        if signature is None:
            return self._explained(self._evaluate(request))
        found = self._remembered.get(signature)
        if found is None:
            found = self._explained(self._evaluate(request))
            if len(self._remembered) >= _MAX_REMEMBERED:  # g:CurrentTime changes every request
                self._remembered.clear()
            self._remembered[signature] = found
        return found

    def _explained(self, decision: Decision):
        return decision if self._explain is None else self._explain(decision)

    def _evaluate(self, request: Mapping[str, object]) -> Decision:
        missing = frozenset(name for key, name in self._key_pairs if request.get(key) is None)
        held = [False] * len(self._conditions)
        for place in self._deny_places:
            held[place] = self._conditions[place](request)
        denies = tuple(item for item, place in self._denies if place is None or held[place])
        if denies:
            return Decision(EXPLICIT_DENY, denies, missing)
        for place in self._allow_places:
            held[place] = self._conditions[place](request)
        allows = tuple(item for item, place in self._allows if place is None or held[place])
        return _outcome((), allows, missing)


def _condition_places(denies, allows) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The conditions to test, by place: the Denies' first, then the Allows' not tested already."""
    deny_places = tuple(dict.fromkeys(place for _, place in denies if place is not None))
    allow_places = tuple(place for place in dict.fromkeys(place for _, place in allows if place is not None)
                         if place not in deny_places)
    return deny_places, allow_places


def _conditional_effects(denies, allows) -> frozenset[str]:
    """Effects whose answer depends on the request: a grid cell says "for some images"."""
    return frozenset(({"Deny"} if any(place is not None for _, place in denies) else set())
                     | ({"Allow"} if any(place is not None for _, place in allows) else set()))


def _signature(request: Mapping[str, object], keys: tuple[str, ...]) -> tuple | None:
    """The values of `keys` in `request` as a key that tells apart every pair of values a condition
    could tell apart (True from 1, one instant's two spellings), or None for values it cannot be sure of."""
    parts = []
    for key in keys:
        value = request.get(key)
        kind = type(value)
        if value is None or kind is str:
            parts.append(value)
        elif kind is bool or kind is int:
            parts.append((kind, value))
        elif kind is datetime:
            parts.append((kind, value.isoformat()))
        elif (kind is list or kind is tuple) and all(type(item) in (str, bool, int) for item in value):
            parts.append((kind, tuple((type(item), item) for item in value)))
        else:
            return None
    return tuple(parts)


def _outcome(denies: tuple, allows: tuple, missing: frozenset[str]) -> Decision:
    if denies:
        return Decision(EXPLICIT_DENY, denies, missing)
    if allows:
        return Decision(ALLOW, allows, missing)
    return Decision(IMPLICIT_DENY, (), missing)
