"""Helpers shared by the IAM services."""

from accounts.models import ADMIN_GROUP_NAME, Membership


def _diff(before: dict, after: dict) -> dict:
    changed = {k for k in after if before.get(k) != after.get(k)}
    return {"before": {k: before.get(k) for k in changed}, "after": {k: after[k] for k in changed}}


def _active_admins() -> int:
    return Membership.objects.filter(
        group__name=ADMIN_GROUP_NAME, group__is_builtin=True, user__is_active=True
    ).count()


def _is_admin_member(user) -> bool:
    return Membership.objects.filter(user=user, group__name=ADMIN_GROUP_NAME, group__is_builtin=True).exists()
