"""The no-escalation rule, one place for every service (issue 7, docs/decisions.md).

Nobody can give anybody — themselves included — a permission they do not hold themselves, and
nobody can take over an account that holds more than they do. Each change that hands
permissions over is described as a set of `(action, project)` pairs (project None meaning
*All resources*, or the global scope of IAM); the actor must hold every pair outright
(`Authorization.holds`: allowed without conditions, no Deny naming it). Membership of the
built-in `admin` group, which is allowed everything, changes hands only between its members.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from accounts import authz
from accounts.enforcement import Refused
from accounts.models import ADMIN_GROUP_NAME, Grant, Membership
from accounts.policy import SERVICES, expand_pattern, get_action

# A permission handed over: (catalogue action, project name or None for All resources / global).
Handover = tuple[str, str | None]
_SHOWN = 5


@dataclass(frozen=True)
class EscalationRefusal:
    """Why a change was refused, shaped like an authz.Explanation for Refused and the audit."""

    action: str
    summary: str
    project: str | None = None
    outcome: str = "explicit_deny"
    allowed: bool = False


def statement_actions(statement: dict) -> frozenset[str]:
    """The catalogued actions one statement names."""
    names: set[str] = set()
    for pattern in statement.get("Action", []):
        names |= expand_pattern(pattern)
    return frozenset(names)


def _is_global(action: str) -> bool:
    return SERVICES[get_action(action).service].is_global


def scoped(actions: Iterable[str], *, all_resources: bool, project_names: Iterable[str]) -> set[Handover]:
    """Actions granted on a scope, as the (action, project) pairs a holder would be allowed."""
    project_names = tuple(project_names)
    pairs: set[Handover] = set()
    for action in actions:
        if all_resources or _is_global(action):
            pairs.add((action, None))
        else:
            pairs.update((action, name) for name in project_names)
    return pairs


def document_allows(document: dict) -> frozenset[str]:
    """Every catalogued action some Allow statement of the document names."""
    names: set[str] = set()
    for statement in document.get("Statement", []):
        if statement.get("Effect") == "Allow":
            names |= statement_actions(statement)
    return frozenset(names)


def document_widening(before: dict, after: dict) -> frozenset[str]:
    """Actions a policy edit may newly allow: those of Allow statements that are new or changed,
    and those of Deny statements that were removed or changed (a lifted Deny hands over too)."""
    old = before.get("Statement", [])
    new = after.get("Statement", [])
    names: set[str] = set()
    for statement in new:
        if statement.get("Effect") == "Allow" and statement not in old:
            names |= statement_actions(statement)
    for statement in old:
        if statement.get("Effect") == "Deny" and statement not in new:
            names |= statement_actions(statement)
    return frozenset(names)


def _grant_pairs(grants) -> set[Handover]:
    pairs: set[Handover] = set()
    for grant in grants:
        pairs |= scoped(document_allows(grant.policy.document), all_resources=grant.all_resources,
                        project_names=[p.name for p in grant.projects.all()])
    return pairs


def group_holdings(group) -> set[Handover]:
    """What a member of `group` gets from it (not counting the admin group's everything)."""
    return _grant_pairs(Grant.objects.filter(group=group).select_related("policy").prefetch_related("projects"))


def user_holdings(user) -> set[Handover]:
    """What `user` holds through all their groups (not counting the admin group's everything)."""
    grants = Grant.objects.filter(group__memberships__user=user).select_related("policy").prefetch_related("projects")
    return _grant_pairs(grants)


def is_admin_member(user) -> bool:
    return Membership.objects.filter(user=user, group__name=ADMIN_GROUP_NAME, group__is_builtin=True).exists()


def missing_holdings(actor, pairs: Iterable[Handover]) -> list[Handover]:
    """The pairs the actor does not hold outright, sorted; [] for the system itself."""
    if actor is None:
        return []
    authorization = authz.authorization_for(actor)
    if authorization is None:
        return sorted(pairs, key=_sort_key)
    return sorted((pair for pair in pairs if not authorization.holds(*pair)), key=_sort_key)


def _sort_key(pair: Handover):
    return (pair[0], pair[1] or "")


def _describe(pairs: list[Handover]) -> str:
    shown = [f"{action} on {project or 'All resources'}" for action, project in pairs[:_SHOWN]]
    more = f" and {len(pairs) - _SHOWN} more" if len(pairs) > _SHOWN else ""
    return ", ".join(shown) + more


def require_holds(actor, attempted: str, pairs: Iterable[Handover], *, doing: str, target=None,
                  target_repr: str = "") -> None:
    """Refuse (a `denied` audit event, 403) unless the actor holds every pair handed over or touched."""
    missing = missing_holdings(actor, pairs)
    if missing:
        summary = (f"Refused: {doing} would hand over permissions you do not hold yourself: "
                   f"{_describe(missing)}.")
        raise Refused(EscalationRefusal(attempted, summary), actor=actor, target=target, target_repr=target_repr)


def require_admin_member(actor, attempted: str, *, doing: str, target=None, target_repr: str = "") -> None:
    """Refuse unless the actor is a member of the built-in admin group (or the system itself)."""
    if actor is None or is_admin_member(actor):
        return
    summary = f"Refused: only members of the {ADMIN_GROUP_NAME} group can {doing}."
    raise Refused(EscalationRefusal(attempted, summary), actor=actor, target=target, target_repr=target_repr)


def require_covers_user(actor, attempted: str, user, *, doing: str) -> None:
    """Acting on another person's account (password, deactivation, deletion, attributes) is acting on
    everything they hold: refuse unless the actor holds all of it, and the admin group's everything
    only for admin members."""
    if actor is None or actor.pk == user.pk:
        return
    if is_admin_member(user):
        require_admin_member(actor, attempted, doing=f"{doing} a member of the {ADMIN_GROUP_NAME} group",
                             target=user)
        return
    require_holds(actor, attempted, user_holdings(user), doing=f"{doing} {user.get_username()}", target=user)
