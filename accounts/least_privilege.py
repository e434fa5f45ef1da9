"""The least-privilege report: which grants and actions went unused for N days, and the policy
document that would still cover what was used (accounts.last_used records the uses)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from . import last_used
from .models import ADMIN_GROUP_NAME, Grant, GrantLastUsed
from .policy import ACTION_NAMES, compile_document
from .services.grants import actions_of


class Uses(dict):
    """One grant's {action: last used}, in action order."""

    @property
    def latest(self) -> datetime | None:
        return max(self.values(), default=None)


def by_grant(grant_ids) -> dict[int, Uses]:
    """For each grant id that was ever used: its Uses (one query)."""
    found: dict[int, Uses] = {}
    for grant_id, action, when in (GrantLastUsed.objects.filter(grant_id__in=list(grant_ids))
                                   .order_by("action").values_list("grant_id", "action", "last_used_at")):
        found.setdefault(grant_id, Uses())[action] = when
    return found


def cutoff(days: int) -> datetime:
    """The instant before which a permission counts as unused for `days` days."""
    return last_used._now() - timedelta(days=days)


def least_privilege_document(document: dict, used_actions) -> dict | None:
    """The document cut down to what was used: each Allow statement keeps only the used actions it
    named (and its condition), each Deny that still names one of them is kept as it was; None when
    nothing was used (detaching the grant is the least privilege)."""
    used = sorted(set(used_actions))
    compiled = compile_document(document)
    allows, denies = [], []
    for compiled_statement, statement in zip(compiled.statements, document["Statement"], strict=True):
        named = [action for action in used if compiled_statement.actions.matches(action.lower())]
        if not named:
            continue
        if compiled_statement.deny:
            denies.append(dict(statement))
        else:
            allows.append({**statement, "Action": named})
    if not allows:
        return None
    return {"Version": "1.1", "Statement": allows + denies}


@dataclass(frozen=True)
class GrantUsage:
    """One grant's use over the report's window."""

    grant: Grant
    used: Uses  # action -> last used, within the window
    unused: list[tuple[str, datetime | None]]  # allowed actions not used within it, with any older use
    suggestion: dict | None


def usage_report(days: int, grants=None) -> list[GrantUsage]:
    """Every grant (outside the admin group, allowed everything anyway) with the catalogued actions it
    allows, split into used and unused in the last `days` days, and its least-privilege document.
    A fixed number of queries, whatever the number of grants."""
    if grants is None:
        grants = (Grant.objects.exclude(group__name=ADMIN_GROUP_NAME, group__is_builtin=True)
                  .select_related("group", "policy").prefetch_related("projects")
                  .order_by("group__name", "policy__name"))
    grants = list(grants)
    since = cutoff(days)
    times = by_grant(grant.pk for grant in grants)
    report = []
    for grant in grants:
        seen = times.get(grant.pk, Uses())
        allowed = sorted(actions_of(grant.policy) & ACTION_NAMES)
        used = Uses((action, when) for action, when in seen.items() if when >= since)
        unused = [(action, seen.get(action)) for action in allowed if action not in used]
        suggestion = least_privilege_document(grant.policy.document, used) if unused else None
        report.append(GrantUsage(grant, used, unused, suggestion))
    return report
