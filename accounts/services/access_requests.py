"""Access requests (issue 21): ask for an action or a policy for a time; approve, deny, expire.

Approving grants what was asked, ending after the time, to the requester's own group
(`access-<username>`, a plain group: the grids, who-can and the group pages show it) through
`grant_attach`, so the approver passes the very checks and leaves the very audit an attach by hand
would. Only someone who could make that grant themselves (the no-escalation rule) may decide a
request, never its requester. Each function runs in one transaction and writes its audit event;
people are told by e-mail once it commits (accounts.access_requests.notify_*).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy

from accounts import audit, authz, wording
from accounts.enforcement import Refused, atomic_service, require
from accounts.models import AccessRequest, Membership, Policy, Project, User, UserGroup
from accounts.policy import ACTION_NAMES, SERVICES, get_action
from accounts.policy.messages import Message, gettext_noop, ngettext

from . import escalation
from .grants import dependency_closure, expires_text, grant_attach, is_global_only
from .groups import group_add_member, group_create
from .policies import policy_create

# How long a person may ask for: the attach page's choices, a week at most.
DURATIONS = {"1h": timedelta(hours=1), "8h": timedelta(hours=8), "1d": timedelta(days=1), "7d": timedelta(days=7)}
MAX_DURATION = max(DURATIONS.values())
MAX_JUSTIFICATION = 1000
GROUP_PREFIX = "access-"
Status = AccessRequest.Status


def request_ttl() -> timedelta:
    """How long a request waits for a decision before it lapses (IMSPERM_ACCESS_REQUEST_TTL_HOURS)."""
    return timedelta(hours=float(getattr(settings, "IMSPERM_ACCESS_REQUEST_TTL_HOURS", 72)))


def action_document(action: str) -> dict:
    """The custom policy an approved request for one action grants: that action, nothing else."""
    return {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": [action]}]}


def action_policy_name(action: str) -> str:
    return f"Access request: {action}"


def is_global(access_request: AccessRequest) -> bool:
    """A request for IAM (an IAM action, a policy of IAM actions only) is for all resources."""
    if access_request.action:
        return SERVICES[get_action(access_request.action).service].is_global
    return is_global_only(access_request.policy)


def _documents(access_request: AccessRequest, edges=None) -> list[tuple[dict, bool]]:
    """(document, granted on all resources) for everything an approval would attach: the policy and,
    for a role, the roles it depends on (attached along, with the same scope)."""
    whole = access_request.all_resources
    if access_request.action:
        return [(action_document(access_request.action), whole or is_global(access_request))]
    policies = [access_request.policy, *dependency_closure([access_request.policy], edges)]
    return [(policy.document, whole or is_global_only(policy)) for policy in policies]


def handover(access_request: AccessRequest, edges=None) -> set[escalation.Handover]:
    """What approving hands over, as (action, project or None) pairs (escalation.py's terms)."""
    projects = [access_request.project.name] if access_request.project_id else []
    pairs: set[escalation.Handover] = set()
    for document, whole in _documents(access_request, edges):
        pairs |= escalation.scoped(escalation.document_allows(document), all_resources=whole, project_names=projects)
    return pairs


def describe(access_request: AccessRequest) -> Message:
    """'ims:images:delete on cn-north-4 for 8 hours' — how messages and the audit log name a request (English,
    worded: pages show it in the reader's language with accounts.findings.localized)."""
    scope = access_request.scope_label
    return Message(gettext_noop("%(what)s on %(scope)s for %(duration)s"), what=access_request.what,
                   scope=Message(gettext_noop("All resources")) if scope == "All resources" else scope,
                   duration=duration_text(access_request.duration))


def duration_text(duration: timedelta | None) -> Message | str:
    """'8 hours', '1 day', '90 minutes': English, counted (the reader's language picks its plural form)."""
    if duration is None:
        return ""
    minutes = round(duration.total_seconds() / 60)
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return ngettext("%(number)s day", "%(number)s days", days, number=days)
    if minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%(number)s hour", "%(number)s hours", hours, number=hours)
    return ngettext("%(number)s minute", "%(number)s minutes", minutes, number=minutes)


# --- who may decide ------------------------------------------------------------------------------


def decision_refusal(actor, access_request: AccessRequest, *, deciding: str = "approve", edges=None) -> str | None:
    """Why `actor` may not decide (approve or deny) this request, or None: the requester never decides
    their own; a decider holds the deciding action and iam:permissions:grantPermission, and everything
    the grant would hand over (escalation.py). The queue, its badge and the services all ask this."""
    if actor is None:
        return None
    if actor.pk == access_request.requester_id:
        return Message(gettext_noop("You cannot decide your own access request: someone else who holds it must."))
    authorization = authz.authorization_for(actor)
    for action in (f"iam:accessRequests:{deciding}", "iam:permissions:grantPermission"):
        if authorization is None or not authorization.allows(action):
            template = (gettext_noop("You need %(action)s to approve access requests.") if deciding == "approve"
                        else gettext_noop("You need %(action)s to deny access requests."))
            return Message(template, action=action)
    return escalation.handover_refusal(actor, handover(access_request, edges),
                                       doing=escalation.granting(access_request.what, access_request.scope_label))


def _require_may_decide(actor, access_request: AccessRequest, deciding: str) -> None:
    action = f"iam:accessRequests:{deciding}"
    require(actor, action, target=access_request, target_repr=_label(access_request))
    reason = decision_refusal(actor, access_request, deciding=deciding)
    if reason:
        raise Refused(escalation.EscalationRefusal(action, reason), actor=actor,
                      target=access_request, target_repr=_label(access_request))


def _label(access_request: AccessRequest) -> str:
    return f"#{access_request.pk} {access_request.requester.get_username()}: {access_request.what}"


# --- asking ----------------------------------------------------------------------------------------


def _check_what(action: str | None, policy: Policy | None) -> None:
    if bool(action) == (policy is not None):
        raise ValidationError({"action": ValidationError(gettext_lazy("Ask for one action, or one role or policy."))})
    if action and action not in ACTION_NAMES:
        raise ValidationError({"action": ValidationError(gettext_lazy("%(action)s is not an action of the catalogue."),
                                                         params={"action": action})})


def _check_duration(duration: timedelta | None, *, field: str = "duration", at_most: timedelta = MAX_DURATION) -> None:
    if duration is None or duration <= timedelta(0):
        raise ValidationError({field: ValidationError(gettext_lazy("Choose how long you need it."))})
    if duration > at_most:
        raise ValidationError({field: ValidationError(gettext_lazy("At most %(duration)s."),
                                                      params={"duration": wording.lazy(duration_text(at_most))})})


def _answer_now(requester, access_request: AccessRequest) -> str | None:
    """Why asking is pointless (the requester holds it all already, or a Deny would still refuse it), or None."""
    missing = escalation.missing_holdings(requester, handover(access_request))
    # English Messages: the request and the audit keep the English, the page says it in the person's language.
    if not missing:
        scope = access_request.scope_label
        return Message(gettext_noop("You already hold %(what)s on %(scope)s: nothing to ask for."),
                       what=access_request.what, scope=Message(scope) if scope == _ALL_RESOURCES else scope)
    authorization = authz.authorization_for(requester)
    denied = [pair for pair in missing if authorization.decide(pair[0], pair[1]).outcome == "explicit_deny"]
    if len(denied) == len(missing):
        shown = tuple(Message(gettext_noop("%(action)s on %(project)s"), action=action,
                              project=project or Message(_ALL_RESOURCES)) for action, project in denied[:5])
        return Message(gettext_noop("A Deny statement refuses you %(denied)s: a grant cannot lift a Deny. Ask an "
                                    "administrator about the policy that denies it."), denied=shown)
    return None


_ALL_RESOURCES = gettext_noop("All resources")


@atomic_service
def ask(*, actor, action: str | None = None, policy: Policy | None = None, project: Project | None = None,
        all_resources: bool = False, duration: timedelta, justification: str) -> AccessRequest:
    """Ask for an action or a policy, in a project or on all resources, for `duration`, saying why.

    Asking needs iam:accessRequests:create on all resources, like any action (the system policy
    IAM AccessRequestSelfService holds it): a new user can do nothing, not even ask. A request for what
    the requester already holds, or for what a Deny would still refuse, is answered at once (status
    `answered`, with the reason)."""
    require(actor, "iam:accessRequests:create", target_repr=action or str(policy or ""))
    _check_what(action, policy)
    _check_duration(duration)
    justification = (justification or "").strip()
    if not justification:
        raise ValidationError({"justification": ValidationError(
            gettext_lazy("Say why you need it: the approver reads this."))})
    if len(justification) > MAX_JUSTIFICATION:
        raise ValidationError({"justification": ValidationError(
            gettext_lazy("At most %(max_justification)s characters."),
            params={"max_justification": MAX_JUSTIFICATION})})
    now = authz.clock().replace(microsecond=0)
    access_request = AccessRequest(requester=actor, action=action or "", policy=policy, duration=duration,
                                   all_resources=all_resources, project=project, justification=justification,
                                   created_at=now, expires_at=now + request_ttl())
    if is_global(access_request) or all_resources:
        access_request.all_resources, access_request.project = True, None
    elif project is None:
        raise ValidationError({"project": ValidationError(gettext_lazy("Choose a project, or All resources."))})
    answer = _answer_now(actor, access_request)
    if answer:
        access_request.status, access_request.decided_at, access_request.decision_reason = Status.ANSWERED, now, answer
        access_request.decision_wording = wording.to_json(answer)
    access_request.save()
    audit.record(actor=actor, action="iam:accessRequests:create", target=access_request,
                 target_repr=_label(access_request), message=answer or "",
                 details={"what": access_request.what, "scope": access_request.scope_label,
                          "duration": duration_text(duration), "justification": justification,
                          "status": access_request.status})
    if not answer:
        from accounts.access_requests import notify_approvers

        transaction.on_commit(lambda: notify_approvers(access_request))
    return access_request


# --- deciding --------------------------------------------------------------------------------------


def _locked_pending(access_request: AccessRequest, now: datetime) -> AccessRequest:
    """The request, locked, if it is still waiting for a decision; a clear error otherwise."""
    locked = (AccessRequest.objects.select_for_update(of=("self",)).select_related("requester", "policy", "project")
              .get(pk=access_request.pk))
    if locked.status != Status.PENDING:
        message = (gettext_lazy("This request is no longer pending: it was %(status)s by %(name)s.")
                   if locked.decided_by_name else gettext_lazy("This request is no longer pending: it was %(status)s."))
        raise ValidationError(message, params={"status": wording.lower(Status(locked.status).label),
                                               "name": locked.decided_by_name}, code="decided")
    if locked.expires_at <= now:
        raise ValidationError(gettext_lazy("This request lapsed: nobody decided it in time. The requester may ask "
                                           "again."),
                              code="decided")
    return locked


def _personal_group(actor, requester: User) -> UserGroup:
    """The requester's own group (`access-<username>`), made and joined as the system if need be.

    An existing group of that name counts only if it holds nobody else: approving adds the requester to it,
    so what it already holds must be something the approver could hand over too (no escalation)."""
    name = f"{GROUP_PREFIX}{requester.get_username()}"
    group = UserGroup.objects.filter(name__iexact=name).first()
    if group is None:
        group = group_create(actor=None, name=name,
                             description=f"What access requests granted to {requester.get_username()}, for a time")
    others = list(Membership.objects.filter(group=group).exclude(user=requester)
                  .values_list("user__username", flat=True))
    if others or group.is_builtin:
        raise ValidationError(gettext_lazy("The group %(name)s holds other people (%(others)s): rename it, so "
                                           "approved access goes to the requester alone."),
                              params={"name": group.name, "others": ", ".join(others) or gettext_lazy("built-in")})
    if not Membership.objects.filter(group=group, user=requester).exists():
        escalation.require_may_add_members(actor, "iam:accessRequests:approve", group)
        group_add_member(actor=None, group=group, user=requester)
    return group


def _policy_to_grant(access_request: AccessRequest) -> Policy:
    """The asked policy, or for an action the custom policy holding just that action (made once, reused)."""
    if not access_request.action:
        return access_request.policy
    name, document = action_policy_name(access_request.action), action_document(access_request.action)
    policy = Policy.objects.filter(name__iexact=name).first()
    if policy is None:
        return policy_create(actor=None, name=name, document=document,
                             description=f"Granted by approved access requests for {access_request.action}")
    if policy.document != document:
        raise ValidationError(gettext_lazy("The policy %(name)s no longer holds just %(action)s: restore it, or "
                                           "rename it so a new one is made."),
                              params={"name": policy.name, "action": access_request.action})
    return policy


@atomic_service
def approve(*, actor, access_request: AccessRequest, duration: timedelta | None = None,
            note: str = "") -> AccessRequest:
    """Grant what was asked to the requester's own group until now + duration (the asked one, or shorter),
    through grant_attach: the approver must be allowed to make that grant and hold all it hands over."""
    now = authz.clock().replace(microsecond=0)
    locked = _locked_pending(access_request, now)
    _require_may_decide(actor, locked, "approve")
    duration = locked.duration if duration is None else duration
    _check_duration(duration, at_most=locked.duration)
    group = _personal_group(actor, locked.requester)
    policy = _policy_to_grant(locked)
    ends = now + duration
    grant_attach(actor=actor, group=group, policies=[policy], all_resources=locked.all_resources,
                 projects=[locked.project] if locked.project_id else [], expires=ends)
    locked.status, locked.decided_at, locked.decided_by = Status.APPROVED, now, actor
    locked.decided_by_name, locked.decision_reason = actor.get_username() if actor else "system", note.strip()
    locked.granted_duration, locked.grant_expires, locked.group = duration, ends, group
    locked.save()
    audit.record(actor=actor, action="iam:accessRequests:approve", target=locked, target_repr=_label(locked),
                 message=note.strip(), details={"what": locked.what, "scope": locked.scope_label,
                                                "asked": duration_text(locked.duration),
                                                "granted": duration_text(duration), "until": expires_text(ends),
                                                "group": group.name, "policy": policy.name})
    _tell_requester(locked)
    return locked


@atomic_service
def deny(*, actor, access_request: AccessRequest, reason: str) -> AccessRequest:
    """Refuse a request, saying why (the requester reads it)."""
    now = authz.clock().replace(microsecond=0)
    locked = _locked_pending(access_request, now)
    _require_may_decide(actor, locked, "deny")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ValidationError(gettext_lazy("Say why: the requester reads this."))})
    locked.status, locked.decided_at, locked.decided_by = Status.DENIED, now, actor
    locked.decided_by_name, locked.decision_reason = actor.get_username() if actor else "system", reason[:1000]
    locked.save()
    audit.record(actor=actor, action="iam:accessRequests:deny", target=locked, target_repr=_label(locked),
                 message=reason[:500], details={"what": locked.what, "scope": locked.scope_label})
    _tell_requester(locked)
    return locked


def expire_requests(*, now: datetime | None = None) -> list[str]:
    """Mark the requests nobody decided in time as expired, auditing each as the system; returns their labels.

    Nothing waits for this: a lapsed request is already out of the queue and cannot be approved."""
    now = now or authz.clock()
    lapsed = []
    with transaction.atomic():
        rows = list(AccessRequest.objects.select_for_update(of=("self",))
                    .filter(status=Status.PENDING, expires_at__lte=now)
                    .select_related("requester", "policy", "project").order_by("pk"))
        for access_request in rows:
            access_request.status, access_request.decided_at = Status.EXPIRED, now
            access_request.decision_reason = reason = Message(gettext_noop("Nobody decided it in time."))
            access_request.decision_wording = wording.to_json(reason)
            access_request.save(update_fields=["status", "decided_at", "decision_reason", "decision_wording"])
            audit.record(actor=None, action="iam:accessRequests:deny", target=access_request,
                         target_repr=_label(access_request), message=Message(gettext_noop("expired")),
                         details={"what": access_request.what, "scope": access_request.scope_label})
            _tell_requester(access_request)
            lapsed.append(_label(access_request))
    return lapsed


def _tell_requester(access_request: AccessRequest) -> None:
    from accounts.access_requests import notify_requester

    transaction.on_commit(lambda: notify_requester(access_request))
