"""Deciding a request against compiled policies (SPEC section 6).

Documents are compiled once (action patterns to globs, conditions to callables) so a page
that checks every button of every row pays only for dictionary look-ups and a few calls.
Explicit deny wins, then allow, else implicit deny; order and duplicates never matter.

`evaluate` is the plain definition. `ActionTable` decides the same thing faster for a fixed set
of policies and one action: it keeps only the statements naming the action, answers with a ready
Decision when none has a condition, and otherwise reduces the conditions to the keys they read:
each condition is tested once per distinct value of its keys, and the Decision is remembered by
which conditions held and which keys were missing.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter

from .catalogue import lookup_condition_key
from .conditions import CompiledCondition, compile_condition
from .glob import ActionPatterns, action_patterns

ALLOW = "allow"
EXPLICIT_DENY = "explicit_deny"
IMPLICIT_DENY = "implicit_deny"
# How statements' outcomes combine, stated once: an explicit deny wins, then an allow, else the implicit
# deny; their order and repeats never matter. `evaluate` decides so (a property test holds the two
# together), and `strongest` is how anyone combines statements decided one at a time (the impact previews).
OUTCOMES_BY_STRENGTH = (IMPLICIT_DENY, ALLOW, EXPLICIT_DENY)


def strongest(outcomes: Iterable[str]) -> str:
    """The decision of a set of statements from each one's decision alone."""
    return max(outcomes, key=OUTCOMES_BY_STRENGTH.index, default=IMPLICIT_DENY)

_MAX_CACHED_ACTIONS = 1024
_MAX_REMEMBERED = 256  # answers a key group keeps, by the values of its keys (g:CurrentTime changes each request)
_MAX_DECISIONS = 1024  # decisions an ActionTable keeps, by which conditions held and which keys were missing
_UNSURE = object()  # a value whose memo key could confuse it with another that a condition tells apart
_PLACE = object()  # marks a datetime's memo key by its place among a group's instants (_KeyGroup._place)
_TRUE, _FALSE = (bool, True), (bool, False)  # the memo keys of True and False (never those of 1 and 0)
_MAX_VALUES = 4096  # states an ActionTable keeps by the values of all its keys but times (see `decide`)
# Answers a table's request plan keeps: outcomes of the request's conditions (a few: times, addresses,
# MFA), and rows by their values under each (a page's images bring a handful of shapes).
_MAX_OUTCOMES, _MAX_ROWS = 32, 1024
# Values told apart by their value and their exact type: nothing else is remembered by the raw values.
_PLAIN_TYPES = frozenset({type(None), str, bool, int})
_PLAIN = frozenset({type(None), str})  # values ActionTable.for_request remembers by the values alone


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
    has a condition that Decision is `constant`. Otherwise the Decision depends only on which
    distinct conditions hold (a policy granted to several groups shares its compiled conditions)
    and which keys read are missing. The conditions are grouped by the keys they read (`_KeyGroup`):
    each group remembers, by the values of its keys, which of its conditions held and which of its
    keys were missing, as bits; `decide` ORs the groups' bits into one state and remembers the
    Decision by that state. So each condition runs once per distinct value of its keys (a page of
    images brings a handful of tag, OS and platform values, a request one time and one address),
    and a decision costs a dictionary look-up per group of keys, however many statements read them.

    `explain`, if given, turns each Decision into what `decide` returns (the service's
    explanation), once per remembered Decision rather than on every call.
    """

    __slots__ = (
        "_allows", "_by_values", "_conditions", "_decisions", "_denies", "_explain", "_groups", "_key_pairs",
        "_more_keys", "_one_key", "_plans", "_untimed", "_untimed_keys",
        "conditional_effects", "constant", "holds", "key_names",
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
        `distinct` or None) and what follows from them once: the conditions grouped by the keys they read,
        the keys read, and the answer when it is constant."""
        self._conditions = tuple(distinct)
        self._denies = tuple(denies)
        self._allows = tuple(allows)
        self._key_pairs = tuple(key_pairs)
        self._groups = _key_groups(self._conditions, self._key_pairs)
        self._untimed, self._one_key, self._more_keys = _split(self._groups)
        self._plans: dict[Callable[[str], bool], _RequestPlan] = {}  # by the `varies` of for_request
        self._untimed_keys = tuple(sorted({key for group in self._untimed for key in group.keys}))
        self._by_values: dict[tuple, int] = {}
        self._decisions: dict[int, object] = {}
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
        # The groups of keys other than times, at once: their bits remembered by the keys' values and
        # exact types (True is not 1); a list cannot be a memo key, so it is decided group by group.
        values = tuple(map(request.get, self._untimed_keys))
        try:
            state = self._by_values.get((values, tuple(map(type, values))))
        except TypeError:
            state = None
        if state is None:
            state = self._untimed_bits(request, values)
        for key, memo, group in self._one_key:  # the times (the request's, seen by every row): bits inlined
            value = request.get(key)
            kind = type(value)
            if value is None or kind is str:
                found = memo.get(value)
            elif kind is bool:
                found = memo.get(_TRUE if value else _FALSE)
            else:
                instant = group.instant  # read once: another thread may replace it
                found = memo.get(instant[1]) if value is instant[0] else None  # the request's time, seen before
            state |= group.bits(request) if found is None else found
        for group in self._more_keys:
            state |= group.bits(request)
        found = self._decisions.get(state)
        return self._answer(state) if found is None else found

    def for_request(self, fixed: Mapping[str, object],
                    varies: Callable[[str], bool]) -> Callable[[Mapping[str, object]], object]:
        """A decider of the contexts `{**fixed, **varying}` for `varying`s (lower-cased keys) whose keys
        all satisfy `varies`: what `decide` answers for that context, found by one look-up.

        One request decides every row of a page: `fixed` is the request's context (its time, address,
        MFA, project), `varying` a row's keys (an image's tags, OS, platform), best a `RowKeys`. The
        conditions reading none of the keys that vary are decided here, once; a row's answer is then
        remembered by their outcome and the row's values of the keys the other conditions read, in
        memos kept with the table across requests. So a row whose values were seen before, in this
        request or an earlier one, costs one read of those keys and one look-up.

        Only values that are None or exactly a text are remembered; a caller must not pass a value
        that equals a text without being one (a str subclass may read differently): ask `decide`.
        """
        found = self.rows_for_request(fixed, varies)
        if found.__class__ is RowDecider:
            return found
        return lambda varying: found

    def rows_for_request(self, fixed: Mapping[str, object], varies: Callable[[str], bool]):
        """`for_request`, answered ahead when no row can change it: the answer itself (what `decide`
        answers for `{**fixed, **varying}` whatever `varying`'s keys that vary), else a `RowDecider`,
        which a caller deciding many rows may read without a call per row."""
        if self.constant is not None:
            return self.constant
        plan = self._plans.get(varies)
        if plan is None:
            plan = self._plans[varies] = _RequestPlan(self._groups, varies)
        return plan.bind(self, fixed)

    def _answer(self, state: int):
        """The Decision (or its explanation) for `state`, remembered."""
        found = self._decisions.get(state)
        if found is None:
            found = self._explained(self._decision(state))
            if len(self._decisions) >= _MAX_DECISIONS:
                self._decisions.clear()
            self._decisions[state] = found
        return found

    def _untimed_bits(self, request: Mapping[str, object], values: tuple) -> int:
        """The OR of the bits of the groups reading no time, remembered by `values` (the request's
        values of their keys) when each is None, a text, a bool or an int."""
        state = 0
        for group in self._untimed:
            state |= group.bits(request)
        types = tuple(map(type, values))
        if _PLAIN_TYPES.issuperset(types):
            if len(self._by_values) >= _MAX_VALUES:
                self._by_values.clear()
            self._by_values[(values, types)] = state
        return state

    def _explained(self, decision: Decision):
        return decision if self._explain is None else self._explain(decision)

    def _decision(self, state: int) -> Decision:
        """The Decision when the conditions whose bit is set in `state` hold (bit = place) and the
        keys of the pairs whose bit is set are missing (bit = number of conditions + pair index)."""
        offset = len(self._conditions)
        missing = frozenset(name for index, (_, name) in enumerate(self._key_pairs) if state >> (offset + index) & 1)
        denies = tuple(item for item, place in self._denies if place is None or state >> place & 1)
        if denies:
            return Decision(EXPLICIT_DENY, denies, missing)
        allows = tuple(item for item, place in self._allows if place is None or state >> place & 1)
        return _outcome((), allows, missing)


class _KeyGroup:
    """The conditions of a table that read the same keys, and the key pairs whose absence they report.

    `bits(request)` is the OR of the bits of those conditions that hold and of those pairs whose key
    is missing, remembered by the values of the keys (one key: its value; several: a tuple of them).
    The memo key tells apart every pair of values a condition could tell apart (True from 1, one
    instant's two spellings); values it cannot be sure of (floats, sets, other types) are tested
    every time.

    A group of one key whose conditions only compare dates (or test presence) remembers a datetime by
    its place among the instants they list (`_PLACE`, index and whether it is one of them): every
    request brings a new time, but the same answers until the time passes a listed instant.
    """

    __slots__ = ("conditions", "instant", "instants", "key", "keys", "listed", "memo", "missing")

    def __init__(self, keys: tuple[str, ...], conditions: tuple, missing: tuple):
        self.keys = keys
        self.key = keys[0] if len(keys) == 1 else None
        self.conditions = conditions  # (condition, its bit)
        self.missing = missing  # (lower-cased key, its bit)
        self.memo: dict[object, int] = {}
        self.instant = (_UNSURE, None)  # the last datetime seen and its memo key (a request's time is one object)
        self.instants: tuple[datetime, ...] | None = None  # sorted, when a datetime is remembered by its place
        if self.key is not None and conditions and all(c.instants is not None for c, _ in conditions):
            self.instants = tuple(sorted({instant for c, _ in conditions for instant in c.instants}))
        self.listed = frozenset(self.instants or ())

    def bits(self, request: Mapping[str, object]) -> int:
        if self.key is not None:
            signature = self._signature(request.get(self.key))
        else:
            signature = tuple(map(request.get, self.keys))
            for value in signature:
                if value is not None and type(value) is not str:  # else a text or none is its own memo key
                    signature = tuple(map(self._signature, signature))
                    if _UNSURE in signature:
                        signature = _UNSURE
                    break
        if signature is _UNSURE:
            return self._test(request, signature)
        found = self.memo.get(signature)
        if found is None:
            placed = type(signature) is tuple and signature[0] is _PLACE  # not a condition's own memo key
            found = self._test(request, _UNSURE if placed else signature)
            if len(self.memo) >= _MAX_REMEMBERED:
                self.memo.clear()
            self.memo[signature] = found
        return found

    def _test(self, request: Mapping[str, object], signature: object) -> int:
        """The bits for `request`, whose values of this group's keys have the memo key `signature`
        (_UNSURE: test every condition). A condition reads exactly this group's keys, so it
        remembers its answer by the same memo key, shared with every other table it is in (not a
        datetime's place: that is a place among this group's instants)."""
        found = 0
        for condition, bit in self.conditions:
            if signature is _UNSURE:
                held = condition(request)
            else:
                held = condition.memo.get(signature)
                if held is None:
                    held = condition(request)
                    if len(condition.memo) >= _MAX_REMEMBERED:
                        condition.memo.clear()
                    condition.memo[signature] = held
            if held:
                found |= bit
        for key, bit in self.missing:
            if request.get(key) is None:
                found |= bit
        return found

    def _signature(self, value: object) -> object:
        kind = type(value)
        if value is None or kind is str:
            return value
        if kind is bool:
            return _TRUE if value else _FALSE
        if kind is int:
            return (kind, value)
        if kind is datetime:
            last, signature = self.instant
            if value is not last:  # immutable: the same object has the same spelling and place
                signature = (kind, value.isoformat()) if self.instants is None else self._place(value)
                self.instant = (value, signature)
            return signature
        if (kind is list or kind is tuple) and all(type(item) in (str, bool, int) for item in value):
            return (kind, tuple((type(item), item) for item in value))
        return _UNSURE


    def _place(self, value: datetime) -> tuple:
        """A datetime's memo key in a group whose conditions only compare it with `instants`: how many
        are before it and whether it is one of them. Two times with the same place compare alike
        with every listed instant, so every condition of the group answers alike."""
        # As the date operators read a request's time (parse_date): without an offset, in UTC.
        instant = value if value.utcoffset() is not None else value.replace(tzinfo=UTC)
        return (_PLACE, bisect_left(self.instants, instant), instant in self.listed)


class RowKeys(dict):
    """A row's keys for ActionTable.for_request: a key it lacks reads None (as conditions read an absent
    key), so a decider reads all the keys it needs at once."""

    __slots__ = ()

    def __missing__(self, key):
        return None


class _RequestPlan:
    """How a table decides rows of one request (ActionTable.for_request), for one `varies`: its key
    groups split into those reading no key that varies (decided once per request) and the others,
    whose keys a row's memo key holds; the memos of answers, one per outcome of the first, are shared
    by every request."""

    __slots__ = ("answers", "fixed_groups", "fixed_keys", "read", "single", "varying_groups", "varying_keys",
                 "varying_set")

    def __init__(self, groups: tuple[_KeyGroup, ...], varies: Callable[[str], bool]):
        self.varying_groups = tuple(group for group in groups if any(map(varies, group.keys)))
        self.fixed_groups = tuple(group for group in groups if group not in self.varying_groups)
        read = sorted({key for group in self.varying_groups for key in group.keys})
        self.varying_keys = tuple(key for key in read if varies(key))
        self.varying_set = frozenset(self.varying_keys)
        self.fixed_keys = tuple(key for key in read if not varies(key))  # read beside a key that varies
        self.read = _reader(self.varying_keys) if self.varying_keys else None
        self.single = len(self.varying_keys) == 1  # `read` answers the value itself, not a tuple
        self.answers: dict[tuple, dict] = {}  # (fixed outcome) -> {row values -> answer}

    def bind(self, table: ActionTable, fixed: Mapping[str, object]):
        """The answer for every row when no condition reads a key that varies, else a RowDecider."""
        state = 0
        for group in self.fixed_groups:
            state |= group.bits(fixed)
        if not self.varying_groups:
            return table._answer(state)
        beside = tuple(map(fixed.get, self.fixed_keys)) if self.fixed_keys else ()
        if not self.varying_set.isdisjoint(fixed) or (beside and not _PLAIN.issuperset(map(type, beside))):
            # A row without a key would read the request's value, or a value cannot be remembered: in full.
            return RowDecider(self, table, fixed, state, _NEVER_REMEMBERED)
        outcome = (state, beside) if beside else state
        answers = self.answers.get(outcome)
        if answers is None:
            if len(self.answers) >= _MAX_OUTCOMES:
                self.answers.clear()
            answers = self.answers[outcome] = {}
        return RowDecider(self, table, fixed, state, answers)

    def _miss(self, table: ActionTable, fixed, varying, state: int, answers: dict, key):
        """A row not remembered: its conditions decided (each group by its own memo), the answer kept
        when every value read is None or a text."""
        if answers is _NEVER_REMEMBERED:
            return table.decide({**fixed, **varying})
        request = {**fixed, **varying}
        for group in self.varying_groups:
            state |= group.bits(request)
        found = table._answer(state)
        if key is not None and _PLAIN.issuperset(map(type, (key,) if self.single else key)):
            if len(answers) >= _MAX_ROWS:
                answers.clear()
            answers[key] = found
        return found


_READERS: dict[tuple[str, ...], itemgetter] = {}  # one reader per tuple of keys: see RowDecider.read


def _reader(keys: tuple[str, ...]) -> itemgetter:
    """The reader of `keys`, the same object for every plan reading the same keys: a caller deciding
    several actions of one row may read its values once for all the deciders sharing their reader."""
    found = _READERS.get(keys)
    if found is None:
        found = itemgetter(*keys)
        if len(_READERS) < _MAX_CACHED_ACTIONS:
            _READERS[keys] = found
    return found


_NEVER_REMEMBERED: dict = {}  # the answers of a RowDecider that decides every row in full (never written)


class RowDecider:
    """One request's decider of rows (ActionTable.for_request): called with a row's keys, its answer.

    A caller deciding many rows may look the answer up itself, without a call: `answers.get(read(row))`
    is the answer of a row remembered before (None if not), for a `RowKeys` row whose values are each
    None or exactly a text; then `miss(row, key)` decides a row not remembered (`key`: what `read`
    answered), and `in_full(row)` any other row. Deciders reading the same keys share their `read`
    (one object), so a row's values read for one serve the others.
    """

    __slots__ = ("_fixed", "_plan", "_state", "_table", "answers", "read")

    def __init__(self, plan: _RequestPlan, table: ActionTable, fixed: Mapping[str, object], state: int,
                 answers: dict):
        self._plan, self._table, self._fixed, self._state = plan, table, fixed, state
        self.read, self.answers = plan.read, answers

    def __call__(self, varying: Mapping[str, object]):
        try:
            key = self.read(varying)
            found = self.answers.get(key)
        except (KeyError, TypeError):  # a key a plain dict lacks; a list
            key = found = None
        return self.miss(varying, key) if found is None else found

    def miss(self, varying: Mapping[str, object], key):
        return self._plan._miss(self._table, self._fixed, varying, self._state, self.answers, key)

    def in_full(self, varying: Mapping[str, object]):
        return self._table.decide({**self._fixed, **varying})


def _split(groups: tuple[_KeyGroup, ...]) -> tuple[tuple, tuple, tuple]:
    """The groups reading no time; those reading one time, with their key and memo; the others."""
    timed = [group for group in groups if any(_is_date_key(key) for key in group.keys)]
    return (tuple(group for group in groups if group not in timed),
            tuple((group.key, group.memo, group) for group in timed if group.key is not None),
            tuple(group for group in timed if group.key is None))


def _is_date_key(key: str) -> bool:
    """Whether `key` is declared a date (g:CurrentTime): its values are times, one object per request."""
    declared = lookup_condition_key(key)
    return declared is not None and declared.type == "date"


def _key_groups(conditions: tuple[CompiledCondition, ...], key_pairs: tuple[tuple[str, str], ...]):
    """The table's conditions grouped by the keys they read; each key pair (lower-cased key, name)
    reported missing by the first group reading its key, or by a group of its own."""
    by_keys: dict[tuple[str, ...], list] = {}
    for place, condition in enumerate(conditions):
        by_keys.setdefault(tuple(sorted(condition.keys)), []).append((condition, 1 << place))
    missing: dict[tuple[str, ...], list] = {keys: [] for keys in by_keys}
    for index, (key, _) in enumerate(key_pairs):
        keys = next((keys for keys in by_keys if key in keys), (key,))
        missing.setdefault(keys, []).append((key, 1 << (len(conditions) + index)))
    return tuple(_KeyGroup(keys, tuple(by_keys.get(keys, ())), tuple(found)) for keys, found in missing.items())


def _conditional_effects(denies, allows) -> frozenset[str]:
    """Effects whose answer depends on the request: a grid cell says "for some images"."""
    return frozenset(({"Deny"} if any(place is not None for _, place in denies) else set())
                     | ({"Allow"} if any(place is not None for _, place in allows) else set()))


def _outcome(denies: tuple, allows: tuple, missing: frozenset[str]) -> Decision:
    if denies:
        return Decision(EXPLICIT_DENY, denies, missing)
    if allows:
        return Decision(ALLOW, allows, missing)
    return Decision(IMPLICIT_DENY, (), missing)
