"""Messages a person reads, translatable without Django: an English sentence that remembers its template.

The policy language imports nothing from Django, so it cannot translate. A `Message` is the English
text (it is a `str`: tests, logs and JSON see exactly what they saw before) and carries the template
it was made from and its parameters; the Django layer renders it in the person's language with
`gettext(message.template) % message.params` (accounts.findings.localized). Templates are marked with
`gettext_noop`, the name Django's makemessages (xgettext) looks for, so they land in the .po.
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

    def __new__(cls, template: str, **params):
        # A tuple parameter is a list of texts (Messages or names), written joined by ", ".
        english = {name: ", ".join(map(str, value)) if isinstance(value, tuple) else value
                   for name, value in params.items()}
        message = super().__new__(cls, template % english)
        message.template = template
        message.params = params
        return message

    def __reduce__(self):  # pickle and copy rebuild from the template, not from the English text
        return _rebuild, (self.template, self.params)


def _rebuild(template: str, params: dict) -> Message:
    return Message(template, **params)
