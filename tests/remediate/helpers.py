"""Shared by the remediation tests: scans into findings files, verdict tables, the CLI in this process."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from auditor import __version__
from auditor.catalog import load_catalog
from auditor.engine import evaluate
from auditor.model import Inventory, ScanResult
from auditor.outputs.findings_json import render

Verdicts = dict[tuple[str, str], tuple[str, str]]  # (rule id, resource id) -> (status, evidence as JSON)


def write_findings(inventory: Inventory, path: Path) -> Path:
    """Evaluate the whole catalog on ``inventory`` and write findings.json, as ``auditor scan`` does."""
    catalog = load_catalog()
    now = datetime.now(UTC)
    result = ScanResult(tool_version=__version__, started_at=now, finished_at=now, scopes=inventory.scopes,
                        findings=evaluate(inventory, catalog.values()), coverage=inventory.coverage, rules=catalog,
                        resources=inventory.resources)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(result), encoding="utf-8")
    return path


def verdicts(findings_file: Path) -> Verdicts:
    document = json.loads(findings_file.read_text(encoding="utf-8"))
    return {(f["rule_id"], f["resource_id"]): (f["status"], json.dumps(f["evidence"], sort_keys=True))
            for f in document["findings"]}


def changed(before: Verdicts, after: Verdicts) -> dict[tuple[str, str], tuple[str, str]]:
    """(rule, resource) -> (status before, status after) for every pair whose status or evidence differs."""
    return {key: (before[key][0], after[key][0] if key in after else "gone")
            for key in before if after.get(key) != before[key]}


@dataclass
class CliRun:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], args: Sequence[str]) -> CliRun:
    """``auditor ARGS`` through the real ``auditor.cli.main`` (exit-code mapping included), in this process."""
    from auditor import cli
    from auditor.cli_remediate import remediate

    if "remediate" not in cli.cli.commands:  # until the lead attaches it: cli.add_command(remediate)
        cli.cli.add_command(remediate)
    capsys.readouterr()
    try:
        cli.main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    else:
        code = 0
    captured = capsys.readouterr()
    sys.stdout.flush()
    return CliRun(code, captured.out, captured.err)


def journal_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def events(path: Path, *names: str) -> list[dict[str, Any]]:
    return [r for r in journal_records(path) if r["event"] in names]


def assert_absent(texts: Iterable[tuple[str, str]], secrets: Iterable[str]) -> None:
    secrets = list(secrets)
    for name, text in texts:
        for secret in secrets:
            assert secret not in text, (name, secret[:10])
