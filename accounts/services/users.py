"""User services: create, update, set password, delete (with the admin-group guard)."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy, gettext_noop

from accounts import audit
from accounts.enforcement import atomic_service, require
from accounts.models import AuditEvent, User
from accounts.policy.messages import Message

from . import escalation
from ._common import _active_admins, _is_admin_member, claim_revision

USERNAME_FIXED = gettext_noop("A user name cannot change: it is who the audit log, sign-in and the decision API "
                              "mean. Create a new user for a new name.")
USERNAME_WAS_SOMEONES = gettext_noop("%(name)s belonged to a deleted user whom the audit log still names: choose "
                                     "another name, so that the log keeps meaning one person.")


def username_was_someone_elses(username: str) -> bool:
    """Whether the audit log names `username` (in any letter case) as a user who was deleted.

    The log keeps every event (append-only; nothing expires it), so such a name is never handed to
    someone new: in the log, in sign-in and in the decision API it keeps meaning that person. Were
    events ever expired, a name would come free with its deletion event. One indexed lookup (the
    deletions), so an import creating many users stays linear in them.
    """
    holders = [str(pk) for pk in User.objects.filter(username__iexact=username).values_list("pk", flat=True)]
    return AuditEvent.objects.filter(
        action="iam:users:deleteUser", target_type="user", target_repr__iexact=username,
        outcome=AuditEvent.Outcome.ALLOWED,
    ).exclude(target_id__in=holders).exists()


def generate_password() -> str:
    return secrets.token_urlsafe(12)


@atomic_service
def user_create(*, actor, username: str, password: str | None = None, email: str = "",
                first_name: str = "", last_name: str = "", is_active: bool = True,
                is_staff: bool = False, without_password: bool = False) -> tuple[User, str | None]:
    """Create a user; returns it and the generated password when none was given (shown once).

    `without_password`: no password at all (an imported configuration carries none), until an
    administrator sets one; no hashing, so a thousand users are restored in seconds.
    """
    require(actor, "iam:users:createUser", target_repr=username)
    # The system itself (actor None: seed_demo, `iam_apply` without --actor restoring a backup) brings
    # back the person the name was; people creating users through a door never reuse it.
    if actor is not None and username_was_someone_elses(username):
        raise ValidationError({"username": ValidationError(gettext_lazy(USERNAME_WAS_SOMEONES),
                                                           params={"name": username})},
                              code="name_was_someones")
    generated = None
    if not password and not without_password:
        password = generated = generate_password()
    user = User(username=username, email=email, first_name=first_name, last_name=last_name,
                is_active=is_active, is_staff=is_staff)
    if without_password:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.full_clean()
    user.save()
    audit.record(actor=actor, action="iam:users:createUser", target=user,
                 details={"after": {"username": username, "email": email, "is_active": is_active}})
    return user, generated


@atomic_service
def user_update(*, actor, user: User, expected_revision: int | None = None, **changes) -> User:
    """Change a user's attributes (e-mail, names, is_active, is_staff; the user name never changes),
    refusing if someone saved the user after `expected_revision` was read (None: no form was loaded,
    as for the activation button or an import)."""
    require(actor, "iam:users:updateUser", target=user)
    escalation.require_may_act_on_account(actor, "iam:users:updateUser", user)
    if "is_active" in changes and changes["is_active"] != user.is_active:
        escalation.require_covers_user(actor, "iam:users:updateUser", user,
                                       doing="deactivating" if user.is_active else "activating")
    allowed = {"username", "email", "first_name", "last_name", "is_active", "is_staff"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
    locked = User.objects.select_for_update().get(pk=user.pk)
    if changes.pop("username", locked.username) != locked.username:
        raise ValidationError({"username": ValidationError(gettext_lazy(USERNAME_FIXED))}, code="username_fixed")
    claim_revision(locked, expected_revision)
    before = {k: getattr(locked, k) for k in changes}
    deactivating = changes.get("is_active") is False and locked.is_active
    if deactivating and _is_admin_member(locked) and _active_admins() <= 1:
        raise ValidationError({"is_active": ValidationError(gettext_lazy("This is the last active member of the admin "
                                                                         "group: it cannot be deactivated."))})
    for key, value in changes.items():
        setattr(locked, key, value)
    locked.full_clean()
    locked.save()
    audit.record(actor=actor, action="iam:users:updateUser", target=locked, details=audit.changes(before, changes))
    for key, value in changes.items():
        setattr(user, key, value)
    user.revision = locked.revision
    return locked


@atomic_service
def user_set_password(*, actor, user: User, password: str | None = None) -> str | None:
    """Set (or generate, returning it once) a user's password."""
    require(actor, "iam:users:updateUser", target=user)
    escalation.require_covers_user(actor, "iam:users:updateUser", user, doing="setting the password of")
    generated = None
    if not password:
        password = generated = generate_password()
    user.set_password(password)
    user.save(update_fields=["password"])
    audit.record(actor=actor, action="iam:users:updateUser", target=user,
                 message=Message(gettext_noop("password changed")))
    return generated


@atomic_service
def user_delete(*, actor, user: User) -> None:
    require(actor, "iam:users:deleteUser", target=user)
    escalation.require_covers_user(actor, "iam:users:deleteUser", user, doing="deleting")
    if user.is_active and _is_admin_member(user) and _active_admins() <= 1:
        raise ValidationError(gettext_lazy("This is the last active member of the admin group: it cannot be "
                                           "deleted."))
    if actor is not None and actor.pk == user.pk:
        raise ValidationError(gettext_lazy("You cannot delete your own user."))
    audit.record(actor=actor, action="iam:users:deleteUser", target=user,
                 details={"before": {"username": user.username, "groups": list(
                     user.iam_groups.values_list("name", flat=True))}})
    user.delete()
