"""The trial of a plan: its steps run as the actor in a transaction that is always rolled back.

Every permission check, limit and the no-escalation rule answer exactly as they would on apply,
so refusals become located errors before anything is applied; the users whose effective
permissions change are decided before and after the steps, the decisions outside the transaction.
"""

from __future__ import annotations

from django.db import transaction

from .document import Configuration, DocumentError
from .effects import compare, decided, loaded, touched_cells
from .export import export_text
from .limits import changes_refusal, kind_refusals
from .plan import Plan
from .planning import build_plan
from .steps import StepFailed, run_steps

EFFECTS_COMPARED = 50


class _Rollback(Exception):
    pass


def trial_plan(configuration: Configuration, *, actor, prune: bool = False, max_changes: int | None = None) -> Plan:
    """The plan, tried: every step run as the actor in a transaction that is rolled back.

    Refusals (permission, no-escalation, limits, dependencies) become located errors; the
    console passes `max_changes` (limits.MAX_CHANGES): a longer plan is refused before its trial. The
    users whose effective permissions change are listed with each decision before and after.

    Only the steps run inside the transaction (on SQLite it holds the write lock, on PostgreSQL
    the rows it writes): the plan, the kinds of change the actor may not make at all, and every
    decision are worked out outside it, so other writers wait only for the trial's own writes.
    """
    config_text = export_text()
    plan = build_plan(configuration, prune=prune, config_text=config_text)
    if plan.errors or plan.is_noop:
        return plan
    plan.errors.extend(kind_refusals(plan.changes, actor))
    if max_changes is not None and len(plan.changes) > max_changes:
        plan.errors.extend(changes_refusal(plan.changes))
    if plan.errors:
        return plan
    new_projects = {p.name for r in configuration.regions for p in r.projects}
    cells = touched_cells(plan.touched, new_projects)
    # Decisions cost about a millisecond each for a user of 200 grants: the first users are compared.
    shown = set(sorted(plan.affected_usernames)[:EFFECTS_COMPARED])
    plan.effects_omitted = len(plan.affected_usernames) - len(shown)
    partial = shown - plan.whole_users

    def load_all():
        return [*loaded(partial, cells), *loaded(shown & plan.whole_users)]

    before = decided(load_all())
    after = None
    try:
        with transaction.atomic():
            run_steps(plan, actor)
            after = load_all()  # the users' grants as the steps left them: read here, decided after the rollback
            raise _Rollback
    except _Rollback:
        plan.effects = compare(before, decided(after))
    except StepFailed as failure:
        plan.errors.append((failure.path, failure.message))
        _audit_refused_trial(failure, actor)
    except DocumentError as error:
        plan.errors.extend(error.errors)
    return plan


def _audit_refused_trial(failure: StepFailed, actor) -> None:
    """A permission the trial refused is audited (its own event went with the rollback): a file that would
    escalate is refused and recorded at its plan too (the import page, `iam_apply`, its --dry-run), as when
    applied."""
    from .apply import record_refused_import  # the one way a refused import is audited

    record_refused_import(failure, actor, "", "")
