"""The no-escalation rule, one place for every service (issue 7, docs/decisions.md).

Nobody can give anybody — themselves included — a permission they do not hold themselves, and
nobody can take over an account that holds more than they do. Each change that hands
permissions over is described as a set of `(action, project)` pairs (project None meaning
*All resources*, or the global scope of IAM); the actor must hold every pair outright
(`Authorization.holds`: allowed without conditions, no Deny naming it). Membership of the
built-in `admin` group, which is allowed everything, changes hands only between its members, and
only they act on an admin member's account (any attribute) or on the admin group itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext

from accounts import authz
from accounts.enforcement import Refused, atomic_service
from accounts.findings import localized
from accounts.models import ADMIN_GROUP_NAME, Grant, Membership
from accounts.policy import SERVICES, expand_pattern, get_action
from accounts.policy.messages import Message, gettext_noop

from ._common import _is_admin_member

# A permission handed over: (catalogue action, project name or None for All resources / global).
Handover = tuple[str, str | None]
_SHOWN = 5


@dataclass(frozen=True)
class EscalationRefusal:
    """Why a change was refused, shaped like an authz.Explanation for Refused and the audit: `reason` is
    English or a Message; `summary` reads it in the active language (the audit keeps English)."""

    action: str
    reason: str
    project: str | None = None
    outcome: str = "explicit_deny"
    allowed: bool = False

    @property
    def summary(self) -> str:
        return gettext("Refused: %(reason)s") % {"reason": localized(self.reason)}


def statement_actions(statement: dict) -> frozenset[str]:
    """The catalogued actions one statement names."""
    names: set[str] = set()
    for pattern in statement.get("Action", []):
        names |= expand_pattern(pattern)
    return frozenset(names)


def _is_global(action: str) -> bool:
    return SERVICES[get_action(action).service].is_global


def scoped(actions: Iterable[str], *, all_resources: bool, project_names: Iterable[str]) -> set[Handover]:
    """Actions granted on a scope, as the (action, project) pairs a holder would be allowed."""
    project_names = tuple(project_names)
    pairs: set[Handover] = set()
    for action in actions:
        if all_resources or _is_global(action):
            pairs.add((action, None))
        else:
            pairs.update((action, name) for name in project_names)
    return pairs


def document_allows(document: dict) -> frozenset[str]:
    """Every catalogued action some Allow statement of the document names."""
    names: set[str] = set()
    for statement in document.get("Statement", []):
        if statement.get("Effect") == "Allow":
            names |= statement_actions(statement)
    return frozenset(names)


def document_denies(document: dict) -> frozenset[str]:
    """Every catalogued action some Deny statement of the document names (conditional or not)."""
    names: set[str] = set()
    for statement in document.get("Statement", []):
        if statement.get("Effect") == "Deny":
            names |= statement_actions(statement)
    return frozenset(names)


def lifted_by_removing(grants) -> set[Handover]:
    """What taking `grants` away from someone may hand them: whatever their Deny statements refused.

    Detaching a Deny policy, removing a member from a group holding one, or deleting that group,
    gives back what the Deny took, wherever another grant allows it.
    """
    pairs: set[Handover] = set()
    for grant in grants:
        denied = document_denies(grant.policy.document)
        if denied:
            pairs |= scoped(denied, all_resources=grant.all_resources,
                            project_names=[p.name for p in grant.projects.all()])
    return pairs


def _group_grants(group):
    return Grant.objects.filter(group=group).select_related("policy").prefetch_related("projects")


def document_widening(before: dict, after: dict) -> frozenset[str]:
    """Actions a policy edit may newly allow: those of Allow statements that are new or changed,
    and those of Deny statements that were removed or changed (a lifted Deny hands over too).

    Statements are compared by their canonical text, so the cost is linear in the documents."""
    old = {_canonical(s): s for s in before.get("Statement", [])}
    new = {_canonical(s): s for s in after.get("Statement", [])}
    names: set[str] = set()
    for key, statement in new.items():
        if statement.get("Effect") == "Allow" and key not in old:
            names |= statement_actions(statement)
    for key, statement in old.items():
        if statement.get("Effect") == "Deny" and key not in new:
            names |= statement_actions(statement)
    return frozenset(names)


def _canonical(statement) -> str:
    return json.dumps(statement, sort_keys=True, separators=(",", ":"))


def _grant_pairs(grants) -> set[Handover]:
    pairs: set[Handover] = set()
    for grant in grants:
        pairs |= scoped(document_allows(grant.policy.document), all_resources=grant.all_resources,
                        project_names=[p.name for p in grant.projects.all()])
    return pairs


def group_holdings(group) -> set[Handover]:
    """What a member of `group` gets from it (not counting the admin group's everything)."""
    return _grant_pairs(_group_grants(group))


def user_holdings(user) -> set[Handover]:
    """What `user` holds through all their groups (not counting the admin group's everything)."""
    grants = Grant.objects.filter(group__memberships__user=user).select_related("policy").prefetch_related("projects")
    return _grant_pairs(grants)


def missing_holdings(actor, pairs: Iterable[Handover]) -> list[Handover]:
    """The pairs the actor does not hold outright, sorted; [] for the system itself."""
    if actor is None:
        return []
    authorization = authz.authorization_for(actor)
    if authorization is None:
        return sorted(pairs, key=_sort_key)
    return sorted((pair for pair in pairs if not authorization.holds(*pair)), key=_sort_key)


def _sort_key(pair: Handover):
    return (pair[0], pair[1] or "")


def _describe(pairs: list[Handover]) -> Message:
    shown = tuple(Message(gettext_noop("%(action)s on %(scope)s"), action=action,
                          scope=project or Message(gettext_noop("All resources")))
                  for action, project in pairs[:_SHOWN])
    if len(pairs) > _SHOWN:
        return Message(gettext_noop("%(pairs)s and %(count)s more"), pairs=shown, count=len(pairs) - _SHOWN)
    return Message("%(pairs)s", pairs=shown)


# What a refused change was doing, as whole sentences ending in what the actor lacks (%(missing)s): the
# no-escalation rule's refusals, translated when shown. `Doing` is (template, parameters).
Doing = tuple[str, dict]


def adding_members(group_name: str) -> Doing:
    return (gettext_noop("Adding members to %(group)s would hand over permissions you do not hold yourself: "
                         "%(missing)s."), {"group": group_name})


def removing_members(group_name: str) -> Doing:
    return (gettext_noop("Removing members from %(group)s lifts Deny statements on permissions you do not hold "
                         "yourself: %(missing)s."), {"group": group_name})


def detaching(policy_names: str, group_name: str | None = None) -> Doing:
    if group_name is None:
        return (gettext_noop("Detaching %(policies)s lifts Deny statements on permissions you do not hold "
                             "yourself: %(missing)s."), {"policies": policy_names})
    return (gettext_noop("Detaching %(policies)s from %(group)s lifts Deny statements on permissions you do not "
                         "hold yourself: %(missing)s."), {"policies": policy_names, "group": group_name})


def deleting_group(group_name: str) -> Doing:
    return (gettext_noop("Deleting %(group)s lifts Deny statements on permissions you do not hold yourself: "
                         "%(missing)s."), {"group": group_name})


def granting(what: str, scope: str) -> Doing:
    return (gettext_noop("Granting %(what)s on %(scope)s would hand over permissions you do not hold yourself: "
                         "%(missing)s."),
            {"what": what, "scope": Message(gettext_noop("All resources")) if scope == "All resources" else scope})


def widening(policy_name: str) -> Doing:
    return (gettext_noop("Widening %(policy)s, which is attached to groups, would hand over permissions you do not "
                         "hold yourself: %(missing)s."), {"policy": policy_name})


def attaching(policy_names: str, group_name: str) -> Doing:
    return (gettext_noop("Attaching %(policies)s to %(group)s would hand over permissions you do not hold "
                         "yourself: %(missing)s."), {"policies": policy_names, "group": group_name})


def setting_end(policy_name: str, group_name: str) -> Doing:
    return (gettext_noop("Setting the end of %(policy)s on %(group)s would hand over permissions you do not hold "
                         "yourself: %(missing)s."), {"policy": policy_name, "group": group_name})


# Acting on someone's account (what `doing=` names) acts on everything they hold.
_ACCOUNT_SENTENCES = {
    "managing the account of": gettext_noop("Managing the account of %(user)s acts on everything they hold, and you "
                                            "do not hold: %(missing)s."),
    "activating": gettext_noop("Activating %(user)s acts on everything they hold, and you do not hold: "
                               "%(missing)s."),
    "deactivating": gettext_noop("Deactivating %(user)s acts on everything they hold, and you do not hold: "
                                 "%(missing)s."),
    "setting the password of": gettext_noop("Setting the password of %(user)s acts on everything they hold, and you "
                                            "do not hold: %(missing)s."),
    "deleting": gettext_noop("Deleting %(user)s acts on everything they hold, and you do not hold: %(missing)s."),
    "resetting the MFA of": gettext_noop("Resetting the MFA of %(user)s acts on everything they hold, and you do "
                                         "not hold: %(missing)s."),
}

# Only admin members may: (what `doing=` names) → the whole sentence.
_ADMIN_SENTENCES = {
    "change the members of the admin group": gettext_noop("Only members of the %(group)s group can change the "
                                                          "members of the %(group)s group."),
    "act on the account of a member of the admin group": gettext_noop("Only members of the %(group)s group can act "
                                                                      "on the account of a member of the %(group)s "
                                                                      "group."),
    "change the admin group": gettext_noop("Only members of the %(group)s group can change the %(group)s group."),
}


# --- why a change would be refused (None: it would not). Pages ask these to draw their controls;
# --- services ask them through the require_* functions below, so both give the same answer.

def handover_refusal(actor, pairs: Iterable[Handover], *, doing: Doing) -> Message | None:
    """Why handing `pairs` over is refused (None: the actor holds them all), as `doing`'s sentence."""
    missing = missing_holdings(actor, pairs)
    if not missing:
        return None
    template, params = doing
    return Message(template, **params, missing=_describe(missing))


def _actor_is_admin(actor) -> bool:
    """From the actor's compiled grants (cached per request), not a query."""
    authorization = authz.authorization_for(actor)
    return authorization is not None and authorization.is_admin and authorization.grants.is_active


def admin_refusal(actor, *, doing: str) -> str | None:
    if actor is None or _actor_is_admin(actor):
        return None
    template = _ADMIN_SENTENCES.get(doing.replace(ADMIN_GROUP_NAME, "admin"))
    if template is None:
        return Message(gettext_noop("Only members of the %(group)s group can %(doing)s."), group=ADMIN_GROUP_NAME,
                       doing=doing)
    return Message(template, group=ADMIN_GROUP_NAME)


def membership_refusal(actor, group, *, holdings: set[Handover] | None = None) -> str | None:
    """Why the actor may not add members to `group` (adding one grants them the group's permissions)."""
    if group.is_admin_group:
        return admin_refusal(actor, doing=f"change the members of the {ADMIN_GROUP_NAME} group")
    if holdings is None:
        holdings = group_holdings(group)
    return handover_refusal(actor, holdings, doing=adding_members(group.name))


def removal_refusal(actor, group) -> str | None:
    """Why the actor may not remove members from `group`: the admin group changes hands only between
    its members, and leaving a group that holds a Deny gives back what the Deny refused."""
    if group.is_admin_group:
        return admin_refusal(actor, doing=f"change the members of the {ADMIN_GROUP_NAME} group")
    return handover_refusal(actor, lifted_by_removing(_group_grants(group)), doing=removing_members(group.name))


def removal_refusals(actor, memberships, grants=None) -> dict[int, str]:
    """removal_refusal for each of a user's memberships, from their grants (loaded once, or given)."""
    groups = [m.group for m in memberships]
    if grants is None:
        grants = list(Grant.objects.filter(group__in=groups).select_related("policy").prefetch_related("projects"))
    by_group: dict[int, list] = {}
    for grant in grants:
        by_group.setdefault(grant.group_id, []).append(grant)
    refusals = {}
    for group in groups:
        if group.is_admin_group:
            reason = admin_refusal(actor, doing=f"change the members of the {ADMIN_GROUP_NAME} group")
        else:
            reason = handover_refusal(actor, lifted_by_removing(by_group.get(group.pk, [])),
                                      doing=removing_members(group.name))
        if reason:
            refusals[group.pk] = reason
    return refusals


def detach_refusal(actor, group, policies) -> str | None:
    """Why the actor may not detach `policies` from `group`: a detached Deny gives back what it refused."""
    grants = _group_grants(group).filter(policy__in=policies)
    names = ", ".join(p.name for p in policies)
    return handover_refusal(actor, lifted_by_removing(grants), doing=detaching(names, group.name))


def deletion_refusal(actor, group) -> str | None:
    """Why the actor may not delete `group`: its members would lose its Deny statements."""
    return handover_refusal(actor, lifted_by_removing(_group_grants(group)), doing=deleting_group(group.name))


def groups_to_offer(actor, groups, *, admin_group_in_choices: bool):
    """The groups of `groups` (a queryset) whose members the actor may add, and how many were withheld.

    Two queries (the choices' grants, their projects), whatever the number of groups.
    """
    grants = Grant.objects.filter(group__in=groups).select_related("policy", "group").prefetch_related("projects")
    by_group: dict[int, set[Handover]] = {}
    named: dict[int, object] = {}
    for grant in grants:
        by_group.setdefault(grant.group_id, set()).update(_grant_pairs([grant]))
        named[grant.group_id] = grant.group
    refused = {pk for pk, pairs in by_group.items() if membership_refusal(actor, named[pk], holdings=pairs)}
    offered = groups.exclude(pk__in=refused)
    withheld = len(refused)
    if admin_refusal(actor, doing="") is not None:
        offered = offered.exclude(name=ADMIN_GROUP_NAME, is_builtin=True)
        withheld += int(admin_group_in_choices)
    return offered, withheld


def admin_account_refusal(actor, user, *, memberships=None) -> str | None:
    """Why the actor may not touch `user`'s account at all, whatever the attribute (user name, e-mail,
    names, flags, password, MFA, memberships): only admin members act on an admin member's account.
    Acting on one's own account is not acting on someone else's."""
    if actor is None or actor.pk == user.pk:
        return None
    if memberships is not None:
        target_is_admin = any(m.group.is_admin_group for m in memberships)
    else:
        target_is_admin = _is_admin_member(user)
    if not target_is_admin:
        return None
    return admin_refusal(actor, doing=f"act on the account of a member of the {ADMIN_GROUP_NAME} group")


def mark_admin_accounts(actor, users) -> None:
    """Set `account_refusal` on each of `users` (a list) whose account the actor may not touch for
    being an admin member's, so a member list or the candidates to add draw those rows disabled.
    One query, and none when the actor is an admin member."""
    reason = admin_refusal(actor, doing=f"act on the account of a member of the {ADMIN_GROUP_NAME} group")
    refused = set()
    if reason and users:
        refused = set(Membership.objects.filter(
            user__in=[u.pk for u in users if u.pk != actor.pk], group__name=ADMIN_GROUP_NAME, group__is_builtin=True,
        ).values_list("user_id", flat=True))
    for user in users:
        user.account_refusal = reason if user.pk in refused else None


def admin_group_refusal(actor, group) -> str | None:
    """Why the actor may not change the built-in admin group itself (its description; its name never
    changes): only its members do."""
    if not group.is_admin_group:
        return None
    return admin_refusal(actor, doing=f"change the {ADMIN_GROUP_NAME} group")


def account_refusal(actor, user, *, doing: str = "managing the account of", memberships=None,
                    grants=None) -> str | None:
    """Why the actor may not act on `user`'s account (password, activation, deletion): doing so is
    acting on everything they hold. A page that has loaded the user's memberships (with groups) and
    grants (with policies and projects) passes them, saving the queries."""
    if actor is None or actor.pk == user.pk:
        return None
    refusal = admin_account_refusal(actor, user, memberships=memberships)
    if refusal:
        return refusal
    holdings = user_holdings(user) if grants is None else _grant_pairs(grants)
    template = _ACCOUNT_SENTENCES[doing]
    return handover_refusal(actor, holdings, doing=(template, {"user": user.get_username()}))


def _refuse(reason: str | None, actor, attempted: str, *, target=None, target_repr: str = "") -> None:
    """Raise Refused (403, a `denied` audit event after the rollback) when there is a reason."""
    if reason:
        raise Refused(EscalationRefusal(attempted, reason), actor=actor, target=target,
                      target_repr=target_repr)


def require_holds(actor, attempted: str, pairs: Iterable[Handover], *, doing: Doing, target=None,
                  target_repr: str = "") -> None:
    """Refuse unless the actor holds every pair handed over or touched."""
    _refuse(handover_refusal(actor, pairs, doing=doing), actor, attempted, target=target, target_repr=target_repr)


def require_admin_member(actor, attempted: str, *, doing: str, target=None, target_repr: str = "") -> None:
    """Refuse unless the actor is a member of the built-in admin group (or the system itself)."""
    _refuse(admin_refusal(actor, doing=doing), actor, attempted, target=target, target_repr=target_repr)


def require_may_act_on_account(actor, attempted: str, user) -> None:
    """Refuse any change to an admin member's account unless the actor is an admin member too."""
    _refuse(admin_account_refusal(actor, user), actor, attempted, target=user)


def require_may_change_group(actor, attempted: str, group) -> None:
    """Refuse any change to the built-in admin group unless the actor is one of its members."""
    if group.is_admin_group:
        require_admin_member(actor, attempted, doing=f"change the {ADMIN_GROUP_NAME} group", target=group)


@atomic_service
def refuse_page(actor, attempted: str, reason: str | None, *, target=None) -> None:
    """A page that can only lead to a refused change (an admin member's edit form, for someone who is
    not one) answers 403 with the reason and its `denied` event, as the service would."""
    _refuse(reason, actor, attempted, target=target)


def require_may_add_members(actor, attempted: str, group) -> None:
    _refuse(membership_refusal(actor, group), actor, attempted, target=group)


def require_may_remove_members(actor, attempted: str, group) -> None:
    _refuse(removal_refusal(actor, group), actor, attempted, target=group)


def require_may_detach(actor, attempted: str, group, policies) -> None:
    _refuse(detach_refusal(actor, group, policies), actor, attempted, target=group)


def require_may_delete_group(actor, attempted: str, group) -> None:
    _refuse(deletion_refusal(actor, group), actor, attempted, target=group)


def require_covers_user(actor, attempted: str, user, *, doing: str) -> None:
    """Refuse unless the actor holds everything `user` holds (and is an admin member for an admin)."""
    _refuse(account_refusal(actor, user, doing=doing), actor, attempted, target=user)
