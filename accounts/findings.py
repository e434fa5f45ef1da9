"""The policy language's messages in the person's language (accounts.policy stays free of Django).

A validator finding's message is an English `accounts.policy.messages.Message` that remembers its
template and parameters; here the template is translated and filled with the same parameters, so JSON
paths, keys and values quoted from the document stay verbatim. Anything else is shown as it is.
"""

from __future__ import annotations

from django.utils.translation import gettext, ngettext, pgettext


def localized(message) -> str:
    """`message` in the active language: a Message's template translated, its parameters verbatim
    (a parameter that is itself a Message translated too; a counted one in the language's plural form; one
    with a `localized()` of its own rendered by it); any other text unchanged."""
    template = getattr(message, "template", None)
    if template is None:
        own = getattr(message, "localized", None)
        if callable(own):  # a text that renders itself (accounts.expiry.Until: a moment in the reader's zone)
            return own()
        return "" if message is None else str(message)
    params = {name: _parameter(value) for name, value in message.params.items()}
    plural = getattr(message, "plural", None)
    if plural is not None:
        return ngettext(template, plural, message.count) % params
    context = getattr(message, "context", None)
    return (gettext(template) if context is None else pgettext(context, template)) % params


def _parameter(value):
    """A Message's parameter in the active language: a name or a number verbatim, a sentence translated."""
    if type(value) is str or value is None or type(value) is int:  # the most of them: nothing to translate
        return value
    if isinstance(value, tuple):
        return ", ".join(localized(item) for item in value)
    return localized(value) if hasattr(value, "template") or hasattr(value, "localized") else value


def located(finding) -> str:
    """A finding as one line for a form or a message: where it is (path, line, column), then what."""
    message = localized(finding.message)
    path = finding.path or gettext("document")
    if finding.line is None:
        return gettext("%(tier)s at %(path)s: %(message)s") % {
            "tier": tier_label(finding.tier), "path": path, "message": message}
    return gettext("%(tier)s at %(path)s (line %(line)s, column %(column)s): %(message)s") % {
        "tier": tier_label(finding.tier), "path": path, "line": finding.line, "column": finding.column,
        "message": message}


def tier_label(tier: str) -> str:
    """A finding's tier as a word starting a sentence ("Error", "Warning", "Suggestion")."""
    return {"error": gettext("Error"), "warning": gettext("Warning"),
            "suggestion": gettext("Suggestion")}.get(tier, tier.capitalize())


def tier_word(tier: str) -> str:
    """A finding's tier as a lower-case word inside a line ("error", "warning", "suggestion")."""
    return {"error": gettext("error"), "warning": gettext("warning"),
            "suggestion": gettext("suggestion")}.get(tier, tier)


def tier_count(count: int, tier: str) -> str:
    """How many findings of a tier: "1 error", "2 warnings", "3 suggestions"."""
    if tier == "error":
        text = ngettext("%(count)s error", "%(count)s errors", count)
    elif tier == "warning":
        text = ngettext("%(count)s warning", "%(count)s warnings", count)
    elif tier == "suggestion":
        text = ngettext("%(count)s suggestion", "%(count)s suggestions", count)
    else:
        return f"{count} {tier}"
    return text % {"count": count}
