"""Sentences the console stores in English and shows later, read in the reader's language (issue 24).

The audit log's messages and an access request's system-written reason are stored in English (CSV exports,
the decision API, the structured log and the tests read that). Beside the English a row keeps its
*wording*: the sentence's template and parameters (an `accounts.policy.messages.Message` as JSON), so a
page renders it through gettext when it shows it (`shown`), names verbatim. Text a person wrote (a
justification, a deny reason, an approval note) and rows written before have no wording: shown as written.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime

from django.utils.translation import get_language, override, trans_real

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


# --- refusals a service raised in the operator's language (Django admin), stored in English -----------

class _Recording:
    """The active translation, remembering each sentence it translated: (template, plural, count, text)."""

    def __init__(self, inner):
        self.inner, self.used = inner, []

    def gettext(self, template):
        text = self.inner.gettext(template)
        self.used.append((template, None, None, text))
        return text

    def ngettext(self, singular, plural, count):
        text = self.inner.ngettext(singular, plural, count)
        self.used.append((singular, plural, count, text))
        return text

    def __getattr__(self, name):
        return getattr(self.inner, name)


@contextmanager
def recording():
    """Inside, eager gettext/ngettext calls of this thread are remembered (`.used`) as they are made, in the
    active language, so a sentence a service made can be worded afterwards (`worded`). A `translation.override`
    inside ends the remembering (it restores the plain translation): what is made after it is not worded."""
    previous = getattr(trans_real._active, "value", None)
    recorder = _Recording(previous if previous is not None else trans_real.translation(get_language()))
    trans_real._active.value = recorder
    try:
        yield recorder
    finally:
        if previous is None:
            del trans_real._active.value
        else:
            trans_real._active.value = previous


_FIELD = re.compile(r"%\((\w+)\)([sdif])|%%")


def _pattern(translated: str):
    """A regular expression reading a translated template's parameters back out of a sentence made from it."""
    parts, seen, kinds, end = [], set(), {}, 0
    for field in _FIELD.finditer(translated):
        parts.append(re.escape(translated[end:field.start()]))
        end = field.end()
        name, kind = field.group(1), field.group(2)
        if name is None:
            parts.append("%")
        elif name in seen:
            parts.append(f"(?P={name})")
        else:
            seen.add(name)
            kinds[name] = kind
            parts.append(f"(?P<{name}>.+?)")
    parts.append(re.escape(translated[end:]))
    return re.compile("".join(parts), re.DOTALL), kinds


def _worded_one(text: str, used) -> Message | None:
    """The Message whose translation made `text`: the latest remembered template it matches, its parameters
    read back (a parameter that is itself a remembered sentence worded too)."""
    for template, plural, count, translated in reversed(used):
        pattern, kinds = _pattern(translated)
        match = pattern.fullmatch(text)
        if match is None:
            continue
        params = {name: int(value) if kinds[name] in "di" and value.lstrip("-").isdigit()
                  else _nested(value, used) for name, value in match.groupdict().items()}
        try:
            return Message(template, **params) if plural is None else ngettext(template, plural, count, **params)
        except (KeyError, TypeError, ValueError):  # read back wrongly: try an older one
            continue
    return None


def _nested(value: str, used):
    """A parameter as it was made: a remembered sentence without parameters of its own (a duration's
    unit, 'All resources') worded, anything else (a name) verbatim."""
    for template, plural, _count, translated in reversed(used):
        if plural is None and translated == value and "%(" not in translated:
            return Message(template)
    return value


def worded(error, used) -> str:
    """A refusal (a ValidationError or any exception) made in the operator's language, in English: each of
    its sentences worded — a lazy sentence from its own template, an eager one from what `recording`
    remembered — joined by a space as the admin shows them; a sentence that cannot be worded is stored as
    Django renders it in English (or as it is)."""
    from django.core.exceptions import ValidationError

    items = _items(error) if isinstance(error, ValidationError) else [(str(error), None, None)]
    sentences = []
    for message, params, english in items:
        sentence = _lazy_worded(message, params) or _worded_one(_filled(message, params), used)
        sentences.append(sentence or english or _filled(message, params))
    if len(sentences) == 1:
        return sentences[0]
    return Message(" ".join(f"%(s{i})s" for i in range(len(sentences))),
                   **{f"s{i}": sentence for i, sentence in enumerate(sentences)})


def _items(error) -> list[tuple]:
    """A ValidationError's sentences in the order of its `messages`: (message, params, its English)."""
    instances = ([item for items in error.error_dict.values() for item in items] if hasattr(error, "error_dict")
                 else error.error_list)
    with override("en"):
        return [(item.message, item.params, _filled(item.message, item.params)) for item in instances]


def _filled(message, params) -> str:
    return str(message % params if params else message)


def _lazy_worded(message, params) -> Message | None:
    """A gettext_lazy sentence (a model's or a form's) worded from its own template; None for any other."""
    from django.utils.functional import Promise
    from django.utils.translation import gettext

    if hasattr(message, "template") and not params:  # a Message: its own wording
        return message
    if not isinstance(message, Promise):
        return None
    func, args = message.__reduce__()[1][:2]
    if func is not gettext or len(args) != 1 or not isinstance(args[0], str):
        return None
    with override("en"):  # parameters that are not sentences of their own: verbatim, in English
        plain = {name: value if value is None or isinstance(value, int | float)
                 else _lazy_worded(value, None) or str(value) for name, value in (params or {}).items()}
    try:
        return Message(args[0], **plain)
    except (KeyError, TypeError, ValueError):
        return None
