"""One demo estate (moto + the Resource Manager stand-in) for the module: the unsharded scan and the shards of
every N in 1..5 are scanned from it once, in this process, through the real command line (``auditor.cli.main``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from shard_results import run

NS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Scans:
    root: Path
    arguments: tuple[str, ...]  # the scan's provider options (the same for every shard)
    full_exit: int
    shard_exits: dict[tuple[int, int], int]

    @property
    def full(self) -> Path:
        return self.root / "full"

    def shard(self, k: int, n: int) -> Path:
        return self.root / f"shard-{k}-of-{n}"

    def shards(self, n: int) -> list[Path]:
        return [self.shard(k, n) for k in range(1, n + 1)]


@pytest.fixture(scope="module")
def demo_env() -> Iterator[tuple[str, ...]]:
    """The demo estate served, this process pointed at it; the scan's provider options."""
    from auditor.demo.run import applied_environment
    from auditor.demo.sandbox import serving_demo

    with serving_demo() as served, applied_environment(served.changes(os.environ.get("PATH"))):
        arguments = ["--credential", "cli"]
        for region in served.aws_regions:
            arguments += ["--region", region]
        yield tuple(arguments)


@pytest.fixture(scope="module")
def scans(demo_env: tuple[str, ...], tmp_path_factory: pytest.TempPathFactory) -> Scans:
    root = tmp_path_factory.mktemp("shards")
    common = ["--format", "json", "--quiet"]
    full_exit = run(["scan", "all", *demo_env, "--out", str(root / "full"), *common])
    exits = {}
    for n in NS:
        for k in range(1, n + 1):
            exits[k, n] = run(["scan", "all", *demo_env, "--shard", f"{k}/{n}", "--out",
                               str(root / f"shard-{k}-of-{n}"), *common])
    return Scans(root, demo_env, full_exit, exits)
