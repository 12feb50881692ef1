"""auditor.history: the SQLite run history: append, read, trend, migrations, foreign files, concurrent writers."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest

from auditor import history
from auditor.errors import ConfigError
from auditor.findings.document import from_document, schema
from auditor.history import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, TREND_LIMIT, HistoryStore
from auditor.model import ScanResult, Severity, Status
from auditor.outputs.findings_json import render, to_document
from auditor.pipeline import Tracking, open_tracking, track

from .scans import AUTH, CAPTURE, ISOLATION, KMS, NOW, SAGEMAKER_ROW, arn, endpoint_id, finding, scan


def sample(started_offset_minutes: int = 0, *, failures: int = 1) -> ScanResult:
    findings = [finding(KMS, arn("endpoint-config", f"c{i}"), Status.FAIL) for i in range(failures)]
    findings += [finding(ISOLATION, arn("model", "m"), Status.FAIL),
                 finding(CAPTURE, arn("endpoint", "e"), Status.PASS),
                 finding(AUTH, endpoint_id("x"), Status.MUTED)]
    moment = NOW + timedelta(minutes=started_offset_minutes)
    return dataclasses.replace(scan(*findings), started_at=moment, finished_at=moment + timedelta(seconds=90))


def test_a_new_file_is_created_with_its_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    HistoryStore.open(path)
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert [v for (v,) in db.execute("SELECT version FROM schema_version")] == list(range(1, SCHEMA_VERSION + 1))
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"schema_version", "runs", "run_counts"} <= tables
    finally:
        db.close()


def test_migrations_are_numbered_from_one_without_gaps() -> None:
    assert sorted(MIGRATIONS) == list(range(1, SCHEMA_VERSION + 1))


def test_append_stores_the_run_and_its_counts(tmp_path: Path) -> None:
    store = HistoryStore.open(tmp_path / "h.db")
    result = sample(failures=2)
    run_id = store.append(result)
    db = sqlite3.connect(store.path)
    try:
        row = db.execute("SELECT started, ended, scopes, complete, exit_code, fail_on, fail_on_new, findings "
                         "FROM runs WHERE id = ?", (run_id,)).fetchone()
        counts = {(kind, key): n for kind, key, n in
                  db.execute("SELECT kind, key, count FROM run_counts WHERE run_id = ?", (run_id,))}
    finally:
        db.close()
    assert row == ("2025-06-02T03:00:00Z", "2025-06-02T03:01:30Z", json.dumps(list(result.scopes)), 1, 1, "high", 0,
                   5)
    assert {k: n for (kind, k), n in counts.items() if kind == "status"} == {
        "PASS": 1, "FAIL": 3, "ERROR": 0, "MUTED": 1, "NOT_APPLICABLE": 0}
    assert {k: n for (kind, k), n in counts.items() if kind == "fail_severity"} == {
        "critical": 1, "high": 2, "medium": 0, "low": 0, "info": 0}


def test_trend_is_oldest_first_and_keeps_the_last_thirty(tmp_path: Path) -> None:
    store = HistoryStore.open(tmp_path / "h.db")
    for i in range(TREND_LIMIT + 5):
        store.append(sample(i, failures=i))
    trend = store.trend()
    assert len(trend) == TREND_LIMIT and store.count() == TREND_LIMIT + 5
    assert [p.failures[Severity.HIGH] for p in trend] == list(range(5, TREND_LIMIT + 5))
    assert all(p.failures[Severity.CRITICAL] == 1 and p.complete and p.exit_code == 1 for p in trend)
    assert trend[-1].started == NOW + timedelta(minutes=TREND_LIMIT + 4)
    assert [p.failures[Severity.HIGH] for p in store.trend(3)] == [TREND_LIMIT + 2, TREND_LIMIT + 3, TREND_LIMIT + 4]


def test_trend_orders_by_start_not_by_insertion(tmp_path: Path) -> None:
    store = HistoryStore.open(tmp_path / "h.db")
    store.append(sample(10, failures=10))
    store.append(sample(0, failures=0))
    assert [p.failures[Severity.HIGH] for p in store.trend()] == [0, 10]


def test_record_appends_and_returns_the_trend_ending_with_this_run(tmp_path: Path) -> None:
    store = HistoryStore.open(tmp_path / "h.db")
    store.append(sample(0, failures=4))
    incomplete = dataclasses.replace(sample(5, failures=1), coverage=(dataclasses.replace(SAGEMAKER_ROW, error="x"),))
    trail = store.record(incomplete)
    assert trail.file == str(store.path) and trail.limit == TREND_LIMIT
    assert [(p.failures[Severity.HIGH], p.complete, p.exit_code) for p in trail.runs] == [(4, True, 1), (1, False, 2)]


def test_track_puts_the_trend_into_findings_json_and_it_round_trips(tmp_path: Path) -> None:
    tracking = open_tracking(history_file=tmp_path / "h.db")
    track(sample(0, failures=3), tracking)
    result = track(sample(1, failures=1), tracking)
    doc = to_document(result)
    jsonschema.Draft202012Validator(schema()).validate(doc)
    assert doc["history"] == {
        "file": str(tmp_path / "h.db"),
        "limit": TREND_LIMIT,
        "runs": [
            {"started": "2025-06-02T03:00:00Z", "ended": "2025-06-02T03:01:30Z", "complete": True, "exit_code": 1,
             "failures": {"critical": 1, "high": 3, "medium": 0, "low": 0, "info": 0}},
            {"started": "2025-06-02T03:01:00Z", "ended": "2025-06-02T03:02:30Z", "complete": True, "exit_code": 1,
             "failures": {"critical": 1, "high": 1, "medium": 0, "low": 0, "info": 0}},
        ],
    }
    again = from_document(json.loads(render(result)), "findings.json")
    assert to_document(again) == doc


def test_reopening_keeps_the_runs(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    HistoryStore.open(path).append(sample())
    assert HistoryStore.open(path).count() == 1


def test_an_empty_file_becomes_a_history(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    path.touch()
    HistoryStore.open(path).append(sample())
    assert HistoryStore.open(path).count() == 1


class TestForeignFiles:
    def expect_config_error(self, path: Path, match: str) -> None:
        with pytest.raises(ConfigError, match=match) as info:
            open_tracking(history_file=path)
        assert info.value.file == str(path) and info.value.exit_code == 3
        assert str(path) in str(info.value)

    def test_a_text_file(self, tmp_path: Path) -> None:
        path = tmp_path / "findings.json"
        path.write_text('{"schema_version": "1.0", "findings": []}\n' * 100)
        self.expect_config_error(path, "not an auditor history database")
        assert path.read_text().startswith('{"schema_version"')  # untouched

    def test_another_sqlite_database(self, tmp_path: Path) -> None:
        path = tmp_path / "app.db"
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE users (name TEXT)")
        db.commit()
        db.close()
        self.expect_config_error(path, "not an auditor history")
        db = sqlite3.connect(path)
        try:
            assert {n for (n,) in db.execute("SELECT name FROM sqlite_master")} == {"users"}
        finally:
            db.close()

    def test_a_newer_schema_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "h.db"
        HistoryStore.open(path)
        db = sqlite3.connect(path)
        db.execute("INSERT INTO schema_version (version, applied) VALUES (?, 'later')", (SCHEMA_VERSION + 1,))
        db.commit()
        db.close()
        self.expect_config_error(path, "newer auditor")

    def test_our_id_without_the_version_table(self, tmp_path: Path) -> None:
        path = tmp_path / "h.db"
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE t (x)")
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db.commit()
        db.close()
        self.expect_config_error(path, "schema_version")

    def test_a_directory(self, tmp_path: Path) -> None:
        self.expect_config_error(tmp_path, "directory")

    def test_a_missing_directory(self, tmp_path: Path) -> None:
        self.expect_config_error(tmp_path / "no" / "such" / "h.db", "cannot open|history database error")


def test_a_writer_that_holds_the_lock_too_long_is_a_config_error(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "h.db"
    HistoryStore.open(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(history, "BUSY_TIMEOUT_S", 0.2)
    try:
        with pytest.raises(ConfigError, match="locked") as info:
            HistoryStore(path).append(sample())
        assert info.value.file == str(path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert HistoryStore(path).count() == 0


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[3])
    from baseline.test_history import sample
    from auditor.history import HistoryStore
    path, offset, go = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[4])
    Path(f"{go}.{offset}.ready").touch()
    while not go.exists():  # both writers start together
        time.sleep(0.005)
    for i in range(25):
        HistoryStore.open(path).record(sample(offset + i, failures=offset + i))
""")


def test_two_processes_appending_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"  # not created yet: both writers race to create and migrate it too
    go = tmp_path / "go"
    tests_dir = str(Path(__file__).parents[1])
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(offset), tests_dir, str(go)])
               for offset in (0, 1000)]
    deadline = time.monotonic() + 30
    while not all(Path(f"{go}.{offset}.ready").exists() for offset in (0, 1000)) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    assert [w.wait(timeout=60) for w in writers] == [0, 0]
    store = HistoryStore.open(path)
    assert store.count() == 50
    db = sqlite3.connect(path)
    try:
        per_run = {n for (n,) in db.execute("SELECT count(*) FROM run_counts GROUP BY run_id")}
        highs = sorted(n for (n,) in db.execute("SELECT count FROM run_counts WHERE key = 'high'"))
    finally:
        db.close()
    assert per_run == {len(Status) + len(Severity)}  # every transaction whole
    assert highs == [*range(25), *range(1000, 1025)]


def test_tracking_opens_the_history_before_the_scan(tmp_path: Path) -> None:
    tracking = open_tracking(history_file=tmp_path / "h.db")
    assert isinstance(tracking, Tracking) and tracking.history is not None
    assert (tmp_path / "h.db").is_file() and tracking.history.count() == 0
