"""Recognise secret values without keeping them.

Collectors call ``secret_kinds`` on values such as deployment environment variables and keep
only the kinds found (and the variable's name), never the value itself.
"""

from __future__ import annotations

import re

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private_key", re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")),
    ("storage_connection_string", re.compile(r"(?i)(?:^|;)\s*AccountKey\s*=\s*[A-Za-z0-9+/=]{20,}")),
    ("connection_string_password", re.compile(r"(?i)(?:^|;)\s*(?:Password|Pwd)\s*=\s*[^;]+")),
    ("shared_access_key", re.compile(r"(?i)(?:^|;)\s*SharedAccessKey\s*=\s*[^;]+")),
    ("sas_token", re.compile(r"(?i)(?:^|[?&])sig=[A-Za-z0-9%+/=]{16,}")),
    ("url_credentials", re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("bearer_token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{20,}=*")),
    ("aws_access_key_id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("storage_account_key", re.compile(r"^[A-Za-z0-9+/]{86}==$")),
    ("github_token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("openai_style_key", re.compile(r"\bsk-[A-Za-z0-9_-]{20,}\b")),
)


def secret_kinds(value: object) -> tuple[str, ...]:
    """The kinds of secret ``value`` looks like (empty when none)."""
    if not isinstance(value, str) or len(value) < 8:
        return ()
    text = value.strip()
    return tuple(kind for kind, pattern in _PATTERNS if pattern.search(text))
