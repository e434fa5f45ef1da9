"""A JSON parser that remembers where every value and key was written.

`json.loads` gives values but forgets positions, and an editor has to point at the line and
column of a problem. Strings and numbers are still decoded by the stdlib's own routines, so
values come out exactly as `json.loads` would give them; unlike it, NaN and Infinity (also a
number too large for a float) are rejected (they are not JSON), strings that no database can
store (a lone surrogate, NUL) are rejected, nesting is bounded, and duplicate keys are recorded
instead of silently dropped.
"""

import json
import math
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from json.decoder import scanstring
from json.scanner import NUMBER_RE

Path = tuple[str | int, ...]
Position = tuple[int, int]

MAX_DEPTH = 200
_WHITESPACE = re.compile(r"[ \t\n\r]*")  # skipped in C, not one character at a time in Python
_NEWLINE = re.compile("\n")
# A lone surrogate is not a character (nothing can encode it); NUL cannot be stored (PostgreSQL).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable_message(char: str) -> str:
    if char == "\x00":
        return "A string contains a NUL character (\\u0000), which cannot be stored"
    return f"A string contains a lone surrogate (\\u{ord(char):04x}), which is not a character"


class LocateError(ValueError):
    """Malformed JSON, with the 1-based line and column of the problem."""

    def __init__(self, message: str, line: int, column: int):
        super().__init__(f"{message} (line {line}, column {column})")
        self.message = message
        self.line = line
        self.column = column


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

    def fail(self, message: str, index: int):
        raise LocateError(message, *self.position(index))

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
            return self.string(index)
        for literal, value in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(literal, index):
                return value, index + len(literal)
        match = NUMBER_RE.match(self.text, index)
        if match is None:
            if self.text.startswith(("NaN", "Infinity", "-Infinity"), index):
                self.fail("NaN and Infinity are not JSON numbers", index)
            self.fail("Expecting a value", index)
        integer, fraction, exponent = match.groups()
        try:
            number = float(match.group()) if fraction or exponent else int(integer)
        except ValueError:
            self.fail("Number too long", index)
        if isinstance(number, float) and not math.isfinite(number):
            self.fail("Number too large", index)
        return number, match.end()

    def string(self, index: int) -> tuple[str, int]:
        try:
            value, end = scanstring(self.text, index + 1, True)
        except json.JSONDecodeError as error:  # its messages end in " at" before a position
            self.fail(error.msg.removesuffix(" at").removesuffix(" starting"), error.pos)
        unstorable = _UNSTORABLE.search(value)
        if unstorable:
            self.fail(_unstorable_message(unstorable.group()), index)
        return value, end

    def object(self, index: int, path: Path, depth: int) -> tuple[dict, int]:
        if depth > MAX_DEPTH:
            self.fail("Nested too deeply", index - 1)
        members: dict[str, object] = {}
        index = self.skip(index)
        if index < len(self.text) and self.text[index] == "}":
            return members, index + 1
        while True:
            if index >= len(self.text) or self.text[index] != '"':
                self.fail("Expecting a property name in double quotes", index)
            key_position = self.position(index)
            key, index = self.string(index)
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
            self.fail("Nested too deeply", index - 1)
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
