"""End-to-end: the real `auditor` command in a subprocess against moto in server mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AUDITOR = Path(sys.executable).parent / "auditor"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    out: Path

    def findings(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.out / "findings.json").read_text())
        return loaded


def fake_aws_env(endpoint: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1", "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true",
    })
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return env


def run_auditor(args: list[str], out: Path, env: dict[str, str] | None = None, timeout: float = 300) -> Run:
    # The installed console script: proves the entry point, and uses the installed package.
    proc = subprocess.run([str(AUDITOR), *args], capture_output=True, text=True,
                          env=env if env is not None else fake_aws_env(None), timeout=timeout)
    return Run(proc.returncode, proc.stdout, proc.stderr, out)
