"""What the tool does with text and URLs a service (or a resource's owner) supplied: it trusts none of it.

Three guarantees, each one function:

- :func:`service_text`: an error message (or any free text) a service answered, fit to *store*: whitespace
  collapsed to single spaces, every secret-shaped word replaced by ``<redacted>`` with the same detector
  as resource values (:func:`auditor.secrets.secret_kinds`), control and invisible formatting characters
  shown as escapes (``\\x1b``), bounded. When a secret may span words (``Password = a b``, a PEM block,
  ``Bearer TOKEN``), the whole text is withheld instead: never a partial secret.
- :func:`printable`: any text fit to *print* on a terminal: escape sequences, carriage returns, newlines
  and bidirectional overrides shown as escapes, so nothing a service or resource said can move the
  cursor, clear the screen, set the window title or forge a line of its own.
- :func:`same_origin`: whether a URL taken from an answer (``nextLink``, ``Location``,
  ``Azure-AsyncOperation``) points at the endpoint the user named (scheme, host and port); the caller
  refuses any other, so the bearer token never leaves that endpoint.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

from auditor.secrets import secret_kinds

REDACTED = "<redacted>"
MAX_INPUT = 8192  # longer service texts are cut before anything else: nothing shows more than ~1,000
# Kinds whose value may contain spaces: a word-by-word redaction could leave part of the secret.
_SPANNING = frozenset({"private_key", "connection_string_password", "shared_access_key", "bearer_token"})
_EDGES = "\"'`()[]{}<>,.;:!?"
# C0 and C1 controls, DEL, lone surrogates (unprintable, and fatal to a strict UTF-8 stream), zero-width
# and bidirectional formatting characters, line and paragraph separators, the byte-order mark.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
                       "\ud800-\udfff]")
_NON_ASCII_CONTROLS = re.compile("[\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
                                 "\ud800-\udfff]")
_DEFAULT_PORTS = {"https": 443, "http": 80}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char == "\n":
        return "\\n"
    if char == "\r":
        return "\\r"
    if char == "\t":
        return "\\t"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control or invisible formatting character shown as an escape (``\\x1b``, ``\\n``)."""
    return _CONTROLS.sub(_escape, text)


def json_printable(text: str) -> str:
    """A JSON document (one line) whose C1 controls, separators, bidi and surrogate characters are ``\\u`` escapes.

    ``json.dumps(..., ensure_ascii=False)`` already escapes C0 controls; these it would write raw. They
    can only occur inside JSON strings, where ``\\uXXXX`` is the same character.
    """
    return _NON_ASCII_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _redact_word(word: str) -> tuple[str, tuple[str, ...]]:
    core = word.strip(_EDGES)
    kinds = secret_kinds(core) or secret_kinds(word)
    if not kinds:
        return word, ()
    return (word.replace(core, REDACTED, 1) if core else REDACTED), kinds


def redact_text(text: str) -> str:
    """``text`` with whitespace collapsed and each secret-shaped word replaced by ``<redacted>``.

    A secret that may span words (a password or shared access key value, a PEM private key, a bearer
    token), or one found only across words, withholds the whole text: the caller still has the
    operation, the HTTP status and the error code.
    """
    words = text.split()
    kinds: set[str] = set()
    redacted: list[str] = []
    for word in words:
        clean, found = _redact_word(word)
        redacted.append(clean)
        kinds.update(found)
    result = " ".join(redacted)
    across = secret_kinds(result)
    kinds.update(across)
    if across or kinds & _SPANNING:
        return f"<message withheld: it looks like it holds a secret ({', '.join(sorted(kinds))})>"
    return result


def service_text(text: str, limit: int) -> str:
    """A service's text fit to store: bounded input, one line, secrets redacted, controls escaped, ``limit`` long."""
    clean = printable(redact_text(text[:MAX_INPUT]))
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."


# --- URLs taken from answers -------------------------------------------------------------------------


def _split(url: str) -> SplitResult | None:
    """The parts of an absolute http(s) URL both urllib and urllib3 read the same way, else None."""
    if not url or url != url.strip() or _CONTROLS.search(url) or any(c in url for c in " \\"):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    return parts


def origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an absolute http(s) URL, lower-cased, the port made explicit; None when malformed.

    A URL with user information (``https://a@b``), a backslash, whitespace or a control character is
    malformed here: parsers disagree on which host such a URL names.
    """
    parts = _split(url)
    if parts is None or parts.hostname is None:
        return None
    scheme = parts.scheme.lower()
    return scheme, parts.hostname.lower(), parts.port or _DEFAULT_PORTS[scheme]


def same_origin(url: str, endpoint: str) -> bool:
    """True when ``url`` is an absolute URL on ``endpoint``'s scheme, host and port."""
    found, expected = origin(url), origin(endpoint)
    return found is not None and found == expected


def shown_origin(url: str, limit: int = 120) -> str:
    """Where ``url`` points, for a message: its scheme, host and port (never its path or query, which may
    carry a signature), escaped and bounded; the URL itself, escaped and bounded, when it does not parse."""
    found = origin(url)
    if found is None:
        return service_text(url, limit) if url else "(empty)"
    scheme, host, port = found
    return service_text(f"{scheme}://{host}:{port}", limit)


def refused_url_message(url: str, endpoint: str, what: str) -> str:
    """One sentence for a URL that was not followed: where it pointed (its origin only)."""
    return f"{what} points at {shown_origin(url)}, outside the endpoint {endpoint}: not followed (no token sent)"
