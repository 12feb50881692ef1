"""Terminal output for long scans: a progress bar on a tty, nothing otherwise."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


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

    def add_total(self, n: int) -> None:
        with self._lock:
            self._total += n
            self._draw(False)

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self._done += n
            self._draw(False)

    def _draw(self, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        total = max(self._total, self._done, 1)
        width = 30
        filled = int(width * self._done / total)
        bar = "#" * filled + "-" * (width - filled)
        elapsed = now - self._started
        self._stream.write(f"\r{self._label} [{bar}] {self._done}/{self._total} calls  {elapsed:5.1f}s")
        self._stream.flush()

    def close(self) -> None:
        with self._lock:
            self._draw(True)
            self._stream.write("\n")
            self._stream.flush()


def wants_progress(quiet: bool, stream: TextIO | None = None) -> bool:
    s = stream or sys.stderr
    return not quiet and s.isatty()
