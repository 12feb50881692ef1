from __future__ import annotations

import io

from auditor.console import TerminalProgress, wants_progress


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_and_never_when_quiet():
    assert wants_progress(False, Tty())
    assert not wants_progress(True, Tty())
    assert not wants_progress(False, io.StringIO())


def test_progress_bar_counts_work_as_it_becomes_known():
    stream = Tty()
    bar = TerminalProgress("scanning aws", stream)
    bar.add_total(10)
    for _ in range(4):
        bar.advance()
    bar.add_total(5)
    bar.advance(11)
    bar.close()
    last = stream.getvalue().rstrip("\n").split("\r")[-1]
    assert "15/15 calls" in last and "#" * 30 in last
    assert stream.getvalue().endswith("\n")
