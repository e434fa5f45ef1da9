"""Identity providers in IAM-as-code: their entries in the configuration file (`identity_providers`),
exported without the client secret, and applied through the same services as the console — so the
same permission checks and the same no-escalation rule, a refusal located in the file
(`$.identity_providers[0].rules[1].groups[0]`). A provider's secret is never in the file and is kept
on apply; a provider the file creates has none until someone sets it in the console.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from pydantic import BaseModel, ConfigDict, Field

from accounts.enforcement import Refused
from accounts.models import UserGroup
from accounts.policy.messages import Message, gettext_noop

from . import services
from .models import IdentityProvider

FIELDS = ("name", "issuer", "client_id", "scopes", "is_active", "allow_unmatched", "trust_amr")


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RuleEntry(_Entry):
    """A mapping rule: a condition on one claim → the user groups (by name) a matching person is put in."""

    claim: Annotated[str, Field(min_length=1, max_length=128)]
    operator: Literal["equals", "one_of", "contains", "email_domain"]
    value: Annotated[str, Field(min_length=1, max_length=1024)]
    groups: Annotated[list[str], Field(min_length=1)]
    stop: bool = False


class ProviderEntry(_Entry):
    """An OpenID Connect identity provider, without its client secret (kept by the console)."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    issuer: Annotated[str, Field(min_length=1, max_length=255)]
    client_id: Annotated[str, Field(min_length=1, max_length=255)]
    scopes: Annotated[str, Field(min_length=1, max_length=255)] = "openid email profile"
    is_active: bool = True
    allow_unmatched: bool = False
    trust_amr: bool = False  # count the provider's MFA (its amr claim) as the console's: federation.trust
    rules: list[RuleEntry] = []


def export_entries() -> list[dict]:
    """Every provider, sorted by name, its rules in order, keys in a fixed order; never the secret."""
    entries = []
    for provider in IdentityProvider.objects.prefetch_related("rules__groups").order_by("name"):
        entry = {name: getattr(provider, name) for name in FIELDS}
        entry["rules"] = [{"claim": r.claim, "operator": r.operator, "value": r.value,
                           "groups": sorted(g.name for g in r.groups.all()), "stop": r.stop}
                          for r in sorted(provider.rules.all(), key=lambda r: r.position)]
        entries.append(entry)
    return entries


@dataclass(frozen=True)
class ProviderChange:
    kind: str  # "create" | "change" | "remove"
    name: str
    path: str
    before: dict | None
    after: dict | None


class LocatedError(Exception):
    """Errors at their places in the file: (JSON path, message) pairs, as accounts.iac's DocumentError;
    `refused`: the Refused behind a refusal (for the import's audit event)."""

    def __init__(self, errors: list[tuple[str, str]], refused=None):
        self.errors = errors
        self.refused = refused
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors))


def canonical_entries(entries: list[ProviderEntry]) -> list[dict]:
    """Entries in canonical order: providers by name, rules as written (their order is their meaning)."""
    return [entry.model_dump() for entry in sorted(entries, key=lambda e: e.name)]


def describe(entry: dict | None) -> str:
    """A provider entry in one line, for a plan (no secret: entries never hold one)."""
    if entry is None:
        return ""
    state = "active" if entry["is_active"] else "disabled"
    rules = "; ".join(f"{r['claim']} {r['operator']} {r['value']} → {', '.join(r['groups'])}"
                      f"{' (stop)' if r.get('stop') else ''}" for r in entry["rules"]) or "no rules"
    trust = ", trusts its MFA (amr)" if entry.get("trust_amr") else ""
    return f"{entry['issuer']}, client {entry['client_id']}, scopes {entry['scopes']}, {state}{trust}; rules: {rules}"


def plan_entries(entries: list[ProviderEntry], *, prune: bool = False, path: str = "$.identity_providers"
                 ) -> list[ProviderChange]:
    """What applying the entries would change (nothing is written)."""
    current = {entry["name"]: entry for entry in export_entries()}
    changes = []
    for index, entry in enumerate(entries):
        wanted = entry.model_dump()
        before = current.get(entry.name)
        if before is None:
            changes.append(ProviderChange("create", entry.name, f"{path}[{index}]", None, wanted))
        elif before != wanted:
            changes.append(ProviderChange("change", entry.name, f"{path}[{index}]", before, wanted))
    if prune:
        named = {entry.name for entry in entries}
        changes += [ProviderChange("remove", name, path, before, None)
                    for name, before in current.items() if name not in named]
    return changes


def _groups(entry: ProviderEntry, at: str) -> list[list[UserGroup]]:
    by_name = UserGroup.objects.in_bulk([g for rule in entry.rules for g in rule.groups], field_name="name")
    errors, resolved = [], []
    for j, rule in enumerate(entry.rules):
        row = []
        for k, name in enumerate(rule.groups):
            if name not in by_name:
                errors.append((f"{at}.rules[{j}].groups[{k}]", f"There is no user group named {name!r}."))
            else:
                row.append(by_name[name])
        resolved.append(row)
    if errors:
        raise LocatedError(errors)
    return resolved


def apply_entries(entries: list[ProviderEntry], *, actor, prune: bool = False,
                  path: str = "$.identity_providers") -> list[ProviderChange]:
    """Make the stored providers match the entries, through the services, as `actor` (None: the
    system). Run it inside the import's transaction: a LocatedError leaves it to roll back."""
    changes = plan_entries(entries, prune=prune, path=path)
    for change in changes:
        apply_change(change, entries, actor=actor)
    return changes


def _refuse_groups_not_held(actor, entry: ProviderEntry, groups: list, at: str) -> None:
    """A rule may only hand out groups the actor could join people to (no escalation): every group refused
    is located at its place in the file, the first reason kept for the import's audit."""
    reasons = [(f"{at}.rules[{j}].groups[{k}]", reason)
               for j, row in enumerate(groups) for k, group in enumerate(row)
               if (reason := services.escalation.membership_refusal(actor, group))]
    if reasons:
        refusals = [(path, Message(gettext_noop("Refused: %(reason)s"), reason=reason)) for path, reason in reasons]
        raise LocatedError(refusals, refused=Refused(
            services.escalation.EscalationRefusal("iam:identityProviders:update", reasons[0][1]), actor=actor,
            target_repr=entry.name))


def apply_change(change: ProviderChange, entries: list[ProviderEntry], *, actor) -> None:
    """One planned change through the services; LocatedError at its place in the file."""
    at = change.path
    try:
        if change.kind == "remove":
            services.provider_delete(actor=actor, provider=IdentityProvider.objects.get(name=change.name))
            return
        entry = entries[int(at.rsplit("[", 1)[1].rstrip("]"))]
        groups = _groups(entry, at)
        _refuse_groups_not_held(actor, entry, groups, at)
        fields = {name: getattr(entry, name) for name in FIELDS}
        provider = IdentityProvider.objects.filter(name=entry.name).first()
        if provider is None:
            provider = services.provider_create(actor=actor, **fields)
        elif change.before is None or any(change.before[name] != fields[name] for name in FIELDS):
            services.provider_update(actor=actor, provider=provider, **fields)  # the secret is kept
        rules = [{**rule.model_dump(), "groups": groups[j]} for j, rule in enumerate(entry.rules)]
        services.rules_replace(actor=actor, provider=provider, rules=rules,
                               where=lambda j, k: f"{at}.rules[{j}].groups[{k}]")
    except ValidationError as error:
        raise LocatedError([(at, " ".join(error.messages))]) from error
    except Refused as error:
        raise LocatedError([(at, str(error))], refused=error) from error
    except PermissionDenied as error:
        raise LocatedError([(at, str(error))]) from error
