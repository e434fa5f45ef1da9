"""The one place cached decisions are invalidated: saving or deleting a row a decision reads bumps the
authorization stamp (accounts.authz.bump_stamp), inside the writing transaction.

Receivers are connected to exactly the models that decide — memberships, grants and their projects,
policies and their dependencies, groups, projects and regions (grants are compiled with project
names; requests carry the region code), and users (their active flag; not a sign-in's `last_login`
or a password change) — so every door counts (services, Django admin, imports, the shell) and no
service bumps by hand. The new stamp commits with the change, so the very next request of every
process reloads (accounts/process_cache.py). Queryset `update()`/`bulk_create()` send no signals:
code that writes decision rows that way must call `authz.bump_stamp()` itself (none does today).
"""

from django.db.models.signals import m2m_changed, post_delete, post_save

from . import authz
from .models import Grant, Membership, Policy, Project, Region, User, UserGroup

DECISION_MODELS = (Membership, Grant, Policy, UserGroup, Project, Region, User)
DECISION_RELATIONS = (Grant.projects.through, Policy.depends_on.through)
# Saving only these fields of a user changes no decision.
_USER_FIELDS_OUTSIDE_DECISIONS = {"last_login", "password"}


def bump_on_change(sender, update_fields=None, **kwargs):
    if sender is User and update_fields is not None and set(update_fields) <= _USER_FIELDS_OUTSIDE_DECISIONS:
        return
    authz.bump_stamp()


def bump_on_relation_change(sender, action, **kwargs):
    if action.startswith("post_"):
        authz.bump_stamp()


for _model in DECISION_MODELS:
    post_save.connect(bump_on_change, sender=_model, dispatch_uid=f"stamp-save-{_model._meta.label}")
    post_delete.connect(bump_on_change, sender=_model, dispatch_uid=f"stamp-delete-{_model._meta.label}")
for _relation in DECISION_RELATIONS:
    m2m_changed.connect(bump_on_relation_change, sender=_relation, dispatch_uid=f"stamp-m2m-{_relation._meta.label}")
