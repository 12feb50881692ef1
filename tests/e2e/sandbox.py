"""``auditor demo --serve`` in a subprocess, and ``auditor`` commands run against it in others."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .helpers import AUDITOR

READY_TIMEOUT = 120.0  # a loaded CI machine; it takes ~4 s here


@dataclass
class Served:
    process: subprocess.Popen[str]
    document: dict[str, Any]  # the --port-file
    env: dict[str, str]  # this test process's environment pointed at the sandbox (as the export lines do)

    def auditor(self, args: Sequence[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(AUDITOR), *args], cwd=cwd, env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def scan(self, out: Path, *extra: str) -> dict[str, Any]:
        regions = [a for r in self.document["aws_regions"] for a in ("--region", r)]
        done = self.auditor(["scan", "all", *regions, "--out", str(out), "--format", "json", "--quiet", *extra],
                            out.parent)
        loaded: dict[str, Any] = json.loads((out / "findings.json").read_text()) if (out / "findings.json").exists() \
            else {}
        errors = [(f["rule_id"], f["resource_id"], f["message"]) for f in loaded.get("findings", [])
                  if f["status"] == "ERROR"]
        assert done.returncode == 1, (done.returncode, done.stderr, errors[:5])  # the estate fails high rules
        return loaded


def environment_from(document: Mapping[str, Any], base: Mapping[str, str]) -> dict[str, str]:
    """``base`` changed as the port file says: ``unset``, ``set``, then ``path_prepend`` first on PATH."""
    env = {k: v for k, v in base.items() if k not in document["unset"]}
    env.update(document["set"])
    env["PATH"] = os.pathsep.join(filter(None, [document["path_prepend"], base.get("PATH")]))
    return env


def wait_for(path: Path, process: subprocess.Popen[str], timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            said = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"demo --serve exited {process.returncode}: {said}")
        if time.monotonic() > deadline:
            raise AssertionError(f"demo --serve did not write {path} within {timeout:.0f} s")
        time.sleep(0.1)


def user_environment(tmp: Path) -> dict[str, str]:
    """The environment of a user's shell: this one, with its own config directory (the journal key goes there)."""
    env = dict(os.environ)
    env["XDG_CONFIG_HOME"] = str(tmp / "config")
    env.pop("AUDITOR_JOURNAL_KEY", None)
    return env


@contextmanager
def served_demo(tmp: Path, *extra: str) -> Iterator[Served]:
    """``auditor demo --serve --port-file`` running until the block ends; then SIGTERM, and it must stop cleanly."""
    port_file = tmp / "sandbox.json"
    base = user_environment(tmp)
    process = subprocess.Popen([str(AUDITOR), "demo", "--serve", "--port-file", str(port_file), *extra], cwd=tmp,
                               env=base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(port_file, process)
        document = json.loads(port_file.read_text())
        yield Served(process, document, environment_from(document, base))
    finally:
        stop(process)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    assert not port_file.exists()


def stop(process: subprocess.Popen[str], sig: signal.Signals = signal.SIGTERM, timeout: float = 60) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
