"""Permission checks inside service functions, and the one place a refusal is recorded.

Every door (pages, services, Django admin, import, the API, MFA and sign-in) records a refusal
with `record_refusal` (or raises with `refuse`, which records first): no other code writes a
`denied` audit event (tests/security/test_one_refusal_recorder.py keeps it so).

A service runs in a transaction; a refusal raised inside it would roll back its own audit
event, so `require` raises `Refused` and `atomic_service` records it after the rollback.
"""

from __future__ import annotations

import functools
from typing import NoReturn

from django.core.exceptions import PermissionDenied
from django.db import transaction

from . import audit, authz, last_used, wording
from .models import AuditEvent


class Denied(PermissionDenied):
    """The policy engine said no: a 403 carrying its decision (`explanation`: action, project, outcome), so
    whoever answers it (imsperm.errors.permission_denied: the 403 page's "Request access" link) reads the
    decision, never the sentence. The message is the decision's summary unless `message` says otherwise."""

    def __init__(self, explanation, message: str | None = None):
        super().__init__(explanation.summary if message is None else message)
        self.explanation = explanation


class Refused(Denied):
    """The policy engine said no inside a service; carries what the audit event needs."""

    def __init__(self, explanation, *, actor, target=None, target_repr: str = "", project=None):
        super().__init__(explanation)
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


def record_refusal(actor, action, *, message: str | None = None, **where) -> AuditEvent:
    """Record one refusal: a `denied` audit event (repeats within a minute counted on it, see
    accounts.audit.record). The one writer of refusals.

    `action` is the refused catalogue action, or the engine's Explanation or one shaped like it (its
    action, and its summary as the default message), or a `Refused` (then `actor` may be None: the refusal's own
    actor, target and project are used unless `where` says otherwise). `where` is what
    audit.record takes to name the target and details (target, target_type, target_repr, project…).
    """
    if isinstance(action, Refused):
        refused = action
        actor = actor if actor is not None else refused.actor
        where = {"target": refused.target, "target_repr": refused.target_repr, "project": refused.project,
                 **where}
        action = refused.explanation
    if not isinstance(action, str):  # an authz.Explanation, or one shaped like it (EscalationRefusal)
        # The audit log keeps English, with the sentence's wording for pages to translate (accounts.wording).
        message = wording.decision_message(action) if message is None else message
        action = action.action
    return audit.record(actor=actor, action=action, outcome=AuditEvent.Outcome.DENIED, message=message or "",
                        **where)


def refuse(actor, action, *, message: str | None = None, **where) -> NoReturn:
    """Record the refusal (record_refusal), then raise PermissionDenied with its message (by default
    the engine's explanation)."""
    record_refusal(actor, action, message=message, **where)
    decision = action.explanation if isinstance(action, Refused) else action
    if isinstance(decision, str):
        raise PermissionDenied(message)
    raise Denied(decision, message)


def atomic_service(function):
    """Run a service in a transaction; audit a refusal after the rollback, then re-raise."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            with transaction.atomic():
                return function(*args, **kwargs)
        except Refused as refused:
            record_refusal(None, refused)
            raise

    return wrapper
