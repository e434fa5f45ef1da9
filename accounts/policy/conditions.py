"""Condition operators (SPEC 5.2) and their exact semantics (SPEC 6, points 4-6).

Each condition block is compiled once into a plain callable over a request context whose
keys are already lower-cased, so deciding a request does no parsing.

A request value that cannot be compared (text for a number key, a malformed address) matches
no listed value: positive operators fail on it and negated operators hold.
"""

import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .glob import glob

STRING_OPERATORS = frozenset(
    {
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringMatch",
        "StringNotMatch",
        "StringStartWith",
        "StringNotStartWith",
        "StringEndWith",
        "StringNotEndWith",
    }
)
NUMBER_OPERATORS = frozenset(
    {
        "NumberEquals",
        "NumberNotEquals",
        "NumberLessThan",
        "NumberLessThanEquals",
        "NumberGreaterThan",
        "NumberGreaterThanEquals",
    }
)
DATE_OPERATORS = frozenset({"DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals"})
BASE_OPERATORS = STRING_OPERATORS | NUMBER_OPERATORS | DATE_OPERATORS | {"Bool", "IpAddress", "NotIpAddress", "Null"}
PREFIXES = ("ForAnyValue:", "ForAllValues:")
IF_EXISTS = "IfExists"
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")

# Which key types an operator family may test; string operators compare any key as text.
FAMILY_KEY_TYPES = {
    "string": {"string", "number", "date", "bool", "ip"},
    "number": {"number"},
    "date": {"date"},
    "bool": {"bool"},
    "ip": {"ip"},
    "null": {"string", "number", "date", "bool", "ip"},
}


@dataclass(frozen=True)
class Operator:
    """A parsed operator name such as `ForAllValues:StringEqualsIfExists`."""

    name: str
    base: str
    prefix: str  # "", "ForAnyValue:" or "ForAllValues:"
    if_exists: bool

    @property
    def family(self) -> str:
        if self.base in STRING_OPERATORS:
            return "string"
        if self.base in NUMBER_OPERATORS:
            return "number"
        if self.base in DATE_OPERATORS:
            return "date"
        return {"Bool": "bool", "IpAddress": "ip", "NotIpAddress": "ip", "Null": "null"}[self.base]

    @property
    def negated(self) -> bool:
        return "Not" in self.base


def parse_operator(name: str) -> Operator | None:
    """The operator written `name` (exact case), or None if the language has no such operator.

    `Null` takes neither the `IfExists` suffix nor a prefix: it is itself the presence test.
    """
    prefix = next((p for p in PREFIXES if name.startswith(p)), "")
    base = name[len(prefix) :]
    if_exists = base.endswith(IF_EXISTS) and base[: -len(IF_EXISTS)] in BASE_OPERATORS
    if if_exists:
        base = base[: -len(IF_EXISTS)]
    if base not in BASE_OPERATORS or (base == "Null" and (prefix or if_exists)):
        return None
    return Operator(name, base, prefix, if_exists)


def parse_number(value: object) -> int | float | None:
    """A JSON number or a numeric string as a number; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        text = value.strip()
        try:
            number = float(text) if any(char in text for char in ".eE") else int(text)
        except ValueError:  # more digits than int() accepts
            return None
        return parse_number(number)
    return None


def parse_date(value: object, *, assume_utc: bool = False) -> datetime | None:
    """An ISO 8601 date-time with an offset (or a datetime) as an aware instant; else None.

    Policy values must carry an offset; request values without one (`assume_utc`) are UTC.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC) if assume_utc else None
    return value


def parse_bool(value: object) -> bool | None:
    """JSON true/false or the strings "true"/"false" (any case); None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def parse_network(value: object) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A CIDR block or a single address as a network; None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def _parse_address(value: object):
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value
    try:
        return ipaddress.ip_address(str(value).strip())
    except ValueError:
        return None


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


_ORDER = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}


def _value_test(operator: Operator, listed: list) -> Callable[[object], bool]:
    """A test "does this one request value match any listed value" for a non-Null operator.

    Negation is applied by the caller, so `StringNotEquals` builds the `StringEquals` test.
    Raises ValueError if a listed value does not fit the operator.
    """
    base = operator.base.replace("Not", "", 1) if operator.negated else operator.base

    def parsed(parse) -> list:
        values = [parse(value) for value in listed]
        if any(value is None for value in values):
            raise ValueError(f"{operator.name}: a value does not fit the operator: {listed!r}")
        return values

    family = operator.family
    if family == "string":
        if not all(isinstance(value, str) for value in listed):
            raise ValueError(f"{operator.name}: values must be strings: {listed!r}")
        if base == "StringEquals":
            wanted = frozenset(listed)
            return lambda value: _as_text(value) in wanted
        if base == "StringEqualsIgnoreCase":
            wanted = frozenset(value.casefold() for value in listed)
            return lambda value: _as_text(value).casefold() in wanted
        if base == "StringMatch":
            globs = [glob(value) for value in listed]
            return lambda value: any(pattern.matches(_as_text(value)) for pattern in globs)
        if base == "StringStartWith":
            prefixes = tuple(listed)
            return lambda value: _as_text(value).startswith(prefixes)
        suffixes = tuple(listed)
        return lambda value: _as_text(value).endswith(suffixes)
    if family == "number":
        compare = _ORDER[base.removeprefix("Number")]
        numbers = parsed(parse_number)

        def number_test(value: object) -> bool:
            number = parse_number(value)
            return number is not None and any(compare(number, wanted) for wanted in numbers)

        return number_test
    if family == "date":
        compare = _ORDER[base.removeprefix("Date")]
        instants = parsed(parse_date)

        def date_test(value: object) -> bool:
            instant = parse_date(value, assume_utc=True)
            return instant is not None and any(compare(instant, wanted) for wanted in instants)

        return date_test
    if family == "bool":
        wanted_bools = frozenset(parsed(parse_bool))
        return lambda value: parse_bool(value) in wanted_bools
    networks = parsed(parse_network)

    def address_test(value: object) -> bool:
        address = _parse_address(value)
        return address is not None and any(address in network for network in networks)

    return address_test


def _request_values(value: object) -> list | None:
    """The request values of one key: None if the key is absent, else a (maybe empty) list."""
    if value is None:
        return None
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


def compile_key(operator: Operator, listed: object) -> Callable[[object], bool]:
    """Compile one `Operator: {key: listed}` entry into a test of the key's request value.

    The test receives the raw context value (None when the key is absent).
    """
    listed_values = list(listed) if isinstance(listed, list) else [listed]
    if not listed_values:
        raise ValueError(f"{operator.name}: no values to compare with")

    if operator.base == "Null":
        expected_absent = frozenset(parsed for parsed in map(parse_bool, listed_values))
        if None in expected_absent:
            raise ValueError(f"Null: values must be true or false: {listed_values!r}")
        return lambda raw: (raw is None) in expected_absent

    matches = _value_test(operator, listed_values)
    negated = operator.negated
    if_exists = operator.if_exists
    for_all = operator.prefix == "ForAllValues:"
    for_any = operator.prefix == "ForAnyValue:"

    def test(raw: object) -> bool:
        values = _request_values(raw)
        if values is None:
            if if_exists or for_all:
                return True
            if for_any:
                return False
            return negated
        if not values:
            return for_all
        if for_all:
            return all(matches(value) != negated for value in values)
        return any(matches(value) != negated for value in values)

    return test


@dataclass(frozen=True)
class CompiledCondition:
    """A condition block as one callable; `keys` are the lower-cased keys it reads.

    `memo` is where a decision table (evaluator.ActionTable) remembers whether the condition held,
    by the values of its keys: a condition is compiled once per document text and shared by every
    table and user holding that document, so it runs once per distinct value of its keys.
    """

    tests: tuple[tuple[str, Callable[[object], bool]], ...]
    keys: frozenset[str]
    memo: dict = field(default_factory=dict, compare=False, repr=False)
    # When every test is a date operator's or Null's: the instants the date operators list. For one
    # present instant such a condition holds or not by where it falls among them (before, on, after
    # each), so a table remembers it by that place rather than by the instant (see evaluator._KeyGroup).
    instants: tuple[datetime, ...] | None = field(default=None, compare=False, repr=False)

    def __call__(self, context: Mapping[str, object]) -> bool:
        """Whether every operator and every key holds (AND) in the lower-cased `context`."""
        return all(test(context.get(key)) for key, test in self.tests)


def compile_condition(block: Mapping[str, Mapping[str, object]]) -> CompiledCondition:
    """Compile a `Condition` block; raise ValueError on an unknown operator or unfit value."""
    tests = []
    instants: list[datetime] | None = []
    for operator_name, entries in block.items():
        operator = parse_operator(operator_name)
        if operator is None:
            raise ValueError(f"Unknown condition operator {operator_name!r}")
        if not isinstance(entries, Mapping):
            raise ValueError(f"{operator_name} must map condition keys to values")
        for key, listed in entries.items():
            tests.append((key.lower(), compile_key(operator, listed)))
            if instants is not None and operator.family == "date":
                instants += [parse_date(value) for value in (listed if isinstance(listed, list) else [listed])]
            elif operator.base != "Null":
                instants = None
    return CompiledCondition(tuple(tests), frozenset(key for key, _ in tests),
                             instants=None if instants is None else tuple(instants))
