"""A policy's document, or one of its recorded revisions, as a JSON file ("Download JSON").

Decided by the same permission as viewing the policy (iam:roles:getRole): whoever may open the page
may take its document away; anyone else is refused (403, audited) like at the page itself.
"""

from __future__ import annotations

import json
import re

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from accounts.models import Policy, PolicyRevision
from accounts.permissions import permission_required_action


def file_name(name: str, suffix: str = "") -> str:
    """A portable file name: the policy's name with anything but letters, digits, '.', '_' and '-' as '-'."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "policy"
    return f"{stem[:100]}{suffix}.json"


def json_attachment(document, filename: str) -> HttpResponse:
    body = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    response = HttpResponse(body.encode(), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@permission_required_action("iam:roles:getRole")
@require_GET
def policy_download(request, pk):
    """The policy's current document, as the JSON editor shows it."""
    policy = get_object_or_404(Policy.objects.only("pk", "name", "document"), pk=pk)
    return json_attachment(policy.document, file_name(policy.name))


@permission_required_action("iam:roles:getRole")
@require_GET
def policy_revision_download(request, pk, number):
    """One recorded revision's document (a policy's history lists them)."""
    revision = get_object_or_404(PolicyRevision.objects.only("pk", "name", "number", "document"),
                                 policy_id=pk, number=number)
    return json_attachment(revision.document, file_name(revision.name, f"-revision-{revision.number}"))
