"""Wildcard patterns matched in one left-to-right pass, without backtracking.

A regex turns each `*` into `.*` and, when the subject does not match, tries every way of
sharing the subject among the stars: time exponential in their number. A glob needs no such
search. Its stars cut it into fixed-width chunks (runs of stars count as one); the first chunk
must start the subject, the last must end it, and taking each chunk in between at its leftmost
place leaves the most room for the rest, so the first place found is the right one. Literal
chunks are found with `str.find` (linear); a chunk holding `?` is a fixed-width regex of
literals and `.`, which `re` tries place by place with nothing to backtrack into. Matching
therefore costs at most pattern × subject, and usually a comparison or a few `find` calls.
"""

import re
from collections.abc import Iterable
from functools import lru_cache
from operator import call

_Chunk = str | re.Pattern  # a literal, or a fixed-width regex when the chunk holds `?`


def _chunk(text: str, single: bool) -> _Chunk:
    if single and "?" in text:
        return re.compile("".join("." if char == "?" else re.escape(char) for char in text), re.DOTALL)
    return text


def _at(chunk: _Chunk, subject: str, index: int) -> bool:
    """Whether `chunk` is written at `index` of `subject` (the caller made sure it fits)."""
    if isinstance(chunk, str):
        return subject.startswith(chunk, index)
    return chunk.match(subject, index) is not None


def _find(chunk: _Chunk, subject: str, start: int, end: int) -> int:
    """The leftmost index where `chunk` lies wholly inside subject[start:end], or -1."""
    if isinstance(chunk, str):
        return subject.find(chunk, start, end)
    found = chunk.search(subject, start, end)
    return -1 if found is None else found.start()


class Glob:
    """A compiled wildcard pattern: `*` is any run of characters (none too), `?` one character.

    `matches(subject)` says whether the whole subject matches. It is chosen for the pattern's
    shape (no star; literals around one star; literal chunks; chunks holding `?`), so everyday
    patterns cost a comparison or two. Build one with `glob()`, which caches; `single=False`
    reads `?` as itself (action patterns have only `*`). Matching is case-sensitive.
    """

    __slots__ = ("_head", "_head_width", "_middle", "_shortest", "_tail", "_tail_width", "matches", "pattern")

    def __init__(self, pattern: str, *, single: bool = True):
        self.pattern = pattern
        parts = pattern.split("*")
        starred = len(parts) > 1
        head, tail = parts[0], parts[-1] if starred else ""
        middle = [part for part in parts[1:-1] if part]  # empty parts are repeated stars
        self._head, self._head_width = _chunk(head, single), len(head)
        self._tail, self._tail_width = _chunk(tail, single), len(tail)
        self._middle = tuple((_chunk(part, single), len(part)) for part in middle)
        self._shortest = len(head) + len(tail) + sum(map(len, middle))
        literal = not (single and "?" in pattern)
        if not starred:
            self.matches = pattern.__eq__ if literal else self._matches_fixed
        elif literal and not middle:
            self.matches = self._matches_ends
        elif literal:
            self.matches = self._matches_literal_chunks
        else:
            self.matches = self._matches_chunks

    def __repr__(self) -> str:
        return f"Glob({self.pattern!r})"

    def _matches_fixed(self, subject: str) -> bool:
        return len(subject) == self._shortest and _at(self._head, subject, 0)

    def _matches_ends(self, subject: str) -> bool:
        return len(subject) >= self._shortest and subject.startswith(self._head) and subject.endswith(self._tail)

    def _matches_literal_chunks(self, subject: str) -> bool:
        if not self._matches_ends(subject):
            return False
        start, end = self._head_width, len(subject) - self._tail_width
        for chunk, width in self._middle:
            start = subject.find(chunk, start, end)
            if start < 0:
                return False
            start += width
        return True

    def _matches_chunks(self, subject: str) -> bool:
        end = len(subject) - self._tail_width
        if len(subject) < self._shortest or not (_at(self._head, subject, 0) and _at(self._tail, subject, end)):
            return False
        start = self._head_width
        for chunk, width in self._middle:
            start = _find(chunk, subject, start, end)
            if start < 0:
                return False
            start += width
        return True


@lru_cache(maxsize=4096)
def glob(pattern: str, *, single: bool = True) -> Glob:
    """The compiled pattern, built once per process."""
    return Glob(pattern, single=single)


class ActionPatterns:
    """Action patterns such as `ims:images:*` or `ims:*:get*`, matched against action names.

    Case never matters, and `*` never crosses a `:`: a pattern and a name are cut at their
    colons and matched part by part, so they must have as many parts.
    """

    __slots__ = ("_literal", "_starred", "patterns")

    def __init__(self, patterns: Iterable[str]):
        self.patterns = tuple(sorted({pattern.lower() for pattern in patterns}))
        self._literal = frozenset(pattern for pattern in self.patterns if "*" not in pattern)
        # Per starred pattern: the literal text before its first star, which every name it
        # matches starts with (a cheap first test), and the matches() of each of its parts.
        self._starred = tuple(
            (pattern.partition("*")[0], tuple(glob(part, single=False).matches for part in pattern.split(":")))
            for pattern in self.patterns
            if "*" in pattern
        )

    def __repr__(self) -> str:
        return f"ActionPatterns({list(self.patterns)!r})"

    def matches(self, action: str) -> bool:
        """Whether any of the patterns matches `action` (any case)."""
        action = action.lower()
        if action in self._literal:
            return True
        parts = None
        for prefix, part_matchers in self._starred:
            if not action.startswith(prefix):
                continue
            parts = parts or action.split(":")
            if len(parts) == len(part_matchers) and all(map(call, part_matchers, parts)):
                return True
        return False


@lru_cache(maxsize=4096)
def action_patterns(patterns: tuple[str, ...]) -> ActionPatterns:
    """The compiled set of action patterns, built once per process for a given tuple."""
    return ActionPatterns(patterns)
