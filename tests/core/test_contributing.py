"""CONTRIBUTING.md's file lists stay true: every repository path it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")


def _named_paths() -> list[str]:
    spans = re.findall(r"`([^`\s]+)`", TEXT)
    return sorted({s.rstrip("/") for s in spans
                   if s.startswith(("auditor/", "rules/", "tests/", "scripts/", "benchmarks/")) and "<" not in s})


def test_it_names_paths_at_all() -> None:
    assert len(_named_paths()) >= 15


def test_every_path_it_names_exists() -> None:
    missing = [p for p in _named_paths() if not (any(ROOT.glob(p)) if "*" in p else (ROOT / p).exists())]
    assert not missing, f"CONTRIBUTING.md names paths that do not exist: {missing}"


def test_it_covers_each_kind_of_addition() -> None:
    headings = re.findall(r"^## (.+)$", TEXT, flags=re.MULTILINE)
    for kind in ("rule", "resource type", "remediator", "output format", "provider", "plan mapping"):
        assert any(kind in h.lower() for h in headings), kind
