"""Recognise secret values without keeping them.

Collectors call ``secret_kinds`` on values such as deployment environment variables and keep
only the kinds found (and the variable's name), never the value itself.
"""

from __future__ import annotations

import re

_I = re.IGNORECASE
_SOURCES: tuple[tuple[str, str, int], ...] = (
    ("private_key", r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----", 0),
    ("storage_connection_string", r"(?:^|;)\s*AccountKey\s*=\s*[A-Za-z0-9+/=]{20,}", _I),
    ("connection_string_password", r"(?:^|;)\s*(?:Password|Pwd)\s*=\s*[^;]+", _I),
    ("shared_access_key", r"(?:^|;)\s*SharedAccessKey\s*=\s*[^;]+", _I),
    ("sas_token", r"(?:^|[?&])sig=[A-Za-z0-9%+/=]{16,}", _I),
    ("url_credentials", r"[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", 0),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", 0),
    ("bearer_token", r"\bbearer\s+[A-Za-z0-9._~+/-]{20,}=*", _I),
    ("aws_access_key_id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", 0),
    ("storage_account_key", r"^[A-Za-z0-9+/]{86}==$", 0),
    ("github_token", r"\bgh[pousr]_[A-Za-z0-9]{36,}\b", 0),
    ("openai_style_key", r"\bsk-[A-Za-z0-9_-]{20,}\b", 0),
)
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(source, flags)) for kind, source, flags in _SOURCES
)
# One pass over the text decides whether any pattern can match; most values are not secrets, so
# the per-kind patterns run only for the few that are (collectors call this on every string).
_ANY = re.compile("|".join(f"(?i:{source})" if flags & _I else f"(?:{source})" for _, source, flags in _SOURCES))


def secret_kinds(value: object) -> tuple[str, ...]:
    """The kinds of secret ``value`` looks like (empty when none)."""
    if not isinstance(value, str) or len(value) < 8:
        return ()
    text = value.strip()
    if _ANY.search(text) is None:
        return ()
    return tuple(kind for kind, pattern in _PATTERNS if pattern.search(text))
