"""The visual policy editor's model: its form fields to a policy document and back.

The visual editor shows what a person usually writes: per statement one service (IMS or IAM),
an effect, catalogued actions as checkboxes (plus "every action" and "every action of a
resource type" wildcards) and condition rows. Anything else (other patterns, other keys, other
services) is written in JSON; `statements_from_document` says why a document does not fit
instead of dropping part of it, so switching editors never loses anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from accounts.policy import IAM_ACTIONS, IMS_ACTIONS, Action
from accounts.policy.catalogue import CONDITION_KEYS, RESOURCE_TAG_PREFIX
from accounts.policy.conditions import BASE_OPERATORS, IF_EXISTS, PREFIXES, parse_bool, parse_number, parse_operator

VERSION = "1.1"
EFFECTS = ("Allow", "Deny")
SERVICE_ACTIONS: dict[str, tuple[Action, ...]] = {"ims": IMS_ACTIONS, "iam": IAM_ACTIONS}
# The service picker's words, in the person's language when drawn; the codes are the document's.
SERVICE_LABELS = {"ims": gettext_lazy("IMS (Image Management Service)"),
                  "iam": gettext_lazy("IAM (Identity and Access Management)")}
CONDITION_KEY_NAMES = (*(key.name for key in CONDITION_KEYS), RESOURCE_TAG_PREFIX)
VALUE_SEPARATOR = ","
MAX_STATEMENTS = 50
MAX_CONDITIONS = 30

# The operator picker lists plain operators first, then their IfExists and set-prefixed forms (the group
# names in the person's language; operator names verbatim).
OPERATOR_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (
        label,
        tuple(
            name
            for name in (prefix + base + suffix for base in sorted(BASE_OPERATORS))
            if parse_operator(name) is not None
        ),
    )
    for label, prefix, suffix in (
        (pgettext_lazy("condition operators", "Operators"), "", ""),
        (gettext_lazy("If the key exists"), "", IF_EXISTS),
        *((format_lazy(gettext_lazy("{prefix} (multi-valued keys)"), prefix=prefix), prefix, "")
          for prefix in PREFIXES),
    )
)
OPERATOR_NAMES = frozenset(name for _, names in OPERATOR_GROUPS for name in names)


class NotRepresentable(ValueError):
    """The document says something the visual editor has no field for; the message says what."""


@dataclass
class ConditionRow:
    operator: str = ""
    key: str = ""
    values: str = ""  # comma-separated, as typed

    @property
    def is_blank(self) -> bool:
        return not (self.operator or self.key.strip() or self.values.strip())


@dataclass
class VisualStatement:
    effect: str = "Allow"
    service: str = "ims"
    actions: list[str] = field(default_factory=list)  # catalogued names or the wildcards of action_groups
    conditions: list[ConditionRow] = field(default_factory=list)


@dataclass(frozen=True)
class ActionGroup:
    """The checkboxes of one resource type, with the wildcard that covers them all."""

    resource_type: str
    wildcard: str
    actions: tuple[Action, ...]


def service_wildcard(service: str) -> str:
    return f"{service}:*:*"


def action_groups(service: str) -> list[ActionGroup]:
    """The service's catalogued actions grouped by resource type, in catalogue order."""
    groups: dict[str, list[Action]] = {}
    for action in SERVICE_ACTIONS[service]:
        groups.setdefault(action.resource_type, []).append(action)
    return [ActionGroup(kind, f"{service}:{kind}:*", tuple(actions)) for kind, actions in groups.items()]


def _choices(service: str) -> dict[str, str]:
    """Every pattern a checkbox of `service` can stand for, lower-cased -> as the catalogue spells it."""
    names = [service_wildcard(service)]
    for group in action_groups(service):
        names.append(group.wildcard)
        names.extend(action.name for action in group.actions)
    return {name.lower(): name for name in names}


def _int(value, default: int, limit: int) -> int:
    try:
        return max(0, min(int(value), limit))
    except (TypeError, ValueError):
        return default


def statements_from_post(data) -> list[VisualStatement]:
    """Read the visual form (a QueryDict); actions not of the chosen service are dropped."""
    statements = []
    for i in range(_int(data.get("visual-count"), 1, MAX_STATEMENTS)):
        prefix = f"s{i}-"
        service = data.get(prefix + "service", "ims")
        service = service if service in SERVICE_ACTIONS else "ims"
        effect = data.get(prefix + "effect", "Allow")
        allowed = _choices(service)
        actions = [allowed[a.lower()] for a in data.getlist(prefix + "actions") if a.lower() in allowed]
        conditions = [
            ConditionRow(
                operator=data.get(f"{prefix}c{j}-operator", ""),
                key=data.get(f"{prefix}c{j}-key", "").strip(),
                values=data.get(f"{prefix}c{j}-values", ""),
            )
            for j in range(_int(data.get(prefix + "conditions"), 0, MAX_CONDITIONS))
        ]
        statements.append(
            VisualStatement(effect if effect in EFFECTS else "Allow", service, list(dict.fromkeys(actions)), conditions)
        )
    return statements


def apply_operation(statements: list[VisualStatement], operation: str) -> list[VisualStatement]:
    """Add or remove a statement or a condition row: "add-statement", "remove-statement:1",
    "add-condition:0", "remove-condition:0:2". Unknown operations change nothing."""
    verb, _, where = operation.partition(":")
    indexes = [int(part) for part in where.split(":") if part.isdigit()]
    if verb in ("add-statement", "remove-statement"):
        _change_statements(statements, verb, indexes)
    elif verb in ("add-condition", "remove-condition") and indexes and indexes[0] < len(statements):
        _change_conditions(statements[indexes[0]].conditions, verb, indexes[1:])
    return statements


def _change_statements(statements: list[VisualStatement], verb: str, indexes: list[int]) -> None:
    """Add a statement (up to MAX_STATEMENTS), or remove the one at indexes[0] (never the last one left)."""
    if verb == "add-statement" and len(statements) < MAX_STATEMENTS:
        statements.append(VisualStatement())
    elif verb == "remove-statement" and indexes and indexes[0] < len(statements) and len(statements) > 1:
        del statements[indexes[0]]


def _change_conditions(rows: list[ConditionRow], verb: str, indexes: list[int]) -> None:
    """Add a condition row (up to MAX_CONDITIONS), or remove the one at the single index given."""
    if verb == "add-condition" and len(rows) < MAX_CONDITIONS:
        rows.append(ConditionRow())
    elif verb == "remove-condition" and len(indexes) == 1 and indexes[0] < len(rows):
        del rows[indexes[0]]


def _typed_value(operator: str, text: str):
    """Numbers for number operators, true/false for Bool and Null: the JSON a person would write."""
    parsed = parse_operator(operator)
    family = parsed.family if parsed else "string"
    if family == "number" and parse_number(text) is not None:
        return parse_number(text)
    if family in ("bool", "null") and parse_bool(text) is not None:
        return parse_bool(text)
    return text


def document_from_statements(statements: list[VisualStatement]) -> dict:
    """The policy document the visual form describes (always possible; the validator judges it)."""
    written = []
    for statement in statements:
        item: dict = {"Effect": statement.effect, "Action": list(statement.actions)}
        block: dict[str, dict[str, list]] = {}
        for row in statement.conditions:
            if row.is_blank:
                continue
            values = [part.strip() for part in row.values.split(VALUE_SEPARATOR) if part.strip()]
            entry = block.setdefault(row.operator, {})
            entry.setdefault(row.key, []).extend(_typed_value(row.operator, value) for value in values)
        if block:
            item["Condition"] = block
        written.append(item)
    return {"Version": VERSION, "Statement": written}


def document_text(document) -> str:
    """How the JSON editor shows a document."""
    return json.dumps(document, indent=2, ensure_ascii=False)


def _value_text(where: str, value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        if VALUE_SEPARATOR in value:
            raise NotRepresentable(gettext("%(where)s has a value with a comma (%(value)s), which the visual editor "
                                           "uses to separate values") % {"where": where, "value": repr(value)})
        return value
    raise NotRepresentable(gettext("%(where)s has a value that is not text, a number or true/false") % {"where": where})


def _statement_from_item(index: int, item) -> VisualStatement:
    """One statement of a document in the visual form, or NotRepresentable saying what would be lost."""
    where = f"Statement[{index}]"
    if not isinstance(item, dict):
        raise NotRepresentable(gettext("%(where)s is not an object") % {"where": where})
    extra = set(item) - {"Effect", "Action", "Condition"}
    if extra:
        raise NotRepresentable(gettext("%(where)s has %(keys)s, which the visual editor has no field for")
                               % {"where": where, "keys": ", ".join(sorted(extra))})
    if item.get("Effect") not in EFFECTS:
        raise NotRepresentable(gettext('%(where)s.Effect is not "Allow" or "Deny"') % {"where": where})
    service, actions = _visual_actions(where, item.get("Action"))
    return VisualStatement(item["Effect"], service, actions, _condition_rows(where, item.get("Condition", {})))


def _visual_actions(where: str, actions) -> tuple[str, list[str]]:
    """A statement's one service and its actions as the visual editor names them (catalogued actions, or the
    service's and its resource types' wildcards)."""
    if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
        raise NotRepresentable(gettext("%(where)s.Action is not a list of actions") % {"where": where})
    services = {a.split(":", 1)[0].lower() for a in actions}
    if len(services) > 1:
        raise NotRepresentable(gettext("%(where)s mixes services (%(services)s); the visual editor shows one service "
                                       "per statement") % {"where": where, "services": ", ".join(sorted(services))})
    service = services.pop() if services else "ims"
    if service not in SERVICE_ACTIONS:
        raise NotRepresentable(gettext("%(where)s is about the %(service)s service; the visual editor covers ims and "
                                       "iam") % {"where": where, "service": service})
    allowed = _choices(service)
    unknown = [a for a in actions if a.lower() not in allowed]
    if unknown:
        raise NotRepresentable(gettext("%(where)s.Action has %(action)s, which is not a single catalogued action or "
                                       "one of the wildcards %(service)s:*:* and %(service)s:<resource type>:*")
                               % {"where": where, "action": repr(unknown[0]), "service": service})
    return service, [allowed[a.lower()] for a in actions]


def _condition_rows(where: str, block) -> list[ConditionRow]:
    """A statement's Condition block as rows (operator, key, its values separated by commas)."""
    if not isinstance(block, dict):
        raise NotRepresentable(gettext("%(where)s.Condition is not an object") % {"where": where})
    rows = []
    for operator, entries in block.items():
        if operator not in OPERATOR_NAMES:
            raise NotRepresentable(gettext("%(where)s.Condition has the unknown operator %(operator)s")
                                   % {"where": where, "operator": repr(operator)})
        if not isinstance(entries, dict) or not entries:
            raise NotRepresentable(gettext("%(where)s.Condition.%(operator)s does not map keys to values")
                                   % {"where": where, "operator": operator})
        for key, listed in entries.items():
            values = listed if isinstance(listed, list) else [listed]
            text = ", ".join(_value_text(f"{where}.Condition.{operator}.{key}", v) for v in values)
            rows.append(ConditionRow(operator, key, text))
    return rows


def statements_from_document(document) -> list[VisualStatement]:
    """The visual form of a document; NotRepresentable says what would otherwise be lost."""
    if not isinstance(document, dict):
        raise NotRepresentable(gettext("the policy is not a JSON object"))
    extra = set(document) - {"Version", "Statement"}
    if extra:
        raise NotRepresentable(gettext("the policy has %(keys)s, which the visual editor has no field for")
                               % {"keys": ", ".join(sorted(extra))})
    if document.get("Version") != VERSION:
        raise NotRepresentable(gettext('its Version is %(version)s; the visual editor writes "1.1"')
                               % {"version": json.dumps(document.get("Version"))})
    statements = document.get("Statement")
    if not isinstance(statements, list) or not statements:
        raise NotRepresentable(gettext("Statement is not a non-empty list of statements"))
    return [_statement_from_item(index, item) for index, item in enumerate(statements)]
