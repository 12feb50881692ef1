"""Recognise secret values without keeping them.

Collectors call ``secret_kinds`` on values such as deployment environment variables and keep
only the kinds found (and the variable's name), never the value itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_I = re.IGNORECASE


def _has(*needles: str) -> Callable[[str, str], bool]:
    """A hint: one of ``needles`` occurs in the text (lower-case needles are looked for case-blind)."""
    blind = tuple(n for n in needles if n == n.lower())
    exact = tuple(n for n in needles if n != n.lower())
    return lambda text, lower: any(n in lower for n in blind) or any(n in text for n in exact)


# (kind, pattern, flags, hint). The hint is a literal every match must contain, tested with ``in``
# before the pattern runs: most values (ids, URLs, names) are not secrets, and collectors call this on
# every string of every document, so the regular expressions run only where one could match.
_SOURCES: tuple[tuple[str, str, int, Callable[[str, str], bool]], ...] = (
    ("private_key", r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----", 0, _has("PRIVATE KEY-----")),
    ("storage_connection_string", r"(?:^|;)\s*AccountKey\s*=\s*[A-Za-z0-9+/=]{20,}", _I, _has("accountkey")),
    ("connection_string_password", r"(?:^|;)\s*(?:Password|Pwd)\s*=\s*[^;]+", _I, _has("password", "pwd")),
    ("shared_access_key", r"(?:^|;)\s*SharedAccessKey\s*=\s*[^;]+", _I, _has("sharedaccesskey")),
    ("sas_token", r"(?:^|[?&])sig=[A-Za-z0-9%+/=]{16,}", _I, _has("sig=")),
    ("url_credentials", r"[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", 0,
     lambda text, lower: "@" in text and "://" in text),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", 0, _has("eyJ")),
    ("bearer_token", r"\bbearer\s+[A-Za-z0-9._~+/-]{20,}=*", _I, _has("bearer")),
    ("aws_access_key_id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", 0, _has("AKIA", "ASIA")),
    ("storage_account_key", r"^[A-Za-z0-9+/]{86}==$", 0, lambda text, lower: len(text) == _STORAGE_KEY_LENGTH),
    ("github_token", r"\bgh[pousr]_[A-Za-z0-9]{36,}\b", 0, _has("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    ("openai_style_key", r"\bsk-[A-Za-z0-9_-]{20,}\b", 0, _has("sk-")),
)
_PATTERNS: tuple[tuple[str, re.Pattern[str], Callable[[str, str], bool]], ...] = tuple(
    (kind, re.compile(source, flags), hint) for kind, source, flags, hint in _SOURCES
)
# The first gate: every hint above implies one of these in the lower-cased text (or the length of a
# storage key). ``in`` on a short string costs tens of nanoseconds; a case-blind regular expression
# with the same alternatives costs microseconds.
_GATE = ("private key", "accountkey", "password", "pwd", "sharedaccesskey", "sig=", "@", "eyj", "bearer", "akia",
         "asia", "gh", "sk-")
_STORAGE_KEY_LENGTH = 88


def secret_kinds(value: object) -> tuple[str, ...]:
    """The kinds of secret ``value`` looks like (empty when none)."""
    if not isinstance(value, str) or len(value) < 8:
        return ()
    text = value.strip()
    lower = text.lower()
    if len(text) != _STORAGE_KEY_LENGTH and not any(needle in lower for needle in _GATE):
        return ()
    return tuple(kind for kind, pattern, hint in _PATTERNS if hint(text, lower) and pattern.search(text))
