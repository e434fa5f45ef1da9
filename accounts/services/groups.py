"""Group services: create, update, delete, and membership (≤ 10 groups per user)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

from accounts import audit
from accounts.enforcement import atomic_service, require
from accounts.models import MAX_GROUPS_PER_USER, Membership, User, UserGroup

from . import escalation
from ._common import _active_admins, claim_revision


@atomic_service
def group_create(*, actor, name: str, description: str = "") -> UserGroup:
    require(actor, "iam:groups:createGroup", target_repr=name)
    group = UserGroup(name=name, description=description)
    group.full_clean()
    group.save()
    audit.record(actor=actor, action="iam:groups:createGroup", target=group,
                 details={"after": {"name": name, "description": description}})
    return group


@atomic_service
def group_update(*, actor, group: UserGroup, name: str, description: str,
                 expected_revision: int | None = None) -> UserGroup:
    """Rename or describe a group, refusing if someone saved it after `expected_revision` was read
    (None: no form was loaded, as for an import). Only admin members change the admin group."""
    require(actor, "iam:groups:updateGroup", target=group)
    escalation.require_may_change_group(actor, "iam:groups:updateGroup", group)
    if group.is_builtin and name != group.name:
        raise ValidationError({"name": ValidationError(gettext_lazy("The built-in admin group cannot be renamed."))})
    locked = UserGroup.objects.select_for_update().get(pk=group.pk)
    claim_revision(locked, expected_revision)
    before = {"name": locked.name, "description": locked.description}
    locked.name, locked.description = name, description
    locked.full_clean()
    locked.save()
    audit.record(actor=actor, action="iam:groups:updateGroup", target=locked,
                 details=audit.changes(before, {"name": name, "description": description}))
    group.name, group.description, group.revision = name, description, locked.revision
    return locked


@atomic_service
def group_delete(*, actor, group: UserGroup) -> None:
    require(actor, "iam:groups:deleteGroup", target=group)
    if group.is_builtin:
        raise ValidationError(gettext_lazy("The built-in admin group cannot be deleted."))
    escalation.require_may_delete_group(actor, "iam:groups:deleteGroup", group)
    audit.record(actor=actor, action="iam:groups:deleteGroup", target=group, details={"before": {
        "name": group.name,
        "members": list(group.members.values_list("username", flat=True)),
        "grants": list(group.grants.values_list("policy__name", flat=True)),
    }})
    group.delete()


@atomic_service
def group_add_member(*, actor, group: UserGroup, user: User) -> Membership:
    require(actor, "iam:groups:addUserToGroup", target=group)
    escalation.require_may_add_members(actor, "iam:groups:addUserToGroup", group)
    escalation.require_may_act_on_account(actor, "iam:groups:addUserToGroup", user)
    User.objects.select_for_update().filter(pk=user.pk).first()
    if Membership.objects.filter(group=group, user=user).exists():
        raise ValidationError(gettext_lazy("%(user)s is already a member of %(group)s."),
                              params={"user": user, "group": group})
    if Membership.objects.filter(user=user).count() >= MAX_GROUPS_PER_USER:
        raise ValidationError(gettext_lazy("%(user)s is already in %(max_groups_per_user)s groups, the most a user "
                                           "can be in."),
                              params={"user": user, "max_groups_per_user": MAX_GROUPS_PER_USER})
    membership = Membership.objects.create(group=group, user=user)
    audit.record(actor=actor, action="iam:groups:addUserToGroup", target=group,
                 details={"after": {"member": user.username}})
    return membership


@atomic_service
def group_remove_member(*, actor, group: UserGroup, user: User) -> None:
    require(actor, "iam:groups:removeUserFromGroup", target=group)
    escalation.require_may_remove_members(actor, "iam:groups:removeUserFromGroup", group)
    escalation.require_may_act_on_account(actor, "iam:groups:removeUserFromGroup", user)
    membership = Membership.objects.select_for_update().filter(group=group, user=user).first()
    if membership is None:
        raise ValidationError(gettext_lazy("%(user)s is not a member of %(group)s."),
                              params={"user": user, "group": group})
    if group.is_admin_group and user.is_active and _active_admins() <= 1:
        raise ValidationError(gettext_lazy("This is the last active member of the admin group: it cannot be removed."))
    membership.delete()
    audit.record(actor=actor, action="iam:groups:removeUserFromGroup", target=group,
                 details={"before": {"member": user.username}})
