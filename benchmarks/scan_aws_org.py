"""Benchmark `auditor scan aws --org` against an organisation of many accounts served by moto on loopback.

    python benchmarks/scan_aws_org.py [--accounts 40] [--endpoints 25] [--regions 2] [--latency-ms 50]
                                      [--workers 16] [--repeat 1] [--shards N] [--reads verdicts|documents]
                                      [--throttle 0.15 --errors 0.03] [--seed 7]

Creates an organisation (moto's default account as the management account) of ``--accounts`` member accounts
and seeds each, through a role assumed in it, with ``--endpoints`` endpoints per region (each with its config and
model) sharing ~10 execution roles, ~5 KMS keys and ~4 capture buckets (``scan_aws.scaled_spec``, bucket names
made unique per account). Then times, each in a subprocess with the same environment, alternating:

- the scan: ``python -m auditor scan aws --org --role-name R --region ... --format json --quiet``;
- the floor: a plain boto3 loop on ``--workers`` threads that assumes the role in every member account and reads,
  in every account (the management account, which the scan reads too, as the caller), exactly what
  ``scan_aws.py``'s floor reads in one (``aws_floor.read_once``): one read of each thing the verdicts need
  across all accounts, the least any scanner producing the same findings has to do (``--reads documents``: the
  narrower floor of earlier versions).

Reports wall time, CPU, API calls per operation and the peak RSS of each child's process tree, with the machinery
of ``scan_aws.py`` (which explains how each is measured), and checks the scan's verdicts against the verdicts the
seeded estates imply: every member's, and the management account's (nothing seeded: Bedrock logging off in every
region).

With ``--throttle``/``--errors`` a last run scans while the server answers those fractions of requests with each
service's throttling error (STS and Organizations included) and HTTP 500, and its verdicts are compared with
the fault-free scan's.

With ``--shards N`` each round times the unsharded org scan and then each of its N shards (the same command with
``--shard K/N``), one child after the other, instead of the floor (in CI the shards are N jobs on N machines: a
shard's wall time is what one job takes). The last round's shards are merged (``auditor merge``) and the merged
verdicts compared with the unsharded scan's. Prints the load average before and after each round (the figures
are only comparable with it), each shard's share of the unsharded wall time, and the median over rounds of the
slowest shard's share (the figure to quote).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aws_floor
import scan_aws

ROLE = "AuditorScan"
MANAGEMENT = "123456789012"  # moto's default account: the caller
# Shown rule by rule: the serving rules, and Bedrock logging (whose verdicts include the management account's).
TRUTH_RULES = (*scan_aws.SERVING_RULES, "aws.bedrock.invocation_logging_enabled")


def member_spec(account_index: int, endpoints_per_region: int, regions: Sequence[str]) -> Any:
    """``scan_aws.scaled_spec`` with bucket names unique to the account (S3 names are global)."""
    spec = scan_aws.scaled_spec(endpoints_per_region * len(regions), regions)
    rename = {b.name: f"a{account_index:03d}-{b.name}" for b in spec.buckets}
    buckets = tuple(dataclasses.replace(b, name=rename[b.name]) for b in spec.buckets)
    configs = tuple(dataclasses.replace(c, capture=dataclasses.replace(c.capture, bucket=rename[c.capture.bucket]))
                    if c.capture else c for c in spec.configs)
    configs = tuple(dataclasses.replace(c, async_output=dataclasses.replace(
        c.async_output, bucket=rename[c.async_output.bucket],
        failure_bucket=c.async_output.failure_bucket and rename[c.async_output.failure_bucket]))
                    if c.async_output else c for c in configs)
    bedrock = spec.bedrock and dataclasses.replace(spec.bedrock, logging=tuple(
        dataclasses.replace(g, bucket=g.bucket and rename[g.bucket]) for g in spec.bedrock.logging))
    return dataclasses.replace(spec, buckets=buckets, configs=configs, bedrock=bedrock)


def assume(sts: Any, account: str, role: str) -> dict[str, str]:
    answer = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="bench")["Credentials"]
    return {"aws_access_key_id": answer["AccessKeyId"], "aws_secret_access_key": answer["SecretAccessKey"],
            "aws_session_token": answer["SessionToken"]}


def seed_organisation(url: str, accounts: int, endpoints: int, regions: Sequence[str]) -> dict[Any, str]:
    """The organisation and its member estates; returns the verdicts every estate implies, merged, the management
    account's (an empty estate: the scan reads the caller's own account too) among them."""
    import boto3

    from auditor.demo import aws_estate, aws_spec
    from auditor.demo.moto_server import aws_environment

    expected: dict[Any, str] = {}
    with aws_environment(url, regions[0]):
        orgs = boto3.client("organizations")
        orgs.create_organization(FeatureSet="ALL")
        members = [str(orgs.create_account(AccountName=f"m{i}", Email=f"m{i}@example.com")
                       ["CreateAccountStatus"]["AccountId"]) for i in range(accounts)]
        empty = aws_spec.EstateSpec(tuple(regions), (), (), (), (), (), ())
        expected.update(aws_estate._Seeder(url, empty, 4).run().expected)
        sts = boto3.client("sts")
        for i, account in enumerate(members):
            credentials = assume(sts, account, "OrganizationAccountAccessRole")
            os.environ.update({"AWS_ACCESS_KEY_ID": credentials["aws_access_key_id"],
                               "AWS_SECRET_ACCESS_KEY": credentials["aws_secret_access_key"],
                               "AWS_SESSION_TOKEN": credentials["aws_session_token"]})
            estate = aws_estate._Seeder(url, member_spec(i, endpoints, regions), 4).run()
            expected.update(estate.expected)
    return expected


# -- the floor ---------------------------------------------------------------------------------------
def floor(regions: Sequence[str], workers: int, role: str, reads: str = "verdicts") -> None:
    """``aws_floor.read_once`` in every active account of the organisation, on ``workers`` threads: the caller's
    own (the management account, which the scan reads too) as the caller, each member through ``role``."""
    import threading

    import boto3
    from botocore.config import Config

    base, lock = boto3.session.Session(), threading.Lock()
    config = Config(max_pool_connections=workers, retries={"mode": "standard", "total_max_attempts": 10})
    accounts = [a["Id"] for page in base.client("organizations").get_paginator("list_accounts").paginate()
                for a in page["Accounts"] if a["Status"] == "ACTIVE"]
    sts = base.client("sts", config=config)

    def reach(account: str) -> aws_floor.Clients:
        credentials = None if account == MANAGEMENT else assume(sts, account, role)
        return aws_floor.client_factory(base, config, regions[0], credentials, lock)

    with ThreadPoolExecutor(workers) as pool:
        reached = dict(zip(accounts, pool.map(reach, accounts), strict=True))
        print(json.dumps(aws_floor.read_once(pool, reached, regions, reads)))


def scan_argv(out: Path, regions: Sequence[str]) -> list[str]:
    region_args = [arg for r in regions for arg in ("--region", r)]
    return [sys.executable, "-m", "auditor", "scan", "aws", "--org", "--role-name", ROLE, *region_args,
            "--out", str(out), "--format", "json", "--quiet"]


def _load() -> str:
    return "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


def shard_rounds(regions: Sequence[str], shards: int, repeat: int, env: dict[str, str], counter: Any,
                 tmp: str) -> tuple[bool, Path]:
    """``repeat`` rounds of the unsharded org scan then each shard K/``shards``; the last round's shards merged and
    compared with the unsharded verdicts. Returns (merged verdicts equal and exits as expected, unsharded out)."""
    rounds: list[tuple[scan_aws.Run, list[scan_aws.Run]]] = []
    full_out, shard_outs = Path(tmp), []
    for i in range(repeat):
        before = _load()
        full_out = Path(tmp, f"full-{i}")
        full = scan_aws.run_child("unsharded", scan_argv(full_out, regions), env, counter)
        runs, shard_outs = [], []
        for k in range(1, shards + 1):
            out = Path(tmp, f"shard-{i}-{k}")
            shard_outs.append(out)
            runs.append(scan_aws.run_child(f"shard {k}/{shards}", [*scan_argv(out, regions), "--shard",
                                                                     f"{k}/{shards}"], env, counter))
        rounds.append((full, runs))
        print(f"\nround {i + 1} ({before}; after: {_load()}): unsharded {full.wall_s:.2f} s, "
              f"{sum(full.calls.values())} calls, CPU {full.cpu_s:.1f} s, peak RSS {full.peak_tree_rss_mb:.0f} MB, "
              f"exit {full.code}")
        for run, out in zip(runs, shard_outs, strict=True):
            owned = json.loads((out / "findings.json").read_text(encoding="utf-8"))["scan"]["shard"]["scopes"]
            print(f"  {run.label}: {run.wall_s:.2f} s = {run.wall_s / full.wall_s:.2f}x ({len(owned)} scopes, "
                  f"{sum(run.calls.values())} calls, CPU {run.cpu_s:.1f} s, peak RSS {run.peak_tree_rss_mb:.0f} MB, "
                  f"exit {run.code})")
        for run in (full, *runs):
            if run.code not in (0, 1) or "Traceback" in run.stderr:
                print(f"{run.label} exited {run.code}:\n{run.stderr[-3000:]}")
    worst = [max(r.wall_s for r in runs) / full.wall_s for full, runs in rounds]
    print(f"\nslowest shard / unsharded per round: {', '.join(f'{w:.2f}' for w in worst)}; "
          f"median {statistics.median(worst):.2f} (target 0.35)")
    merged = Path(tmp, "merged")
    done = subprocess.run([sys.executable, "-m", "auditor", "merge", *map(str, shard_outs), "--out", str(merged),
                           "--format", "json", "--quiet"], env=env, cwd=scan_aws.REPO, capture_output=True,
                          text=True, check=False)
    same = scan_aws.verdicts(merged) == scan_aws.verdicts(full_out)
    print(f"merge exit {done.returncode} (unsharded: {rounds[-1][0].code}); merged verdicts "
          f"{'equal' if same else 'DIFFER from'} the unsharded scan's ({len(scan_aws.verdicts(merged))} findings)")
    if done.returncode not in (0, 1):
        print(done.stderr[-3000:])
    return same and done.returncode == rounds[-1][0].code, full_out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=40)
    parser.add_argument("--endpoints", type=int, default=25, help="endpoints per region per account")
    parser.add_argument("--regions", type=int, default=2, choices=range(1, len(scan_aws.REGIONS) + 1))
    parser.add_argument("--latency-ms", type=float, default=50.0, help="server-side delay per request")
    parser.add_argument("--workers", type=int, default=16, help="threads of the floor")
    parser.add_argument("--repeat", type=int, default=1, help="scan/floor pairs to time, alternating")
    parser.add_argument("--shards", type=int, default=0, help="time the N shards of the scan instead of the floor")
    parser.add_argument("--reads", choices=aws_floor.FLOORS, default="verdicts",
                        help="what the floor reads: everything the verdicts need (default) or the documents only")
    parser.add_argument("--throttle", type=float, default=0.0,
                        help="a last scan with this fraction of requests answered with throttling errors")
    parser.add_argument("--errors", type=float, default=0.0, help="... and this fraction with HTTP 500")
    parser.add_argument("--seed", type=int, default=7, help="seed of the fault draws")
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)  # the floor's own child
    args = parser.parse_args(argv)
    regions = scan_aws.REGIONS[: args.regions]
    if args.floor:
        floor(regions, args.workers, ROLE, args.reads)
        return 0

    from auditor.demo.moto_server import (
        ApiConditions,
        RequestCounter,
        apply_environment,
        demo_environment,
        running_moto,
    )

    counter, conditions = RequestCounter(), ApiConditions(seed=args.seed)
    with running_moto(counter=counter, conditions=conditions) as url, tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        expected = seed_organisation(url, args.accounts, args.endpoints, regions)
        print(f"seeded {args.accounts} accounts x {len(regions)} regions x {args.endpoints} endpoints in "
              f"{time.perf_counter() - started:.1f} s ({counter.total} calls)")
        env = apply_environment(demo_environment(url, regions[0]), os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(scan_aws.REPO), env.get("PYTHONPATH")]))
        conditions.latency_ms = args.latency_ms
        if args.shards:
            print(_load())
            ok, full_out = shard_rounds(regions, args.shards, args.repeat, env, counter, tmp)
            print("verdicts:")
            truth = scan_aws.compare("scan vs seeded truth", scan_aws.verdicts(full_out), expected, TRUTH_RULES)
            return 0 if truth and ok else 1
        floor_argv = [sys.executable, __file__, "--floor", "--regions", str(args.regions),
                      "--workers", str(args.workers), "--reads", args.reads]
        pairs: list[tuple[scan_aws.Run, scan_aws.Run]] = []
        outs = []
        for i in range(args.repeat):
            out = Path(tmp, f"scan-{i}")
            out.mkdir()
            outs.append(out)
            pairs.append((scan_aws.run_child("scan", scan_argv(out, regions), env, counter),
                          scan_aws.run_child("floor", floor_argv, env, counter)))
        runs = [run for pair in pairs for run in pair]
        scan_aws.report(runs[:2])
        for r in runs:
            if r.code not in (0, 1) or "Traceback" in r.stderr:
                print(f"\n{r.label} exited {r.code}:\n{r.stderr[-3000:]}")
        scan, base = pairs[0]
        print(f"\nfloor: {base.stdout.strip()}")
        print(f"scan/floor wall-time ratio: {scan.wall_s / base.wall_s:.2f}, "
              f"API-call ratio: {sum(scan.calls.values()) / max(1, sum(base.calls.values())):.2f}; "
              f"peak RSS of the scan's process tree: {max(s.peak_tree_rss_mb for s, _ in pairs):.0f} MB")
        scan_aws.print_pairs(pairs)
        faulty = faulty_scan(conditions, args.throttle, args.errors, regions, env, counter, Path(tmp, "faulty"))
        print("verdicts:")
        clean = scan_aws.verdicts(outs[0])
        ok = scan_aws.compare("scan vs seeded truth", clean, expected, TRUTH_RULES)
        if faulty is not None:
            ok = scan_aws.compare(f"faulty scan (throttle {args.throttle}, errors {args.errors}) vs fault-free scan",
                                  faulty, clean) and ok
        return 0 if ok else 1


def faulty_scan(conditions: Any, throttle: float, errors: float, regions: Sequence[str], env: dict[str, str],
                counter: Any, out: Path) -> scan_aws.Verdicts | None:
    """With faults asked for: the org scan once more while the server answers ``throttle`` of the requests with
    its service's throttling error (STS and Organizations included) and ``errors`` with HTTP 500; its verdicts."""
    if not (throttle or errors):
        return None
    conditions.throttle, conditions.errors = throttle, errors
    out.mkdir()
    run = scan_aws.run_child("scan+faults", scan_argv(out, regions), env, counter)
    conditions.throttle = conditions.errors = 0.0
    print(f"\nscan+faults: {run.wall_s:.2f} s, {sum(run.calls.values())} calls, {sum(run.faults.values())} faults "
          f"injected ({', '.join(f'{k} {n}' for k, n in sorted(run.faults.items()))}), exit {run.code}")
    if run.code not in (0, 1):
        print(run.stderr[-3000:])
    return scan_aws.verdicts(out)


if __name__ == "__main__":
    sys.exit(main())
