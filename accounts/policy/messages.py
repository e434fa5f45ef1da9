"""Messages a person reads, translatable without Django: an English sentence that remembers its template.

The policy language imports nothing from Django, so it cannot translate. A `Message` is the English
text (it is a `str`: tests, logs and JSON see exactly what they saw before) and carries the template
it was made from and its parameters; the Django layer renders it in the person's language with
`gettext(message.template) % message.params` (accounts.findings.localized). Templates are marked with
`gettext_noop`, the name Django's makemessages (xgettext) looks for, so they land in the .po; a message
with a count is made by `ngettext` here (the name xgettext reads as a singular and a plural), and the
person's language picks its own plural form.
Parameters — JSON paths, keys, values quoted from the document, action names — stay verbatim.
"""

from __future__ import annotations


def gettext_noop(template: str) -> str:
    """Mark `template` for translation (makemessages finds this name); translate nothing here."""
    return template


class Message(str):
    """English text built as `template % params`, keeping both for a translation made later."""

    template: str
    params: dict
    plural: str | None = None  # set by `ngettext`: the English plural, and the count that chose between them
    count: int | None = None
    context: str | None = None  # set by `pgettext`: the template's context (a word translated in its sense)

    def __new__(cls, template: str, **params):
        # A tuple parameter is a list of texts (Messages or names), written joined by ", ".
        english = {name: ", ".join(map(str, value)) if isinstance(value, tuple) else value
                   for name, value in params.items()}
        message = super().__new__(cls, template % english)
        message.template = template
        message.params = params
        return message

    def __reduce__(self):  # pickle and copy rebuild from the template, not from the English text
        if self.context is not None:
            return _rebuild_in_context, (self.context, self.template, self.params)
        if self.plural is not None:
            return _rebuild_plural, (self.template, self.plural, self.count, self.params)
        return _rebuild, (self.template, self.params)


def ngettext(singular: str, plural: str, count: int, **params) -> Message:
    """An English Message in the singular when `count` is 1, else the plural (gettext's rule for English),
    keeping both so the person's language picks its own form later (accounts.findings.localized)."""
    message = Message(singular if count == 1 else plural, **params)
    message.template, message.plural, message.count = singular, plural, count
    return message


def pgettext(context: str, template: str, **params) -> Message:
    """An English Message whose template is translated in `context` (gettext's msgctxt), as Django's pgettext
    translates it: a word with more than one sense ("modify" as an image operation)."""
    message = Message(template, **params)
    message.context = context
    return message


def _rebuild_in_context(context: str, template: str, params: dict) -> Message:
    return pgettext(context, template, **params)


def _rebuild(template: str, params: dict) -> Message:
    return Message(template, **params)


def _rebuild_plural(singular: str, plural: str, count: int, params: dict) -> Message:
    return ngettext(singular, plural, count, **params)
