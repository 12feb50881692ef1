"""``check_out_dir``: the --out check made before any API call, run by N shard jobs at once.

N shards of one nightly audit commonly write to ``shared/shard-K`` on one volume, each job checking its own
``--out`` while the others check theirs: a check must never fail because another job created, or removed, a
parent they share."""

from __future__ import annotations

import threading
from pathlib import Path

from auditor.errors import ConfigError
from auditor.outputs import check_out_dir


def test_concurrent_checks_of_sibling_out_dirs_under_a_new_parent_all_pass(tmp_path: Path) -> None:
    failures: list[str] = []
    for attempt in range(40):
        parent = tmp_path / f"night-{attempt}" / "shards"
        gate = threading.Barrier(8)

        def check(k: int, parent: Path = parent, gate: threading.Barrier = gate) -> None:
            gate.wait()
            try:
                check_out_dir(parent / f"shard-{k}")
            except ConfigError as exc:
                failures.append(f"{parent / f'shard-{k}'}: {exc}")

        threads = [threading.Thread(target=check, args=(k,)) for k in range(1, 9)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []


def test_the_check_leaves_no_out_dir_behind_and_no_probe_file(tmp_path: Path) -> None:
    out = tmp_path / "reports" / "nightly"
    check_out_dir(out)
    assert not out.exists()  # the scan creates it when it writes
    assert (tmp_path / "reports").is_dir() and not any((tmp_path / "reports").iterdir())
    existing = tmp_path / "existing"
    existing.mkdir()
    check_out_dir(existing)
    assert existing.is_dir() and not any(existing.iterdir())
