"""Recognise secret values without keeping them.

Collectors call ``secret_kinds`` on values such as deployment environment variables and keep
only the kinds found (and the variable's name), never the value itself.
"""

from __future__ import annotations

import re

_I = re.IGNORECASE
_STORAGE_KEY_LENGTH = 88

# (kind, pattern, flags, needles). A match always contains one of the needles (lower case, looked for in
# the lower-cased text); a storage key, which has no literal part, is recognised by its length first.
# Collectors call this on every string of every document and most are not secrets (ids, URLs, names):
# ``in`` on a short string costs tens of nanoseconds, a regular expression microseconds, so the
# patterns run only where a needle was found.
_SOURCES: tuple[tuple[str, str, int, tuple[str, ...]], ...] = (
    ("private_key", r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----", 0, ("private key-----",)),
    ("storage_connection_string", r"(?:^|;)\s*AccountKey\s*=\s*[A-Za-z0-9+/=]{20,}", _I, ("accountkey",)),
    ("connection_string_password", r"(?:^|;)\s*(?:Password|Pwd)\s*=\s*[^;]+", _I, ("password", "pwd")),
    ("shared_access_key", r"(?:^|;)\s*SharedAccessKey\s*=\s*[^;]+", _I, ("sharedaccesskey",)),
    ("sas_token", r"(?:^|[?&])sig=[A-Za-z0-9%+/=]{16,}", _I, ("sig=",)),
    ("url_credentials", r"[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", 0, ("@",)),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", 0, ("eyj",)),
    ("bearer_token", r"\bbearer\s+[A-Za-z0-9._~+/-]{20,}=*", _I, ("bearer",)),
    ("aws_access_key_id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", 0, ("akia", "asia")),
    ("storage_account_key", r"^[A-Za-z0-9+/]{86}==$", 0, ()),
    ("github_token", r"\bgh[pousr]_[A-Za-z0-9]{36,}\b", 0, ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    ("openai_style_key", r"\bsk-[A-Za-z0-9_-]{20,}\b", 0, ("sk-",)),
)
_PATTERNS: tuple[tuple[str, re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (kind, re.compile(source, flags), needles) for kind, source, flags, needles in _SOURCES
)
_NEEDLES: tuple[str, ...] = tuple(sorted({needle for *_, needles in _SOURCES for needle in needles}))


def secret_kinds(value: object) -> tuple[str, ...]:
    """The kinds of secret ``value`` looks like (empty when none)."""
    if not isinstance(value, str) or len(value) < 8:
        return ()
    text = value.strip()
    lower = text.lower()
    key_length = len(text) == _STORAGE_KEY_LENGTH
    if not key_length and not any(needle in lower for needle in _NEEDLES):
        return ()
    return tuple(kind for kind, pattern, needles in _PATTERNS
                 if (any(needle in lower for needle in needles) if needles else key_length) and pattern.search(text))
