"""``auditor demo --serve``: the estate kept up in a subprocess, reached from others, stopped cleanly by a signal."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .helpers import AUDITOR, fake_aws_env, run_auditor
from .sandbox import environment_from, served_demo, stop, user_environment, wait_for


def _closed(url: str) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=2).close()
    except OSError:
        return True
    return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_it_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    port_file = tmp_path / "sandbox.json"
    process = subprocess.Popen([str(AUDITOR), "demo", "--serve", "--port-file", str(port_file)], cwd=tmp_path,
                               env=user_environment(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        wait_for(port_file, process)
        document = json.loads(port_file.read_text())
        assert document["version"] == 1 and document["pid"] == process.pid
        temporary = [Path(document["path_prepend"]), Path(document["ca_bundle"]).parent]
        assert all(p.is_dir() for p in temporary) and (temporary[0] / "az").is_file()
        assert not _closed(document["aws_endpoint"]) and not _closed(document["arm_endpoint"])
    finally:
        stop(process, sig)
    stdout, stderr = process.communicate()
    assert process.returncode == 0, stderr
    assert f"{sig.name}: the demo estate stopped" in stderr and "Traceback" not in stderr
    assert not port_file.exists()
    assert not any(p.exists() for p in temporary)  # the fake az and the throwaway CA are gone
    assert _closed(document["aws_endpoint"]) and _closed(document["arm_endpoint"])
    # stdout is only the export lines, the same environment the port file describes
    lines = stdout.splitlines()
    assert lines and all(line.startswith(("export ", "unset ")) for line in lines)
    assert f"export AWS_ENDPOINT_URL={document['aws_endpoint']}" in lines
    assert f"export AUDITOR_ARM_ENDPOINT={document['arm_endpoint']}" in lines


def test_the_export_lines_give_a_shell_the_port_files_environment(tmp_path: Path) -> None:
    with served_demo(tmp_path) as served:
        exports = tmp_path / "sandbox.env"
        # the process's stdout is a pipe: read what it printed so far (every line is flushed before the port file)
        assert served.process.stdout is not None
        text = os.read(served.process.stdout.fileno(), 1 << 16).decode()
        exports.write_text(text)
        shell_env = {**user_environment(tmp_path), "AWS_PROFILE": "someone-real", "AZURE_CLIENT_ID": "real-app"}
        shown = subprocess.run(["bash", "-c", f". {exports} && env -0"], env=shell_env, capture_output=True,
                               check=True).stdout.decode().split("\0")
        env = dict(item.split("=", 1) for item in shown if "=" in item)
        expected = environment_from(served.document, shell_env)
        for name in ("AWS_ENDPOINT_URL", "AUDITOR_ARM_ENDPOINT", "REQUESTS_CA_BUNDLE", "AWS_ACCESS_KEY_ID",
                     "AZURE_TOKEN_CREDENTIALS", "AZURE_CONFIG_DIR", "PATH"):
            assert env[name] == expected[name], name
        assert "AWS_PROFILE" not in env and "AZURE_CLIENT_ID" not in env  # nothing real is picked up
        # the shell's auditor reaches the sandbox with the default credential chain of both clouds
        scan = subprocess.run(["bash", "-c", f". {exports} && auditor scan azure --out az --format json --quiet"],
                              cwd=tmp_path, env={**shell_env, "PATH": os.pathsep.join(
                                  [str(AUDITOR.parent), shell_env.get("PATH", "")])},
                              capture_output=True, text=True, timeout=300)
        assert scan.returncode == 1, scan.stderr
        findings = json.loads((tmp_path / "az" / "findings.json").read_text())
        assert findings["findings"] and not [f for f in findings["findings"] if f["status"] == "ERROR"]
        assert sorted(s.removeprefix("azure:") for s in findings["scan"]["scopes"]) == sorted(
            served.document["subscriptions"])


@pytest.mark.parametrize("args, message", [
    (["--port-file", "x.json"], "--port-file needs --serve"),
    (["--serve", "--out", "o", "--format", "json"], "--format, --out would have no effect"),
    (["--serve", "--port-file", "missing/x.json"], "the directory of missing/x.json does not exist"),
])
def test_usage_errors_exit_3_before_anything_starts(tmp_path: Path, args: list[str], message: str) -> None:
    done = subprocess.run([str(AUDITOR), "demo", *args], cwd=tmp_path, env=fake_aws_env(None), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 3 and message in done.stderr, done.stderr
    assert not done.stdout


def test_demo_takes_waivers(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - rules: [aws.s3.bucket.public_access_blocked]\n"
                       "    resources: ['arn:aws:s3:::northwind-*']\n    reason: rehearsing a waiver\n"
                       "    owner: ml-platform@example.com\n    expires: 2099-01-01\n    broad: true\n")
    out = tmp_path / "out"
    done = run_auditor(["demo", "--waivers", str(waivers), "--out", str(out), "--format", "json", "--quiet"], out,
                       env=fake_aws_env(None))
    assert done.code == 1, done.stderr
    rule = "aws.s3.bucket.public_access_blocked"
    statuses = [f["status"] for f in done.findings()["findings"] if f["rule_id"] == rule]
    assert "MUTED" in statuses and "FAIL" not in statuses
    waivers.write_text("waivers:\n  - rules: [aws.s3.bucket.public_access_blocked]\n")
    bad = run_auditor(["demo", "--waivers", str(waivers), "--out", str(out)], out, env=fake_aws_env(None))
    assert bad.code == 3 and "waivers[0].reason" in bad.stderr
