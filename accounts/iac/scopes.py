"""Grant scopes compared and combined: "all_resources" or a set of project names.

A scope covers another when it grants at least as much; the union of two is the smallest scope
covering both. The checks and the grants' planning both reason in these terms.
"""

from __future__ import annotations

from .document import ALL_RESOURCES


def scope_text(scope) -> str:
    return "All resources" if scope == ALL_RESOURCES else ", ".join(sorted(scope))


def covers(wide, narrow) -> bool:
    if wide == ALL_RESOURCES:
        return True
    return narrow != ALL_RESOURCES and set(narrow) <= set(wide)


def union(a, b):
    if a == ALL_RESOURCES or b == ALL_RESOURCES:
        return ALL_RESOURCES
    return frozenset(a) | frozenset(b)
