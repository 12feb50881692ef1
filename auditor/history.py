"""A history of runs in one SQLite file (``--history FILE``): embedded, stdlib ``sqlite3``, no server.

Every scan appends one run: when it started and ended, the scopes asked for, whether it was complete,
its exit code, and its finding counts by status and its FAIL counts by severity. The report draws the
trend of the last ``TREND_LIMIT`` runs (``RunHistory`` on the ScanResult, ``history`` in findings.json).

Design:

- The file identifies itself: ``PRAGMA application_id`` is ``APPLICATION_ID`` ("AUDT"). An SQLite file
  with another application id, or with tables but no id, and any file that is not SQLite at all, is a
  ConfigError naming the file: a typo in ``--history`` must not scribble into some other database.
- Migrations: the ``schema_version`` table holds one row per applied version (``user_version`` mirrors
  the highest). ``MIGRATIONS`` lists each version's statements; opening a file applies the missing ones
  in order, in the same transaction that checked the version. A file written by a newer auditor (a
  version above ``SCHEMA_VERSION``) is refused, never downgraded.
- Counts live in rows (``run_counts``: run, kind, key, count), not columns, so a new status or severity
  needs no migration.
- The file is read back as untrusted input: ``open`` reads every stored run the trend could draw (its
  times, completeness, exit code and counts) and refuses a file with a row it cannot read, naming the row
  and the column, so that a bad row is an exit 3 before any API call, never a crash after the scan.
- Concurrent writers (two CI jobs sharing the file): every write is one ``BEGIN IMMEDIATE`` transaction,
  which takes the write lock up front, and the connection waits up to ``BUSY_TIMEOUT_S`` for a lock
  instead of failing. The rollback journal (SQLite's default) is kept: WAL needs shared memory, which
  network file systems and some CI caches do not offer, and would leave ``-wal``/``-shm`` files behind.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from auditor.errors import ConfigError
from auditor.model import RunHistory, ScanResult, Severity, Status, TrendPoint

APPLICATION_ID = 0x41554454  # "AUDT"
SCHEMA_VERSION = 1
TREND_LIMIT = 30
BUSY_TIMEOUT_S = 30.0

KIND_STATUS = "status"
KIND_FAIL_SEVERITY = "fail_severity"

# version -> the statements that bring a file from the version before to it.
MIGRATIONS: Mapping[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE schema_version (
               version INTEGER PRIMARY KEY,
               applied TEXT NOT NULL
           )""",
        """CREATE TABLE runs (
               id INTEGER PRIMARY KEY AUTOINCREMENT,
               started TEXT NOT NULL,
               ended TEXT NOT NULL,
               scopes TEXT NOT NULL,
               complete INTEGER NOT NULL CHECK (complete IN (0, 1)),
               exit_code INTEGER NOT NULL,
               fail_on TEXT NOT NULL,
               fail_on_new INTEGER NOT NULL CHECK (fail_on_new IN (0, 1)),
               tool_version TEXT NOT NULL,
               findings INTEGER NOT NULL CHECK (findings >= 0)
           )""",
        "CREATE INDEX runs_by_start ON runs (started, id)",
        """CREATE TABLE run_counts (
               run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
               kind TEXT NOT NULL,
               key TEXT NOT NULL,
               count INTEGER NOT NULL CHECK (count >= 0),
               PRIMARY KEY (run_id, kind, key)
           ) WITHOUT ROWID""",
    ),
}


class HistoryStore:
    """A history file, checked (and migrated) by ``open``; each method is one short transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def open(cls, path: Path) -> HistoryStore:
        """Create ``path`` or check that it is an auditor history, bringing its schema up to date."""
        store = cls(path)
        with store._transaction() as db:
            _trend(db, None, str(path))  # every row, as the trend would read it
        return store

    def append(self, result: ScanResult) -> int:
        """Store one run; its id."""
        with self._transaction() as db:
            return _insert(db, result)

    def trend(self, limit: int = TREND_LIMIT) -> tuple[TrendPoint, ...]:
        """The last ``limit`` runs, oldest first."""
        with self._transaction() as db:
            return _trend(db, limit, str(self.path))

    def record(self, result: ScanResult, limit: int = TREND_LIMIT) -> RunHistory:
        """Append ``result`` and read the trend it ends, in one transaction (no other run slips between)."""
        with self._transaction() as db:
            _insert(db, result)
            runs = _trend(db, limit, str(self.path))
        return RunHistory(file=str(self.path), runs=runs, limit=limit)

    def count(self) -> int:
        with self._transaction() as db:
            (n,) = db.execute("SELECT count(*) FROM runs").fetchone()
            return int(n)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction on a checked, migrated file; committed unless the body raises."""
        source = str(self.path)
        if self.path.is_dir():
            raise ConfigError("is a directory, not a history database", file=source, field="--history")
        try:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open the history database: {exc}", file=source, field="--history") from exc
        try:
            try:
                db.execute("BEGIN IMMEDIATE")
                _check_and_migrate(db, source)
            except sqlite3.DatabaseError as exc:
                raise _config_error(exc, source) from exc
            try:
                yield db
                db.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                raise _config_error(exc, source) from exc
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()


def _config_error(exc: sqlite3.DatabaseError, source: str) -> ConfigError:
    text = str(exc)
    if "not a database" in text:
        return ConfigError("not an auditor history database (not an SQLite file)", file=source, field="--history")
    if "locked" in text or "busy" in text:
        return ConfigError(f"the history database stayed locked by another writer for {BUSY_TIMEOUT_S:.0f} s",
                           file=source, field="--history")
    return ConfigError(f"history database error: {text}", file=source, field="--history")


def _check_and_migrate(db: sqlite3.Connection, source: str) -> None:
    """Inside the caller's write transaction: refuse a foreign file, apply the missing migrations."""
    (app_id,) = db.execute("PRAGMA application_id").fetchone()
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if app_id != APPLICATION_ID:
        if app_id != 0 or tables:
            raise ConfigError(f"an SQLite database, but not an auditor history (application_id {app_id}, "
                              f"tables: {', '.join(sorted(tables)) or 'none'})", file=source, field="--history")
        current = 0
    else:
        if "schema_version" not in tables:
            raise ConfigError("an auditor history without its schema_version table", file=source,
                              field="--history")
        (version,) = db.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
        current = int(version)
    if current > SCHEMA_VERSION:
        raise ConfigError(f"written by a newer auditor (history schema version {current}; this one knows up to "
                          f"{SCHEMA_VERSION})", file=source, field="--history")
    for version in range(current + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[version]:
            db.execute(statement)
        db.execute("INSERT INTO schema_version (version, applied) VALUES (?, ?)", (version, _iso(datetime.now(UTC))))
        db.execute(f"PRAGMA user_version = {int(version)}")
    if current == 0:
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def _insert(db: sqlite3.Connection, result: ScanResult) -> int:
    exit_code = result.exit_code()
    cursor = db.execute(
        "INSERT INTO runs (started, ended, scopes, complete, exit_code, fail_on, fail_on_new, tool_version, "
        "findings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (_iso(result.started_at), _iso(result.finished_at), json.dumps(list(result.scopes)), int(exit_code != 2),
         exit_code, result.fail_on.value, int(result.fail_on_new), result.tool_version, len(result.findings)),
    )
    run_id = cursor.lastrowid
    if run_id is None:  # an INSERT into a rowid table always sets it
        raise RuntimeError("history: the inserted run has no id")
    by_status = dict.fromkeys((s.value for s in Status), 0)
    failures = dict.fromkeys((s.value for s in Severity), 0)
    for f in result.findings:
        by_status[f.status.value] += 1
        if f.status is Status.FAIL:
            failures[f.severity.value] += 1
    db.executemany(
        "INSERT INTO run_counts (run_id, kind, key, count) VALUES (?, ?, ?, ?)",
        [(run_id, KIND_STATUS, key, n) for key, n in by_status.items()]
        + [(run_id, KIND_FAIL_SEVERITY, key, n) for key, n in failures.items()],
    )
    return run_id


def _trend(db: sqlite3.Connection, limit: int | None, source: str) -> tuple[TrendPoint, ...]:
    """The last ``limit`` runs (None: all), oldest first; ConfigError naming the first row it cannot read."""
    rows = db.execute(
        "SELECT id, started, ended, complete, exit_code FROM runs ORDER BY started DESC, id DESC LIMIT ?",
        (-1 if limit is None else limit,),
    ).fetchall()
    rows.reverse()
    failures: dict[int, dict[Severity, int]] = {_id(row[0], source): dict.fromkeys(Severity, 0) for row in rows}
    known = {s.value: s for s in Severity}
    for run_id, key, n in db.execute(
        "SELECT run_id, key, count FROM run_counts WHERE kind = ? ORDER BY run_id", (KIND_FAIL_SEVERITY,),
    ):
        if run_id in failures and key in known:  # a severity a later version added is not drawn by this one
            failures[run_id][known[key]] = _count(n, f"run_counts row (run {_id(run_id, source)}, {key})", source)
    return tuple(
        TrendPoint(started=_time(started, run_id, "started", source), ended=_time(ended, run_id, "ended", source),
                   complete=_flag(complete, run_id, source), exit_code=_exit_code(exit_code, run_id, source),
                   failures=failures[run_id])
        for run_id, started, ended, complete, exit_code in rows
    )


def _bad_row(where: str, column: str, value: object, source: str) -> ConfigError:
    from auditor.yamlio import brief

    return ConfigError(f"{where}: column {column} holds {brief(value, 40)}, which no auditor writes; the "
                       "history cannot be read (repair or remove that row, or start a new history file)",
                       file=source, field="--history")


def _id(value: object, source: str) -> int:
    if isinstance(value, int):
        return value
    raise _bad_row("a runs row", "id", value, source)


def _time(value: object, run_id: int, column: str, source: str) -> datetime:
    try:
        if isinstance(value, str):
            return _parse(value)
    except (ValueError, OverflowError):
        pass
    raise _bad_row(f"runs row {run_id}", column, value, source)


def _flag(value: object, run_id: int, source: str) -> bool:
    if value in (0, 1) and isinstance(value, int):
        return bool(value)
    raise _bad_row(f"runs row {run_id}", "complete", value, source)


def _exit_code(value: object, run_id: int, source: str) -> int:
    if isinstance(value, int) and 0 <= value <= 3:
        return value
    raise _bad_row(f"runs row {run_id}", "exit_code", value, source)


def _count(value: object, where: str, source: str) -> int:
    if isinstance(value, int) and value >= 0:
        return value
    raise _bad_row(where, "count", value, source)


def _iso(moment: datetime) -> str:
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
