"""Effective permissions before and after a plan: the engine's decisions, and the users they change for.

A decision is the engine's outcome for one cell (an action, in a project or globally). Only the
cells a plan's changes can alter are decided (`touched_cells`); `loaded` reads what deciding needs
so that `decided` reads nothing more, and `compare` lists each user whose decisions differ.
"""

from __future__ import annotations

from accounts import authz
from accounts.models import Project, User
from accounts.policy import ACTIONS, SERVICES, get_action
from accounts.services import escalation

from .document import ALL_RESOURCES
from .plan import Effect

OUTCOME_LABELS = {"allow": "allowed", "explicit_deny": "denied explicitly", "implicit_deny": "denied"}


def _where_names() -> list[str | None]:
    return [None, *Project.objects.order_by("name").values_list("name", flat=True)]


def all_cells() -> list[tuple[str, str | None]]:
    """Every catalogued action in every project (IAM actions once: they are global)."""
    wheres = _where_names()[1:]
    return [(action.name, None) if SERVICES[action.service].is_global else (action.name, where)
            for action in ACTIONS for where in ([None] if SERVICES[action.service].is_global else wheres)]


def touched_cells(touched, extra_projects=()) -> set[tuple[str, str | None]]:
    """The decisions that grants of these (document, scope) pairs can change."""
    projects = sorted({*_where_names()[1:], *extra_projects})
    cells: set[tuple[str, str | None]] = set()
    for document, scope in touched:
        actions = escalation.document_allows(document) | escalation.document_denies(document)
        where = projects if scope == ALL_RESOURCES else sorted(scope)
        for action in actions:
            cells |= {(action, None)} if SERVICES[get_action(action).service].is_global else {
                (action, name) for name in where}
    return cells


def loaded(usernames, cells=None) -> list[tuple[str, object, list]]:
    """What deciding needs from the database, read now: each user's compiled grants, and the cells
    (every cell by default). Deciding them (`decided`) reads nothing more."""
    cells = all_cells() if cells is None else sorted(cells, key=lambda c: (c[0], c[1] or ""))
    return [(user.username, authz.Authorization(authz.load_grants(user, stamp="")), cells)
            for user in User.objects.filter(username__in=sorted(usernames))]


def decided(table_of_loaded) -> dict[str, dict[tuple[str, str | None], str]]:
    return {username: {(action, where): authorization.decide(action, where).outcome for action, where in cells}
            for username, authorization, cells in table_of_loaded}


def decisions(usernames, cells=None) -> dict[str, dict[tuple[str, str | None], str]]:
    """The engine's outcome of each cell (action, project or None) for these users; every cell by default."""
    return decided(loaded(usernames, cells))


def compare(before: dict, after: dict) -> list[Effect]:
    """Each user whose decisions differ between `before` and `after` (or who is created or removed), with
    the cells that differ."""
    effects = []
    for username in sorted(set(before) | set(after)):
        old, new = before.get(username), after.get(username)
        cells = _changed_cells(old, new)
        if cells or (old is None) != (new is None):
            effects.append(Effect(username, cells))
    return effects


def _changed_cells(old: dict | None, new: dict | None) -> list[tuple[str, str, str, str]]:
    """The cells whose outcome differs, as (action, where, before, after). A user created or removed shows
    only what they are allowed or denied explicitly (denied is what a user who is not there gets)."""
    cells = []
    for key in sorted(set(old or {}) | set(new or {}), key=lambda k: (k[0], k[1] or "")):
        was = "new user" if old is None else OUTCOME_LABELS[old.get(key, "implicit_deny")]
        now = "user removed" if new is None else OUTCOME_LABELS[new.get(key, "implicit_deny")]
        if was == now or (old is None and now == "denied") or (new is None and was == "denied"):
            continue
        cells.append((key[0], key[1] or "global", was, now))
    return cells
