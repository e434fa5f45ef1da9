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
    """Append one audit event. `target` (a model instance) fills type, id and repr.

    Every label is cut to its column here, in one place: a refused 300-character path or a
    long "policy → group" label is still recorded (PostgreSQL would refuse it whole).
    """
    if target is not None:
        target_type = target_type or target._meta.model_name
        target_id = target_id or str(target.pk)
        target_repr = target_repr or str(target)
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    labels = {
        "actor_name": actor.get_username() if authenticated else (getattr(actor, "username", "") or "system"),
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "target_repr": target_repr,
        "project": getattr(project, "name", project) or "",
        "message": message,
    }
    return AuditEvent.objects.create(
        actor=actor if authenticated else None,
        outcome=outcome,
        details=details or {},
        **{field: _fit(field, value) for field, value in labels.items()},
    )


def _fit(field: str, value: str) -> str:
    """`value` cut to its column's max_length, marked with an ellipsis when cut."""
    limit = AuditEvent._meta.get_field(field).max_length
    return value if len(value) <= limit else value[: limit - 1] + "…"
