"""The CLI tunes the garbage collector for a scan and gives the process its settings back."""

from __future__ import annotations

import gc

import pytest

from auditor import cli


def test_the_command_runs_with_a_raised_first_generation_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, int, int]] = []
    monkeypatch.setattr(cli, "_run", lambda argv: seen.append(gc.get_threshold()))
    cli.main([])
    assert seen == [(50_000, 20, 20)]


@pytest.mark.parametrize("argv", [["--help"], ["scan", "aws", "--no-such-option"]])
def test_main_restores_the_collector_settings_however_it_exits(argv: list[str]) -> None:
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    with pytest.raises(SystemExit):
        cli.main(argv)
    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == frozen


def test_as_the_whole_process_what_is_alive_stays_frozen_for_the_exit() -> None:
    thresholds = gc.get_threshold()
    try:
        with cli._scan_gc(process=True):
            pass
        assert gc.get_freeze_count() > 0 and gc.get_threshold() == thresholds
    finally:
        gc.unfreeze()
