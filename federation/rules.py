"""Mapping rules evaluated on a person's claims: which rules match, which groups result.

Rules run in their order; every matching rule adds its groups, and a matching rule marked
"stop here" ends the evaluation. The same function serves the sign-in and the preview, so the
preview shows exactly what the next sign-in will do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from accounts.policy.messages import Message, gettext_noop

from .models import MappingRule


@dataclass(frozen=True)
class RuleOutcome:
    rule: MappingRule
    matched: bool
    reason: str  # English; a Message the preview shows in the person's language (`|localized`)
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
    """Whether `rule` matches `claims`, and why (shown by the preview): an English Message, the claim and
    the values quoted verbatim."""
    if rule.claim not in claims:
        return False, Message(gettext_noop("the claim %(claim)s is absent"), claim=rule.claim)
    value = claims[rule.claim]
    op = rule.operator
    if op == MappingRule.Operator.CONTAINS:
        if not isinstance(value, list):
            return False, Message(gettext_noop("%(claim)s is not a list"), claim=rule.claim)
        found = rule.value in [_text(item) for item in value]
        template = gettext_noop("%(claim)s contains %(value)s") if found else gettext_noop(
            "%(claim)s does not contain %(value)s")
        return found, Message(template, claim=rule.claim, value=rule.value)
    if op == MappingRule.Operator.EMAIL_DOMAIN:
        text = _text(value)
        if text is None or "@" not in text:
            return False, Message(gettext_noop("%(claim)s is not an e-mail address"), claim=rule.claim)
        if rule.claim == "email" and claims.get("email_verified") is False:
            return False, Message(gettext_noop("the provider says the e-mail address is not verified"))
        domain = text.rsplit("@", 1)[1].lower()
        wanted = rule.value.strip().lstrip("@").lower()
        return domain == wanted, Message(gettext_noop("the e-mail domain is %(domain)s"), domain=domain)
    text = _text(value)
    if text is None:
        return False, Message(gettext_noop("%(claim)s is a %(type)s, not a single value"), claim=rule.claim,
                              type=type(value).__name__)
    if op == MappingRule.Operator.ONE_OF:
        found = text in one_of_values(rule.value)
        template = gettext_noop("%(claim)s is %(value)s, one of the values") if found else gettext_noop(
            "%(claim)s is %(value)s, none of the values")
        return found, Message(template, claim=rule.claim, value=text)
    found = text == rule.value
    return found, Message(gettext_noop("%(claim)s is %(value)s"), claim=rule.claim, value=text)


_NOT_EVALUATED = Message(gettext_noop("not evaluated: an earlier rule stopped"))


def evaluate(rules, claims: dict) -> Evaluation:
    """Every rule in order (with its groups prefetched) on `claims`."""
    evaluation = Evaluation()
    seen: set[int] = set()
    stopped = False
    for rule in rules:
        if stopped:
            evaluation.outcomes.append(RuleOutcome(rule, False, _NOT_EVALUATED, False))
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
