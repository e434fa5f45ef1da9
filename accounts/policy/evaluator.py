"""Deciding a request against compiled policies (SPEC section 6).

Documents are compiled once (action patterns to globs, conditions to callables) so a page
that checks every button of every row pays only for dictionary look-ups and a few calls.
Explicit deny wins, then allow, else implicit deny; order and duplicates never matter.
"""

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

from .catalogue import lookup_condition_key
from .conditions import CompiledCondition, compile_condition
from .glob import ActionPatterns, action_patterns

ALLOW = "allow"
EXPLICIT_DENY = "explicit_deny"
IMPLICIT_DENY = "implicit_deny"

_MAX_CACHED_ACTIONS = 1024


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
    compiled = []
    for index, statement in enumerate(statements):
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
        condition = compile_condition(block) if block else None
        key_names = {}
        for entries in (block or {}).values():
            for key in entries:
                declared = lookup_condition_key(key)
                key_names[key.lower()] = declared.name if declared else key
        compiled.append(
            CompiledStatement(
                index=index,
                deny=statement["Effect"] == "Deny",
                actions=action_patterns(tuple(sorted({a.lower() for a in actions}))),
                condition=condition,
                key_names=key_names,
            )
        )
    return CompiledPolicy(tuple(compiled))


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
    request = {str(key).lower(): value for key, value in (context or {}).items()}
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
