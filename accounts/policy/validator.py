"""Checking a policy document and saying, with a location, what is wrong with it (SPEC 5.1).

Findings come in three tiers: errors block saving, warnings flag what is probably not what
was meant, suggestions are style. Any text or JSON value yields findings, never an exception,
because the editor shows whatever the user typed.
"""

import difflib
import json
import re
from dataclasses import asdict, dataclass
from functools import lru_cache

from .catalogue import (
    ACTION_NAMES,
    ACTIONS,
    CONDITION_KEYS,
    IMAGE_KEY_ACTIONS,
    SERVICES,
    lookup_condition_key,
)
from .conditions import (
    BASE_OPERATORS,
    FAMILY_KEY_TYPES,
    IF_EXISTS,
    PREFIXES,
    Operator,
    parse_bool,
    parse_date,
    parse_network,
    parse_number,
    parse_operator,
)
from .glob import ActionPatterns
from .locate import Located, LocateError, Path, parse
from .messages import Message, gettext_noop

ERROR = "error"
WARNING = "warning"
SUGGESTION = "suggestion"
MAX_COMPACT_LENGTH = 6144
# The typed text, whitespace and all, is read only up to this length: any policy within the
# compact limit fits many times over, and reading megabytes of JSON would cost seconds.
MAX_TEXT_LENGTH = 64 * 1024

_PATTERN = re.compile(r"[A-Za-z0-9*]+:[A-Za-z0-9*]+:[A-Za-z0-9*]+")
_PLAIN_PATH_KEY = re.compile(r"[A-Za-z0-9_:/-]+")
_STATEMENT_KEYS = ("Effect", "Action", "Condition")
_CANONICAL_ACTION = {name.lower(): name for name in ACTION_NAMES}
_NAMES_BY_SERVICE: dict[str, list[str]] = {}
for _action in ACTIONS:
    _NAMES_BY_SERVICE.setdefault(_action.service, []).append(_action.name)
_OPERATOR_NAMES = sorted(
    prefix + base + suffix
    for base in BASE_OPERATORS
    for prefix in ("", *PREFIXES)
    for suffix in ("", IF_EXISTS)
    if parse_operator(prefix + base + suffix)
)


@dataclass(frozen=True)
class Finding:
    """One problem: its tier, where it is (path, and 1-based line/column) and what it is."""

    tier: str  # "error" | "warning" | "suggestion"
    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ValidationResult:
    """The parsed document (None if the text is not JSON) and its findings, by position."""

    document: object
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.tier == ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.tier == WARNING)

    @property
    def suggestions(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.tier == SUGGESTION)

    @property
    def ok(self) -> bool:
        """Whether the document may be saved (it has no errors)."""
        return not self.errors


@lru_cache(maxsize=1024)
def expand_pattern(pattern: str) -> frozenset[str]:
    """The catalogued action names an action pattern matches (any case); empty if malformed."""
    if not _PATTERN.fullmatch(pattern):
        return frozenset()
    matcher = ActionPatterns((pattern,))
    service = pattern.split(":", 1)[0].lower()
    candidates = ACTION_NAMES if "*" in service else _NAMES_BY_SERVICE.get(service, ())
    return frozenset(name for name in candidates if matcher.matches(name))


def validate_text(text: str, *, system: bool = False) -> ValidationResult:
    """Validate policy JSON as typed in the editor; `system` also admits Version "1.0" roles
    and documents mixing global and project-level services."""
    if not isinstance(text, str):
        return ValidationResult(None, (Finding(ERROR, "", Message(gettext_noop("The policy must be JSON text"))),))
    if len(text) > MAX_TEXT_LENGTH:
        message = Message(gettext_noop("The policy text is %(length)s characters long, too long to read: a policy "
                                       "has at most %(limit)s characters as compact JSON"),
                          length=len(text), limit=MAX_COMPACT_LENGTH)
        return ValidationResult(None, (Finding(ERROR, "", message),))
    try:
        located = parse(text)
    except LocateError as error:
        finding = Finding(ERROR, "", Message(gettext_noop("Not valid JSON: %(problem)s"), problem=error.message),
                          error.line, error.column)
        return ValidationResult(None, (finding,))
    return ValidationResult(located.value, _Checker(located, system).run())


def validate_document(document: object, *, system: bool = False) -> ValidationResult:
    """Validate an already-parsed document; positions refer to `json.dumps(document, indent=2)`."""
    try:
        text = json.dumps(document, indent=2, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError) as error:
        message = Message(gettext_noop("The document cannot be written as JSON: %(error)s"), error=str(error))
        return ValidationResult(None, (Finding(ERROR, "", message),))
    return validate_text(text, system=system)


def format_path(path: Path) -> str:
    """("Statement", 1, "Condition") -> "Statement[1].Condition"."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_PATH_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part, ensure_ascii=False)}]"
    return text


def _show(value: object) -> str:
    shown = json.dumps(value, ensure_ascii=False)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _did_you_mean(word: str, choices: list[str]) -> str | None:
    """The choice closest to `word`, as the catalogue spells it, or None when none is close."""
    by_lower = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.75)
    return by_lower[close[0]] if close else None


def _canonical_pattern(pattern: str) -> str:
    """How the catalogue spells a pattern: a full action name as listed, a service in lower case."""
    if pattern.lower() in _CANONICAL_ACTION:
        return _CANONICAL_ACTION[pattern.lower()]
    service, rest = pattern.split(":", 1)
    return f"{service.lower()}:{rest}"


def _resource_groups() -> dict[str, frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for action in ACTIONS:
        groups.setdefault(f"{action.service}:{action.resource_type}", set()).add(action.name)
    return {prefix: frozenset(names) for prefix, names in groups.items() if len(names) > 1}


_RESOURCE_GROUPS = _resource_groups()


@dataclass
class _Pattern:
    """A well-formed action pattern of a known service, as found in a statement."""

    path: Path
    text: str
    service: str
    actions: frozenset[str]  # the catalogued actions it matches


@dataclass
class _Statement:
    index: int
    effect: str | None = None
    patterns: list[_Pattern] | None = None  # None when Action itself is malformed
    condition: object = None


class _Checker:
    def __init__(self, located: Located, system: bool):
        self.located = located
        self.system = system
        self.findings: list[Finding] = []

    def add(self, tier: str, path: Path, message: str, *, at_key: bool = False):
        position = self.located.keys.get(path) if at_key else None
        probe = path
        while position is None and probe:
            position = self.located.values.get(probe)
            probe = probe[:-1]
        position = position or self.located.values.get(())
        line, column = position if position else (None, None)
        self.findings.append(Finding(tier, format_path(path), message, line, column))

    def run(self) -> tuple[Finding, ...]:
        for path, (line, column) in self.located.duplicate_keys:
            where = format_path(path[:-1])
            if where:
                message = Message(gettext_noop('"%(key)s" is written twice in %(path)s; only the last one would count'),
                                  key=path[-1], path=where)
            else:
                message = Message(gettext_noop('"%(key)s" is written twice in the document; only the last one would '
                                               'count'), key=path[-1])
            self.findings.append(Finding(ERROR, format_path(path), message, line, column))
        document = self.located.value
        if isinstance(document, dict):
            self.check_document(document)
        else:
            self.add(ERROR, (), Message(gettext_noop('A policy must be a JSON object with "Version" and "Statement"')))
        order = {ERROR: 0, WARNING: 1, SUGGESTION: 2}
        return tuple(
            sorted(
                self.findings,
                key=lambda f: (f.line is None, f.line or 0, f.column or 0, order[f.tier]),
            )
        )

    def unknown_key(self, path: Path, allowed: tuple[str, ...], in_statement: bool):
        key = path[-1]
        same = [name for name in allowed if name.lower() == key.lower()]
        if same:
            template = (gettext_noop('Unknown key "%(key)s" in a statement; keys are case-sensitive: write "%(name)s"')
                        if in_statement else
                        gettext_noop('Unknown key "%(key)s" in the policy; keys are case-sensitive: write "%(name)s"'))
            message = Message(template, key=key, name=same[0])
        elif in_statement:
            message = Message(gettext_noop('Unknown key "%(key)s" in a statement; a statement may only have "Effect", '
                                           '"Action" and "Condition"'), key=key)
        else:
            message = Message(gettext_noop('Unknown key "%(key)s" in the policy; the policy may only have "Version" '
                                           'and "Statement"'), key=key)
        self.add(ERROR, path, message, at_key=True)

    def check_document(self, document: dict):
        compact = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
        if len(compact) > MAX_COMPACT_LENGTH:
            self.add(
                ERROR,
                (),
                Message(gettext_noop("The policy is %(length)s characters long as compact JSON; the limit is "
                                     "%(limit)s"), length=len(compact), limit=MAX_COMPACT_LENGTH),
            )
        for key in document:
            if key not in ("Version", "Statement"):
                self.unknown_key((key,), ("Version", "Statement"), in_statement=False)
        self.check_version(document)
        if "Statement" not in document:
            self.add(ERROR, (), Message(gettext_noop('The policy needs a "Statement" list')))
            return
        statements = document["Statement"]
        if isinstance(statements, dict):
            self.add(ERROR, ("Statement",),
                     Message(gettext_noop("Statement must be a list: wrap the statement in [ ]")))
            return
        if not isinstance(statements, list):
            self.add(ERROR, ("Statement",), Message(gettext_noop("Statement must be a list of statements")))
            return
        if not statements:
            self.add(ERROR, ("Statement",), Message(gettext_noop("Statement must contain at least one statement")))
            return
        checked = [self.check_statement(index, item) for index, item in enumerate(statements)]
        checked = [statement for statement in checked if statement is not None]
        if not self.system:
            self.check_service_mix(checked)
        self.check_duplicates(checked)
        self.check_unneeded_denies(checked)

    def check_version(self, document: dict):
        allowed = ("1.1", "1.0") if self.system else ("1.1",)
        if "Version" not in document:
            self.add(ERROR, (), Message(gettext_noop('The policy needs "Version": "1.1"')))
        elif document["Version"] not in allowed:
            template = (gettext_noop('Version must be "1.1" (or "1.0" for a system role), not %(value)s') if self.system
                        else gettext_noop('Version must be "1.1", not %(value)s'))
            self.add(ERROR, ("Version",), Message(template, value=_show(document["Version"])))

    def check_statement(self, index: int, item: object) -> _Statement | None:
        path: Path = ("Statement", index)
        if not isinstance(item, dict):
            self.add(ERROR, path, Message(gettext_noop('Each statement must be an object with "Effect" and "Action"')))
            return None
        statement = _Statement(index)
        for key in item:
            if key == "Resource":
                self.add(
                    ERROR,
                    (*path, key),
                    Message(gettext_noop('Resource is not supported: IMS and IAM have no resource paths, so a '
                                         'statement covers every resource of its actions; remove "Resource"')),
                    at_key=True,
                )
            elif key not in _STATEMENT_KEYS:
                self.unknown_key((*path, key), _STATEMENT_KEYS, in_statement=True)
        if "Effect" not in item:
            self.add(ERROR, path, Message(gettext_noop('The statement needs "Effect": "Allow" or "Deny"')))
        elif item["Effect"] in ("Allow", "Deny"):
            statement.effect = item["Effect"]
        else:
            self.add(
                ERROR,
                (*path, "Effect"),
                Message(gettext_noop('Effect must be "Allow" or "Deny" (exact case), not %(value)s'),
                        value=_show(item["Effect"])),
            )
        if "Action" not in item:
            self.add(ERROR, path, Message(gettext_noop('The statement needs an "Action" list')))
        else:
            statement.patterns = self.check_actions((*path, "Action"), item["Action"])
        if "Condition" in item:
            statement.condition = item["Condition"]
            self.check_condition((*path, "Condition"), item["Condition"], statement.patterns)
        return statement

    def check_actions(self, path: Path, actions: object) -> list[_Pattern] | None:
        if isinstance(actions, str):
            self.add(
                ERROR,
                path,
                Message(gettext_noop("Action must be a list of action patterns, not a single string: write "
                                     "[%(value)s]"), value=_show(actions)),
            )
            return None
        if not isinstance(actions, list):
            self.add(ERROR, path, Message(gettext_noop('Action must be a list of action patterns such as '
                                                       '["ims:images:get"]')))
            return None
        if not actions:
            self.add(ERROR, path, Message(gettext_noop("Action must list at least one action pattern")))
            return None
        patterns = []
        for index, text in enumerate(actions):
            pattern = self.check_pattern((*path, index), text)
            if pattern is not None:
                patterns.append(pattern)
        self.suggest_shorter_actions(patterns)
        return patterns

    def check_pattern(self, path: Path, text: object) -> _Pattern | None:
        if not isinstance(text, str):
            self.add(ERROR, path, Message(gettext_noop("An action pattern must be a string, not %(value)s"),
                                          value=_show(text)))
            return None
        segments = text.split(":")
        if len(segments) != 3 or not all(segments):
            self.add(
                ERROR,
                path,
                Message(gettext_noop("Action %(value)s must have three non-empty parts: "
                                     "service:resourceType:operation"), value=_show(text)),
            )
            return None
        if not _PATTERN.fullmatch(text):
            self.add(ERROR, path, Message(gettext_noop('Action %(value)s may contain only letters, digits and "*" in '
                                                       'each part'), value=_show(text)))
            return None
        service_name = segments[0].lower()
        if "*" in service_name:
            self.add(ERROR, path, Message(gettext_noop("The service of %(value)s must be written out, not a wildcard"),
                                          value=_show(text)))
            return None
        service = SERVICES.get(service_name)
        if service is None:
            suggestion = _did_you_mean(service_name, list(SERVICES))
            if suggestion:
                message = Message(gettext_noop('Unknown service "%(service)s" in %(value)s; did you mean '
                                               '"%(suggestion)s"?'),
                                  service=segments[0], value=_show(text), suggestion=suggestion)
            else:
                message = Message(gettext_noop('Unknown service "%(service)s" in %(value)s; known services: %(known)s'),
                                  service=segments[0], value=_show(text), known=", ".join(sorted(SERVICES)))
            self.add(ERROR, path, message)
            return None
        actions = expand_pattern(text)
        if service.has_catalogue and not actions:
            catalogue = [name for name in ACTION_NAMES if name.startswith(service.name + ":")]
            suggestion = _did_you_mean(text, catalogue)
            if suggestion:
                message = Message(gettext_noop('Action %(value)s matches no %(service)s action; did you mean '
                                               '"%(suggestion)s"?'),
                                  value=_show(text), service=service.name.upper(), suggestion=suggestion)
            else:
                message = Message(gettext_noop("Action %(value)s matches no %(service)s action"),
                                  value=_show(text), service=service.name.upper())
            self.add(ERROR, path, message)
            return None
        canonical = _canonical_pattern(text)
        if canonical != text:
            self.add(SUGGESTION, path, Message(gettext_noop('Write %(value)s as the catalogue spells it: '
                                                            '"%(canonical)s"'),
                                               value=_show(text), canonical=canonical))
        return _Pattern(path, text, service.name, actions)

    def suggest_shorter_actions(self, patterns: list[_Pattern]):
        for pattern, cover in zip(patterns, _first_covers(patterns), strict=True):
            if cover is not None:
                self.add(
                    SUGGESTION,
                    pattern.path,
                    Message(gettext_noop("%(value)s is already covered by %(cover)s in this statement"),
                            value=_show(pattern.text), cover=_show(patterns[cover].text)),
                )
        literal = {p.text.lower(): p for p in patterns if "*" not in p.text}
        named = {_CANONICAL_ACTION[name] for name in literal if name in _CANONICAL_ACTION}
        for prefix, group in _RESOURCE_GROUPS.items():
            if group <= named:
                first = min((literal[name.lower()] for name in group), key=lambda p: p.path[-1])
                self.add(
                    SUGGESTION,
                    first.path,
                    Message(gettext_noop('This statement lists every %(prefix)s action one by one; "%(prefix)s:*" '
                                         'says the same'), prefix=prefix),
                )

    def check_condition(self, path: Path, block: object, patterns: list[_Pattern] | None):
        if not isinstance(block, dict):
            self.add(ERROR, path, Message(gettext_noop('Condition must be an object such as '
                                                       '{"StringEquals": {"key": ["value"]}}')))
            return
        if not block:
            self.add(ERROR, path, Message(gettext_noop("Condition must name at least one operator; remove it if there "
                                                       "is none")))
            return
        no_image_action = bool(patterns) and not any(p.actions & IMAGE_KEY_ACTIONS for p in patterns)
        for name, entries in block.items():
            operator = parse_operator(name)
            if operator is None:
                self.add(ERROR, (*path, name), _unknown_operator(name), at_key=True)
                continue
            if not isinstance(entries, dict) or not entries:
                self.add(
                    ERROR,
                    (*path, name),
                    Message(gettext_noop("%(operator)s must map at least one condition key to its values"),
                            operator=name),
                )
                continue
            for key, listed in entries.items():
                self.check_condition_entry((*path, name, key), operator, key, listed, no_image_action)

    def check_condition_entry(
        self,
        path: Path,
        operator: Operator,
        key: str,
        listed: object,
        no_image_action: bool,
    ):
        declared = lookup_condition_key(key)
        if declared is None:
            suggestion = _did_you_mean(key, [known.name for known in CONDITION_KEYS])
            message = (Message(gettext_noop('Unknown condition key "%(key)s"; did you mean "%(suggestion)s"?'),
                               key=key, suggestion=suggestion) if suggestion
                       else Message(gettext_noop('Unknown condition key "%(key)s"'), key=key))
            self.add(ERROR, path, message, at_key=True)
            return
        if declared.type not in FAMILY_KEY_TYPES[operator.family]:
            self.add(
                ERROR,
                path,
                Message(gettext_noop('%(operator)s compares %(family)s values, but "%(key)s" is a %(type)s key'),
                        operator=operator.name, family=operator.family, key=declared.name, type=declared.type),
                at_key=True,
            )
            return
        if isinstance(listed, list):
            values = [((*path, index), value) for index, value in enumerate(listed)]
            if not values:
                self.add(ERROR, path, Message(gettext_noop('List at least one value for "%(key)s"'), key=declared.name))
        else:
            values = [(path, listed)]
        for value_path, value in values:
            problem = _value_problem(operator, value)
            if problem:
                self.add(ERROR, value_path, problem)
        if declared.per_image and no_image_action:
            self.add(
                WARNING,
                path,
                Message(gettext_noop('"%(key)s" is supplied only for actions on one image, and none of this '
                                     "statement's actions is one, so the key will always be missing"),
                        key=declared.name),
                at_key=True,
            )

    def check_service_mix(self, statements: list[_Statement]):
        patterns = [p for s in statements for p in s.patterns or ()]
        kinds = {SERVICES[p.service].is_global for p in patterns}
        if len(kinds) < 2:
            return
        first_kind = SERVICES[patterns[0].service].is_global
        offending = next(p for p in patterns if SERVICES[p.service].is_global != first_kind)
        global_services = sorted({p.service for p in patterns if SERVICES[p.service].is_global})
        project_services = sorted({p.service for p in patterns if not SERVICES[p.service].is_global})
        self.add(
            ERROR,
            offending.path,
            Message(gettext_noop("A custom policy cannot mix global services (%(global)s) with project-level services "
                                 "(%(project)s): they are granted in different scopes; split it into two policies"),
                    **{"global": ", ".join(global_services), "project": ", ".join(project_services)}),
        )

    def check_duplicates(self, statements: list[_Statement]):
        seen: dict[tuple, int] = {}
        for statement in statements:
            if statement.effect is None or not statement.patterns:
                continue
            signature = (
                statement.effect,
                frozenset(p.text.lower() for p in statement.patterns),
                json.dumps(statement.condition, sort_keys=True),
            )
            if signature in seen:
                self.add(
                    WARNING,
                    ("Statement", statement.index),
                    Message(gettext_noop("This statement repeats Statement[%(index)s]; the copy changes nothing"),
                            index=seen[signature]),
                )
            else:
                seen[signature] = statement.index

    def check_unneeded_denies(self, statements: list[_Statement]):
        allows = [p for s in statements if s.effect == "Allow" for p in s.patterns or ()]
        if not allows:
            return  # a Deny-only policy is a guardrail over other policies, which is its point
        allowed: dict[str, frozenset[str]] = {}  # per service, every action some Allow matches
        for allow in allows:
            allowed[allow.service] = allowed.get(allow.service, frozenset()) | allow.actions
        for statement in statements:
            if statement.effect != "Deny" or not statement.patterns:
                continue
            if not any(_overlaps(deny, allowed) for deny in statement.patterns):
                self.add(
                    WARNING,
                    ("Statement", statement.index, "Effect"),
                    Message(gettext_noop("This Deny overlaps no Allow of this policy, so it only matters together "
                                         "with another policy that allows these actions")),
                )


def _overlaps(deny: _Pattern, allowed: dict[str, frozenset[str]]) -> bool:
    """Whether a Deny pattern may overlap an Allow, given the actions Allows match per service."""
    if deny.service not in allowed:
        return False
    if SERVICES[deny.service].has_catalogue:
        return bool(deny.actions & allowed[deny.service])
    return True  # no catalogue to compare against: assume they may overlap


def _first_covers(patterns: list[_Pattern]) -> list[int | None]:
    """For each pattern of a statement, the index of the first other one that covers it, or None.

    A pattern of a catalogued service is covered by one matching every action it matches: more
    actions, or the same ones written earlier. Any other pattern is covered only by the same
    text written earlier. Comparing every pair would be quadratic in a long Action list, so the
    distinct action sets are numbered in order of first appearance and each action gets a
    bitmask of the sets holding it: ANDing the masks of a set's actions gives every set that
    holds it, and the lowest other bit is the earliest strictly wider one.
    """
    first_text: dict[str, int] = {}
    first_of_set: list[int] = []  # per set number, the index of its first pattern
    number_of: dict[frozenset[str], int] = {}
    holding: dict[str, int] = {}  # action -> bitmask of the set numbers holding it
    for index, pattern in enumerate(patterns):
        first_text.setdefault(pattern.text.lower(), index)
        if SERVICES[pattern.service].has_catalogue and pattern.actions not in number_of:
            number = number_of[pattern.actions] = len(first_of_set)
            first_of_set.append(index)
            for action in pattern.actions:
                holding[action] = holding.get(action, 0) | 1 << number
    covers: list[int | None] = []
    for index, pattern in enumerate(patterns):
        candidates = []
        if SERVICES[pattern.service].has_catalogue:
            number = number_of[pattern.actions]
            wider = ~(1 << number)  # every set but its own...
            for action in pattern.actions:
                wider &= holding[action]  # ...that holds each of its actions
            if wider:
                candidates.append(first_of_set[(wider & -wider).bit_length() - 1])
            candidates.append(first_of_set[number])
        else:
            candidates.append(first_text[pattern.text.lower()])
        candidates = [candidate for candidate in candidates if candidate != index]
        covers.append(min(candidates) if candidates else None)
    return covers


def _unknown_operator(name: str) -> str:
    base = name
    for prefix in PREFIXES:
        base = base.removeprefix(prefix)
    if base in ("NullIfExists", "Null"):
        return Message(gettext_noop('"%(operator)s" is not allowed: Null itself tests whether the key exists, so it '
                                    'takes no prefix and no IfExists'), operator=name)
    same = [op for op in _OPERATOR_NAMES if op.lower() == name.lower()]
    if same:
        return Message(gettext_noop('Unknown condition operator "%(operator)s"; operators are case-sensitive: did you '
                                    'mean "%(suggestion)s"?'), operator=name, suggestion=same[0])
    suggestion = _did_you_mean(name, _OPERATOR_NAMES)
    if suggestion:
        return Message(gettext_noop('Unknown condition operator "%(operator)s"; did you mean "%(suggestion)s"?'),
                       operator=name, suggestion=suggestion)
    return Message(gettext_noop('Unknown condition operator "%(operator)s"'), operator=name)


def _value_problem(operator: Operator, value: object) -> Message | None:
    family = operator.family
    if family == "string":
        ok = isinstance(value, str)
        template = gettext_noop("%(operator)s needs strings, not %(value)s")
    elif family == "number":
        ok = parse_number(value) is not None
        template = gettext_noop("%(operator)s needs numbers, not %(value)s")
    elif family == "date":
        ok = isinstance(value, str) and parse_date(value) is not None
        template = gettext_noop('%(operator)s needs ISO 8601 date-times with an offset, such as '
                                '"2025-01-31T00:00:00+08:00", not %(value)s')
    elif family == "ip":
        ok = parse_network(value) is not None
        template = gettext_noop('%(operator)s needs IP addresses or CIDR blocks, such as "192.168.0.0/24", '
                                'not %(value)s')
    else:
        ok = parse_bool(value) is not None
        template = gettext_noop("%(operator)s needs true or false, not %(value)s")
    return None if ok else Message(template, operator=operator.name, value=_show(value))
