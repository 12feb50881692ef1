"""The console is a CI log: what the CLI prints on stderr, as text lines or as JSON lines.

:class:`Console` writes every line the CLI prints (``auditor: ...`` in text, one JSON object a line
with ``--log-format json``) and routes Python logging (the SDKs' warnings, with ``--verbose`` the
auditor's own debug events) through the same stream. Progress: a redrawn bar on a terminal
(:class:`TerminalProgress`); without one (a CI job's log), one line each time a lane of work
finishes (``aws: sagemaker us-east-1 done: 57 calls``) and, every ``heartbeat`` seconds while work
is running, a line naming the lanes still working, so a stuck job shows where it is
(:class:`LineProgress`).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

from auditor.progress import ClosingProgress, Lane, NoProgress
from auditor.untrusted import json_printable, printable

LOG_FORMATS = ("text", "json")
HEARTBEAT_SECONDS = 30.0


class TerminalProgress:
    """A thread-safe one-line progress bar on stderr, redrawn at most every 100 ms."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._label = label
        self._total = 0
        self._done = 0
        self._lock = threading.Lock()
        self._last = 0.0
        self._started = time.monotonic()
        self._lanes: set[Lane] = set()  # every scope (service, region or subscription) that had work
        self._busy: set[Lane] = set()  # those with work queued or running now

    def add_total(self, n: int) -> None:
        with self._lock:
            self._total += n
            self._draw(False)

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self._done += n
            self._draw(False)

    def _draw(self, force: bool) -> None:
        """The bar measures scopes (a service in a region or subscription), whose number is known as soon as the
        regions and subscriptions are listed, not calls, whose number grows with every page a list returns;
        before any scope has work it measures calls."""
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        if self._lanes:
            done, total = len(self._lanes) - len(self._busy), len(self._lanes)
            counts = f"{done}/{total} scopes done, {self._done} calls"
        else:
            done, total = self._done, self._total
            counts = f"{self._done}/{self._total} calls"
        width = 30
        filled = int(width * done / max(total, done, 1))
        bar = "#" * filled + "-" * (width - filled)
        elapsed = now - self._started
        self._stream.write(f"\r{self._label} [{bar}] {counts}  {elapsed:5.1f}s")
        self._stream.flush()

    def lane_open(self, lane: Lane) -> None:
        with self._lock:
            self._lanes.add(lane)
            self._busy.add(lane)
            self._draw(False)

    def lane_done(self, lane: Lane, calls: int) -> None:
        with self._lock:
            self._busy.discard(lane)
            self._draw(False)

    def close(self) -> None:
        with self._lock:
            self._draw(True)
            self._stream.write("\n")
            self._stream.flush()


def wants_progress(quiet: bool, stream: TextIO | None = None) -> bool:
    s = stream or sys.stderr
    return not quiet and s.isatty()


class Console:
    """Every line the CLI prints on stderr: ``auditor: <message>`` or, in ``json``, one object a line
    (``{"time", "level", "event", "message", ...fields}``). Thread-safe.

    Messages quote what services and resources said (error texts, resource ids and names): every control
    character, escape sequence, line break and bidirectional override in a line is shown as an escape
    (``\\x1b``, ``\\n``; :func:`auditor.untrusted.printable`), so nothing quoted can clear the screen, set the
    terminal's title, move the cursor or print a line of its own."""

    def __init__(self, *, log_format: str = "text", verbose: bool = False, quiet: bool = False,
                 stream: TextIO | None = None) -> None:
        if log_format not in LOG_FORMATS:
            raise ValueError(f"log format must be one of {LOG_FORMATS}")
        self.json = log_format == "json"
        self.verbose = verbose
        self.quiet = quiet
        self._stream = stream or sys.stderr
        self._lock = threading.Lock()

    def line(self, message: str, *, event: str = "message", level: str = "info", **fields: Any) -> None:
        if self.quiet and level != "error":
            return
        if level == "debug" and not self.verbose:
            return
        if self.json:
            record = {"time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                      "level": level, "event": event, "message": message, **fields}
            text = json_printable(json.dumps(record, ensure_ascii=False, default=str))
        else:
            text = f"auditor: {printable(message)}"
        with self._lock:
            self._stream.write(text + "\n")
            self._stream.flush()

    def progress(self, label: str) -> ClosingProgress:
        """A bar on a terminal (text format), lines otherwise; nothing with --quiet."""
        if self.quiet:
            return NoProgress()
        if not self.json and self._stream.isatty():
            return _BarWithVerboseLanes(label, self) if self.verbose else TerminalProgress(label, self._stream)
        return LineProgress(label, self)

    @contextmanager
    def capturing_logs(self) -> Iterator[None]:
        """Route Python logging here while the command runs: the SDKs' errors (warnings with --verbose) and,
        with --verbose, the auditor's own debug events. Restored on the way out."""
        handler = _ConsoleHandler(self)
        root = logging.getLogger()
        auditor = logging.getLogger("auditor")
        saved = (root.level, auditor.level, auditor.propagate)
        root.addHandler(handler)
        root.setLevel(logging.WARNING if self.verbose else logging.ERROR)
        auditor.setLevel(logging.DEBUG if self.verbose else logging.WARNING)
        try:
            yield
        finally:
            root.removeHandler(handler)
            root.setLevel(saved[0])
            auditor.setLevel(saved[1])
            auditor.propagate = saved[2]


class _ConsoleHandler(logging.Handler):
    def __init__(self, console: Console) -> None:
        super().__init__()
        self._console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed log call must not break the scan
            message = str(record.msg)
        level = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warning"}.get(record.levelno,
                                                                                             "error")
        self._console.line(f"{record.name}: {message}", event="log", level=level, logger=record.name)


def _lane_text(label: str, lane: Lane) -> str:
    service, where = lane
    return f"{label}: {service} {where}"


class LineProgress:
    """Progress for a log: a line per finished lane, and a heartbeat naming the lanes still at work."""

    def __init__(self, label: str, console: Console, heartbeat: float = HEARTBEAT_SECONDS) -> None:
        self._label = label
        self._console = console
        self._lock = threading.Lock()
        self._total = 0
        self._done = 0
        self._open: dict[Lane, None] = {}
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(heartbeat,), name="auditor-heartbeat",
                                        daemon=True)
        self._thread.start()

    def add_total(self, n: int) -> None:
        with self._lock:
            self._total += n

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self._done += n

    def lane_open(self, lane: Lane) -> None:
        with self._lock:
            self._open[lane] = None

    def lane_done(self, lane: Lane, calls: int) -> None:
        with self._lock:
            self._open.pop(lane, None)
            elapsed = time.monotonic() - self._started
        self._console.line(f"{_lane_text(self._label, lane)} done: {calls} call{'s' if calls != 1 else ''} "
                           f"({elapsed:.1f} s)", event="lane_done", provider=self._label, service=lane[0],
                           scope=lane[1], calls=calls, elapsed_s=round(elapsed, 3))

    def _beat(self, every: float) -> None:
        while not self._stop.wait(every):
            with self._lock:
                working = list(self._open)
                done, total = self._done, self._total
                elapsed = time.monotonic() - self._started
            if not working:
                continue
            shown = ", ".join(f"{service} {where}" for service, where in working[:10])
            more = f" and {len(working) - 10} more" if len(working) > 10 else ""
            self._console.line(f"{self._label}: still working after {elapsed:.0f} s ({done}/{total} calls done) "
                               f"on: {shown}{more}", event="heartbeat", provider=self._label,
                               working=[f"{s} {w}" for s, w in working], calls_done=done, calls_known=total)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class _BarWithVerboseLanes(TerminalProgress):
    """The terminal bar; with --verbose each finished lane is also printed, above the bar."""

    def __init__(self, label: str, console: Console) -> None:
        super().__init__(label)
        self._console = console

    def lane_done(self, lane: Lane, calls: int) -> None:
        super().lane_done(lane, calls)
        with self._lock:
            self._stream.write("\r\033[K")
        self._console.line(f"{_lane_text(self._label, lane)} done: {calls} calls", event="lane_done", level="debug")
