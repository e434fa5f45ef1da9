"""Reading access requests (issue 21): the queue each decider sees, the impact of each request, the
top bar's badge, the "Request access" links drawn where a person is refused, and the e-mails.

Writes are in accounts.services.access_requests; this module only reads and tells people.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from . import authz
from .models import AccessRequest, User
from .policy import ACTION_NAMES
from .services import access_requests as service
from .services.grants import _role_dependencies
from .who_can import Directory

log = logging.getLogger("imsperm.access_requests")
QUEUE_LIMIT = 100  # requests drawn on the queue, oldest first; the badge counts them all
Status = AccessRequest.Status


def live_pending():
    """Requests still waiting: pending and not lapsed (a lapsed one is out even before expire_grants runs)."""
    return AccessRequest.objects.filter(status=Status.PENDING, expires_at__gt=authz.clock())


def decidable(actor, requests, edges=None) -> list[tuple[AccessRequest, bool, bool]]:
    """(request, may approve, may deny) for each of `requests` the actor may approve or deny: what they
    could grant themselves, never their own. No query per request: the roles' dependencies are read
    once (two queries, or given as `edges`)."""
    authorization = authz.authorization_for(actor)
    if not requests or authorization is None or not authorization.allows("iam:permissions:grantPermission"):
        return []
    edges = _role_dependencies() if edges is None else edges
    found = []
    for access_request in requests:
        may = [authorization.allows(f"iam:accessRequests:{verb}")
               and service.decision_refusal(actor, access_request, deciding=verb, edges=edges) is None
               for verb in ("approve", "deny")]
        if any(may):
            found.append((access_request, *may))
    return found


def _pending_rows():
    return live_pending().select_related("requester", "policy", "project").order_by("created_at", "pk")


def pending_count_for(user) -> int:
    """How many pending requests `user` could decide (the top bar's badge): none, without a query, for
    someone who may neither see the queue nor grant; else one query."""
    authorization = authz.authorization_for(user)
    if authorization is None or not (authorization.allows("iam:accessRequests:list")
                                     and authorization.allows("iam:permissions:grantPermission")):
        return 0
    return len(decidable(user, list(_pending_rows())))


@dataclass(frozen=True)
class Gain:
    """One decision an approval would change for the requester: `now` → Allowed, in a project (None: all)."""

    action: str
    project: str | None
    now: str


@dataclass(frozen=True)
class QueueRow:
    request: AccessRequest
    may_approve: bool
    may_deny: bool
    gains: tuple[Gain, ...]
    blocked: tuple[Gain, ...]  # decisions a Deny statement would keep refusing


_NOW_LABELS = {"allow": "Allowed (with conditions)", "explicit_deny": "Denied explicitly",
               "implicit_deny": "Not granted"}


Impact = tuple[tuple[Gain, ...], tuple[Gain, ...]]


def impact(access_request: AccessRequest, directory: Directory, edges=None) -> Impact:
    """What the requester would gain, as the engine's decisions: each (action, project) an approval hands
    over that the requester does not hold outright now, split into gains and those a Deny keeps refused."""
    member = next((m for m in directory.members if m.user_id == access_request.requester_id), None)
    gains, blocked = [], []
    for action, project in sorted(service.handover(access_request, edges), key=lambda p: (p[0], p[1] or "")):
        if member is None:
            continue
        grants = directory.grants_for(member, action, project)
        if grants.is_admin:
            continue
        authorization = authz.Authorization(grants)
        if authorization.holds(action, project):
            continue
        outcome = authorization.decide(action, project).outcome
        (blocked if outcome == "explicit_deny" else gains).append(Gain(action, project, _NOW_LABELS[outcome]))
    return tuple(gains), tuple(blocked)


def queue_for(actor) -> tuple[list[QueueRow], int]:
    """The pending requests `actor` could decide, oldest first (at most QUEUE_LIMIT), with their impact,
    and how many there are in all. A fixed number of queries, whatever the number of requests."""
    pending = list(_pending_rows())
    edges = _role_dependencies() if pending else {}
    rows = decidable(actor, pending, edges)
    shown = rows[:QUEUE_LIMIT]
    if not shown:
        return [], len(rows)
    directory = Directory(user_ids={r.requester_id for r, *_ in shown})
    return [QueueRow(r, approve, deny, *impact(r, directory, edges)) for r, approve, deny in shown], len(rows)


def impact_of(access_request: AccessRequest) -> Impact:
    return impact(access_request, Directory(user_ids=[access_request.requester_id]))


def requests_of(user):
    """The user's own requests, newest first."""
    return (AccessRequest.objects.filter(requester=user).select_related("policy", "project")
            .order_by("-created_at", "-pk"))


# --- "Request access" links --------------------------------------------------------------------


def may_ask(user) -> bool:
    """Whether `user` may ask for access (iam:accessRequests:create, all resources): the engine's answer
    from the request's memoised Authorization, so drawing a link per cell costs no query."""
    authorization = authz.authorization_for(user)
    return authorization is not None and authorization.allows("iam:accessRequests:create")


def request_url(action: str = "", project=None, policy=None) -> str:
    """The form to ask, pre-filled: the action (or a policy) and the project."""
    query = {}
    if action:
        query["action"] = action
    if policy is not None:
        query["policy"] = getattr(policy, "pk", policy)
    project_name = getattr(project, "name", project)
    if project_name:
        query["project"] = project_name
    url = reverse("iam:access-request-new")
    return f"{url}?{urlencode(query)}" if query else url


# authz.Explanation.summary of an implicit deny:
# "Denied in cn-north-4: no grant allows ims:images:delete (implicit deny)."
_IMPLICIT = re.compile(r"^Denied(?: in (?P<project>\S+))?: no grant allows (?P<action>\S+) \(implicit deny\)\.$")


def refused_request(reason: str) -> dict | None:
    """From a refusal's text (the 403 page's, a disabled control's), what to ask for: {"action", "project"}
    when the engine refused for want of a grant (asking can help); None otherwise (a Deny, a state rule)."""
    match = _IMPLICIT.match((reason or "").strip())
    if match is None or match["action"] not in ACTION_NAMES:
        return None
    return {"action": match["action"], "project": match["project"] or ""}


# --- telling people ------------------------------------------------------------------------------


def _send(subject: str, body: str, recipients: list[str]) -> None:
    recipients = sorted({address for address in recipients if address})
    if not recipients:
        return
    try:
        send_mail(subject, body, getattr(settings, "DEFAULT_FROM_EMAIL", None), recipients)
    except Exception:  # a mail server down must not undo or fail a decision already made
        log.exception("could not send %r to %s", subject, recipients)


def approvers_of(access_request: AccessRequest) -> list[User]:
    """Everyone who could decide the request: those who-can says may approve, then the escalation rule."""
    from .who_can import who_can

    candidates = [member.user_id for member, _ in who_can("iam:accessRequests:approve").allowed]
    users = User.objects.filter(pk__in=candidates, is_active=True).exclude(pk=access_request.requester_id)
    return [user for user in users if service.decision_refusal(user, access_request) is None]


def _link(name: str) -> str:
    return getattr(settings, "IMSPERM_BASE_URL", "") + reverse(name)


def notify_approvers(access_request: AccessRequest) -> None:
    """Tell those who could decide that a request waits (Django's e-mail; the console backend in development)."""
    who = access_request.requester.get_username()
    body = (f"{who} asks for {service.describe(access_request)}.\n\nWhy: {access_request.justification}\n\n"
            f"Decide it in IAM → Access requests: {_link('iam:access-request-list')}\n"
            f"It lapses if nobody decides by {service.expires_text(access_request.expires_at)}.\n")
    _send(f"[imsperm] Access request from {who}: {access_request.what}", body,
          [user.email for user in approvers_of(access_request)])


def notify_requester(access_request: AccessRequest) -> None:
    """Tell the requester what became of their request."""
    state = access_request.get_status_display().lower()
    lines = [f"Your request for {service.describe(access_request)} was {state}"
             + (f" by {access_request.decided_by_name}." if access_request.decided_by_name else ".")]
    if access_request.status == Status.APPROVED:
        lines.append(f"You hold it until {service.expires_text(access_request.grant_expires)}"
                     f" (through the group {access_request.group.name if access_request.group else ''}).")
    if access_request.decision_reason:
        lines.append(f"Reason: {access_request.decision_reason}")
    lines.append(f"Your requests: {_link('iam:access-request-mine')}")
    _send(f"[imsperm] Access request {state}: {access_request.what}", "\n".join(lines) + "\n",
          [access_request.requester.email])
