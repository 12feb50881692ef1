"""`auditor report` re-renders only: the exit code of the scan that wrote the file (product-spec: exit
codes of scan, demo and report), nothing appended to a history, the input never written over, json + html
by default, and another of the tool's outputs named when given instead.

The findings come from one real `auditor demo` run (with --history and every format); the report runs go
through the installed command, or through ``auditor.cli.main`` in process where only the exit and the
message matter.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.remediate.journal import Journal
from auditor.remediate.journal_key import JournalKey

from .helpers import Run, fake_aws_env, run_auditor

EVERY_FORMAT = [arg for name in ("json", "html", "sarif", "junit", "markdown", "csv", "ocsf")
                for arg in ("--format", name)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("demo")
    run = run_auditor(["demo", "--out", str(out / "out"), "--quiet", "--history", str(out / "history.db"),
                       *EVERY_FORMAT], out / "out", env=fake_aws_env(None))
    assert run.code == 1, run.stderr  # the demo has FAILs at or above high: as a scan, it gates
    return run


def history_runs(db: Path) -> int:
    connection = sqlite3.connect(db)
    try:
        (count,) = connection.execute("SELECT count(*) FROM runs").fetchone()
    finally:
        connection.close()
    return int(count)


def in_process(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return int(info.value.code or 0), err


def test_report_exits_as_its_scan_did_and_appends_nothing_to_the_history(demo: Run, tmp_path: Path) -> None:
    findings = demo.out / "findings.json"
    history = demo.out.parent / "history.db"
    assert demo.findings()["history"]["runs"] and history_runs(history) == 1
    r = run_auditor(["report", str(findings), "--format", "json", "--format", "junit", "--out", str(tmp_path)],
                    tmp_path)
    assert r.code == 1, r.stderr  # a re-rendered report never looks cleaner than its scan
    assert "appended to history" not in r.stderr
    assert "re-rendered only (nothing appended to a history); exit 1, the exit code of the scan" in r.stderr
    assert history_runs(history) == 1
    again = json.loads((tmp_path / "findings.json").read_text())
    assert again["history"] == demo.findings()["history"]  # the trend is rendered as recorded
    assert again["scan"]["exit_code"] == 1 and again["summary"]["gating"]


def test_report_without_format_writes_json_and_html_as_scan_does(demo: Run, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run_auditor(["report", str(demo.out / "findings.json"), "--out", str(out)], out)
    assert r.code == 1, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["findings.json", "report.html"]
    assert (out / "findings.json").read_bytes() == (demo.out / "findings.json").read_bytes()


def test_report_into_the_directory_of_its_input_never_writes_over_it(demo: Run, tmp_path: Path) -> None:
    here = tmp_path / "here"
    here.mkdir()
    findings = here / "findings.json"
    findings.write_text(json.dumps(demo.findings()))  # one line: a re-render would differ byte for byte
    before = findings.read_bytes()
    same_dir = str(here / ".." / "here")  # another spelling of the same directory

    r = run_auditor(["report", str(findings), "--out", same_dir], here)
    assert r.code == 1, r.stderr
    assert findings.read_bytes() == before
    assert (here / "report.html").is_file()
    assert f"left {findings} as it is: it is the input" in r.stderr

    (here / "report.html").unlink()
    r = run_auditor(["report", str(findings), "--format", "html", "--format", "json", "--out", same_dir], here)
    assert r.code == 3 and "Traceback" not in r.stderr
    assert str(findings) in r.stderr and "would write" in r.stderr and "choose another --out" in r.stderr
    assert findings.read_bytes() == before
    assert not (here / "report.html").exists(), "refused before anything was written"

    # The baseline is an input too: comparing another file with it does not replace it.
    other = tmp_path / "other.json"
    shutil.copyfile(demo.out / "findings.json", other)
    r = run_auditor(["report", str(other), "--baseline", str(findings), "--out", str(here)], here)
    assert r.code == 1, r.stderr
    assert findings.read_bytes() == before and (here / "report.html").is_file()


def plan_file(demo: Run, tmp_path: Path) -> Path:
    plan = tmp_path / "plan.json"
    main_args = ["remediate", "plan", str(demo.out / "findings.json"), "--out", str(plan), "--quiet"]
    with pytest.raises(SystemExit) as info:
        main(main_args)
    assert info.value.code == 0
    return plan


def journal_file(tmp_path: Path) -> Path:
    path = tmp_path / "journal.jsonl"
    with Journal(path, JournalKey(b"k" * 32, "a test key")) as journal:
        journal.record("run-started", created="2026-01-01T00:00:00Z")
        journal.record("run-finished", result="ok")
    return path


@pytest.mark.parametrize(("name", "kind"), [
    ("report.sarif", "SARIF (report.sarif, --format sarif)"),
    ("junit.xml", "JUnit XML (junit.xml, --format junit)"),
    ("findings.csv", "CSV (findings.csv, --format csv)"),
    ("findings.ocsf.json", "OCSF findings (findings.ocsf.json, --format ocsf)"),
    ("report.html", "an HTML report (report.html, --format html)"),
    ("summary.md", "a Markdown summary (summary.md, --format markdown)"),
    ("plan", "a remediation plan (auditor remediate plan)"),
    ("journal", "a remediation journal (auditor remediate apply)"),
    ("history", "an SQLite database (an auditor --history file)"),
])
def test_report_names_the_other_output_it_was_given(demo: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      name: str, kind: str) -> None:
    given = {"plan": lambda: plan_file(demo, tmp_path), "journal": lambda: journal_file(tmp_path),
             "history": lambda: demo.out.parent / "history.db"}.get(name, lambda: demo.out / name)()
    # Renamed to findings.json: the content is what is recognised, not the name.
    disguised = tmp_path / "in" / "findings.json"
    disguised.parent.mkdir()
    shutil.copyfile(given, disguised)
    out = tmp_path / "out"
    code, err = in_process(["report", str(disguised), "--out", str(out)], capsys)
    assert code == 3, err
    assert f"{disguised}: this is not a findings.json: it looks like {kind}" in err
    assert not out.exists()


def test_a_baseline_that_is_another_output_is_named_too(demo: Run, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    sarif = demo.out / "report.sarif"
    code, err = in_process(["report", str(demo.out / "findings.json"), "--baseline", str(sarif), "--out",
                            str(tmp_path / "out")], capsys)
    assert code == 3 and f"{sarif}: this is not a findings.json: it looks like SARIF" in err
    assert not (tmp_path / "out").exists()


def test_a_findings_file_that_breaks_the_schema_still_gets_the_schema_error(demo: Run, tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    doc = demo.findings()
    doc["findings"][0]["status"] = "MAYBE"
    bad = tmp_path / "findings.json"
    bad.write_text(json.dumps(doc))
    code, err = in_process(["report", str(bad), "--out", str(tmp_path / "out")], capsys)
    assert code == 3 and "$.findings[0].status" in err and "not a findings.json" not in err
    assert os.listdir(tmp_path) == ["findings.json"]
