"""End to end through the CLI: `auditor demo` twice with --baseline and --history, then `auditor report --baseline`.

The scenario is one test (its phases are the ``check_*`` functions, in order): under pytest-xdist a shared
fixture would run the two demos once per worker.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from e2e.helpers import Run, fake_aws_env, run_auditor

from auditor.cli import main
from auditor.model import Status
from auditor.outputs.findings_json import render, to_document
from auditor.paths import schemas_dir

from .scans import ISOLATION, arn, finding, scan

SARIF_SCHEMA = Path(__file__).parents[1] / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"
FORMATS = ["--format", "json", "--format", "sarif", "--format", "markdown", "--format", "junit", "--format", "csv"]


@dataclass
class Runs:
    first: Run
    second: Run
    history: Path


def demo(out: Path, *extra: str) -> Run:
    return run_auditor(["demo", "--out", str(out), "--quiet", *FORMATS, *extra], out, env=fake_aws_env(None))


def test_demo_twice_with_baseline_and_history_then_report_with_an_edited_baseline(tmp_path: Path) -> None:
    history = tmp_path / "history.db"
    first = demo(tmp_path / "first", "--history", str(history))
    second = demo(tmp_path / "second", "--history", str(history), "--baseline",
                  str(tmp_path / "first" / "findings.json"), "--fail-on-new")
    runs = Runs(first, second, history)
    check_first_run_fails_on_its_failures_and_starts_the_history(runs)
    check_second_run_marks_every_finding_unchanged_or_still_failing_and_exits_0(runs)
    check_second_run_extends_the_history(runs)
    check_every_format_marks_the_baseline_state(runs)
    check_same_estate_same_bytes_apart_from_timestamps(runs, tmp_path / "again")
    check_report_with_a_hand_edited_baseline_marks_the_regression_and_gates(runs, tmp_path / "edited")


def findings_schema() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((schemas_dir() / "findings.schema.json").read_text()))


def sarif_validator() -> jsonschema.Draft4Validator:
    loaded = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(loaded, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def check_first_run_fails_on_its_failures_and_starts_the_history(runs: Runs) -> None:
    assert runs.first.code == 1, runs.first.stderr
    doc = runs.first.findings()
    assert "baseline" not in doc
    assert [r["failures"] == doc["summary"]["by_severity"] for r in doc["history"]["runs"]] == [True]


def check_second_run_marks_every_finding_unchanged_or_still_failing_and_exits_0(runs: Runs) -> None:
    assert runs.second.code == 0, runs.second.stderr
    doc = runs.second.findings()
    findings_schema().validate(doc)
    assert doc["scan"]["fail_on_new"] is True and doc["summary"]["gating"] == []
    # The demo is deterministic (moto's generator is seeded, so KMS key ids repeat): same estate, same ids.
    states = {f["baseline"]["state"] for f in doc["findings"]}
    assert states == {"unchanged", "still_failing"}
    failing = [f for f in doc["findings"] if f["status"] == "FAIL"]
    assert failing and all(f["baseline"]["state"] == "still_failing" for f in failing)
    assert doc["baseline"]["resolved"] == [] and doc["baseline"]["unverified"] == []
    assert doc["baseline"]["counts"]["regressed"] == 0
    assert doc["baseline"]["started"] == runs.first.findings()["scan"]["started"]


def check_second_run_extends_the_history(runs: Runs) -> None:
    doc = runs.second.findings()
    trend = doc["history"]["runs"]
    assert [r["started"] for r in trend] == [runs.first.findings()["scan"]["started"], doc["scan"]["started"]]
    assert [r["exit_code"] for r in trend] == [1, 0]
    assert trend[-1]["failures"] == doc["summary"]["by_severity"]
    db = sqlite3.connect(runs.history)
    try:
        assert db.execute("SELECT count(*) FROM runs").fetchone() == (2,)
    finally:
        db.close()


def check_every_format_marks_the_baseline_state(runs: Runs) -> None:
    out = runs.second.out
    sarif = json.loads((out / "report.sarif").read_text())
    errors = list(sarif_validator().iter_errors(sarif))
    assert not errors, [e.message for e in errors[:3]]
    results = sarif["runs"][0]["results"]
    assert results and {r["baselineState"] for r in results} == {"unchanged"}
    assert "Compared with the baseline" in (out / "summary.md").read_text()
    assert 'name="baseline.still_failing"' in (out / "junit.xml").read_text()
    header = (out / "findings.csv").read_text().splitlines()[0]
    assert header.split(",")[19] == "baseline_state"  # by position: owner, tags and evidence come after it


def check_same_estate_same_bytes_apart_from_timestamps(runs: Runs, tmp_path: Path) -> None:
    """Rendering the second run's file again against the same baseline gives the same bytes."""
    baseline = runs.first.out / "findings.json"
    again = run_auditor(["report", str(runs.second.out / "findings.json"), "--baseline", str(baseline), *FORMATS,
                         "--out", str(tmp_path), "--quiet"], tmp_path)
    assert again.code == 0, again.stderr
    for name in ("findings.json", "report.sarif", "summary.md", "junit.xml", "findings.csv"):
        assert (tmp_path / name).read_bytes() == (runs.second.out / name).read_bytes(), name


def edited_baseline(runs: Runs, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """The first run's findings with one high FAIL (still failing in the second run) turned into a PASS."""
    doc = runs.first.findings()
    second = {f["id"]: f for f in runs.second.findings()["findings"]}
    target = next(f for f in doc["findings"] if f["status"] == "FAIL" and f["severity"] in ("high", "critical")
                  and second[f["id"]]["status"] == "FAIL")
    target.update(status="PASS", gating=False)
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "edited-baseline.json"
    path.write_text(json.dumps(doc))
    return path, target


def check_report_with_a_hand_edited_baseline_marks_the_regression_and_gates(runs: Runs, tmp_path: Path) -> None:
    baseline, target = edited_baseline(runs, tmp_path)
    out = tmp_path / "out"
    rerun = run_auditor(["report", str(runs.second.out / "findings.json"), "--baseline", str(baseline), *FORMATS,
                         "--out", str(out)], out)
    assert rerun.code == 1, rerun.stderr  # the second run was --fail-on-new: the regression gates
    assert "1 regressed" in rerun.stderr and "new or regressed FAIL" in rerun.stderr
    doc = rerun.findings()
    findings_schema().validate(doc)
    [regressed] = [f for f in doc["findings"] if f["baseline"]["state"] == "regressed"]
    assert regressed["id"] == target["id"] and regressed["baseline"]["previous_status"] == "PASS"
    assert doc["summary"]["gating"] == [target["id"]]
    assert doc["baseline"]["file"] == str(baseline)

    sarif = json.loads((out / "report.sarif").read_text())
    errors = list(sarif_validator().iter_errors(sarif))
    assert not errors, [e.message for e in errors[:3]]
    [result] = [r for r in sarif["runs"][0]["results"] if r["partialFingerprints"]["auditorFinding/v1"] == target["id"]]
    assert result["baselineState"] == "new"  # a PASS is not a SARIF result: the alert is new to a SARIF consumer
    assert result["properties"]["baseline_state"] == "regressed" and result["properties"]["gating"] is True
    assert "absent" not in {r["baselineState"] for r in sarif["runs"][0]["results"]}
    assert sarif["runs"][0]["properties"]["auditor"]["baseline"]["counts"]["regressed"] == 1

    summary = (out / "summary.md").read_text()
    assert "New since baseline (" in summary and "regressed (was PASS)" in summary
    csv_rows = list(csv.DictReader(io.StringIO((out / "findings.csv").read_text(), newline="")))
    assert sum(1 for row in csv_rows if row["id"] == target["id"] and row["baseline_state"] == "regressed") == 1


class TestBadInputs:
    """Every bad --baseline / --history / --fail-on-new is exit 3 naming the file, before the demo starts
    (in process: the check comes before any server or API call, so nothing else runs)."""

    def cli(self, args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
        with pytest.raises(SystemExit) as info:
            main(args)
        err = capsys.readouterr().err
        assert "Traceback" not in err
        return int(info.value.code or 0), err

    def test_a_baseline_that_does_not_match_the_schema(self, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
        doc = to_document(scan(finding(ISOLATION, arn("model", "a"), Status.FAIL),
                               finding(ISOLATION, arn("model", "b"), Status.PASS)))
        doc["findings"][1]["severity"] = "catastrophic"
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps(doc))
        code, err = self.cli(["demo", "--out", str(tmp_path / "out"), "--baseline", str(bad)], capsys)
        assert code == 3, err
        assert str(bad) in err and "$.findings[1].severity" in err
        assert not (tmp_path / "out").exists()

    def test_a_baseline_that_is_not_json(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        good = tmp_path / "findings.json"
        good.write_text(render(scan(finding(ISOLATION, arn("model", "a"), Status.FAIL))))
        bad = tmp_path / "bad.json"
        bad.write_text("{not a findings file")
        code, err = self.cli(["report", str(good), "--format", "json", "--out", str(tmp_path / "o"), "--baseline",
                              str(bad)], capsys)
        assert code == 3 and f"{bad}:1" in err
        bad.write_text("<html>not a findings file</html>")  # another of the tool's outputs is named as such
        code, err = self.cli(["report", str(good), "--format", "json", "--out", str(tmp_path / "o"), "--baseline",
                              str(bad)], capsys)
        assert code == 3 and f"{bad}: this is not a findings.json: it looks like an HTML report" in err

    def test_a_missing_baseline(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        code, err = self.cli(["scan", "aws", "--out", str(tmp_path / "o"), "--baseline", str(tmp_path / "nope.json")],
                             capsys)
        assert code == 3 and str(tmp_path / "nope.json") in err

    def test_a_history_that_is_not_an_auditor_database(self, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
        findings = tmp_path / "findings.json"
        findings.write_text(render(scan()))
        before = findings.read_bytes()
        code, err = self.cli(["demo", "--out", str(tmp_path / "out"), "--history", str(findings)], capsys)
        assert code == 3, err
        assert str(findings) in err and "not an auditor history" in err
        assert findings.read_bytes() == before

    def test_fail_on_new_without_baseline(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        code, err = self.cli(["demo", "--out", str(tmp_path / "out"), "--fail-on-new"], capsys)
        assert code == 3 and "--fail-on-new needs --baseline" in err

    def test_the_options_are_in_every_scan_command_and_demo(self) -> None:
        from auditor.cli import cli

        commands = [cli.commands["demo"], *(cli.commands["scan"].commands[n] for n in ("aws", "azure", "all"))]  # type: ignore[attr-defined]
        for command in commands:
            names = {opt for p in command.params for opt in p.opts}
            assert {"--baseline", "--fail-on-new", "--history"} <= names, command.name
        assert "--baseline" in {opt for p in cli.commands["report"].params for opt in p.opts}
