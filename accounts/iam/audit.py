"""The audit log: every IAM change, image operation and refused attempt, filtered, paginated, exportable."""

from __future__ import annotations

import csv
import json
from datetime import UTC

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from accounts.paging import CURSOR_PARAM, keyset_page
from accounts.permissions import permission_required_action

from .directory_forms import AuditFilterForm
from .directory_selectors import AUDIT_SORT, audit_events

AUDIT_PAGE_SIZE = 50
# Times in the export are UTC whatever the person's zone (a file is read elsewhere, later): the header says so.
CSV_COLUMNS = ("time (UTC)", "user", "action", "target type", "target id", "target", "project", "outcome",
               "message", "details", "repeats", "last seen (UTC)")


def detail_blocks(details: dict) -> list[tuple[str, str]]:
    """An event's details as titled JSON blocks: Before, After, then anything else."""
    titles = {"before": gettext("Before"), "after": gettext("After")}
    blocks = [(titles[key], details[key]) for key in ("before", "after") if details.get(key) is not None]
    rest = {key: value for key, value in details.items() if key not in ("before", "after")}
    if rest:
        blocks.append((gettext("Details"), rest))
    return [(title, json.dumps(value, indent=2, sort_keys=True, default=str)) for title, value in blocks]


@permission_required_action("iam:audit:listEvents")
def audit_list(request):
    form = AuditFilterForm(request.GET)
    events = audit_events(**form.filters())
    sort = AUDIT_SORT.chosen(request.GET)
    page = keyset_page(events, AUDIT_SORT.order(sort), size=AUDIT_PAGE_SIZE, cursor=request.GET.get(CURSOR_PARAM, ""))
    for event in page:
        event.detail_blocks = detail_blocks(event.details)
    context = {
        "form": form,
        "page": page,
        "sort": sort,
        "headers": AUDIT_SORT.headers(request, sort),
        "usernames": User.objects.order_by("username").values_list("username", flat=True),
        "export_query": request.GET.urlencode(),
    }
    if request.htmx and request.htmx.target == "audit-results":
        return render(request, "iam/audit/list.html#results", context)
    return render(request, "iam/audit/list.html", context)


class _Echo:
    """A file-like object whose write returns the line, so csv.writer feeds a streaming response."""

    def write(self, value):
        return value


def _cell(value: str) -> str:
    """Neutralise text a spreadsheet would run as a formula (names and messages come from users)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_rows(events):
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for event in events.iterator(chunk_size=500):
        yield writer.writerow([_cell(str(value)) for value in (
            event.created_at.astimezone(UTC).isoformat(), event.actor_name, event.action, event.target_type,
            event.target_id, event.target_repr, event.project, event.outcome, event.message,
            json.dumps(event.details, sort_keys=True) if event.details else "", event.repeat_count,
            event.last_seen_at.astimezone(UTC).isoformat() if event.last_seen_at else "",
        )])


@permission_required_action("iam:audit:listEvents")
def audit_export(request):
    """The same filters as the page, every matching event, streamed as CSV."""
    form = AuditFilterForm(request.GET)
    response = StreamingHttpResponse(_csv_rows(audit_events(**form.filters())), content_type="text/csv")
    stamp = timezone.now().astimezone(UTC).strftime("%Y%m%d-%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="imsperm-audit-{stamp}.csv"'
    return response
