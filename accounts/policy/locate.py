"""A JSON parser that remembers where every value and key was written, and the one check of JSON
that no database can store.

`json.loads` gives values but forgets positions, and an editor has to point at the line and
column of a problem. Strings and numbers are still decoded by the stdlib's own routines, so
values come out exactly as `json.loads` would give them; unlike it, NaN and Infinity (also a
number too large for a float) are rejected (they are not JSON), strings that no database can
store (a lone surrogate, NUL) are rejected, nesting is bounded, and duplicate keys are recorded
instead of silently dropped.

Every other JSON the console reads (the decision API's bodies, the configuration import) goes
through `loads` or `unstorable` here: the same refusals, each with the JSON path of its place
(`$.requests[0].project`), and no error repeats more than a few dozen characters of the input.
"""

import json
import math
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from json.decoder import scanstring
from json.scanner import NUMBER_RE

from .messages import Message, gettext_noop

Path = tuple[str | int, ...]
Position = tuple[int, int]

MAX_DEPTH = 200
_WHITESPACE = re.compile(r"[ \t\n\r]*")  # skipped in C, not one character at a time in Python
_NEWLINE = re.compile("\n")
# A lone surrogate is not a character (nothing can encode it); NUL cannot be stored (PostgreSQL).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_UNSTORABLE_ESCAPE = re.compile(r"\\u(?:0000|[dD][89abcdefABCDEF])")  # two searches: 4x faster than one
# An int of more digits than Python converts to text (sys.get_int_max_str_digits, 4300) cannot be
# written back out; a float beyond ~1.8e308 is infinite, which JSON has no word for.
MAX_INT_BITS = 14_000
SHOWN_KEY_LENGTH = 40
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_:/@.-]*\Z")


def _unstorable_message(char: str, what: str = "A string") -> Message:
    if char == "\x00":
        if what == "A key":
            return Message(gettext_noop("A key contains a NUL character (\\u0000), which cannot be stored"))
        return Message(gettext_noop("A string contains a NUL character (\\u0000), which cannot be stored"))
    code = f"\\u{ord(char):04x}"
    if what == "A key":
        return Message(gettext_noop("A key contains a lone surrogate (%(code)s), which is not a character"), code=code)
    return Message(gettext_noop("A string contains a lone surrogate (%(code)s), which is not a character"), code=code)


# What the parser says (and the json module's scanner, whose English it is), marked for translation.
_PARSER_MESSAGES = {text: Message(text) for text in (
    gettext_noop("Extra data after the JSON value"),
    gettext_noop("Expecting a value"),
    gettext_noop("NaN and Infinity are not JSON numbers"),
    gettext_noop("Number too long"),
    gettext_noop("Number too large"),
    gettext_noop("Nested too deeply"),
    gettext_noop("Expecting a property name in double quotes"),
    gettext_noop("Expecting ':' after a property name"),
    gettext_noop("Expecting ',' or '}' after a property"),
    gettext_noop("Expecting ',' or ']' after an item"),
    gettext_noop("Unterminated string"),
    gettext_noop("Invalid control character"),
    gettext_noop("Invalid \\escape"),
    gettext_noop("Invalid \\uXXXX escape"),
    # The json module's own words, as `loads` passes them on (its C scanner names no character).
    gettext_noop("Expecting value"),
    gettext_noop("Expecting property name enclosed in double quotes"),
    gettext_noop("Expecting ':' delimiter"),
    gettext_noop("Expecting ',' delimiter"),
    gettext_noop("Extra data"),
    gettext_noop("Unterminated string starting at"),
    gettext_noop("Invalid control character at"),
)}
# The pure-Python scanner (json.decoder.py_scanstring, used where the C one is missing) names the
# offending character: the sentence is translated, the character (as Python's repr writes it) stays.
_PARSER_MESSAGES_WITH_CHARACTER = (
    (re.compile(r"Invalid control character (.+)\Z", re.DOTALL),
     gettext_noop("Invalid control character %(character)s")),
    (re.compile(r"Invalid \\escape: (.+)\Z", re.DOTALL), gettext_noop("Invalid \\escape: %(character)s")),
)


def _parser_message(message: str) -> str:
    """What the parser or the json scanner said, as a Message when its sentence is marked for translation."""
    if message in _PARSER_MESSAGES:
        return _PARSER_MESSAGES[message]
    for pattern, template in _PARSER_MESSAGES_WITH_CHARACTER:
        match = pattern.match(message) if isinstance(message, str) else None
        if match:
            return Message(template, character=match.group(1))
    return message


def shown(text: str, limit: int = SHOWN_KEY_LENGTH) -> str:
    """`text` safe to show in any answer: unstorable characters written as \\uXXXX escapes, and cut
    to `limit` characters with a count of the rest, so that an error never echoes megabytes."""
    cut = text[:limit]
    cut = _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", cut)
    return cut if len(text) <= limit else f"{cut}… ({len(text):,} characters)"


def json_path(path: "Path") -> str:
    """A path as `$.requests[0].context["a b"]`: keys as names when they are plain, quoted otherwise."""
    text = "$"
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _NAME.match(part) and len(part) <= SHOWN_KEY_LENGTH:
            text += f".{part}"
        else:
            text += f'["{shown(part).replace(chr(34), chr(92) + chr(34))}"]'
    return text


def json_pointer(path: "Path") -> str:
    """A path as a JSON Pointer (RFC 6901), `/requests/0/project`; keys shown as `shown` does."""
    return "".join("/" + (str(part) if isinstance(part, int) else shown(part).replace("~", "~0").replace("/", "~1"))
                   for part in path)


class LocateError(ValueError):
    """Malformed JSON, with the 1-based line and column of the problem (and its path when known)."""

    def __init__(self, message: str, line: int, column: int, path: "Path | None" = None):
        super().__init__(f"{message} (line {line}, column {column})")
        self.message = message
        self.line = line
        self.column = column
        self.path = path


class UnusableJSON(ValueError):
    """JSON that cannot be read or stored: each problem as (path from the root, message)."""

    def __init__(self, problems: "list[tuple[Path, str]]"):
        self.problems = problems
        super().__init__("; ".join(f"{json_path(path)}: {message}" for path, message in problems))


@dataclass
class Located:
    """A parsed value, where each value and object key was written, and repeated keys."""

    value: object
    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)
    duplicate_keys: list[tuple[Path, Position]] = field(default_factory=list)


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.line_starts = [0] + [newline.end() for newline in _NEWLINE.finditer(text)]
        self.result = Located(None)

    def position(self, index: int) -> Position:
        line = bisect_right(self.line_starts, index)
        return line, index - self.line_starts[line - 1] + 1

    def fail(self, message: str, index: int, path: Path | None = None):
        raise LocateError(_parser_message(message), *self.position(index), path=path)

    def skip(self, index: int) -> int:
        return _WHITESPACE.match(self.text, index).end()

    def parse(self) -> Located:
        index = self.skip(0)
        self.result.value, index = self.value(index, (), 0)
        index = self.skip(index)
        if index != len(self.text):
            self.fail("Extra data after the JSON value", index)
        return self.result

    def value(self, index: int, path: Path, depth: int) -> tuple[object, int]:
        if index >= len(self.text):
            self.fail("Expecting a value", index)
        self.result.values[path] = self.position(index)
        char = self.text[index]
        if char == "{":
            return self.object(index + 1, path, depth + 1)
        if char == "[":
            return self.array(index + 1, path, depth + 1)
        if char == '"':
            return self.string(index, path)
        for literal, value in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(literal, index):
                return value, index + len(literal)
        match = NUMBER_RE.match(self.text, index)
        if match is None:
            if self.text.startswith(("NaN", "Infinity", "-Infinity"), index):
                self.fail("NaN and Infinity are not JSON numbers", index, path)
            self.fail("Expecting a value", index)
        integer, fraction, exponent = match.groups()
        try:
            number = float(match.group()) if fraction or exponent else int(integer)
        except ValueError:
            self.fail("Number too long", index, path)
        if isinstance(number, float) and not math.isfinite(number):
            self.fail("Number too large", index, path)
        return number, match.end()

    def string(self, index: int, path: Path, *, key: bool = False) -> tuple[str, int]:
        try:
            value, end = scanstring(self.text, index + 1, True)
        except json.JSONDecodeError as error:  # its messages end in " at" before a position
            self.fail(error.msg.removesuffix(" at").removesuffix(" starting"), error.pos)
        unstorable = _UNSTORABLE.search(value)
        if unstorable:
            self.fail(_unstorable_message(unstorable.group()), index, (*path, value) if key else path)
        return value, end

    def object(self, index: int, path: Path, depth: int) -> tuple[dict, int]:
        if depth > MAX_DEPTH:
            self.fail("Nested too deeply", index - 1, path)
        members: dict[str, object] = {}
        index = self.skip(index)
        if index < len(self.text) and self.text[index] == "}":
            return members, index + 1
        while True:
            if index >= len(self.text) or self.text[index] != '"':
                self.fail("Expecting a property name in double quotes", index)
            key_position = self.position(index)
            key, index = self.string(index, path, key=True)
            member_path = (*path, key)
            if key in members:
                self.result.duplicate_keys.append((member_path, key_position))
            else:
                self.result.keys[member_path] = key_position
            index = self.skip(index)
            if index >= len(self.text) or self.text[index] != ":":
                self.fail("Expecting ':' after a property name", index)
            index = self.skip(index + 1)
            members[key], index = self.value(index, member_path, depth)
            index = self.skip(index)
            if index < len(self.text) and self.text[index] == "}":
                return members, index + 1
            if index >= len(self.text) or self.text[index] != ",":
                self.fail("Expecting ',' or '}' after a property", index)
            index = self.skip(index + 1)

    def array(self, index: int, path: Path, depth: int) -> tuple[list, int]:
        if depth > MAX_DEPTH:
            self.fail("Nested too deeply", index - 1, path)
        items: list[object] = []
        index = self.skip(index)
        if index < len(self.text) and self.text[index] == "]":
            return items, index + 1
        while True:
            item, index = self.value(index, (*path, len(items)), depth)
            items.append(item)
            index = self.skip(index)
            if index < len(self.text) and self.text[index] == "]":
                return items, index + 1
            if index >= len(self.text) or self.text[index] != ",":
                self.fail("Expecting ',' or ']' after an item", index)
            index = self.skip(index + 1)


def parse(text: str) -> Located:
    """Parse JSON `text`; raise LocateError (with line and column) if it is malformed.

    Paths are tuples of object keys and list indexes from the root, e.g.
    ("Statement", 1, "Condition"). For a repeated key the last value wins, as in json.loads.
    """
    return _Parser(text).parse()


@dataclass
class _Problem:
    """A refused key, in the walk in place of its value (so problems come in document order)."""

    message: str


def unstorable(value, *, max_depth: int = MAX_DEPTH, limit: int = 10, strings: bool = True
               ) -> list[tuple[Path, str]]:
    """Where parsed JSON holds what no database can store or no JSON writer can write back: a string
    or a key with a NUL or a lone surrogate, a non-finite float, an int too long to print, or nesting
    deeper than `max_depth` — at most `limit` of them, in document order, each with its path.

    Iterative (no depth can exhaust the stack); the one check behind `parse`'s refusals for values
    that come from elsewhere (`json.loads`, a Python caller). `strings=False` skips the text checks
    (for `loads`, when the text has no character or escape that could make one)."""
    if _clean(value, max_depth, strings):
        return []
    problems: list[tuple[Path, str]] = []
    stack: list[tuple[Path, object, int]] = [((), value, 0)]
    while stack and len(problems) < limit:
        path, item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= max_depth:
                problems.append((path, _PARSER_MESSAGES["Nested too deeply"]))
            else:
                stack.extend(_below(path, item, depth + 1, strings))
            continue
        message = _scalar_problem(item, strings)
        if message:
            problems.append((path, message))
    return problems


def _below(path: Path, item: dict | list, depth: int, strings: bool) -> list[tuple[Path, object, int]]:
    """A list's or dict's members for `unstorable`'s stack, last first (so the first is walked first); a
    refused key stands in place of its value, so that its problem comes in document order."""
    if isinstance(item, list):
        return [((*path, number), member, depth) for number, member in reversed(list(enumerate(item)))]
    below: list[tuple[Path, object, int]] = []
    for key, member in reversed(item.items()):
        found = _UNSTORABLE.search(key) if strings and isinstance(key, str) else None
        refused = _Problem(_unstorable_message(found.group(), "A key")) if found else None
        below.append(((*path, key), refused or member, depth))
    return below


def _scalar_problem(item, strings: bool) -> str | None:
    """What no database can store or no JSON writer can write back in a value that is not a list or a
    dict (None: nothing); a refused key's problem, which stands in its value's place."""
    if isinstance(item, str):
        found = _UNSTORABLE.search(item) if strings else None
        return _unstorable_message(found.group()) if found else None
    if isinstance(item, bool) or item is None:
        return None
    if isinstance(item, float):
        if math.isfinite(item):
            return None
        return _PARSER_MESSAGES["Number too large" if not math.isnan(item) else "NaN and Infinity are not JSON numbers"]
    if isinstance(item, int):
        return _PARSER_MESSAGES["Number too long"] if item.bit_length() > MAX_INT_BITS else None
    if isinstance(item, _Problem):
        return item.message
    return None


def _clean(value, max_depth: int, strings: bool) -> bool:
    """`unstorable`'s question without the paths, level by level (about six times faster on a large
    import, which is almost always clean): the walk with paths runs only when this finds something."""
    level, depth = [value], 0
    while level:
        below: list = []
        for item in level:
            members = _members(item, strings)
            if members is None or not _clean_members(members, depth + 1 >= max_depth, strings, below):
                return False
        level, depth = below, depth + 1
    return True


def _members(item, strings: bool):
    """A list's or dict's members, for `_clean` (a scalar, which only the root can be, stands alone); None
    when a dict has a key that is not a string or that no database can store."""
    kind = type(item)
    if kind is dict:
        if strings and any(type(key) is not str or _UNSTORABLE.search(key) for key in item):
            return None
        return item.values()
    if kind is list:
        return item
    return (item,)


def _clean_members(members, at_limit: bool, strings: bool, below: list) -> bool:
    """Whether each member is storable, the lists and dicts among them gathered in `below` for the next
    level (False at the first that is not, or at a list or dict nested one level too deep)."""
    for member in members:
        member_kind = type(member)
        if member_kind is dict or member_kind is list:
            if at_limit:
                return False
            below.append(member)
        elif member_kind is str:
            if strings and _UNSTORABLE.search(member):
                return False
        elif member_kind is float:
            if not math.isfinite(member):
                return False
        elif member_kind is int and member.bit_length() > MAX_INT_BITS:
            return False
        elif member_kind not in _SCALARS:
            return False  # not JSON data: the walk with paths says what it is
    return True


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _refuse_constant(name: str):
    raise ValueError("NaN and Infinity are not JSON numbers")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("Number too large")
    return number


def _at(problem: str, line: int, column: int) -> Message:
    """A problem of the text and where it is: 'Expecting value (line 1, column 9)'."""
    return Message(gettext_noop("%(problem)s (line %(line)s, column %(column)s)"), problem=problem, line=line,
                   column=column)


def loads(text: str | bytes) -> object:
    """JSON text as `json.loads` reads it (at its speed), refused as `parse` refuses: UnusableJSON with
    the path of each problem, and the line and column when the text itself is malformed."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as error:
            raise UnusableJSON([((), Message(gettext_noop("The text is not UTF-8 (byte %(byte)s)"),
                                             byte=error.start + 1))]) from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except json.JSONDecodeError as error:
        raise UnusableJSON([((), _at(_parser_message(error.msg), error.lineno, error.colno))]) from None
    except (ValueError, RecursionError):  # a number or the nesting: the locating parser says where
        try:
            parse(text)
        except LocateError as error:
            raise UnusableJSON([(error.path or (), _at(error.message, error.line, error.column))]) from None
        raise UnusableJSON([((), Message(gettext_noop("The text is not usable JSON")))]) from None
    # Parsed text can hold NUL or a lone surrogate only from an escape (JSON forbids a raw NUL in a string)
    # or from the text itself: without either, only the nesting and the numbers are left to check.
    suspect = _UNSTORABLE.search(text) or _UNSTORABLE_ESCAPE.search(text)
    problems = unstorable(value, strings=suspect is not None)
    if problems:
        raise UnusableJSON(problems)
    return value
