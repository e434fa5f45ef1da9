"""Helpers shared by the IAM services."""

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils.translation import gettext_lazy

from accounts.models import ADMIN_GROUP_NAME, Membership

# audit.changes, under the name services/projects.py still imports (issue 22: one definition).


def _active_admins() -> int:
    return Membership.objects.filter(
        group__name=ADMIN_GROUP_NAME, group__is_builtin=True, user__is_active=True
    ).count()


def _is_admin_member(user) -> bool:
    return Membership.objects.filter(user=user, group__name=ADMIN_GROUP_NAME, group__is_builtin=True).exists()


# A save refused because someone saved the same row after the form was loaded (images too): its wording, so
# that it reads in the person's language and is stored in English (accounts/wording.py).
CHANGED_MEANWHILE = gettext_lazy(
    "%(name)s was changed by someone else after you opened it (it is now at revision %(revision)s). Your input "
    "is kept below, beside the current values: review them, then save again to replace them.")


class StaleEditError(ValidationError):
    """Someone saved the user, group, region or project after this form loaded it (as
    images.services.ConcurrentImageEditError for images); `current` is the row as saved now."""

    def __init__(self, current):
        self.current = current
        super().__init__(CHANGED_MEANWHILE, code="conflict",
                         params={"name": str(current), "revision": current.revision})


def claim_revision(instance, expected_revision: int | None) -> None:
    """Move `instance` to its next revision, or refuse if it is no longer at `expected_revision`.

    The images' mechanism (images.services._claim_revision): one conditional UPDATE, so of two saves
    that loaded the same revision exactly one wins, on any database. `None` is a write that no edit
    form loaded (an activation button, an import, the system): it moves the revision on, so forms
    drawn before it turn stale.
    """
    model = type(instance)
    rows = model.objects.filter(pk=instance.pk)
    if expected_revision is not None:
        rows = rows.filter(revision=expected_revision)
    if not rows.update(revision=F("revision") + 1):
        raise StaleEditError(model.objects.get(pk=instance.pk))
    instance.refresh_from_db(fields=["revision"])
