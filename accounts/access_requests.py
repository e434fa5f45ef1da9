"""Reading access requests (issue 21): the queue each decider sees, the impact of each request, the
top bar's badge, the "Request access" links drawn where a person is refused, and the e-mails.

Writes are in accounts.services.access_requests; this module only reads and tells people.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

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


# English, as data; the page and the e-mail translate them as they show them.
_NOW_LABELS = {"allow": gettext_noop("Allowed (with conditions)"), "explicit_deny": gettext_noop("Denied explicitly"),
               "implicit_deny": gettext_noop("Not granted")}


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


def asked_for(decision) -> dict | None:
    """What a refusal says to ask for, from the engine's decision (an authz.Explanation, or one shaped like
    it, carried by the PermissionDenied that refused): {"action", "project"} when no grant allowed a catalogued
    action (an implicit deny: a grant would change it); None otherwise (a Deny, a no-escalation refusal, a
    refusal with no decision), where the plain form is offered."""
    if getattr(decision, "outcome", None) != "implicit_deny" or decision.action not in ACTION_NAMES:
        return None
    return {"action": decision.action, "project": decision.project or ""}


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


def languages_of(users) -> dict[int, str]:
    """The language each person reads e-mail in (one query): the one they chose in the console, else
    the default."""
    from preferences.models import UserPreference

    chosen = dict(UserPreference.objects.filter(user__in=[user.pk for user in users])
                  .exclude(language="").values_list("user_id", "language"))
    usable = {pk: language for pk, language in chosen.items() if translation.check_for_language(language)}
    return {user.pk: usable.get(user.pk, settings.LANGUAGE_CODE) for user in users}


def notify_approvers(access_request: AccessRequest) -> None:
    """Tell those who could decide that a request waits (Django's e-mail; the console backend in development),
    each in their own language."""
    who = access_request.requester.get_username()
    approvers = approvers_of(access_request)
    languages = languages_of(approvers)
    by_language: dict[str, list[str]] = {}
    for user in approvers:
        by_language.setdefault(languages[user.pk], []).append(user.email)
    for language, recipients in sorted(by_language.items()):
        with translation.override(language):
            body = gettext("%(who)s asks for %(what)s.\n\nWhy: %(why)s\n\n"
                           "Decide it in IAM → Access requests: %(link)s\n"
                           "It lapses if nobody decides by %(lapses)s.\n") % {
                "who": who, "what": service.describe(access_request), "why": access_request.justification,
                "link": _link("iam:access-request-list"),
                "lapses": service.expires_text(access_request.expires_at)}
            subject = gettext("[imsperm] Access request from %(who)s: %(what)s") % {
                "who": who, "what": access_request.what}
            _send(subject, body, recipients)


def notify_requester(access_request: AccessRequest) -> None:
    """Tell the requester what became of their request, in their language."""
    requester = access_request.requester
    with translation.override(languages_of([requester])[requester.pk]):
        _send(*_requester_mail(access_request), [access_request.requester.email])


def _requester_mail(access_request: AccessRequest) -> tuple[str, str]:
    state = access_request.get_status_display().lower()
    values = {"what": service.describe(access_request), "state": state, "name": access_request.decided_by_name}
    lines = [gettext("Your request for %(what)s was %(state)s by %(name)s.") % values
             if access_request.decided_by_name else gettext("Your request for %(what)s was %(state)s.") % values]
    if access_request.status == Status.APPROVED:
        lines.append(gettext("You hold it until %(until)s (through the group %(group)s).") % {
            "until": service.expires_text(access_request.grant_expires),
            "group": access_request.group.name if access_request.group else ""})
    if access_request.decision_reason:
        lines.append(gettext("Reason: %(reason)s") % {"reason": access_request.shown_reason})
    lines.append(gettext("Your requests: %(link)s") % {"link": _link("iam:access-request-mine")})
    subject = gettext("[imsperm] Access request %(state)s: %(what)s") % {"state": state, "what": access_request.what}
    return subject, "\n".join(lines) + "\n"
