"""A scan that cannot start still leaves its artifacts: findings.json (no PASS, a failed coverage row naming the
cause) and every asked format, exit 2. The nightly artifact is never empty and the baseline chain never breaks."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .helpers import Run, fake_aws_env, run_auditor

FORMATS = ("json", "html", "sarif", "junit", "markdown", "csv", "ocsf")
FILES = ("findings.json", "report.html", "report.sarif", "junit.xml", "summary.md", "findings.csv",
         "findings.ocsf.json")


def _no_credentials_env(tmp_path: Path) -> dict[str, str]:
    env = fake_aws_env(None)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(name)
    no_az = [p for p in os.environ["PATH"].split(os.pathsep) if not Path(p, "az").exists()]
    env["PATH"] = os.pathsep.join(no_az)
    env["AZURE_CONFIG_DIR"] = str(tmp_path / "no-az-login")
    return env


def _scan(tmp_path: Path, *args: str) -> Run:
    out = tmp_path / "out"
    format_args = [a for f in FORMATS for a in ("--format", f)]
    return run_auditor(["scan", *args, "--out", str(out), *format_args], out, env=_no_credentials_env(tmp_path),
                       timeout=120)


def _assert_written_incomplete(r: Run) -> dict[str, object]:
    assert r.code == 2, r.stderr
    assert "Traceback" not in r.stderr
    written = {p.name for p in r.out.iterdir()}
    assert set(FILES) <= written, written
    doc = r.findings()
    assert doc["scan"]["complete"] is False and doc["scan"]["exit_code"] == 2
    assert doc["findings"] and {f["status"] for f in doc["findings"]} == {"ERROR"}
    assert doc["coverage"] and all(row["status"] == "error" and row["error"] for row in doc["coverage"])
    junit = (r.out / "junit.xml").read_text(encoding="utf-8")
    assert "<error" in junit
    return doc


def test_no_aws_credentials_writes_every_format_with_the_cause(tmp_path: Path) -> None:
    r = _scan(tmp_path, "aws", "--region", "eu-west-1")
    doc = _assert_written_incomplete(r)
    errors = {row["error"] for row in doc["coverage"]}  # type: ignore[index, union-attr]
    assert all("Unable to locate credentials" in e for e in errors)
    scope_ids = {f["resource_id"] for f in doc["findings"]}  # type: ignore[index, union-attr]
    assert "arn:aws:sagemaker:eu-west-1:unknown:*" in scope_ids
    assert "Unable to locate credentials" in r.stderr and "INCOMPLETE" in r.stderr


def test_no_az_writes_every_format_with_the_cause(tmp_path: Path) -> None:
    r = _scan(tmp_path, "azure", "--credential", "cli", "--subscription", "00000000-0000-0000-0000-000000000001")
    doc = _assert_written_incomplete(r)
    [row] = doc["coverage"]  # type: ignore[misc]
    assert row["scope_id"] == "/subscriptions/00000000-0000-0000-0000-000000000001"
    assert "'cli' credential" in row["error"] and "az login" in row["error"]


def test_an_unreachable_resource_manager_is_named_in_the_cause(tmp_path: Path) -> None:
    from auditor.demo.fake_az import write_fake_az

    write_fake_az(str(tmp_path / "az"))
    env = _no_credentials_env(tmp_path)
    env["PATH"] = os.pathsep.join([str(tmp_path / "az"), env["PATH"]])
    out = tmp_path / "out"
    r = run_auditor(["scan", "azure", "--credential", "cli", "--arm-endpoint", "https://127.0.0.1:9", "--out",
                     str(out)], out, env=env, timeout=120)
    assert r.code == 2, r.stderr
    [row] = r.findings()["coverage"]
    assert row["error"].startswith("cannot list subscriptions: could not connect to the Resource Manager at "
                                   "https://127.0.0.1:9: unreachable"), row["error"]
    assert json.loads((out / "findings.json").read_text())["findings"]


def test_the_console_is_a_ci_log_in_text_and_in_json_lines(tmp_path: Path) -> None:
    r = _scan(tmp_path / "text", "all", "--region", "eu-west-1", "--credential", "cli")
    assert r.code == 2, r.stderr
    lines = r.stderr.splitlines()
    assert "AzureCliCredential.get_token failed" not in r.stderr  # the SDK's warning: only with --verbose
    named = [line for line in lines if line.startswith("auditor:   - ERROR ")]
    assert named and any(" on arn:aws:sagemaker:eu-west-1:unknown:*: " in line for line in named)
    assert any(" on /subscriptions: " in line for line in named)
    assert lines[-1].startswith("auditor: exit 2: incomplete (")

    r = _scan(tmp_path / "json", "all", "--region", "eu-west-1", "--credential", "cli", "--log-format", "json")
    assert r.code == 2
    records = [json.loads(line) for line in r.stderr.splitlines()]  # every line is one JSON object
    events = [record["event"] for record in records]
    assert {"counts", "incomplete", "error_finding", "wrote", "exit"} <= set(events)
    assert records[-1]["exit_code"] == 2 and events[-1] == "exit"

    r = _scan(tmp_path / "verbose", "azure", "--credential", "cli", "--verbose")
    assert "azure.identity" in r.stderr and "AzureCliCredential.get_token failed" in r.stderr


def test_an_out_reused_with_fewer_formats_names_the_older_files_it_left(tmp_path: Path) -> None:
    first = _scan(tmp_path, "aws", "--region", "eu-west-1")  # every format
    assert first.code == 2
    out = tmp_path / "out"
    r = run_auditor(["scan", "aws", "--region", "eu-west-1", "--out", str(out)], out,
                    env=_no_credentials_env(tmp_path), timeout=120)
    assert r.code == 2
    stale = sorted(line for line in r.stderr.splitlines() if "from an earlier run" in line)
    assert stale == sorted(f"auditor: left {out / name} from an earlier run (--format {fmt} was not asked this time): "
                           "it does not describe this scan" for name, fmt in (
                               ("report.sarif", "sarif"), ("junit.xml", "junit"), ("summary.md", "markdown"),
                               ("findings.csv", "csv"), ("findings.ocsf.json", "ocsf")))
