"""What the shard tests share: the command line run in this process, a scan's findings.json read back, and a merge
of N shards compared with the unsharded scan.

A module of ``tests/`` itself (pytest puts ``tests/`` on the path, as for ``call_audit``): test modules import it as
``shard_results``, never through a ``tests`` package. The root conftest registers it for assertion rewriting, so a
failed comparison shows both sides.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from auditor.cli import main


def run(argv: Sequence[str]) -> int:
    """``auditor ARGV`` in this process: its exit code."""
    try:
        main(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def doc(directory: Path) -> dict[str, Any]:
    """The findings.json a scan or a merge wrote to ``directory``."""
    loaded: dict[str, Any] = json.loads((directory / "findings.json").read_text(encoding="utf-8"))
    return loaded


def statuses(document: dict[str, Any]) -> dict[str, str]:
    return {f["id"]: f["status"] for f in document["findings"]}


def coverage(document: dict[str, Any], exact_errors: bool = True) -> dict[tuple[str, ...], tuple[int, object]]:
    """Each coverage row's resource count and its error (the text, or with ``exact_errors=False`` whether it has
    one), by the row's provider, account, region, service and scope."""
    return {(c["provider"], c["account"], c["region"], c["service"], c["scope_id"]):
            (c["resources"], c["error"] if exact_errors else c["error"] is not None)
            for c in document["coverage"]}


def merge(shards: Iterable[Path], out: Path) -> tuple[int, dict[str, Any]]:
    """``auditor merge SHARDS --out OUT`` (JSON only): its exit code and the merged findings.json."""
    code = run(["merge", *map(str, shards), "--out", str(out), "--format", "json", "--quiet"])
    return code, doc(out)


def assert_merged_equals_full(merged: dict[str, Any], full: dict[str, Any], exact_errors: bool = True) -> None:
    """The merged shards hold the unsharded scan's verdicts, coverage rows (resource counts and errors), scopes and
    gating."""
    assert statuses(merged) == statuses(full)
    assert coverage(merged, exact_errors) == coverage(full, exact_errors)
    assert sorted(merged["scan"]["scopes"]) == sorted(full["scan"]["scopes"])
    assert merged["summary"]["gating"] == full["summary"]["gating"]
