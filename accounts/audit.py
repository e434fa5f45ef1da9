"""Audit events: one named function writes them, so every write and refusal looks alike."""

from __future__ import annotations

from .models import AuditEvent


def record(
    *,
    actor,
    action: str,
    target=None,
    target_type: str = "",
    target_id: str = "",
    target_repr: str = "",
    project=None,
    outcome: str = AuditEvent.Outcome.ALLOWED,
    message: str = "",
    details: dict | None = None,
) -> AuditEvent:
    """Append one audit event. `target` (a model instance) fills type, id and repr."""
    if target is not None:
        target_type = target_type or target._meta.model_name
        target_id = target_id or str(target.pk)
        target_repr = target_repr or str(target)[:255]
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent.objects.create(
        actor=actor if authenticated else None,
        actor_name=actor.get_username() if authenticated else (getattr(actor, "username", "") or "system"),
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_repr=target_repr,
        project=getattr(project, "name", project) or "",
        outcome=outcome,
        message=message[:512],
        details=details or {},
    )
