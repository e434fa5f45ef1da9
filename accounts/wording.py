"""Sentences the console stores in English and shows later, read in the reader's language (issue 24).

The audit log's messages and an access request's system-written reason are stored in English (CSV exports,
the decision API, the structured log and the tests read that). Beside the English a row keeps its
*wording*: the sentence's template and parameters (an `accounts.policy.messages.Message` as JSON), so a
page renders it through gettext when it shows it (`shown`), names verbatim. Text a person wrote (a
justification, a deny reason, an approval note) and rows written before have no wording: shown as written.

A refusal a service raises carries its wording too (a lazy template with its parameters, or a Message made
lazy by `lazy`): Django shows it in the reader's language, and Django admin stores it in English (`worded`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import functional, translation
from django.utils.translation import override

from .findings import localized
from .policy.messages import Message, gettext_noop, ngettext
from .policy.messages import pgettext as policy_pgettext


def to_json(message) -> dict | None:
    """The wording of `message` (a Message: its template, parameters, nested Messages, plural and count, context)
    as JSON; None for plain text."""
    template = getattr(message, "template", None)
    if template is None:
        return None
    data = {"template": template, "params": {name: _param(value) for name, value in message.params.items()}}
    if getattr(message, "plural", None) is not None:
        data["plural"], data["count"] = message.plural, message.count
    if getattr(message, "context", None) is not None:
        data["context"] = message.context
    return data


def _param(value):
    if isinstance(value, Lowered):
        return {"lowered": to_json(value.label)}
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
    if isinstance(data.get("context"), str):
        return policy_pgettext(data["context"], data["template"], **params)
    return Message(data["template"], **params)


def _value(raw):
    if isinstance(raw, dict):
        if "list" in raw:
            return tuple(_value(item) for item in raw["list"])
        if "message" in raw:
            return from_json(raw["message"])
        if "lowered" in raw:
            return Lowered(from_json(raw["lowered"]))
        if "until" in raw:
            from .expiry import Until

            return Until(datetime.fromisoformat(raw["until"]["moment"]), datetime.fromisoformat(raw["until"]["now"]))
    return raw


class Lowered(str):
    """A label (a Message: a status, "Approved") in lower case inside a sentence ("it was approved by ana"):
    the English lowered, read in the reader's language lowered too."""

    label: Message

    def __new__(cls, label: Message):
        text = super().__new__(cls, str(label).lower())
        text.label = label
        return text

    def localized(self) -> str:
        return localized(self.label).lower()


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


# --- refusals a service raised, shown in the reader's language, stored in English -----------------------
#
# A service raises a ValidationError (or a PermissionDenied with a reason shown to the person) carrying its own
# wording: a gettext_lazy (or pgettext_lazy) template with `params`, sentences among them lazy too, or a house
# Message made lazy by `lazy` (a plural, a word in a context, a sentence built elsewhere). Django renders it in
# the reader's language wherever it shows the error; `worded` words it from its template for the audit log.
# tests/i18n/test_service_errors_worded.py keeps app code from raising an eagerly translated sentence.

def _rendered(message) -> str:
    return localized(message)


_lazy_message = functional.lazy(_rendered, str)


def lazy(message: Message):
    """A Message as a lazy text a ValidationError can carry: shown in the reader's language (its template
    translated, parameters verbatim), worded from its own template when stored (`worded`)."""
    return _lazy_message(message)


def _lowered_text(label) -> str:
    return str(label).lower()


_lazy_lowered = functional.lazy(_lowered_text, str)


def lower(label):
    """A lazy label (a model choice's, gettext_lazy) in lower case as a ValidationError's parameter: lowered in
    the reader's language, worded as a `Lowered` label."""
    return _lazy_lowered(label)


def message_of(text) -> Message | None:
    """The Message a lazy text (gettext_lazy, pgettext_lazy, `lazy`, `lower`) is made from; None for plain
    text."""
    return _lazy_worded(text, None)


def worded(error) -> str:
    """A refusal a service raised (a ValidationError, a PermissionDenied), in English with its wording: each
    of its sentences worded from its own template, joined by a space as the admin shows them; a sentence
    without a template (plain text) as Django renders it in English."""
    if isinstance(error, ValidationError):
        instances = ([item for items in error.error_dict.values() for item in items]
                     if hasattr(error, "error_dict") else error.error_list)
        items = [(item.message, item.params) for item in instances]
    else:
        items = [(error.args[0] if error.args else "", None)]
    sentences = [_lazy_worded(message, params) or _english(message, params) for message, params in items]
    if len(sentences) == 1:
        return sentences[0]
    return Message(" ".join(f"%(s{i})s" for i in range(len(sentences))),
                   **{f"s{i}": sentence for i, sentence in enumerate(sentences)})


def _english(message, params) -> str:
    with override("en"):
        return str(message % params if params else message)


def _lazy_worded(message, params) -> Message | Lowered | None:
    """A sentence's Message: a Message itself, or a lazy one (gettext_lazy, pgettext_lazy, ngettext_lazy with
    its count, `lazy`) worded from its own template with its parameters (lazy ones worded too, the rest
    verbatim in English); None for plain text or a template its parameters do not fill."""
    if hasattr(message, "template") and not params:
        return message
    if not isinstance(message, functional.Promise):
        return None
    func, args, kwargs = message.__reduce__()[1][:3]
    build = _WORDING.get(func)
    if build is None:  # a lazy text of another kind: no template to word it from
        return None
    try:
        return build(*args, **kwargs, **{name: _parameter(value) for name, value in (params or {}).items()})
    except (KeyError, TypeError, ValueError):  # a template its parameters do not fill
        return None


def _lowered_label(label) -> Lowered | None:
    worded_label = _lazy_worded(label, None)
    return None if worded_label is None else Lowered(worded_label)


def _counted(*, singular: str, plural: str, number: int, **params) -> Message:
    if not isinstance(number, int):  # ngettext_lazy counting a parameter named later: not worded here
        raise TypeError(number)
    return ngettext(singular, plural, number, **params)


# How each kind of lazy text is worded, by the function it defers: (its arguments, then its parameters).
_WORDING = {
    _rendered: lambda message: message,
    _lowered_text: _lowered_label,
    translation.gettext: Message,
    translation.pgettext: policy_pgettext,
    translation.ngettext: _counted,
}


def _parameter(value):
    """A parameter as stored: a number as it is, a sentence (lazy, a Message, a `Lowered` label, an end) worded,
    anything else (a name) verbatim, in English."""
    if value is None or isinstance(value, int | float) or hasattr(value, "template") or hasattr(value, "localized"):
        return value
    return _lazy_worded(value, None) or _english(value, None)
