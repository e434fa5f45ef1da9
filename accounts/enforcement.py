"""Permission checks inside service functions, and the audit of refusals.

A service runs in a transaction; a refusal raised inside it would roll back its own audit
event, so `require` raises `Refused` and `atomic_service` records it after the rollback.
"""

from __future__ import annotations

import functools

from django.core.exceptions import PermissionDenied
from django.db import transaction

from . import audit, authz, last_used
from .models import AuditEvent


class Refused(PermissionDenied):
    """The policy engine said no; carries what the audit event needs."""

    def __init__(self, explanation, *, actor, target=None, target_repr: str = "", project=None):
        super().__init__(explanation.summary)
        self.explanation = explanation
        self.actor = actor
        self.target = target
        self.target_repr = target_repr
        self.project = project


def require(actor, action: str, *, project=None, image=None, target=None, target_repr: str = "") -> None:
    """Raise Refused unless the policy engine allows `actor` to do `action` here.

    `actor=None` is the system itself (migrations, seed_demo): always allowed. An allowed
    decision counts for "last used" once the service's transaction commits.
    """
    if actor is None:
        return
    explanation = authz.decide(actor, action, project=project, image=image)
    if explanation.allowed:
        last_used.note_on_commit(explanation)
    else:
        raise Refused(explanation, actor=actor, target=target if target is not None else image,
                      target_repr=target_repr, project=project or getattr(image, "project", None))


def record_refusal(refused: Refused) -> None:
    audit.record(
        actor=refused.actor,
        action=refused.explanation.action,
        target=refused.target,
        target_repr=refused.target_repr,
        project=refused.project,
        outcome=AuditEvent.Outcome.DENIED,
        message=refused.explanation.summary,
    )


def atomic_service(function):
    """Run a service in a transaction; audit a refusal after the rollback, then re-raise."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            with transaction.atomic():
                return function(*args, **kwargs)
        except Refused as refused:
            record_refusal(refused)
            raise

    return wrapper
