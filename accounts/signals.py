"""Bump the authorization stamp whenever something a decision depends on changes.

Receivers run inside the writing transaction, so the new stamp commits with the change and the
very next request of every process reloads (accounts.authz). Admin edits are covered too.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from . import authz
from .models import Grant, Membership, Policy, Project, Region, User, UserGroup

# Grants are compiled with project names and requests carry the region code: renaming either matters.
_DECISION_MODELS = (Membership, Grant, Policy, UserGroup, Project, Region)


@receiver(post_save)
@receiver(post_delete)
def bump_on_change(sender, **kwargs):
    if sender in _DECISION_MODELS:
        authz.bump_stamp()
    elif sender is User:
        update_fields = kwargs.get("update_fields")
        if update_fields is None or not set(update_fields) <= {"last_login", "password"}:
            authz.bump_stamp()


@receiver(m2m_changed, sender=Grant.projects.through)
@receiver(m2m_changed, sender=Policy.depends_on.through)
def bump_on_relation_change(sender, action, **kwargs):
    if action.startswith("post_"):
        authz.bump_stamp()
