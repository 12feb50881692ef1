"""A stand-in ``az`` executable, so ``AzureCliCredential`` works without the Azure CLI or a login.

azure-identity's ``AzureCliCredential`` runs ``az account get-access-token --output json --resource R``
(plus ``--tenant T`` and ``--subscription S`` when set; the CLI itself also takes ``--scope``) from
``/bin`` and parses ``accessToken`` and ``expires_on`` (epoch seconds) or ``expiresOn`` (a naive local
``%Y-%m-%d %H:%M:%S.%f``). ``write_fake_az(directory)`` writes an executable ``az`` answering exactly
that with a fixed token; put ``directory`` first on ``PATH``. Every call is appended as one JSON line to
``az-calls.jsonl`` beside it, so a test can count how often the credential started the CLI.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

DEFAULT_TOKEN = "auditor-demo-token"  # noqa: S105 - a fixed fake, accepted only by the local test server
DEFAULT_TENANT = "72f988bf-0000-4000-8000-00000000d3e0"

_SCRIPT = '''\
import datetime, json, sys, time
ARGS = sys.argv[1:]
with open({log!r}, "a", encoding="utf-8") as log:
    log.write(json.dumps(ARGS) + "\\n")
def option(name):
    return ARGS[ARGS.index(name) + 1] if name in ARGS[:-1] else None
if ARGS[:2] != ["account", "get-access-token"]:
    sys.stderr.write("ERROR: this fake az only answers 'az account get-access-token'\\n")
    sys.exit(2)
if option("--output") not in (None, "json") or ("--resource" in ARGS and "--scope" in ARGS):
    sys.stderr.write("ERROR: usage: az account get-access-token [--output json] [--resource R | --scope S]\\n")
    sys.exit(2)
expires = time.time() + {lifetime}
print(json.dumps({{
    "accessToken": {token!r},
    "expiresOn": datetime.datetime.fromtimestamp(expires).strftime("%Y-%m-%d %H:%M:%S.%f"),
    "expires_on": int(expires),
    "subscription": option("--subscription") or {subscription!r},
    "tenant": option("--tenant") or {tenant!r},
    "tokenType": "Bearer",
}}, indent=2))
'''


def write_fake_az(directory: str | os.PathLike[str], *, token: str = DEFAULT_TOKEN,
                  subscription: str = "00000000-0000-0000-0000-000000000000", tenant: str = DEFAULT_TENANT,
                  lifetime_seconds: int = 3600) -> Path:
    """Write an executable ``az`` into ``directory`` and return its path.

    It answers ``az account get-access-token [--output json] [--resource R | --scope S] [--tenant T]
    [--subscription S]`` with ``token``; anything else exits 2 with a message on stderr, as the CLI does
    for a bad command line. The script runs with the current interpreter and uses only the stdlib.
    """
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    executable = target / "az"
    shebang = f"#!{sys.executable}" if len(sys.executable) < 120 and " " not in sys.executable \
        else "#!/usr/bin/env python3"
    body = _SCRIPT.format(log=str(calls_log(target)), lifetime=int(lifetime_seconds), token=token,
                          subscription=subscription, tenant=tenant)
    executable.write_text(f"{shebang}\n{body}", encoding="utf-8")
    executable.chmod(executable.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return executable


def calls_log(directory: str | os.PathLike[str]) -> Path:
    """The file the fake ``az`` in ``directory`` appends its argument lists to."""
    return Path(directory) / "az-calls.jsonl"


def recorded_calls(directory: str | os.PathLike[str]) -> list[list[str]]:
    """The argument lists of every call the fake ``az`` in ``directory`` answered so far."""
    log = calls_log(directory)
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
