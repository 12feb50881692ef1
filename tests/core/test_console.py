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


def test_progress_bar_measures_scopes_once_they_have_work():
    """The bar's total is the scopes (service and region or subscription), known once the regions are listed,
    not a call count that grows with every page; calls are still counted beside it."""
    stream = Tty()
    bar = TerminalProgress("scanning aws", stream)
    lanes = [("sagemaker", "eu-west-1"), ("sagemaker", "us-east-1"), ("iam", "global")]
    for lane in lanes:
        bar.lane_open(lane)
    bar.add_total(7)
    bar.advance(5)
    bar.lane_done(lanes[2], 5)
    bar.close()
    last = stream.getvalue().rstrip("\n").split("\r")[-1]
    assert "1/3 scopes done, 5 calls" in last and "#" * 10 + "-" * 20 in last
    bar = TerminalProgress("scanning aws", stream := Tty())
    bar.lane_open(lanes[0])
    bar.lane_done(lanes[0], 3)
    bar.lane_open(lanes[0])  # a lane that gets work again is busy again, and counted once
    bar.close()
    assert "0/1 scopes done" in stream.getvalue().rstrip("\n").split("\r")[-1]
