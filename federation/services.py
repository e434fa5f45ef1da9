"""Federation writes: providers and their rules (checked, audited, closed to escalation), and what
a sign-in does (just-in-time user, memberships set to what the rules say now).

Mapping a provider's people into a group is adding members to it, so an actor may create or change
a provider or its rules only if it could fill every group the rules map into by hand — the same
rule as adding members (accounts.services.escalation.membership_refusal; the admin group only by
admin members) — and, for groups a change stops mapping into, remove members from them
(removal_refusal: leaving a group with a Deny lifts it). A refusal names the rule and group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts import audit, enforcement, services
from accounts.enforcement import Refused, atomic_service, require
from accounts.models import MAX_GROUPS_PER_USER, AuditEvent, Membership, User
from accounts.policy.messages import Message, gettext_noop
from accounts.services import escalation
from accounts.services._common import claim_revision
from accounts.services.users import username_was_someone_elses

from . import rules as rule_engine
from .models import FederatedIdentity, IdentityProvider, MappingRule

PROVIDER_FIELDS = ("name", "issuer", "client_id", "scopes", "is_active", "allow_unmatched", "trust_amr")
SIGN_IN_ACTION = "federation:signIn"


def provider_actor(provider) -> SimpleNamespace:
    """Who the audit log names for what a provider's sign-in changes."""
    return SimpleNamespace(username=f"idp:{provider.name}"[:64], is_authenticated=False)


def _state(provider) -> dict:
    """The provider's settings for the audit log; the secret only as whether one is set."""
    return {**{name: getattr(provider, name) for name in PROVIDER_FIELDS},
            "client_secret": "set" if provider.client_secret else "not set"}


def _rule_state(rule, groups) -> dict:
    return {"position": rule.position, "claim": rule.claim, "operator": rule.operator, "value": rule.value,
            "groups": sorted(g.name for g in groups), "stop": rule.stop}


def mapped_groups(provider) -> list[tuple[str, object]]:
    """(location, group) for every group the provider's rules map into."""
    pairs = []
    for rule in provider.rules.prefetch_related("groups").order_by("position") if provider.pk else []:
        pairs += [(f"rule {rule.position}", group) for group in rule.groups.all()]
    return pairs


def mapping_refusal(actor, mapped, unmapped=()) -> str | None:
    """Why the actor may not map into `mapped` ((location, group) pairs) or stop mapping into
    `unmapped`: the no-escalation rule of adding and removing members by hand."""
    checked = set()
    for location, group in mapped:
        if group.pk in checked:
            continue
        checked.add(group.pk)
        reason = escalation.membership_refusal(actor, group)
        if reason:
            return Message(gettext_noop("%(location)s maps into %(group)s: %(reason)s"),
                           location=_location_said(location), group=group.name, reason=reason)
    for location, group in unmapped:
        if group.pk in checked:
            continue
        reason = escalation.removal_refusal(actor, group)
        if reason:
            return Message(gettext_noop("%(location)s stops mapping into %(group)s: %(reason)s"),
                           location=_location_said(location), group=group.name, reason=reason)
    return None


def _location_said(location: str):
    """A mapped group's location starting a sentence: "Rule 2" (translated, its number verbatim), or a
    file's JSON path as it is."""
    match = re.fullmatch(r"rule (\d+)", location)
    if match:
        return Message(gettext_noop("Rule %(position)s"), position=match.group(1))
    return f"{location[:1].upper()}{location[1:]}"


def require_may_map(actor, attempted: str, mapped, unmapped=(), *, target=None, target_repr: str = "") -> None:
    reason = mapping_refusal(actor, mapped, unmapped)
    if reason:
        raise Refused(escalation.EscalationRefusal(attempted, reason), actor=actor, target=target,
                      target_repr=target_repr)


@atomic_service
def provider_create(*, actor, name: str, issuer: str, client_id: str, client_secret: str = "",
                    scopes: str = "openid email profile", is_active: bool = True,
                    allow_unmatched: bool = False, trust_amr: bool = False) -> IdentityProvider:
    require(actor, "iam:identityProviders:create", target_repr=name)
    provider = IdentityProvider(name=name, issuer=issuer, client_id=client_id, client_secret=client_secret,
                                scopes=scopes, is_active=is_active, allow_unmatched=allow_unmatched,
                                trust_amr=trust_amr)
    _validate(provider)
    provider.save()
    audit.record(actor=actor, action="iam:identityProviders:create", target=provider,
                 details={"after": _state(provider)})
    return provider


def _validate(provider) -> None:
    provider.full_clean()
    if "openid" not in provider.scope_list:
        raise ValidationError({"scopes": ValidationError(gettext_lazy("The scopes must include openid (this is an "
                                                                      "OpenID Connect sign-in)."))})


@atomic_service
def provider_update(*, actor, provider: IdentityProvider, expected_revision: int | None = None,
                    client_secret: str = "", **changes) -> IdentityProvider:
    """Change a provider's settings; an empty `client_secret` keeps the stored one. Whoever changes a
    provider decides whom its rules let in: they must be able to fill every group it maps into."""
    require(actor, "iam:identityProviders:update", target=provider)
    require_may_map(actor, "iam:identityProviders:update", mapped_groups(provider), target=provider)
    locked = IdentityProvider.objects.select_for_update().get(pk=provider.pk)
    claim_revision(locked, expected_revision)  # the one mechanism: a stale form is a StaleEditError (409)
    before = _state(locked)
    for key, value in changes.items():
        if key not in PROVIDER_FIELDS:
            raise TypeError(f"unknown provider field {key}")
        setattr(locked, key, value)
    if client_secret:
        locked.client_secret = client_secret
    _validate(locked)
    locked.save()
    after = _state(locked)
    details = {"before": {k: before[k] for k in after if before[k] != after[k]},
               "after": {k: after[k] for k in after if before[k] != after[k]}}
    if client_secret:
        details["after"]["client_secret"] = "replaced"
    audit.record(actor=actor, action="iam:identityProviders:update", target=locked, details=details)
    return locked


@atomic_service
def provider_set_active(*, actor, provider: IdentityProvider, active: bool) -> IdentityProvider:
    """Enable (checked like any change: it lets the rules' people in again) or disable a provider."""
    require(actor, "iam:identityProviders:update", target=provider)
    if active:
        require_may_map(actor, "iam:identityProviders:update", mapped_groups(provider), target=provider)
    IdentityProvider.objects.filter(pk=provider.pk).update(is_active=active, revision=F("revision") + 1)
    provider.refresh_from_db()
    audit.record(actor=actor, action="iam:identityProviders:update", target=provider,
                 message=Message(gettext_noop("Enabled sign-in with %(name)s.") if active
                                 else gettext_noop("Disabled sign-in with %(name)s."), name=provider.name),
                 details={"after": {"is_active": active}})
    return provider


@atomic_service
def provider_delete(*, actor, provider: IdentityProvider) -> None:
    """Delete a provider and its rules. Its people keep their console users (marked as federated by
    the provider's name), with no password: they can no longer sign in."""
    require(actor, "iam:identityProviders:delete", target=provider)
    audit.record(actor=actor, action="iam:identityProviders:delete", target=provider,
                 details={"before": {**_state(provider),
                                     "rules": [_rule_state(r, r.groups.all()) for r in provider.rules.all()]}})
    provider.delete()


def _rule_fields(claim, operator, value):
    return {"claim": claim.strip(), "operator": operator, "value": value.strip()}


@atomic_service
def rule_create(*, actor, provider: IdentityProvider, claim: str, operator: str, value: str, groups,
                stop: bool = False) -> MappingRule:
    require(actor, "iam:identityProviders:update", target=provider)
    groups = list(groups)
    IdentityProvider.objects.select_for_update().filter(pk=provider.pk).first()
    position = (provider.rules.aggregate(top=Max("position"))["top"] or 0) + 1
    require_may_map(actor, "iam:identityProviders:update",
                    [*mapped_groups(provider), *[(f"rule {position}", g) for g in groups]], target=provider)
    rule = MappingRule(provider=provider, position=position, stop=stop, **_rule_fields(claim, operator, value))
    rule.full_clean()
    rule.save()
    rule.groups.set(groups)
    claim_revision(provider, None)  # its rules changed: forms drawn before turn stale
    audit.record(actor=actor, action="iam:identityProviders:update", target=provider,
                 message=Message(gettext_noop("Added rule %(position)s: %(rule)s → %(groups)s."), position=position,
                                 rule=rule.describe(),
                                 groups=", ".join(sorted(g.name for g in groups)) or Message(gettext_noop("no group"))),
                 details={"after": {"rule": _rule_state(rule, groups)}})
    return rule


@atomic_service
def rule_update(*, actor, rule: MappingRule, claim: str, operator: str, value: str, groups,
                stop: bool = False, expected_revision: int | None = None) -> MappingRule:
    """Change a rule, refusing a form loaded before the provider's last change (`expected_revision`:
    the provider's; None when no form was loaded)."""
    provider = rule.provider
    require(actor, "iam:identityProviders:update", target=provider)
    groups = list(groups)
    old_groups = list(rule.groups.all())
    others = [(loc, g) for loc, g in mapped_groups(provider) if loc != f"rule {rule.position}"]
    still = {g.pk for _, g in others} | {g.pk for g in groups}
    require_may_map(actor, "iam:identityProviders:update",
                    [*others, *[(f"rule {rule.position}", g) for g in groups]],
                    [(f"rule {rule.position}", g) for g in old_groups if g.pk not in still], target=provider)
    claim_revision(provider, expected_revision)  # permission first (a refusal is audited), then staleness
    before = _rule_state(rule, old_groups)
    for key, val in _rule_fields(claim, operator, value).items():
        setattr(rule, key, val)
    rule.stop = stop
    rule.full_clean()
    rule.save()
    rule.groups.set(groups)
    audit.record(actor=actor, action="iam:identityProviders:update", target=provider,
                 message=Message(gettext_noop("Changed rule %(position)s: %(rule)s."), position=rule.position,
                                 rule=rule.describe()),
                 details={"before": {"rule": before}, "after": {"rule": _rule_state(rule, groups)}})
    return rule


@atomic_service
def rule_delete(*, actor, rule: MappingRule) -> None:
    provider = rule.provider
    require(actor, "iam:identityProviders:update", target=provider)
    old = list(rule.groups.all())
    others = [(loc, g) for loc, g in mapped_groups(provider) if loc != f"rule {rule.position}"]
    kept = {g.pk for _, g in others}
    require_may_map(actor, "iam:identityProviders:update", others,
                    [(f"rule {rule.position}", g) for g in old if g.pk not in kept], target=provider)
    before = _rule_state(rule, old)
    position = rule.position
    rule.delete()
    for later in provider.rules.filter(position__gt=position).order_by("position"):
        MappingRule.objects.filter(pk=later.pk).update(position=later.position - 1)
    claim_revision(provider, None)  # its rules changed: forms drawn before turn stale
    audit.record(actor=actor, action="iam:identityProviders:update", target=provider,
                 message=Message(gettext_noop("Deleted rule %(position)s."), position=position),
                 details={"before": {"rule": before}})


@atomic_service
def rule_move(*, actor, rule: MappingRule, up: bool) -> None:
    """Swap a rule with its neighbour (the order decides where a "stop here" rule ends the evaluation)."""
    provider = rule.provider
    require(actor, "iam:identityProviders:update", target=provider)
    require_may_map(actor, "iam:identityProviders:update", mapped_groups(provider), target=provider)
    neighbour = provider.rules.filter(position=rule.position + (-1 if up else 1)).first()
    if neighbour is None:
        return
    a, b = rule.position, neighbour.position
    # Through a free position: (provider, position) is unique at every statement.
    MappingRule.objects.filter(pk=rule.pk).update(position=0)
    MappingRule.objects.filter(pk=neighbour.pk).update(position=a)
    MappingRule.objects.filter(pk=rule.pk).update(position=b)
    claim_revision(provider, None)  # its rules changed: forms drawn before turn stale
    audit.record(actor=actor, action="iam:identityProviders:update", target=provider,
                 message=Message(gettext_noop("Moved rule %(from)s to position %(to)s."), **{"from": a, "to": b}),
                 details={"before": {"position": a}, "after": {"position": b}})


# --- signing in --------------------------------------------------------------------------------


@dataclass
class SignInOutcome:
    user: User | None
    evaluation: rule_engine.Evaluation
    refusal: str = ""  # English (audited); a Message, shown translated
    created: bool = False
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _username_for(claims: dict) -> str:
    for key in ("preferred_username", "email", "sub"):
        raw = str(claims.get(key) or "")
        if key == "email":
            raw = raw.split("@", 1)[0]
        candidate = re.sub(r"[^\w.@+-]", "-", raw)[:56].strip("-")
        if candidate:
            break
    base, number = candidate or "federated", 1
    name = base
    while User.objects.filter(username__iexact=name).exists() or username_was_someone_elses(name):
        number += 1
        name = f"{base}-{number}"
    return name


def _create_user(provider, claims: dict) -> User:
    email = str(claims.get("email") or "")[:254] if claims.get("email_verified") is not False else ""
    user, _ = services.user_create(
        actor=None, username=_username_for(claims), email=email,
        first_name=str(claims.get("given_name") or "")[:150], last_name=str(claims.get("family_name") or "")[:150],
        without_password=True)
    return user


def apply_sign_in(provider: IdentityProvider, claims: dict) -> SignInOutcome:
    """What a verified sign-in does: evaluate the rules, create the user on first sign-in, set the
    provider-given memberships to exactly what the rules say (hand-given ones stay), audit each change
    as the provider's. A person no rule matches (unless the provider lets them in) is turned away,
    after losing what the provider gave them before."""
    actor = provider_actor(provider)
    subject = str(claims["sub"])
    with transaction.atomic():
        ordered = list(provider.rules.prefetch_related("groups").order_by("position"))
        evaluation = rule_engine.evaluate(ordered, claims)
        identity = (FederatedIdentity.objects.select_for_update().select_related("user")
                    .filter(provider=provider, subject=subject).first())
        outcome = SignInOutcome(None, evaluation)
        admitted = evaluation.matched or provider.allow_unmatched
        if identity is None:
            if not admitted:
                outcome.refusal = Message(gettext_noop("no mapping rule of %(provider)s matches you"),
                                          provider=provider.name)
                return outcome
            identity = _first_sign_in(provider, claims, subject, actor)
            outcome.created = True
        user = identity.user
        outcome.user = user
        if not user.is_active:
            outcome.refusal = Message(gettext_noop("your user is deactivated in the console"))
            return outcome
        desired = {g.pk: g for g in (evaluation.groups if admitted else [])}
        if not _set_provider_groups(provider, identity, desired, actor, outcome):
            return outcome
        identity.last_claims = _trim(claims)
        identity.last_sign_in_at = timezone.now()
        identity.provider_name = provider.name
        identity.save(update_fields=["last_claims", "last_sign_in_at", "provider_name"])
        if not admitted:
            outcome.refusal = Message(gettext_noop("no mapping rule of %(provider)s matches you"),
                                      provider=provider.name)
        return outcome


def _first_sign_in(provider: IdentityProvider, claims: dict, subject: str, actor) -> FederatedIdentity:
    """The first sign-in of this subject: the user is created (no password) and linked, audited as the
    provider's doing."""
    user = _create_user(provider, claims)
    identity = FederatedIdentity.objects.create(provider=provider, provider_name=provider.name,
                                                subject=subject, user=user)
    audit.record(actor=actor, action="iam:users:createUser", target=user,
                 message=Message(gettext_noop("Created on the first sign-in with %(name)s (no password)."),
                                 name=provider.name),
                 details={"source": f"identity provider {provider.name}", "subject": subject[:200]})
    return identity


def _set_provider_groups(provider: IdentityProvider, identity: FederatedIdentity, desired: dict, actor,
                         outcome: SignInOutcome) -> bool:
    """Make the provider-given memberships exactly `desired` (group pk → group), each change audited;
    memberships given by hand stay. False (outcome.refusal said why, nothing changed) when the user
    would be in more groups than a user can be."""
    user = identity.user
    member_of = set(Membership.objects.filter(user=user).values_list("group_id", flat=True))
    given = {g.pk: g for g in identity.provider_groups.all()}
    to_add = [g for pk, g in desired.items() if pk not in member_of]
    to_remove = [g for pk, g in given.items() if pk not in desired and pk in member_of]
    if len(member_of) - len(to_remove) + len(to_add) > MAX_GROUPS_PER_USER:
        outcome.refusal = Message(gettext_noop("the rules would put you in more than %(count)s groups, the most a "
                                               "user can be in"), count=MAX_GROUPS_PER_USER)
        return False
    source = {"source": f"identity provider {provider.name}", "rules": outcome.evaluation.matched_positions}
    for group in to_remove:
        Membership.objects.filter(user=user, group=group).delete()
        audit.record(actor=actor, action="iam:groups:removeUserFromGroup", target=group,
                     message=Message(gettext_noop("%(provider)s no longer maps %(user)s into %(group)s."),
                                     provider=provider.name, user=user.username, group=group.name),
                     details={"before": {"member": user.username}, **source})
        outcome.removed.append(group.name)
    for group in to_add:
        Membership.objects.create(user=user, group=group)
        audit.record(actor=actor, action="iam:groups:addUserToGroup", target=group,
                     message=Message(gettext_noop("%(provider)s maps %(user)s into %(group)s."), provider=provider.name,
                                     user=user.username, group=group.name),
                     details={"after": {"member": user.username}, **source})
        outcome.added.append(group.name)
    kept_given = [pk for pk in given if pk in desired]
    identity.provider_groups.set([*kept_given, *(g.pk for g in to_add)])
    return True


def _trim(claims: dict) -> dict:
    """The claims kept on the user's page: no token material, short values."""
    skipped = {"nonce", "at_hash", "c_hash", "jti", "sid"}
    return {k: v for k, v in list(claims.items())[:40] if k not in skipped and len(repr(v)) <= 2000}


def record_refusal(provider, reason: str, *, claims: dict | None = None, user=None) -> AuditEvent:
    """A refused sign-in: one `denied` event on the provider, saying exactly why."""
    details = {"reason": reason}
    if claims and claims.get("sub"):
        details["subject"] = str(claims["sub"])[:200]
    return enforcement.record_refusal(provider_actor(provider) if provider is not None else None, SIGN_IN_ACTION,
                                      message=Message(gettext_noop("Sign-in refused: %(reason)s."), reason=reason),
                                      target=provider if provider is not None else None,
                                      target_type="identityprovider" if provider is None else "",
                                      details={**details, **({"user": user.username} if user is not None else {})})


@atomic_service
def rules_replace(*, actor, provider: IdentityProvider, rules: list[dict], where=None) -> bool:
    """Set the provider's rules to exactly `rules` (dicts of claim, operator, value, groups, stop), in
    order — what a configuration file says. One no-escalation check over the whole change; `where(j, k)`
    names rule j's group k in a refusal (a file's JSON path). Returns whether anything changed."""
    require(actor, "iam:identityProviders:update", target=provider)
    old = [(r, list(r.groups.all())) for r in provider.rules.prefetch_related("groups").order_by("position")]
    before = [_rule_state(r, groups) for r, groups in old]
    wanted = [{"position": j, "claim": rule["claim"].strip(), "operator": rule["operator"],
               "value": rule["value"].strip(), "groups": sorted(g.name for g in rule["groups"]),
               "stop": bool(rule.get("stop", False))} for j, rule in enumerate(rules, 1)]
    if before == wanted:
        return False
    located = where or (lambda j, k: f"rule {j + 1}")
    mapped = [(located(j, k), group) for j, rule in enumerate(rules) for k, group in enumerate(rule["groups"])]
    kept = {group.pk for _, group in mapped}
    unmapped = [(f"rule {r.position}", g) for r, groups in old for g in groups if g.pk not in kept]
    require_may_map(actor, "iam:identityProviders:update", mapped, unmapped, target=provider)
    provider.rules.all().delete()
    for j, rule in enumerate(rules, 1):
        created = MappingRule(provider=provider, position=j, stop=bool(rule.get("stop", False)),
                              **_rule_fields(rule["claim"], rule["operator"], rule["value"]))
        created.full_clean()
        created.save()
        created.groups.set(rule["groups"])
    claim_revision(provider, None)  # its rules changed: forms drawn before turn stale
    audit.record(actor=actor, action="iam:identityProviders:update", target=provider,
                 message=Message(gettext_noop("Replaced the mapping rules (%(before)s → %(after)s)."),
                                 before=len(before), after=len(wanted)),
                 details={"before": {"rules": before}, "after": {"rules": wanted}})
    return True
