"""Untrusted strings as inert Markdown: what summary.md, SARIF's rule help and a remediation plan's summary
put in front of GitHub.

Every string from a cloud API, a rule file or a waivers file is untrusted. Identifiers (rule ids, resource ids
and names, scopes) go into code spans (``code``), which GitHub renders literally (no markup, no HTML, no links,
no @mentions); prose (messages, reasons, errors) is escaped character by character (``escape_text``). Both fold
newlines and tabs into spaces and escape ``|``, so no value can end a table row or a cell. Inside prose,
anything a renderer could turn into a link is put in a code span instead: a word holding ``://``, starting
``//`` or ``www.``, an e-mail address, a ``mailto:``-like scheme, or a dotted name ending in letters
(``evil.example``, which linkify-style renderers link without a scheme). GitHub autolinks bare URLs, ``www.``
hosts and addresses in text, never in code, so a hostile message cannot put a clickable link in a pull request.
"""

from __future__ import annotations

import re

CELL_ID = 160  # characters of an identifier kept in a cell


# CommonMark lets a backslash escape any ASCII punctuation; these are the ones that can start markup
# anywhere in a line. '<', '>' and '&' become entities instead (an entity cannot start a tag).
_ESCAPED = frozenset("\\`*_{}[]()#+!|~")
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_LINE_START = re.compile(r"^([-=]|\d+(?=[.)]))")  # list items, setext underlines, ordered lists
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BREAKS = re.compile(r"[\t\r\n\u2028\u2029\x85]+")
_MENTION = re.compile(r"(?<!\w)@(?=\w)")  # GitHub's mentions: "@name" after a non-word
_WORD_JOINER = "\u2060"  # invisible; after '@' it stops GitHub turning "@name" into a mention

# A word (a run without spaces or pipes) that some renderer could make a link of; see the module's docstring.
_WORD = re.compile(r"[^\s|]+")
_LINKISH = re.compile(r"://|^//|www\.|@[^@]*\.|\b(?:mailto|xmpp|tel|sms|ftp|file|data|javascript|vbscript):|"
                      r"[\w-]\.[^\W\d_]{2,}", re.IGNORECASE)
_EDGE_PUNCTUATION = "([{<'\"*_~.,;:!?)]}>"


def escape_text(value: object, limit: int | None = None) -> str:
    """Untrusted prose as inert Markdown text: one line, no markup, no HTML, no mention, no link syntax; a
    word that a renderer could turn into a link is a code span (punctuation around it stays outside)."""
    text = _one_line(value, limit)
    parts: list[str] = []
    end = 0
    for word in _WORD.finditer(text):
        if not _LINKISH.search(word.group()):
            continue
        start, stop = word.start(), word.end()
        while start < stop and text[start] in _EDGE_PUNCTUATION:
            start += 1
        while stop > start and text[stop - 1] in _EDGE_PUNCTUATION:
            stop -= 1
        if not _LINKISH.search(text[start:stop]):
            continue
        parts += [_escape_prose(text[end:start]), code(text[start:stop], None, in_table=False)]
        end = stop
    escaped = "".join([*parts, _escape_prose(text[end:])])
    match = _LINE_START.match(escaped)
    if match:  # a leading "-", "1." or "===" would start a list or a heading where the line begins
        end = match.end()
        escaped = escaped[:end] + "\\" + escaped[end:] if match.group(1)[0].isdigit() else "\\" + escaped
    return escaped


def _escape_prose(text: str) -> str:
    out = [_ENTITIES.get(ch) or (f"\\{ch}" if ch in _ESCAPED else ch) for ch in text]
    return _MENTION.sub("@" + _WORD_JOINER, "".join(out))


def escape_block(value: object) -> str:
    """Untrusted multi-line prose: each line escaped like ``escape_text``, line breaks kept."""
    return "\n".join(escape_text(line) for line in str(value).splitlines())


def code(value: object, limit: int | None = CELL_ID, *, in_table: bool = True) -> str:
    """An untrusted identifier as a code span (rendered literally); an empty value becomes an em dash."""
    text = _one_line(value, limit)
    if not text.strip():
        return "—"
    if in_table:  # GFM splits cells before parsing code spans: a pipe needs its backslash even here
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _one_line(value: object, limit: int | None) -> str:
    text = _CONTROL.sub("", _BREAKS.sub(" ", str(value)))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text
