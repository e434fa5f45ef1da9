"""Mapping rules evaluated on a person's claims: which rules match, which groups result.

Rules run in their order; every matching rule adds its groups, and a matching rule marked
"stop here" ends the evaluation. The same function serves the sign-in and the preview, so the
preview shows exactly what the next sign-in will do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .models import MappingRule


@dataclass(frozen=True)
class RuleOutcome:
    rule: MappingRule
    matched: bool
    reason: str
    evaluated: bool = True


@dataclass
class Evaluation:
    outcomes: list[RuleOutcome] = field(default_factory=list)
    groups: list = field(default_factory=list)  # UserGroup, in rule order, each once

    @property
    def matched(self) -> bool:
        return any(outcome.matched for outcome in self.outcomes)

    @property
    def matched_positions(self) -> list[int]:
        return [outcome.rule.position for outcome in self.outcomes if outcome.matched]


def _text(value) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def one_of_values(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def match(rule: MappingRule, claims: dict) -> tuple[bool, str]:
    """Whether `rule` matches `claims`, and why (shown by the preview)."""
    if rule.claim not in claims:
        return False, f"the claim {rule.claim} is absent"
    value = claims[rule.claim]
    op = rule.operator
    if op == MappingRule.Operator.CONTAINS:
        if not isinstance(value, list):
            return False, f"{rule.claim} is not a list"
        found = rule.value in [_text(item) for item in value]
        return found, f"{rule.claim} {'contains' if found else 'does not contain'} {rule.value}"
    if op == MappingRule.Operator.EMAIL_DOMAIN:
        text = _text(value)
        if text is None or "@" not in text:
            return False, f"{rule.claim} is not an e-mail address"
        if rule.claim == "email" and claims.get("email_verified") is False:
            return False, "the provider says the e-mail address is not verified"
        domain = text.rsplit("@", 1)[1].lower()
        wanted = rule.value.strip().lstrip("@").lower()
        return domain == wanted, f"the e-mail domain is {domain}"
    text = _text(value)
    if text is None:
        return False, f"{rule.claim} is a {type(value).__name__}, not a single value"
    if op == MappingRule.Operator.ONE_OF:
        found = text in one_of_values(rule.value)
        return found, f"{rule.claim} is {text}, {'one' if found else 'none'} of the values"
    found = text == rule.value
    return found, f"{rule.claim} is {text}"


def evaluate(rules, claims: dict) -> Evaluation:
    """Every rule in order (with its groups prefetched) on `claims`."""
    evaluation = Evaluation()
    seen: set[int] = set()
    stopped = False
    for rule in rules:
        if stopped:
            evaluation.outcomes.append(RuleOutcome(rule, False, "not evaluated: an earlier rule stopped", False))
            continue
        matched, reason = match(rule, claims)
        evaluation.outcomes.append(RuleOutcome(rule, matched, reason))
        if matched:
            for group in sorted(rule.groups.all(), key=lambda g: g.name):
                if group.pk not in seen:
                    seen.add(group.pk)
                    evaluation.groups.append(group)
            stopped = rule.stop
    return evaluation
