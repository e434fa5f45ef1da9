"""Two revisions of a policy document side by side: a line diff and what changed, statement by statement.

The line diff is difflib's (the standard library's, which people already read in code review);
the summary reads the documents as policies: "Statement 2 now also allows ims:images:delete".
Statements are numbered from 1 here, as people count; the engine's explanations say Statement[1].

What a statement allows (or denies) is read by the engine, over the action catalogue: widening
list, get and export to ims:images:* gains the other image actions and loses none, whatever the
strings say. Only a statement the engine cannot read is compared by its strings.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass

from .catalogue import ACTIONS
from .evaluator import compile_document


@dataclass(frozen=True)
class DiffLine:
    """One line of a unified diff: `kind` is "+" (added), "-" (removed), " " (unchanged) or "@" (a hunk)."""

    kind: str
    old_number: int | None
    new_number: int | None
    text: str

    @property
    def label(self) -> str:
        return {"+": "added", "-": "removed", " ": "unchanged", "@": "lines"}[self.kind]


def document_lines(document) -> list[str]:
    """The document as the console shows it (two-space JSON), one string per line."""
    return json.dumps(document, indent=2, ensure_ascii=False).splitlines()


def line_diff(old_document, new_document, *, context: int = 3) -> list[DiffLine]:
    """The unified diff of two documents, with line numbers on both sides; [] when they are the same."""
    old, new = document_lines(old_document), document_lines(new_document)
    lines: list[DiffLine] = []
    for group in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        lines.append(DiffLine("@", None, None,
                              f"lines {first[1] + 1}–{last[2]} → {first[3] + 1}–{last[4]}"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(DiffLine(" ", i + 1, j + 1, old[i]) for i, j in zip(range(i1, i2), range(j1, j2),
                                                                                 strict=True))
                continue
            lines.extend(DiffLine("-", i + 1, None, old[i]) for i in range(i1, i2))
            lines.extend(DiffLine("+", None, j + 1, new[j]) for j in range(j1, j2))
    return lines


def _verb(effect: str) -> str:
    return "denies" if effect == "Deny" else "allows"


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _names(values) -> str:
    return ", ".join(str(v) for v in values)


def statement_changes(old_document, new_document) -> list[str]:
    """What changed, one sentence per change, comparing statements by their position."""
    old = list((old_document or {}).get("Statement", []))
    new = list((new_document or {}).get("Statement", []))
    changes: list[str] = []
    if (old_document or {}).get("Version") != (new_document or {}).get("Version"):
        changes.append(f"Version {old_document.get('Version')} is now {new_document.get('Version')}.")
    for index in range(max(len(old), len(new))):
        number = index + 1
        if index >= len(new):
            before = old[index]
            changes.append(f"Statement {number} removed (it {_verb(before.get('Effect'))} "
                           f"{_names(_as_list(before.get('Action')))}).")
            continue
        after = new[index]
        if index >= len(old):
            conditions = " with conditions" if after.get("Condition") else ""
            changes.append(f"Statement {number} added: it {_verb(after.get('Effect'))} "
                           f"{_names(_as_list(after.get('Action')))}{conditions}.")
            continue
        changes.extend(_one_statement(number, old[index], after))
    return changes


def _one_statement(number: int, before: dict, after: dict) -> list[str]:
    """What changed in one statement kept at its place: effect, actions, resources, conditions."""
    changes = []
    if before.get("Effect") != after.get("Effect"):
        changes.append(f"Statement {number} now {_verb(after.get('Effect'))} instead of "
                       f"{'denying' if before.get('Effect') == 'Deny' else 'allowing'}.")
    changes.extend(_action_changes(number, before, after))
    for field in ("Resource", "NotAction", "NotResource"):
        if before.get(field) != after.get(field):
            changes.append(f"Statement {number}: {field} changed from {_names(_as_list(before.get(field))) or 'none'} "
                           f"to {_names(_as_list(after.get(field))) or 'none'}.")
    changes.extend(_condition_changes(number, before.get("Condition") or {}, after.get("Condition") or {}))
    return changes


def _action_changes(number: int, before: dict, after: dict) -> list[str]:
    """The actions a statement now also names, no longer names, or names otherwise with the same meaning:
    compared as the engine reads them (the catalogued actions covered), else as written."""
    old_actions, new_actions = _as_list(before.get("Action")), _as_list(after.get("Action"))
    old_covered, new_covered = _covered(before), _covered(after)
    count = len(new_covered) if new_covered is not None else len(new_actions)
    if old_covered is None or new_covered is None:  # a statement the engine cannot read: its strings
        old_covered, new_covered = old_actions, new_actions
    added = [a for a in new_covered if a not in old_covered]
    dropped = [a for a in old_covered if a not in new_covered]
    verb = _verb(after.get("Effect"))
    changes = []
    if added:
        changes.append(f"Statement {number} now also {verb} {_names(added)}.")
    if dropped:
        changes.append(f"Statement {number} no longer {verb} {_names(dropped)}.")
    if not added and not dropped and old_actions != new_actions:
        changes.append(f"Statement {number} names its actions otherwise ({_names(old_actions)} → "
                       f"{_names(new_actions)}) but {verb} the same {count} action{'' if count == 1 else 's'}.")
    return changes


def _covered(statement: dict) -> list[str] | None:
    """The catalogued actions the engine finds `statement` naming, in catalogue order (None: it cannot
    read the statement, e.g. a NotAction or a malformed pattern)."""
    try:
        compiled = compile_document({"Statement": [statement]})
    except (ValueError, TypeError, AttributeError):
        return None
    return [action.name for action in ACTIONS if compiled.matches_action(action.name)]


def _condition_changes(number: int, before: dict, after: dict) -> list[str]:
    """Conditions compared per operator and key: added, removed, or with other values."""
    def flat(condition: dict) -> dict[tuple[str, str], list]:
        return {(operator, key): _as_list(values)
                for operator, keys in condition.items() if isinstance(keys, dict)
                for key, values in keys.items()}

    old, new = flat(before), flat(after)
    changes = []
    for operator, key in new.keys() - old.keys():
        changes.append(f"Statement {number}: condition {operator} {key} = {_names(new[(operator, key)])} added.")
    for operator, key in old.keys() - new.keys():
        changes.append(f"Statement {number}: condition {operator} {key} removed.")
    for operator, key in old.keys() & new.keys():
        if old[(operator, key)] != new[(operator, key)]:
            changes.append(f"Statement {number}: condition {operator} {key} changed from "
                           f"{_names(old[(operator, key)])} to {_names(new[(operator, key)])}.")
    return sorted(changes)
