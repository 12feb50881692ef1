"""Recognise secret values without keeping them.

Collectors call ``secret_kinds`` on values such as deployment environment variables and keep
only the kinds found (and the variable's name), never the value itself; :mod:`auditor.redaction`
uses it to decide what to redact.

Linear time on any input
------------------------
Every string a service returns goes through here, so no input may make it slow: a property of
megabytes with an ``@`` in it must cost milliseconds, not minutes. A backtracking engine goes
quadratic when many start positions share one long run that each start scans again (``aaaa...@``
for ``scheme://user:password@``, ``eyJ-eyJ-eyJ-...`` for a JWT). Each pattern is written so that
every character is scanned a bounded number of times:

* a variable run that must end at a given character is possessive (``[^/\\s:@]++:``): the run can
  only end where that character is, so giving characters back never helps, and is not tried;
* a run that would otherwise be entered from every position inside it only starts at its first
  character (a lookbehind for the run's class), and the first useful anchor inside it is committed
  to with an atomic group (``(?>[...]*?\\beyJ)``): a later anchor in the same run ends at the same
  place with less room, so it cannot match where the first did not;
* an open-ended tail that only has to exist (``[^;]+``, ``{20,}`` at the end) is its minimum.

``sk-...\b`` stays as it was: a start inside its run fails only when no word boundary follows it
within the run, and every later ``sk-`` is one, so at most a few starts of a run can fail.

Each rewrite matches exactly the strings the former pattern matched (tests/core/test_secrets.py
compares both on random and realistic values), and benchmarks/secrets_linear.py times them up to
10 MB.
"""

from __future__ import annotations

import re

_I = re.IGNORECASE
_STORAGE_KEY_LENGTH = 88

# Query (and fragment) parameters that carry a credential in a URL, compared in lower case: Azure
# Functions keys (code), API keys, API Management subscription keys, SAS and presigned-URL signatures
# and credentials, OAuth tokens and secrets.
QUERY_CREDENTIAL_NAMES: frozenset[str] = frozenset({
    "code", "key", "apikey", "api-key", "api_key", "subscription-key", "subscription_key",
    "ocp-apim-subscription-key", "sig", "signature", "token", "access_token", "access-token", "accesstoken",
    "id_token", "refresh_token", "auth", "auth_token", "authorization", "client_secret", "secret", "password",
    "passwd", "pwd", "sas", "sas_token", "session_token", "security_token", "x-amz-signature",
    "x-amz-credential", "x-amz-security-token", "awsaccesskeyid", "x-goog-signature", "x-goog-credential",
})
_QUERY_NAMES = "|".join(re.escape(name) for name in sorted(QUERY_CREDENTIAL_NAMES, key=lambda n: (-len(n), n)))

_JWT_PART = "[A-Za-z0-9_-]"
_SCHEME = "[a-zA-Z0-9+.-]"

# (kind, pattern, flags, needles). A match always contains one of the needles (lower case, looked for in
# the lower-cased text); a storage key, which has no literal part, is recognised by its length first.
# Collectors call this on every string of every document and most are not secrets (ids, URLs, names):
# ``in`` on a short string costs tens of nanoseconds, a regular expression microseconds, so the
# patterns run only where a needle was found.
_SOURCES: tuple[tuple[str, str, int, tuple[str, ...]], ...] = (
    ("private_key", r"-----BEGIN (?:[A-Z]++ )?PRIVATE KEY-----", 0, ("private key-----",)),
    ("storage_connection_string", r"(?:^|;)\s*+AccountKey\s*+=\s*+[A-Za-z0-9+/=]{20}", _I, ("accountkey",)),
    ("connection_string_password", r"(?:^|;)\s*+(?:Password|Pwd)\s*+=[^;]", _I, ("password", "pwd")),
    ("shared_access_key", r"(?:^|;)\s*+SharedAccessKey\s*+=[^;]", _I, ("sharedaccesskey",)),
    ("sas_token", r"(?:^|[?&])sig=[A-Za-z0-9%+/=]{16}", _I, ("sig=",)),
    ("url_credentials",
     rf"(?<!{_SCHEME})[0-9+.-]*+[a-zA-Z]{_SCHEME}*+://[^/\s:@]++:[^/\s@]++@", 0, ("@",)),
    ("jwt", rf"(?<!{_JWT_PART})(?>{_JWT_PART}*?\beyJ){_JWT_PART}{{8,}}+\.eyJ{_JWT_PART}{{8,}}+\.{_JWT_PART}{{8}}",
     0, ("eyj",)),
    ("bearer_token", r"\bbearer\s++[A-Za-z0-9._~+/-]{20}", _I, ("bearer",)),
    ("aws_access_key_id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", 0, ("akia", "asia")),
    ("storage_account_key", r"^[A-Za-z0-9+/]{86}==$", 0, ()),
    ("github_token", r"\bgh[pousr]_[A-Za-z0-9]{36,}+\b", 0, ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    ("openai_style_key", r"\bsk-[A-Za-z0-9_-]{20,}\b", 0, ("sk-",)),
    # A credential in a URL's query or fragment (``?code=...``, ``&api-key=...``, ``#access_token=...``)
    # with a value; ``<redacted>`` is no value (what redaction leaves in its place). Reported only when
    # no kind above matched (see ``secret_kinds``).
    ("url_query_credential", rf"[?&#](?:{_QUERY_NAMES})=[^&#\s<]", _I,
     ("code=", "key=", "sig=", "signature=", "token=", "auth=", "authorization=", "secret=", "password=",
      "passwd=", "pwd=", "sas=", "credential=", "awsaccesskeyid=")),
)
_PATTERNS: tuple[tuple[str, re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (kind, re.compile(source, flags), needles) for kind, source, flags, needles in _SOURCES
)


def _covering(needles: set[str]) -> tuple[str, ...]:
    """The needles no other needle is part of: when a longer one is in the text, so is the shorter."""
    return tuple(sorted(n for n in needles if not any(o != n and o in n for o in needles)))


_NEEDLES: tuple[str, ...] = _covering({needle for *_, needles in _SOURCES for needle in needles})
GENERIC = "url_query_credential"


def secret_kinds(value: object) -> tuple[str, ...]:
    """The kinds of secret ``value`` looks like (empty when none), in time linear in its length."""
    if not isinstance(value, str) or len(value) < 8:
        return ()
    text = value.strip()
    lower = text.lower()
    key_length = len(text) == _STORAGE_KEY_LENGTH
    if not key_length and not any(needle in lower for needle in _NEEDLES):
        return ()
    kinds = tuple(kind for kind, pattern, needles in _PATTERNS
                  if (any(needle in lower for needle in needles) if needles else key_length) and pattern.search(text))
    # The generic kind only names what no specific kind does (a ``sig=`` URL is a sas_token, not both).
    return (GENERIC,) if kinds == (GENERIC,) else tuple(k for k in kinds if k != GENERIC)
