"""Custom policy services: every document passes the validator; saves detect concurrent edits."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

from accounts import audit, wording
from accounts.enforcement import atomic_service, require
from accounts.models import MAX_CUSTOM_POLICIES, Grant, Policy, PolicyRevision, UserGroup
from accounts.policy import validate_document, validate_text
from accounts.policy.messages import Message, gettext_noop

from . import escalation


class PolicyDocumentError(ValidationError):
    """A policy document with validator errors; `findings` holds every finding, located."""

    def __init__(self, result):
        self.findings = result.findings
        messages = [wording.lazy(Message("%(path)s: %(message)s", path=f.path or Message(gettext_noop("document")),
                                         message=f.message)) for f in result.errors]
        super().__init__(messages or [gettext_lazy("The policy document is invalid.")], code="invalid_policy")


class ConcurrentEditError(ValidationError):
    """Someone saved the same policy after this editor loaded it."""



def parse_policy_document(document_or_text) -> dict:
    """Validate a custom policy document (text or parsed); raise PolicyDocumentError if it has errors."""
    if isinstance(document_or_text, str):
        result = validate_text(document_or_text)
    else:
        result = validate_document(document_or_text)
    if not result.ok:
        raise PolicyDocumentError(result)
    return result.document


def _record_revision(policy: Policy, actor, *, restored_from: int | None = None) -> PolicyRevision:
    """Keep the revision just saved: its number, text, author and time (the policy history)."""
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return PolicyRevision.objects.create(
        policy=policy, number=policy.revision, name=policy.name, description=policy.description,
        document=policy.document, author=actor if authenticated else None,
        author_name=actor.get_username() if authenticated else "system", restored_from=restored_from,
    )


def _save_new_policy(*, actor, name: str, description: str, parsed: dict, details: dict) -> Policy:
    if Policy.objects.filter(is_system=False).count() >= MAX_CUSTOM_POLICIES:
        raise ValidationError(gettext_lazy("This account already has %(max_custom_policies)s custom policies, the "
                                           "most allowed."), params={"max_custom_policies": MAX_CUSTOM_POLICIES})
    policy = Policy(name=name, description=description, document=parsed, kind=Policy.Kind.POLICY)
    policy.full_clean()
    policy.save()
    _record_revision(policy, actor)
    audit.record(actor=actor, action="iam:roles:createRole", target=policy,
                 details={**details, "after": {"name": name, "description": description, "document": parsed}})
    return policy


@atomic_service
def policy_create(*, actor, name: str, description: str = "", document) -> Policy:
    require(actor, "iam:roles:createRole", target_repr=name)
    parsed = parse_policy_document(document)
    return _save_new_policy(actor=actor, name=name, description=description, parsed=parsed, details={})


@atomic_service
def policy_clone(*, actor, source: Policy, name: str, description: str | None = None) -> Policy:
    """Copy any role or policy into a new custom policy (a system role's Version 1.0 becomes 1.1).

    The copy must pass the custom-policy validator: a system document mixing IAM with
    project-level services cannot be cloned as it stands.
    """
    require(actor, "iam:roles:createRole", target_repr=name)
    document = {**source.document, "Version": "1.1"}
    parsed = parse_policy_document(document)
    description = source.description if description is None else description
    return _save_new_policy(actor=actor, name=name, description=description, parsed=parsed,
                            details={"cloned_from": {"id": source.pk, "name": source.name}})


def _require_may_widen(actor, policy: Policy, document: dict) -> None:
    """Editing an attached policy grants its new statements to every group holding it: the actor must
    hold whatever the edit newly allows (or stops denying), on every scope the policy is granted."""
    widened = escalation.document_widening(policy.document, document)
    if not widened:
        return
    handed_over: set = set()
    for grant in Grant.objects.filter(policy=policy).prefetch_related("projects"):
        handed_over |= escalation.scoped(widened, all_resources=grant.all_resources,
                                         project_names=[p.name for p in grant.projects.all()])
    escalation.require_holds(actor, "iam:roles:updateRole", handed_over,
                             doing=escalation.widening(policy.name), target=policy)


@atomic_service
def policy_update(*, actor, policy: Policy, name: str, description: str, document,
                  expected_revision: int, restored_from: int | None = None) -> Policy:
    """Save a custom policy, refusing if someone saved it after `expected_revision` was read.

    Every save is kept as a new revision; `restored_from` names the old revision a restore
    (policy_restore) brought back.
    """
    require(actor, "iam:roles:updateRole", target=policy)
    if policy.is_system:
        raise ValidationError(gettext_lazy("System-defined roles and policies are read-only."))
    parsed = parse_policy_document(document)
    current = Policy.objects.select_for_update().get(pk=policy.pk)
    if current.revision != expected_revision:
        raise ConcurrentEditError(
            gettext_lazy("%(name)s was changed by someone else (now revision %(revision)s, you edited revision "
                         "%(edited)s). Your text is kept below: review their version, then save again."),
            code="conflict", params={"name": current.name, "revision": current.revision, "edited": expected_revision},
        )
    _require_may_widen(actor, current, parsed)
    before = {"name": current.name, "description": current.description, "document": current.document}
    current.name, current.description, current.document = name, description, parsed
    current.revision += 1
    current.full_clean()
    current.save()
    _record_revision(current, actor, restored_from=restored_from)
    details = audit.changes(before, {"name": name, "description": description, "document": parsed})
    details["revision"] = current.revision
    if restored_from is not None:
        details["restored_from"] = restored_from
    audit.record(actor=actor, action="iam:roles:updateRole", target=current, details=details)
    policy.refresh_from_db()
    return current


@atomic_service
def policy_restore(*, actor, policy: Policy, number: int, expected_revision: int) -> Policy:
    """Bring back revision `number` of a custom policy (document and description) as a new revision.

    The very edit service a save uses: the same permission (iam:roles:updateRole), the same
    validator, the same no-escalation rule for an attached policy and the same concurrency guard.
    The name stays the current one (an old name may have been taken since).
    """
    require(actor, "iam:roles:updateRole", target=policy)
    try:
        old = PolicyRevision.objects.get(policy=policy, number=number)
    except PolicyRevision.DoesNotExist:
        raise ValidationError(gettext_lazy("%(name)s has no recorded revision %(number)s."),
                              params={"name": policy.name, "number": number}, code="no_revision") from None
    return policy_update(actor=actor, policy=policy, name=policy.name, description=old.description,
                         document=old.document, expected_revision=expected_revision, restored_from=number)


@atomic_service
def policy_delete(*, actor, policy: Policy) -> None:
    require(actor, "iam:roles:deleteRole", target=policy)
    if policy.is_system:
        raise ValidationError(gettext_lazy("System-defined roles and policies cannot be deleted."))
    groups = list(UserGroup.objects.filter(grants__policy=policy).values_list("name", flat=True))
    if groups:
        raise ValidationError(gettext_lazy("%(name)s is attached to %(names)s: detach it first."),
                              params={"name": policy.name, "names": ', '.join(groups)})
    audit.record(actor=actor, action="iam:roles:deleteRole", target=policy,
                 details={"before": {"name": policy.name, "document": policy.document}})
    policy.delete()
