"""How the i18n tests ask for a page in each language and read it."""

from __future__ import annotations

import re
from html import unescape

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def page_text(response) -> str:
    """A page that answered 200, its entities unescaped and its whitespace runs one space."""
    assert response.status_code == 200, response.status_code
    return re.sub(r"\s+", " ", unescape(response.content.decode()))
