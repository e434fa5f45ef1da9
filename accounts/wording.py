"""Sentences the console stores in English and shows later, read in the reader's language (issue 24).

The audit log's messages and an access request's system-written reason are stored in English (CSV exports,
the decision API, the structured log and the tests read that). Beside the English a row keeps its
*wording*: the sentence's template and parameters (an `accounts.policy.messages.Message` as JSON), so a
page renders it through gettext when it shows it (`shown`), names verbatim. Text a person wrote (a
justification, a deny reason, an approval note) and rows written before have no wording: shown as written.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from django.utils.translation import override

from .findings import localized
from .policy.messages import Message, gettext_noop, ngettext


def to_json(message) -> dict | None:
    """The wording of `message` (a Message: its template, parameters, nested Messages, plural and count) as
    JSON; None for plain text."""
    template = getattr(message, "template", None)
    if template is None:
        return None
    data = {"template": template, "params": {name: _param(value) for name, value in message.params.items()}}
    if getattr(message, "plural", None) is not None:
        data["plural"], data["count"] = message.plural, message.count
    return data


def _param(value):
    if isinstance(value, tuple):
        return {"list": [_param(item) for item in value]}
    if hasattr(value, "template"):
        return {"message": to_json(value)}
    if hasattr(value, "moment"):  # accounts.expiry.Until: a grant's end, as the two moments
        return {"until": {"moment": value.moment.isoformat(), "now": value.now.isoformat()}}
    if value is None or isinstance(value, int | float):
        return value
    return str(value)


def from_json(data) -> Message | None:
    """The Message a wording describes (None for none)."""
    if not isinstance(data, dict) or not isinstance(data.get("template"), str):
        return None
    params = {name: _value(value) for name, value in (data.get("params") or {}).items()}
    if data.get("plural") is not None:
        return ngettext(data["template"], data["plural"], data["count"], **params)
    return Message(data["template"], **params)


def _value(raw):
    if isinstance(raw, dict):
        if "list" in raw:
            return tuple(_value(item) for item in raw["list"])
        if "message" in raw:
            return from_json(raw["message"])
        if "until" in raw:
            from .expiry import Until

            return Until(datetime.fromisoformat(raw["until"]["moment"]), datetime.fromisoformat(raw["until"]["now"]))
    return raw


def shown(text: str, wording) -> str:
    """A stored sentence in the active language: its wording translated (names and values verbatim), or the
    stored text as written when it has none."""
    try:
        message = from_json(wording)
        return text if message is None else localized(message)
    except (KeyError, TypeError, ValueError):  # a wording no longer matching its template: the English
        return text


# --- the engine's refusals, as the audit log stores them --------------------------------------------

_SUMMARIES = {
    ("explicit_deny", True): gettext_noop("Denied in %(project)s explicitly: %(reasons)s"),
    ("explicit_deny", False): gettext_noop("Denied explicitly: %(reasons)s"),
    ("implicit_deny", True): gettext_noop("Denied in %(project)s: no grant allows %(action)s (implicit deny)."),
    ("implicit_deny", False): gettext_noop("Denied: no grant allows %(action)s (implicit deny)."),
}
_ALL_RESOURCES = gettext_noop("All resources")


def decision_message(decision) -> str:
    """A refusal's summary in English, as the audit log keeps it, carrying its wording when it is known: an
    authz.Explanation's deny (its reasons each a sentence of their own), or a no-escalation refusal (one with
    a `reason`, escalation.EscalationRefusal). The English is exactly authz.english_summary's; a decision
    whose wording cannot say the same is stored as plain English."""
    from .authz import clock

    now = clock()
    with override("en"):
        english = str(decision.summary)
    if hasattr(decision, "reason") and not hasattr(decision, "matched"):
        message = Message(gettext_noop("Refused: %(reason)s"), reason=decision.reason)
    else:
        template = _SUMMARIES.get((decision.outcome, bool(decision.project)))
        if template is None:
            return english
        message = Message(template, project=decision.project, action=decision.action,
                          reasons=_joined([_reason(reason, now) for reason in decision.reasons]))
    return message if message == english else english


def _joined(reasons: list) -> Message:
    """Reasons joined by "; " as the summary joins them (the join itself is not translated)."""
    return Message("; ".join(f"%(r{i})s" for i in range(len(reasons))),
                   **{f"r{i}": reason for i, reason in enumerate(reasons)})


def _reason(reason, now):
    """One reason as authz.Reason says it; a grant's end after it as the summary writes it (one space, not
    translated), the end read later in the reader's zone and language, measured from `now`."""
    if reason.expires is not None:
        from .expiry import Until

        return Message("%(reason)s %(until)s", reason=_reason(replace(reason, expires=None), now),
                       until=Until(reason.expires, now))
    if reason.grant_id is None:
        return Message(gettext_noop("member of the %(group)s group (allowed everything)"), group=reason.group_name)
    template = (gettext_noop("Deny in %(policy)s Statement %(statement)s, granted to group %(group)s on %(scope)s")
                if reason.effect == "Deny" else
                gettext_noop("Allow in %(policy)s Statement %(statement)s, granted to group %(group)s on %(scope)s"))
    scope = Message(_ALL_RESOURCES) if reason.scope == _ALL_RESOURCES else reason.scope
    return Message(template, policy=reason.policy_name, statement=reason.statement_index + 1,
                   group=reason.group_name, scope=scope)
