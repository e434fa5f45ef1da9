"""Apply a configuration: the plan's steps through the services, in one transaction, audited as one import."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.db import transaction

from accounts import audit, wording
from accounts.enforcement import Refused, record_refusal
from accounts.models import User
from accounts.policy.messages import Message, gettext_noop

from .document import Configuration, DocumentError, digest, dumps
from .limits import kind_refusals
from .plan import Plan
from .planning import build_plan
from .steps import StepFailed, run_steps

IMPORT_EVENT = "iam:config:import"


@dataclass
class ApplyResult:
    plan: Plan
    import_id: str = ""
    created_users: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return not self.plan.is_noop


class StaleConfiguration(Exception):
    """The stored configuration changed since the plan that is being confirmed was made."""


def apply_configuration(configuration: Configuration, *, actor, prune: bool = False,
                        expected_config_hash: str | None = None, source: str = "") -> ApplyResult:
    """Make the stored configuration match the file, all or nothing.

    Every change is one call of an existing service as `actor` (None: the system itself, for a
    restore into an empty database), so permission checks, limits, role dependencies and the
    no-escalation rule apply as they do in the console. Every audit event of the import carries
    its `import_id`; one `iam:config:import` event sums it up. Nothing to do → nothing written.
    A refusal rolls everything back and raises DocumentError at the refused change's place in
    the file (a refused permission is audited once, as the import's). `expected_config_hash`
    (the plan's) makes a confirmation fail with StaleConfiguration if the stored
    configuration changed since.
    """
    from .export import export_text

    import_id = uuid.uuid4().hex[:12]
    # Planned outside the transaction (no write lock, no row lock while it computes); inside, the stored
    # configuration is read again and planned again only if it changed in between.
    config_text = export_text()
    if expected_config_hash is not None and digest(config_text) != expected_config_hash:
        raise StaleConfiguration()
    plan = build_plan(configuration, prune=prune, config_text=config_text)
    _refuse(plan, actor)
    if plan.is_noop:
        return ApplyResult(plan=plan)
    try:
        with transaction.atomic():
            config_text = export_text()
            if digest(config_text) != plan.config_hash:
                if expected_config_hash is not None:
                    raise StaleConfiguration()
                plan = build_plan(configuration, prune=prune, config_text=config_text)
                _refuse(plan, actor)
            result = ApplyResult(plan=plan)
            if plan.is_noop:
                return result
            result.import_id = import_id
            with audit.tagged(import_id=import_id):
                for outcome in run_steps(plan, actor):
                    if isinstance(outcome, tuple) and len(outcome) == 2 and isinstance(outcome[0], User):
                        result.created_users.append(outcome[0].username)
                audit.record(actor=actor, action=IMPORT_EVENT, target_type="configuration",
                             target_id=import_id, target_repr=source or "IAM configuration",
                             message=_summary(plan), details={
                                 **plan.counts(), "prune": prune, "document_sha256": digest(dumps(configuration)),
                             })
            return result
    except StepFailed as failure:
        record_refused_import(failure, actor, import_id, source)
        raise DocumentError([(failure.path, failure.message)]) from failure


def record_refused_import(failure: StepFailed, actor, import_id: str, source: str) -> None:
    """A refused permission, audited once as the import's (after the rollback discarded the step's own)."""
    if isinstance(failure.error, Refused):  # the refusal in English with its wording, not as the page said it
        record_refusal(actor, failure.error.explanation.action,
                       message=Message(gettext_noop("Import refused at %(path)s: %(message)s"), path=failure.path,
                                       message=wording.decision_message(failure.error.explanation)),
                       target_type="configuration", target_id=import_id, target_repr=source or "IAM configuration",
                       details={"import_id": import_id, "path": failure.path})


def _refuse(plan: Plan, actor) -> None:
    """DocumentError for a plan with errors, or with kinds of change the actor may not make at all."""
    errors = plan.errors or kind_refusals(plan.changes, actor)
    if errors:
        raise DocumentError(errors)


def _summary(plan: Plan) -> str:
    counts = plan.counts()
    return Message(gettext_noop("Imported the IAM configuration: %(create)s created, %(change)s changed, "
                                "%(remove)s removed."), create=counts["create"], change=counts["change"],
                   remove=counts["remove"])
