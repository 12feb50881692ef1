from __future__ import annotations

import json
import random
import re
import string
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from auditor.secrets import secret_kinds

# Synthetic values shaped like real secrets (none is a live credential).
KEY88 = ("Zm9vYmFyYmF6" * 8)[:86] + "=="  # the 88-character shape of a storage account key


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (f"DefaultEndpointsProtocol=https;AccountName=mlstore;AccountKey={KEY88};EndpointSuffix=core.windows.net",
         "storage_connection_string"),
        (KEY88, "storage_account_key"),
        ("https://mlstore.blob.core.windows.net/c?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2027-01-01&sig=abcdEFGH1234ijklMNOP%3D",
         "sas_token"),
        ("Server=tcp:db.database.windows.net;Database=scores;User ID=svc;Password=Tr0ub4dor&3;",
         "connection_string_password"),
        ("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=abc123def456=",
         "shared_access_key"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow...", "private_key"),
        ("Bearer abcdefghijklmnopqrstuvwxyz0123456789", "bearer_token"),
        ("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVl", "jwt"),
        ("postgresql://svc:s3cr3t-pw@db.internal:5432/features", "url_credentials"),
        ("AKIAIOSFODNN7EXAMPLE", "aws_access_key_id"),
        ("ghp_" + "a1B2" * 10, "github_token"),
        ("sk-proj-" + "Xy9" * 8, "openai_style_key"),
        # Case-blind kinds in another case, and secrets inside longer text, still pass the first gate.
        (f"accountname=x;ACCOUNTKEY={KEY88}", "storage_connection_string"),
        ("Driver={ODBC};PWD=hunter2hunter2", "connection_string_password"),
        ("https://x.blob.core.windows.net/c?SIG=abcdEFGH1234ijklMNOP", "sas_token"),
        ("Authorization: BEARER abcdefghijklmnopqrstuvwxyz0123456789", "bearer_token"),
        ("  " + KEY88 + "\n", "storage_account_key"),
    ],
)
def test_secret_shapes_are_recognised(value, kind):
    assert kind in secret_kinds(value)


@pytest.mark.parametrize("value", ["", "resnet50", "https://mlstore.blob.core.windows.net/models/v3", "4", None, 42,
                                   "AccountName=mlstore;EndpointSuffix=core.windows.net", "Bearer"])
def test_ordinary_values_are_not_secrets(value):
    assert secret_kinds(value) == ()


# --- linear time, and the same verdicts as the backtracking patterns it replaced -------------------------

# The detector as it was before issue 18 (commit db2ac6f), verbatim: correct, but quadratic on some inputs.
# It is the oracle of the fuzz comparison below, run only on short values.
BACKTRACKING_SOURCES = (
    ("private_key", r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----", 0, ("private key-----",)),
    ("storage_connection_string", r"(?:^|;)\s*AccountKey\s*=\s*[A-Za-z0-9+/=]{20,}", re.I, ("accountkey",)),
    ("connection_string_password", r"(?:^|;)\s*(?:Password|Pwd)\s*=\s*[^;]+", re.I, ("password", "pwd")),
    ("shared_access_key", r"(?:^|;)\s*SharedAccessKey\s*=\s*[^;]+", re.I, ("sharedaccesskey",)),
    ("sas_token", r"(?:^|[?&])sig=[A-Za-z0-9%+/=]{16,}", re.I, ("sig=",)),
    ("url_credentials", r"[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", 0, ("@",)),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", 0, ("eyj",)),
    ("bearer_token", r"\bbearer\s+[A-Za-z0-9._~+/-]{20,}=*", re.I, ("bearer",)),
    ("aws_access_key_id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", 0, ("akia", "asia")),
    ("storage_account_key", r"^[A-Za-z0-9+/]{86}==$", 0, ()),
    ("github_token", r"\bgh[pousr]_[A-Za-z0-9]{36,}\b", 0, ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    ("openai_style_key", r"\bsk-[A-Za-z0-9_-]{20,}\b", 0, ("sk-",)),
)
_ORACLE = [(kind, re.compile(source, flags), needles) for kind, source, flags, needles in BACKTRACKING_SOURCES]


def backtracking_kinds(value: str) -> tuple[str, ...]:
    if len(value) < 8:
        return ()
    text = value.strip()
    lower = text.lower()
    return tuple(kind for kind, pattern, needles in _ORACLE
                 if (any(n in lower for n in needles) if needles else len(text) == 88) and pattern.search(text))


B64 = string.ascii_letters + string.digits + "+/"
JWT = string.ascii_letters + string.digits + "_-"
SEPARATORS = ["", " ", ";", ".", "-", "_", "@", ":", "/", "é", "\n", "\t", "&", "?", "#", "=", "x", "A", "eyJ"]


def _shaped(rng: random.Random) -> str:
    """A value near the edge of one kind: run lengths around each threshold, the separators that end runs."""
    def run(alphabet: str, length: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(max(0, length + rng.randint(-2, 2))))

    def pick(*options: str) -> str:
        return rng.choice(options)

    shapes = (
        lambda: f"{pick('', '-', 'é', '.', 'x')}eyJ{run(JWT, 8)}{pick('.', '-', '')}eyJ{run(JWT, 8)}.{run(JWT, 8)}",
        lambda: f"{run('ab1+.-', 2)}://{run('us:er', 2)}:{run('p:w@d', 2)}@host/x",
        lambda: run(B64, 86) + pick("==", "=", "", "==\n", "AA"),
        lambda: f"{pick('', ';', 'x;', ' ')}{pick('AccountKey', 'accountKEY')}{pick('', ' ')}={pick('', ' ')}"
                f"{run(B64 + '=', 20)}",
        lambda: f"{pick('', ';', 'x;')}{pick('Password', 'pwd', 'SharedAccessKey')}{pick('', ' ', '  ')}="
                f"{pick('', ' ', ';', 'x', ' ;')}",
        lambda: f"{pick('', '?', '&', 'x')}{pick('sig', 'SIG')}={run(B64 + '%=', 16)}",
        lambda: f"{pick('', 'x', '-', 'é')}{pick('bearer', 'Bearer')}{pick('', ' ', '  ')}{run(JWT + '.~+/', 20)}",
        lambda: f"{pick('', 'x', '-', '_')}{pick('AKIA', 'ASIA')}{run(string.ascii_uppercase + string.digits, 16)}"
                f"{pick('', 'x', '-', '_', 'A')}",
        lambda: f"{pick('', 'x', '-')}gh{pick(*'pousrx')}_{run(string.ascii_letters + string.digits, 36)}"
                f"{pick('', '_', '-', 'é')}",
        lambda: f"{pick('', 'x', '-')}sk-{run(JWT, 20)}{pick('', '_', '-', 'é', '--')}",
        lambda: f"-----BEGIN {pick('', 'RSA ', 'EC ', 'rsa ', 'RSA', 'OPENSSH ')}PRIVATE KEY-----",
    )
    value = pick("", " ", ";").join(rng.choice(shapes)() for _ in range(rng.randint(1, 3)))
    for _ in range(rng.randint(0, 2)):  # one or two edits anywhere
        i = rng.randint(0, len(value))
        value = value[:i] + rng.choice(SEPARATORS) + value[i:] if rng.random() < 0.5 else value[:i] + value[i + 1:]
    return value


def _noise(rng: random.Random) -> str:
    """Random text built from the patterns' literals, separators and runs."""
    tokens = ("eyJ", ".", "-", "_", "@", "://", ":", "/", ";", "=", "AccountKey", "Password", "Pwd", "SharedAccessKey",
              "sig=", "?", "&", "bearer ", " ", "\t", "AKIA", "ASIA", "ghp_", "sk-", "-----BEGIN ", "PRIVATE KEY-----",
              "RSA ", "é", "\u017f", "\u212a", "+", "%", "<redacted>", "https", "1", "abcdefgh", "ABCDEFGH12345678",
              "code=")
    return "".join(rng.choice(tokens) if rng.random() < 0.7 else rng.choice("aZ09-_.+/=@:;?&é ") * rng.randint(1, 30)
                   for _ in range(rng.randint(1, 40)))


def test_the_linear_detector_decides_as_the_backtracking_one_did() -> None:
    rng = random.Random(18)
    seen: Counter[str] = Counter()
    values = [_shaped(rng) for _ in range(12_000)] + [_noise(rng) for _ in range(6_000)]
    for value in values:
        before = backtracking_kinds(value)
        now = secret_kinds(value)
        assert tuple(k for k in now if k != "url_query_credential") == before, repr(value)
        seen.update(before)
    # the comparison is only worth something if every kind was both found and narrowly missed
    assert set(seen) == {kind for kind, *_ in BACKTRACKING_SOURCES}
    assert min(seen.values()) >= 10, seen


def adversarial(size: int) -> dict[str, str]:
    """Inputs that made the backtracking patterns quadratic, and their neighbours, about ``size`` long."""
    return {
        "letters then @": "a" * size + "@",
        "scheme runs": "ab+1." * (size // 5) + "://u@",
        "user runs": "a://" + "u" * size + ":@",
        "password runs": "a://u:" + "p:" * (size // 2) + "/@",
        "jwt starts": "eyJ-" * (size // 4),
        "jwt segments": ("eyJ" + "a" * 8 + ".") * (size // 12),
        "bearer": "bearer " * (size // 7),
        "sk starts": "sk-" * (size // 3) + "é",
        "github": ("ghp_" + "a" * 35) * (size // 39),
        "passwords": ";Password" * (size // 9),
        "account keys": (";AccountKey=" + "A" * 19) * (size // 31),
        "signatures": "&sig=" * (size // 5),
        "query names": "?code&key" * (size // 9),
        "query credentials": "https://h/p?" + "code=x&api-key=y&" * (size // 17),
        "spaces": " " * size + "@",
    }


_TIMED = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from test_secrets import adversarial
from auditor.redaction import redact_text
from auditor.secrets import secret_kinds
times = {}
for name, value in adversarial(1_000_000).items():
    for fn in (secret_kinds, redact_text):
        started = time.perf_counter()
        fn(value)
        times[f"{name} ({fn.__name__})"] = time.perf_counter() - started
print(json.dumps(times))
"""


def test_the_detector_is_linear_on_inputs_that_made_it_quadratic() -> None:
    # Before: 200,000 characters and an @ took 40 s, a megabyte 16 minutes. Now a megabyte of each takes
    # a fraction of a second, to recognise and to redact. In a subprocess, so that a regression fails at the
    # timeout instead of hanging.
    done = subprocess.run([sys.executable, "-c", _TIMED, str(Path(__file__).parent)], capture_output=True,
                          text=True, timeout=60, check=True)
    times = json.loads(done.stdout)
    assert len(times) == 2 * len(adversarial(10))
    assert {name: t for name, t in times.items() if t > 2.0} == {}


@pytest.mark.parametrize("value", [
    "https://scorer.azurewebsites.net/api/score?code=Zm9vYmFyYmF6cXV4",
    "https://gw.example.com/models/churn?api-version=2024-05-01&api-key=0123456789abcdef",
    "https://app.example.com/callback#access_token=abc.def.ghi&token_type=bearer",
    "https://s3.amazonaws.com/b/o?X-Amz-Credential=x%2F20240101&X-Amz-Signature=abcd",
    "https://maps.example.com/api?KEY=x1",
])
def test_a_credential_in_a_url_query_is_recognised(value: str) -> None:
    assert secret_kinds(value) == ("url_query_credential",)


@pytest.mark.parametrize("value", [
    "https://scorer.azurewebsites.net/api/score?code=<redacted>",
    "https://scorer.azurewebsites.net/api/score?code=",
    "https://management.azure.com/subscriptions?api-version=2022-12-01&$skipToken=abc",
    "https://example.com/search?sortkey=name&monkey=1",
])
def test_a_url_without_a_credential_value_is_not_a_secret(value: str) -> None:
    assert secret_kinds(value) == ()


def test_a_sas_url_is_one_kind_not_two() -> None:
    assert secret_kinds("https://a.blob.core.windows.net/c?sv=2022-11-02&sig=abcdEFGH1234ijklMNOP") == ("sas_token",)
