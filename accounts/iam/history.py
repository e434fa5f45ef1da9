"""A custom policy's history: its revisions, the diff between any two, and restoring an old one.

A restore is a save: accounts.services.policy_restore goes through policy_update, so the same
permission, validator, no-escalation rule, concurrency guard and audit apply. Before it is
confirmed the review lists the groups holding the policy and, from the engine, which of their
members gain or lose which action in which project: by name for a reader who may ask who-can
(accounts.who_can.may_see_names), else as counts.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods

from accounts import services, who_can
from accounts.enforcement import Refused
from accounts.impact import document_impact
from accounts.models import Grant, Policy, PolicyRevision
from accounts.permissions import permission_required_action
from accounts.policy.compare import line_diff, statement_changes
from accounts.services import escalation

from .policies import _custom_policy, _refuse_system_policy


def _number(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _comparison(old_document, old_label: str, new_document, new_label: str) -> dict:
    return {"old_label": old_label, "new_label": new_label, "lines": line_diff(old_document, new_document),
            "changes": statement_changes(old_document, new_document)}


@permission_required_action("iam:roles:getRole")
@require_GET
@_refuse_system_policy
def policy_history(request, pk):
    """Every recorded revision, and the diff between two of them (?from=N&to=M; by default the last two)."""
    policy = _custom_policy(pk, "edited, so it has no history")
    revisions = list(PolicyRevision.objects.filter(policy=policy).order_by("-number"))
    by_number = {revision.number: revision for revision in revisions}
    newest = revisions[0].number if revisions else None
    older = revisions[1].number if len(revisions) > 1 else newest
    to_number = _number(request.GET.get("to"), newest)
    from_number = _number(request.GET.get("from"), older)
    comparison, problem, status = None, "", 200
    if revisions:
        if to_number not in by_number or from_number not in by_number:
            problem = (f"{policy.name} has no recorded revision "
                       f"{to_number if to_number not in by_number else from_number}: choose one from the list.")
            status = 404
        else:
            old, new = by_number[from_number], by_number[to_number]
            comparison = _comparison(old.document, f"revision {old.number}", new.document, f"revision {new.number}")
    context = {
        "policy": policy, "revisions": revisions, "comparison": comparison, "problem": problem,
        "from_number": from_number, "to_number": to_number,
        "earliest_missing": bool(revisions) and revisions[-1].number > 1,
        "can_restore": request.authorization.allows("iam:roles:updateRole"),
    }
    return render(request, "iam/policies/history.html", context, status=status)


def _review_context(request, policy: Policy, old: PolicyRevision) -> dict:
    """What a restore would change: the diff, the groups holding the policy and every changed decision."""
    grants = list(Grant.objects.filter(policy=policy).select_related("group").prefetch_related("projects"))
    impact = document_impact(policy, old.document)
    widened = escalation.document_widening(policy.document, old.document)
    handed_over = set()
    for grant in grants:
        handed_over |= escalation.scoped(widened, all_resources=grant.all_resources,
                                         project_names=[p.name for p in grant.projects.all()])
    missing = escalation.missing_holdings(request.user, handed_over) if handed_over else []
    names = who_can.may_see_names(request.authorization)  # without it: how many groups and users, not which
    return {
        "policy": policy, "revision": old, "grants": grants if names else None, "grant_count": len(grants),
        "holder_count": len({grant.group_id for grant in grants}), "names_shown": names,
        "comparison": _comparison(policy.document, f"the current revision {policy.revision}", old.document,
                                  f"revision {old.number} as restored"),
        "impact": who_can.impact_for(request.authorization, impact),
        "missing": sorted(missing, key=lambda pair: (pair[0], pair[1] or "")),
        "is_current": old.number == policy.revision,
    }


@permission_required_action("iam:roles:updateRole")
@require_http_methods(["GET", "POST"])
@_refuse_system_policy
def policy_restore(request, pk):
    """Review (GET ?number=N), then restore revision N as a new revision (POST; the same service as a save)."""
    policy = _custom_policy(pk, "restored")
    number = _number(request.POST.get("number") if request.method == "POST" else request.GET.get("number"), None)
    if number is None:
        raise Http404("Choose the revision to restore from the policy's history.")
    old = get_object_or_404(PolicyRevision, policy=policy, number=number)
    status, error = 200, ""
    if request.method == "POST":
        expected = _number(request.POST.get("expected_revision"), 0)
        try:
            saved = services.policy_restore(actor=request.user, policy=policy, number=number,
                                            expected_revision=expected)
        except services.ConcurrentEditError as conflict:
            status, error = 409, " ".join(conflict.messages)
        except ValidationError as invalid:
            status, error = 422, " ".join(invalid.messages)
        except Refused as refused:  # audited by the service
            status, error = 403, str(refused)
        else:
            messages.success(request, (gettext("Restored revision %(number)s of %(name)s as revision %(revision)s.")
                                       % {"number": number, "name": saved.name, "revision": saved.revision}))
            return redirect("iam:policy-history", pk=saved.pk)
        policy.refresh_from_db()
    context = {**_review_context(request, policy, old), "error": error}
    return render(request, "iam/policies/restore.html", context, status=status)
