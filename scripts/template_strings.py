"""The text a person reads in a Django template, found without rendering it: text nodes (with the
{{ variables }} and inline elements of a sentence) and the visible attributes (title, placeholder,
aria-label, alt, data-confirm). `unmarked` lists those outside {% translate %}/{% blocktranslate %}
(scripts/check-translations fails on them); `mark` wraps them, keeping the English output as it was.

A heuristic, not a parser: <script>, <style>, <pre>, <textarea>, <code>, <kbd>, <samp>, comments and
{% verbatim %} are skipped; text needs two letters in a row (not an &entity;, an action name, a path
or the product's name) to count; sentences broken by a {% tag %} are marked piece by piece."""

from __future__ import annotations

import re
from dataclasses import dataclass

INLINE = {"strong", "em", "b", "i", "code", "kbd", "samp", "small", "abbr", "span", "a", "br", "time", "mark", "q"}
RAW = {"script", "style", "pre", "textarea"}
LITERAL = {"code", "kbd", "samp"}  # identifiers (action names, ids): not text to translate on their own
VISIBLE_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "data-confirm", "data-label")
# Literal text handed to a filter or an include inside a tag: {{ x|default:"never" }}, with what="the token".
TAG_LITERAL = re.compile(r'(?P<lead>(?:\|(?:default|default_if_none|yesno):)|\b(?:what|noun)=)'
                         r'(?P<quote>["\'])(?P<text>[^"\']*)(?P=quote)')
# Identifiers such filters fall back to (a JSON path's root, the actor of an automatic event, a flag).
NOT_TEXT = {"document", "system", "UTC", "info", "auto", "true,false", "yes,no"}
SKIP_BLOCKS = {"comment": "endcomment", "verbatim": "endverbatim", "blocktranslate": "endblocktranslate",
               "blocktrans": "endblocktrans"}
RESERVED = {"count", "context", "trimmed", "asvar", "with", "as", "and", "or", "not", "in", "is"}

WORDS = re.compile(r"[A-Za-z]{2,}")
ENTITY = re.compile(r"&[A-Za-z]+;|&#\d+;")
# Not words to translate: the product's name, action names (ims:images:list), paths, class names (page-login).
IDENTIFIER = re.compile(r"imsperm|[\w*.-]*[:/][\w:/*.{}-]*[.,]?|[a-z0-9]+(-[a-z0-9]+)+")
TAG_NAME = re.compile(r"</?\s*([A-Za-z][A-Za-z0-9-]*)")


@dataclass
class Token:
    kind: str  # "text", "var", "block", "comment", "html", "raw"
    text: str
    start: int
    end: int

    @property
    def tag(self) -> str:
        match = TAG_NAME.match(self.text) if self.kind == "html" else None
        return match.group(1).lower() if match else ""

    @property
    def closing(self) -> bool:
        return self.text.startswith("</")

    @property
    def block_name(self) -> str:
        parts = self.text[2:-2].split()
        return parts[0] if self.kind == "block" and parts else ""


def _end_of_django(source: str, i: int) -> int:
    closer = {"{%": "%}", "{{": "}}", "{#": "#}"}[source[i:i + 2]]
    end = source.find(closer, i + 2)
    return len(source) if end < 0 else end + 2


def _end_of_html(source: str, i: int) -> int:
    quote = ""
    j = i + 1
    while j < len(source):
        pair = source[j:j + 2]
        if pair in ("{%", "{{", "{#"):
            j = _end_of_django(source, j)
            continue
        char = source[j]
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == ">":
            return j + 1
        j += 1
    return len(source)


def tokens(source: str) -> list[Token]:
    found: list[Token] = []
    i = 0
    text_start = 0

    def flush(upto: int):
        if upto > text_start:
            found.append(Token("text", source[text_start:upto], text_start, upto))

    while i < len(source):
        pair = source[i:i + 2]
        if pair in ("{%", "{{", "{#"):
            flush(i)
            end = _end_of_django(source, i)
            found.append(Token({"{%": "block", "{{": "var", "{#": "comment"}[pair], source[i:end], i, end))
            i = text_start = end
        elif source.startswith("<!--", i):
            flush(i)
            end = source.find("-->", i)
            end = len(source) if end < 0 else end + 3
            found.append(Token("comment", source[i:end], i, end))
            i = text_start = end
        elif source[i] == "<" and re.match(r"</?[A-Za-z!]", source[i:i + 3]):
            flush(i)
            end = _end_of_html(source, i)
            found.append(Token("html", source[i:end], i, end))
            i = text_start = end
        else:
            i += 1
    flush(len(source))
    return _skip_raw(found)


def _skip_raw(found: list[Token]) -> list[Token]:
    """Fold what is never translated text (scripts, comments, already-marked blocks) into "raw" tokens."""
    out: list[Token] = []
    i = 0
    while i < len(found):
        token = found[i]
        closer = None
        if token.kind == "html" and not token.closing and token.tag in RAW:
            closer = lambda t, name=token.tag: t.kind == "html" and t.closing and t.tag == name  # noqa: E731
        elif token.kind == "block" and token.block_name in SKIP_BLOCKS:
            closer = lambda t, name=SKIP_BLOCKS[token.block_name]: t.kind == "block" and t.block_name == name  # noqa: E731
        if closer is None:
            out.append(token)
            i += 1
            continue
        j = i + 1
        while j < len(found) and not closer(found[j]):
            j += 1
        j = min(j, len(found) - 1)
        out.append(Token("raw", "".join(t.text for t in found[i:j + 1]), token.start, found[j].end))
        i = j + 1
    return out


def _is_inline(token: Token) -> bool:
    return token.kind == "html" and token.tag in INLINE and "{%" not in token.text and "{{" not in token.text


def _balanced(run: list[Token]) -> bool:
    stack: list[str] = []
    for token in run:
        if token.kind != "html" or token.tag == "br":
            continue
        if token.closing:
            if not stack or stack.pop() != token.tag:
                return False
        elif not token.text.endswith("/>"):
            stack.append(token.tag)
    return not stack


def has_words(run: list[Token]) -> bool:
    literal = 0
    for token in run:
        if token.kind == "html" and token.tag in LITERAL:
            literal += -1 if token.closing else 1
        elif token.kind == "text" and not literal and is_text(token.text):
            return True
    return False


def is_text(text: str) -> bool:
    """Words a person reads: not an entity, the product's name, an action name, a path or a CSS class."""
    words = [word for word in ENTITY.sub(" ", text).split() if not IDENTIFIER.fullmatch(word)]
    return bool(WORDS.search(" ".join(words)))


def _trim(run: list[Token]) -> list[Token]:
    """Whitespace-only text at either end stays outside the message."""
    while run and run[0].kind == "text" and not run[0].text.strip():
        run = run[1:]
    while run and run[-1].kind == "text" and not run[-1].text.strip():
        run = run[:-1]
    return run


def _unwrap(run: list[Token]) -> list[Token]:
    """An element around the whole sentence (<span class="muted">…</span>) stays outside the message;
    so does whitespace at either end."""
    while (len(run) > 2 and run[0].kind == "html" and not run[0].closing and run[-1].kind == "html"
           and run[-1].closing and run[0].tag == run[-1].tag and _balanced(run[1:-1])):
        run = _trim(run[1:-1])
    if run and run[0].kind == "text":
        text = run[0].text.lstrip()
        run = [Token("text", text, run[0].end - len(text), run[0].end), *run[1:]]
    if run and run[-1].kind == "text":
        text = run[-1].text.rstrip()
        run = [*run[:-1], Token("text", text, run[-1].start, run[-1].start + len(text))]
    return run


def _split(run: list[Token]) -> list[list[Token]]:
    if _balanced(run):
        return [run]
    pieces: list[list[Token]] = [[]]
    for token in run:
        if token.kind == "html":
            pieces.append([])
        else:
            pieces[-1].append(token)
    return [piece for piece in pieces if piece]


def text_runs(found: list[Token]) -> list[list[Token]]:
    """Sentences: the longest stretches of text, variables and simple inline elements between tags."""
    runs: list[list[Token]] = []
    current: list[Token] = []
    for token in [*found, Token("block", "{% end %}", -1, -1)]:
        if token.kind in ("text", "var") or _is_inline(token):
            current.append(token)
            continue
        for piece in _split(_trim(current)):
            piece = _unwrap(_trim(piece))
            if piece and has_words(piece):
                runs.append(piece)
        current = []
    return runs


# A value may hold {% tags %} and {{ variables }} with quotes of their own: {% translate "…" %}.
ATTRIBUTE = re.compile(r'\s(' + "|".join(VISIBLE_ATTRIBUTES) + r')="((?:\{%.*?%\}|\{\{.*?\}\}|[^"])*)"')


def attribute_texts(found: list[Token]) -> list[tuple[int, int, str]]:
    """(start, end, text) of each visible attribute with words: the whole value, or, when {% tags %} are in it
    (an {% if %} choosing between texts), each stretch of text between them."""
    texts = []
    for token in found:
        if token.kind != "html":
            continue
        for match in ATTRIBUTE.finditer(token.text):
            value, start = match.group(2), token.start + match.start(2)
            if "{%" in value:
                texts += [(start + run[0].start, start + run[-1].end, "".join(t.text for t in run))
                          for run in text_runs(tokens(value))]
            elif any(p.kind == "text" and is_text(p.text) for p in tokens(value)):
                texts.append((start, token.start + match.end(2), value))
    return texts


def tag_literals(found: list[Token]) -> list[tuple[int, int, str]]:
    """(start, end, text) of each literal given to a filter or an include in a tag, not yet _("…")."""
    literals = []
    for token in found:
        text = token.text
        if token.kind == "raw" and text.startswith("{% blocktrans"):
            text = text[:text.find("%}") + 2]  # the opening tag's `with` values
        elif token.kind not in ("var", "block"):
            continue
        for match in TAG_LITERAL.finditer(text):
            text = match.group("text")
            if text not in NOT_TEXT and is_text(text):
                literals.append((token.start + match.start("quote"), token.start + match.end(), text))
    return literals


def unmarked(source: str) -> list[str]:
    """The visible strings of a template outside {% translate %}/{% blocktranslate %}."""
    found = tokens(source)
    strings = ["".join(t.text for t in run).strip() for run in text_runs(found)]
    return strings + [value for _, _, value in attribute_texts(found)] + [text for _, _, text in tag_literals(found)]


# Marking ---------------------------------------------------------------------------------------


def _var_name(expression: str, taken: set[str]) -> str:
    base = re.split(r"[|\s]", expression.strip())[0].split(".")[-1]
    base = re.sub(r"\W", "_", base) or "value"
    if base[0].isdigit() or base in RESERVED:
        base = f"the_{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    taken.add(name)
    return name


def _plain_translate(text: str) -> str | None:
    """A {% translate "…" %} for one line of plain text, when some quote can hold it; else None (then the
    text needs {% blocktranslate %}: a variable, a line break, a % or a backslash, or both quotes)."""
    if "\n" in text or "%" in text or "\\" in text:
        return None
    if '"' not in text:
        return '{% translate "' + text + '" %}'
    if "'" not in text:
        return "{% translate '" + text + "' %}"
    return None


def _blocktranslate_parts(parts: list[Token]) -> tuple[list[str], dict[str, str]]:
    """The block's body, a plain variable as itself and any other expression under a name of its own, and
    those bindings (expression → name), one per distinct expression, for the `with` clause."""
    taken: set[str] = set()
    bindings: dict[str, str] = {}
    body = []
    for token in parts:
        if token.kind != "var":
            body.append(token.text)
            continue
        expression = token.text[2:-2].strip()
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", expression) and expression not in RESERVED:
            taken.add(expression)
            body.append("{{ " + expression + " }}")
            continue
        name = bindings.get(expression) or _var_name(expression, taken)
        bindings[expression] = name
        body.append("{{ " + name + " }}")
    return body, bindings


def translated(parts: list[Token]) -> str:
    """The {% translate %} or {% blocktranslate %} that renders exactly what `parts` rendered."""
    if all(t.kind != "var" for t in parts):
        plain = _plain_translate("".join(t.text for t in parts))
        if plain is not None:
            return plain
    body, bindings = _blocktranslate_parts(parts)
    with_clause = (" with " + " ".join(f"{name}={expression}" for expression, name in bindings.items())
                   if bindings else "")
    return "{% blocktranslate" + with_clause + " %}" + "".join(body) + "{% endblocktranslate %}"


def mark(source: str) -> str:
    """The template with every unmarked visible string wrapped (English output unchanged)."""
    found = tokens(source)
    edits: list[tuple[int, int, str]] = []
    for run in text_runs(found):
        edits.append((run[0].start, run[-1].end, translated(run)))
    runs = list(edits)
    for start, end, value in attribute_texts(found):
        if not any(run_start <= start < run_end for run_start, run_end, _ in runs):  # inside a sentence already
            edits.append((start, end, translated(tokens(value))))
    for start, end, text in tag_literals(found):
        edits.append((start, end, '_("' + text + '")'))
    for start, end, replacement in sorted(edits, reverse=True):
        source = source[:start] + replacement + source[end:]
    return source
