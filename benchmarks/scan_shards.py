"""Benchmark ``--shard K/N``: each shard's wall time against the unsharded ``auditor scan aws``, and the merge.

    python benchmarks/scan_shards.py [--endpoints 800] [--regions 16] [--latency-ms 50] [--shards 4] [--repeat 3]

Seeds the estate of ``scan_aws.py`` (its ``scaled_spec``: endpoints with their configs and models spread over
the regions, sharing roles, keys and buckets) on moto on loopback, then times, alternating in each round, the
unsharded scan and each of the N shards (``--shard K/N``), one after the other as separate children (in CI
they are N jobs on N machines: a shard's wall time is what one job takes). The last round's shards are merged
(``auditor merge``) and the merged verdicts compared with the unsharded scan's, and the unsharded scan's with
the verdicts the seeded estate implies; the script exits 1 when any differs. Prints each round's figures, the
scopes each shard owned, and the median over rounds of the slowest shard's share of the unsharded wall time (the
figure to quote).

A single account's scopes are its regions, so a small N of regions splits unevenly (the partition is a hash,
not a balancer): with 16 regions and 4 shards the slowest shard owns 5 or 6 regions, not 4.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scan_aws import REPO, SERVING_RULES, Run, compare, run_child, scaled_spec, scan_argv, verdicts

# Regions moto serves SageMaker in (the first six are scan_aws.py's).
REGIONS = ("eu-west-1", "us-east-1", "us-west-2", "eu-central-1", "ap-southeast-2", "ap-northeast-1",
           "us-east-2", "us-west-1", "eu-west-2", "eu-west-3", "eu-north-1", "ap-south-1", "ap-southeast-1",
           "ap-northeast-2", "ca-central-1", "sa-east-1")


def _owned(out: Path) -> list[str]:
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return [scope.rsplit(":", 1)[-1] for scope in doc["scan"]["shard"]["scopes"]]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoints", type=int, default=800)
    parser.add_argument("--regions", type=int, default=16, choices=range(1, len(REGIONS) + 1))
    parser.add_argument("--latency-ms", type=float, default=50.0, help="server-side delay per request")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3, help="rounds (unsharded, then each shard)")
    args = parser.parse_args(argv)
    regions = REGIONS[: args.regions]

    from auditor.demo.aws_estate import seed_estate
    from auditor.demo.moto_server import (
        ApiConditions,
        RequestCounter,
        apply_environment,
        demo_environment,
        running_moto,
    )

    counter, conditions = RequestCounter(), ApiConditions()
    with running_moto(counter=counter, conditions=conditions) as url, tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        estate = seed_estate(url, scaled_spec(args.endpoints, regions), workers=4)
        print(f"seeded {estate.counts} in {len(regions)} regions in {time.perf_counter() - started:.1f} s")
        env = apply_environment(demo_environment(url, regions[0]), os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        conditions.latency_ms = args.latency_ms
        rounds: list[tuple[Run, list[Run]]] = []
        full_out = Path(tmp)
        shard_outs: list[Path] = []
        for i in range(args.repeat):
            full_out = Path(tmp, f"full-{i}")
            full = run_child("unsharded", scan_argv(full_out, regions, 16, library=False), env, counter)
            shard_runs, shard_outs = [], []
            for k in range(1, args.shards + 1):
                out = Path(tmp, f"shard-{i}-{k}")
                shard_outs.append(out)
                shard_runs.append(run_child(f"shard {k}/{args.shards}",
                                            [*scan_argv(out, regions, 16, library=False), "--shard",
                                             f"{k}/{args.shards}"], env, counter))
            rounds.append((full, shard_runs))
            print(f"\nround {i + 1}: unsharded {full.wall_s:.2f} s ({sum(full.calls.values())} calls, "
                  f"exit {full.code})")
            for run in shard_runs:
                print(f"  {run.label}: {run.wall_s:.2f} s = {run.wall_s / full.wall_s:.2f}x "
                      f"({sum(run.calls.values())} calls, exit {run.code}, peak RSS {run.peak_tree_rss_mb:.0f} MB)")
        for k, out in enumerate(shard_outs, 1):
            print(f"shard {k}/{args.shards} owned {len(_owned(out))} regions: {', '.join(_owned(out))}")
        worst = [max(r.wall_s for r in shards) / full.wall_s for full, shards in rounds]
        print(f"\nslowest shard / unsharded per round: {', '.join(f'{w:.2f}' for w in worst)}; "
              f"median {statistics.median(worst):.2f}")
        merged = Path(tmp, "merged")
        done = subprocess.run([sys.executable, "-m", "auditor", "merge", *map(str, shard_outs), "--out", str(merged),
                               "--format", "json", "--quiet"], env=env, cwd=REPO, capture_output=True, text=True,
                              check=False)
        same = verdicts(merged) == verdicts(full_out)
        print(f"merge exit {done.returncode}; merged verdicts {'equal' if same else 'DIFFER from'} the unsharded "
              f"scan's ({len(verdicts(merged))} findings)")
        if done.returncode not in (0, 1):
            print(done.stderr[-3000:])
        print("verdicts:")
        truth = compare("unsharded scan vs seeded truth", verdicts(full_out), dict(estate.expected), SERVING_RULES)
    return 0 if same and truth and done.returncode in (0, 1) else 1


if __name__ == "__main__":
    sys.exit(main())
