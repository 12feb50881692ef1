"""The journal: an append-only JSON-lines record of every change, written before and after it is made.

Each line is one JSON object (schema: ``auditor/schemas/journal.schema.json``), written with one
``write``, flushed and fsynced before the next API call, so a crash at any point leaves a journal
that says what may have changed: a ``change-started`` line without its ``change-applied`` or
``change-failed`` means "maybe": rollback then reads the live value and decides. Lines are never
rewritten; apply and rollback runs append to the same file (rollback marks what it undid with
``undo-*`` lines naming the change), so a second rollback undoes nothing twice.

Every line is chained and keyed: ``seq`` is its line number, ``prev`` the ``mac`` of the line before
(empty on line 1), ``mac`` an HMAC under the journal key (:mod:`auditor.remediate.journal_key`) over
everything else in the line. A journal read back is untrusted input: :func:`verify_chain` refuses
(ConfigError naming the line) a line the key did not sign, or one that is not where it was written.
Cutting lines off the end of the file is the one edit a chain cannot show; what remains still
verifies, so it can hide changes from rollback but never add one.

A run holds an exclusive lock on the file, so two runs never interleave their lines, and verifies
what is already in it before adding a line. Every value is checked against the secret patterns of
:mod:`auditor.secrets` before it is written: a value that looks like a secret stops the change
instead of reaching the disk.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import jsonschema
from jsonschema.exceptions import best_match

from auditor.errors import ConfigError
from auditor.paths import schemas_dir
from auditor.remediate.journal_key import JournalKey
from auditor.remediate.model import RemediationError, plain
from auditor.secrets import secret_kinds

SCHEMA_VERSION = "2.0"
LEGACY_VERSIONS = frozenset({"1.0"})
SCHEMA_FILE = "journal.schema.json"
CHANGE_EVENTS = frozenset({"change-started", "change-applied", "change-failed", "change-already"})
UNDO_EVENTS = frozenset({"undo-started", "undo-applied", "undo-failed", "undo-skipped", "undo-refused"})

_TORN = re.compile(r'"event": "torn-line", "line": (\d+)')

Hook = Callable[[Mapping[str, Any]], None]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_no_secret(value: Any, where: str = "$") -> None:
    """RemediationError naming the field when a string inside ``value`` looks like a secret."""
    if isinstance(value, str):
        kinds = secret_kinds(value)
        if kinds:
            raise RemediationError(
                f"refusing to record a value that looks like a secret ({', '.join(kinds)}) at {where}")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_no_secret(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_no_secret(item, f"{where}[{i}]")


def signed_payload(record: Mapping[str, Any]) -> bytes:
    """What a line's ``mac`` covers: every field but ``mac``, as canonical JSON."""
    return json.dumps({k: v for k, v in record.items() if k != "mac"}, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


class Journal:
    """An open journal file for one run (``apply`` or ``rollback``), locked for the run's duration.

    ConfigError when the journal already there does not verify with ``key``: nothing is added to a
    journal whose lines this tool cannot vouch for. ``hook`` (tests) is called with each record after
    it reached the disk.
    """

    def __init__(self, path: Path, key: JournalKey, hook: Hook | None = None) -> None:
        self.path = path
        self.key = key
        self.run = uuid.uuid4().hex[:12]
        self._hook = hook
        self._count = 0
        existing = path.exists()
        if path.is_symlink():  # a link planted at the journal's name would send the records elsewhere
            raise ConfigError("the journal is a symbolic link: refusing to append through it; give --journal the "
                              "real file", file=str(path))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
            self._file: IO[str] = os.fdopen(fd, "a", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot open the journal: {exc.strerror or exc}", file=str(path)) from exc
        try:
            self._lock()
            chain = verify_chain(path, key) if existing else Chain((), "")
            self._tail, self.earlier = chain.tail, tuple(record for _, record in chain.lines)
        except ConfigError as exc:
            self._file.close()
            if exc.field not in ("$.mac", "$.seq", "$.prev"):
                raise
            raise ConfigError(f"{exc.args[0]}. Nothing is added to a journal this auditor cannot verify: use the "
                              "journal key it was written with, or another journal file") from exc
        except BaseException:
            self._file.close()
            raise
        self._seq = _line_count(path)
        if not existing:
            _fsync_directory(path.parent)
        elif _torn(path):
            # A run died mid-line: end that line, and say so, so the reader can skip exactly it.
            self._file.write("\n")
            self.record("torn-line", line=self._seq)

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # not POSIX: no advisory lock
            return
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise ConfigError("another apply or rollback is using this journal", file=str(self.path)) from exc

    def record(self, event: str, **fields: Any) -> dict[str, Any]:
        """Append one record, chained and keyed, and make it durable; the record as written.

        RemediationError (nothing written) when a value looks like a secret; a free-text ``detail``
        (a service's error message) that does is withheld instead, so the record is still written.
        """
        kinds = secret_kinds(fields.get("detail"))
        if kinds:
            fields["detail"] = f"(message withheld: it looks like it holds a secret: {', '.join(kinds)})"
        line = {**plain(fields), "schema_version": SCHEMA_VERSION, "seq": self._seq + 1, "time": now(),
                "run": self.run, "event": event, "prev": self._tail}
        check_no_secret(line)
        line["mac"] = self.key.mac(signed_payload(line))
        self._file.write(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._seq += 1
        self._tail = line["mac"]
        if self._hook is not None:
            self._hook(line)
        return line

    def new_change_id(self) -> str:
        self._count += 1
        return f"{self.run}-{self._count}"

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def _torn(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return False
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) != b"\n"


def _line_count(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- reading --------------------------------------------------------------------------------------


@dataclass
class JournalChange:
    """One change an apply run started, and what became of it (and of its undo)."""

    change: str
    seq: int
    kind: str
    target: Mapping[str, Any]
    before: Any
    after: Any
    step: str
    rule_id: str
    resource_id: str
    state: str  # started | applied | failed | already
    run: str = ""
    undone: bool = False
    detail: str = ""

    @property
    def may_have_changed(self) -> bool:
        return self.state in ("started", "applied", "failed") and not self.undone


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((schemas_dir() / SCHEMA_FILE).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def read_lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Every record with its line number, validated against the schema; a torn line is skipped.

    ConfigError naming file, line and field; a line an earlier auditor wrote (journal schema 1.0,
    without the chain) is named as such.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the journal: {exc}", file=str(path)) from exc
    lines = text.split("\n")
    torn = {int(m.group(1)) for m in _TORN.finditer(text)}
    records: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            if number in torn or (number == len(lines) and not text.endswith("\n")):
                continue  # written up to a crash, never completed: its change-started (if any) is earlier
            raise ConfigError(f"not valid JSON: {exc.msg}", file=str(path), line=number) from exc
        if isinstance(record, dict) and record.get("schema_version") in LEGACY_VERSIONS:
            raise ConfigError(
                f"written by an earlier auditor (journal schema {record['schema_version']}), whose lines carry no "
                "keyed chain: nothing in it can be verified, so this auditor neither rolls it back nor adds to it. "
                "Keep it as the record of those changes (each change-started line holds its undo) and give apply "
                "a new --journal", file=str(path), line=number, field="$.schema_version")
        error = best_match(_validator().iter_errors(record))
        if error is not None:
            field = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
            raise ConfigError(error.message[:240], file=str(path), line=number, field=field)
        records.append((number, record))
    return records


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every record, validated against the schema (not verified: see :func:`verify_chain`)."""
    return [record for _, record in read_lines(path)]


@dataclass(frozen=True)
class Chain:
    """A journal whose every line verified: the records with their line numbers, and the last ``mac``."""

    lines: tuple[tuple[int, dict[str, Any]], ...]
    tail: str


def verify_chain(path: Path, key: JournalKey) -> Chain:
    """The journal's records, each signed by ``key`` and where it was written; else ConfigError naming the line.

    A line is refused when its ``mac`` does not verify (edited, or written by something other than this
    auditor with this key), when its ``seq`` is not its line number or its ``prev`` is not the ``mac``
    of the line before (lines removed, inserted or reordered, or the head of the file cut off).
    """
    tail, keys = "", {}
    lines = read_lines(path)
    for number, record in lines:
        if record["event"] == "run-started" and isinstance(record.get("key_id"), str):
            keys[record["run"]] = str(record["key_id"])
        if not key.verifies(signed_payload(record), str(record["mac"])):
            signer = keys.get(record["run"])
            if signer is not None and signer != key.id:
                reason = (f"this run was signed with the journal key whose id is {signer}, and the key here "
                          f"({key.source}) has id {key.id}: use the key the apply ran with")
            else:
                reason = ("the line was edited, or was not written by this auditor with this journal key "
                          f"({key.source}, id {key.id}); nothing in this journal is acted on")
            raise ConfigError(f"the line's MAC does not verify: {reason}", file=str(path), line=number, field="$.mac")
        if record["seq"] != number:
            raise ConfigError(f"this line was written as line {record['seq']}: lines were removed, inserted or "
                              "reordered; nothing in this journal is acted on", file=str(path), line=number,
                              field="$.seq")
        if record["prev"] != tail:
            raise ConfigError("this line does not follow the line before it in the chain: lines were removed, "
                              "inserted or reordered; nothing in this journal is acted on", file=str(path),
                              line=number, field="$.prev")
        tail = str(record["mac"])
    return Chain(tuple(lines), tail)


def changes(records: list[dict[str, Any]]) -> list[JournalChange]:
    """The changes the records describe, in the order they started (oldest first)."""
    found: dict[str, JournalChange] = {}
    for record in records:
        event = record["event"]
        if event == "change-started" or event == "change-already":
            found[record["change"]] = JournalChange(
                change=record["change"], seq=record["seq"], kind=record["kind"], target=record["target"],
                before=record["before"], after=record["after"], step=record.get("step", ""),
                rule_id=record.get("rule_id", ""), resource_id=record.get("resource_id", ""),
                state="already" if event == "change-already" else "started", run=record["run"])
        elif event in ("change-applied", "change-failed") and record["change"] in found:
            entry = found[record["change"]]
            entry.state = "applied" if event == "change-applied" else "failed"
            entry.detail = record.get("detail", "")
        elif event in ("undo-applied", "undo-skipped") and record["change"] in found:
            found[record["change"]].undone = True
    return sorted(found.values(), key=lambda c: c.seq)


def created(records: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The ``resource-created`` records: what apply created and rollback keeps."""
    return (r for r in records if r["event"] == "resource-created")
