"""The unused-permissions report: grants and actions not used for N days, each with the
least-privilege document that would still cover what was used, to open in the policy editor."""

from django.shortcuts import render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from accounts import least_privilege, who_can
from accounts.models import Grant, Policy
from accounts.permissions import permission_required_action

from .visual_editor import document_text

DEFAULT_DAYS = 90
MAX_DAYS = 3650


def parse_days(raw: str | None) -> tuple[int, str]:
    """The report's window in days, and an error message when `raw` is not a usable number."""
    if raw in (None, ""):
        return DEFAULT_DAYS, ""
    text = raw.strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        return DEFAULT_DAYS, gettext("Days must be a whole number from 1 to %(max)s; showing %(default)s.") % {
            "max": MAX_DAYS, "default": DEFAULT_DAYS}
    return int(text), ""


@permission_required_action("iam:permissions:listPermissions")
@require_GET
def unused_permissions(request):
    """Every grant with the actions it allows, used or not within the window, and a suggested policy."""
    days, error = parse_days(request.GET.get("days"))
    rows = [{"usage": usage, "suggestion_text": document_text(usage.suggestion) if usage.suggestion else ""}
            for usage in least_privilege.usage_report(days)]
    context = {
        "days": days, "error": error, "rows": rows, "tab": "unused",
        "unused_count": sum(len(row["usage"].unused) for row in rows),
        "can_create": request.authorization.allows("iam:roles:createRole"),
        "names_shown": who_can.may_see_names(request.authorization),  # which group holds each grant
    }
    return render(request, "iam/last_used/report.html", context, status=400 if error else 200)


def suggestion_for(request) -> dict | None:
    """The new-policy page's initial values from `?suggest=<grant id>&days=N` (the report's button):
    the grant's least-privilege document, or None when there is none or the user may not read usage."""
    raw = request.GET.get("suggest", "")
    if not raw.isdigit() or not request.authorization.allows("iam:permissions:listPermissions"):
        return None
    days, _ = parse_days(request.GET.get("days"))
    grants = (Grant.objects.filter(pk=int(raw)).select_related("group", "policy").prefetch_related("projects"))
    usage = next(iter(least_privilege.usage_report(days, grants)), None)
    if usage is None or usage.suggestion is None:
        return None
    name_limit = Policy._meta.get_field("name").max_length
    group = usage.grant.group.name if who_can.may_see_names(request.authorization) else "a group"
    return {
        "document": usage.suggestion,
        "name": f"{usage.grant.policy.name} least privilege for {group}"[:name_limit],
        "description": f"What {group} used of {usage.grant.policy.name} in {days} days."[
            :Policy._meta.get_field("description").max_length],
    }
