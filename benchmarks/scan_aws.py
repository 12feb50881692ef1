"""Benchmark `auditor scan aws` against a large estate served by moto on loopback.

    python benchmarks/scan_aws.py [--endpoints 1000] [--regions 2] [--latency-ms 0] [--workers 16]
                                  [--throttle 0.15 --errors 0.03] [--seed 7] [--library] [--repeat 1]

Seeds N endpoints (each with its config and model) spread over the regions, sharing ~10 execution
roles, ~5 KMS keys and ~4 capture buckets the way a real estate does, the SageMaker serving features at
proportional counts (N/10 configs with async inference output to the capture buckets, half of them under a
key; N/10 configs with a shadow variant; N/25 inference components, one endpoint each, half running the
endpoint's model, half a container of their own), and Bedrock at proportional counts (logging settings in
every region, N/20 custom models and N/20 guardrails), then times, each in a subprocess with the same
environment:

- the scan: ``python -m auditor scan aws --region R ... --format json --quiet`` (``--library``:
  ``auditor.providers.aws.collect.collect_aws`` + the engine, for when the CLI is not there);
- the floor: a plain boto3 loop on ``--workers`` threads (``aws_floor.read_once``) that makes once every read the
  verdicts need: lists and describes every endpoint, endpoint config, model, inference component, Bedrock custom
  model and guardrail, each region's Bedrock logging settings and tags, and each role, key and bucket those name
  with what the rules judge of it (policies, rotation, public access blocks, tags): what any scanner producing
  the same findings must at least do (``--reads documents``: only the documents and one read of each named thing).

For each: wall time, API calls counted by the server per service and operation, and peak RSS of the
process tree (VmRSS of the child and its descendants, summed, polled every 10 ms). Not ru_maxrss:
a child forked from this process (which holds moto and the estate) is charged the parent's pages
until it execs (Linux records the old mm's high-water mark at exec), so wait4/RUSAGE_CHILDREN
report about the benchmark's own size for every run.

With ``--throttle``/``--errors`` a third run answers those fractions of requests with throttling
errors and 500s, each in its service's protocol, and its verdicts are compared with the fault-free
run's. Every scan's verdicts are also checked against the verdicts the seeded estate implies.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_floor

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

_IMAGE = "{account}.dkr.ecr.{region}.amazonaws.com/bench/serving:1.0"
REGIONS = ("eu-west-1", "us-east-1", "us-west-2", "eu-central-1", "ap-southeast-2", "ap-northeast-1")
Verdicts = dict[tuple[str, str], str]
# The rules on the serving features (async output, inference components) whose truths are shown rule by rule.
SERVING_RULES = ("aws.sagemaker.endpoint_config.async_output_encrypted",
                 "aws.sagemaker.inference_component.no_plaintext_secrets",
                 "aws.sagemaker.model.no_plaintext_secrets", "aws.sagemaker.endpoint_config.multi_instance",
                 "aws.s3.bucket.kms_default_encryption", "aws.kms.key.rotation_enabled")


def scaled_spec(endpoints: int, regions: Sequence[str]) -> Any:
    """``endpoints`` endpoints over ``regions``; ~10 roles, ~5 keys, ~4 capture buckets shared by all."""
    from auditor.demo import aws_spec as e
    from auditor.demo.aws_serving import AsyncOutput, ComponentSpec

    scoped = (("s3:GetObject",), "arn:aws:s3:::bench-model-artifacts/*")
    broad = (("sagemaker:*",), "*")
    roles = tuple(e.RoleSpec(f"bench-sm-exec-{i:02d}", inline={"runtime": (broad if i == 1 else scoped,)},
                             managed=("AmazonSageMakerFullAccess",) if i == 0 else ())
                  for i in range(10))
    keys = tuple(e.KeySpec(f"bench-key-{i}", regions[i % len(regions)], rotation=i != 1, imported=i == 4)
                 for i in range(max(5, len(regions))))
    buckets = tuple(e.BucketSpec(f"bench-capture-{i}-{regions[i % len(regions)]}", regions[i % len(regions)],
                               sse_kms_key=keys[i % len(regions)].alias if i % 2 == 0 else None,
                               block=(True, True, True, True) if i % 2 == 0 else None)
                    for i in range(max(4, len(regions))))

    def serving(i: int, name: str, region_buckets: Sequence[str], region_keys: Sequence[str]) -> dict[str, Any]:
        """One config in 10 with async inference output (to the region's first and last capture buckets, every
        other one under the region's first key), one in 10 with a shadow variant (neither serverless)."""
        if i % 20 in (3, 8):  # an odd and an even i: both regions of two
            return {"async_output": AsyncOutput(region_buckets[0], region_buckets[-1],
                                                region_keys[0] if i % 40 < 20 else None)}
        if i % 20 in (5, 10):
            return {"shadow": (e.Variant(f"{name}-model", 1 + (i % 40 < 20), name="shadow"),)}
        return {}

    models, configs, eps, components = [], [], [], []
    for i in range(endpoints):
        region = regions[i % len(regions)]
        region_keys = [k.alias for k in keys if k.region == region]
        region_buckets = [b.name for b in buckets if b.region == region]
        name = f"bench-ep-{i:05d}"
        models.append(e.ModelSpec(f"{name}-model", region, roles[i % len(roles)].name, _IMAGE,
                                  isolated=i % 5 == 0, vpc=i % 2 == 0))
        variant = e.Variant(f"{name}-model", 1 + (i % 3 > 0), serverless_mb=2048 if i % 10 == 9 else 0)
        capture = (e.Capture(region_buckets[i % len(region_buckets)], region_keys[0] if i % 2 else None)
                   if i % 3 == 0 else None)
        volume_key = region_keys[i % len(region_keys)] if i % 4 and not variant.serverless_mb else None
        configs.append(e.ConfigSpec(f"{name}-cfg", region, (variant,), volume_key, capture,
                                    **serving(i, name, region_buckets, region_keys)))
        eps.append(e.EndpointSpec(name, region, f"{name}-cfg"))
        if i % 25 == 7:  # one endpoint in 25 hosts an inference component
            components.append(ComponentSpec(f"{name}-ic", region, name, model=f"{name}-model") if i % 50 == 7 else
                              ComponentSpec(f"{name}-ic", region, name, image=_IMAGE, environment=_ic_env(i)))
    # Bedrock at proportional counts: logging settings in every region (to the region's first capture bucket,
    # every other region with text delivery), and one custom model and one guardrail per 20 endpoints, every
    # other one with a region key.
    from auditor.demo import aws_bedrock_estate as b

    def key_of(region: str, i: int) -> str | None:
        return next(k.alias for k in keys if k.region == region) if i % 2 == 0 else None

    bedrock = b.BedrockSpec(
        logging=tuple(b.LoggingSpec(r, next(x.name for x in buckets if x.region == r), text=j % 2 == 0)
                      for j, r in enumerate(regions)),
        models=tuple(b.CustomModelSpec(f"bench-custom-{i:04d}", regions[i % len(regions)],
                                       key_of(regions[i % len(regions)], i)) for i in range(endpoints // 20)),
        guardrails=tuple(b.GuardrailSpec(f"bench-guardrail-{i:04d}", regions[i % len(regions)],
                                         key_of(regions[i % len(regions)], i + 1)) for i in range(endpoints // 20)))
    return e.EstateSpec(tuple(regions), roles, keys, buckets, tuple(models), tuple(configs), tuple(eps),
                      tags={"team": "bench"}, components=tuple(components), bedrock=bedrock)


def _ic_env(i: int) -> dict[str, str]:
    """A component container's environment: every other one with a variable the secrets rule flags by name."""
    env = {"HF_MODEL_ID": "/opt/ml/model", "MAX_TOTAL_TOKENS": "4096"}
    return {**env, "DB_PASSWORD": "bench-fake-not-a-secret"} if i % 100 == 32 else env


# -- measuring a child process ----------------------------------------------------------------------
def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _tree(pid: int) -> list[int]:
    """The pid and its live descendants, from /proc/PID/task/TID/children."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            for tid in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{tid}/children", encoding="ascii") as f:
                    queue.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return found


@dataclass
class Run:
    label: str
    wall_s: float
    code: int
    peak_tree_rss_mb: float
    cpu_s: float  # user + system time of the child and the children it waited for
    calls: dict[tuple[str, str], int]
    faults: dict[str, int]
    stdout: str
    stderr: str


def run_child(label: str, argv: Sequence[str], env: dict[str, str], counter: Any) -> Run:
    counter.reset()
    peak = [0]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(argv), env=env, cwd=REPO, stdout=out, stderr=err)
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], sum(_rss_kb(p) for p in _tree(proc.pid)))
                done.wait(0.01)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        _, status, usage = os.wait4(proc.pid, 0)  # CPU times are the child's own; its ru_maxrss is not
        wall = time.perf_counter() - started
        done.set()
        poller.join()
        code = proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(label, wall, code, peak[0] / 1024, usage.ru_utime + usage.ru_stime, counter.calls(),
                   counter.faults(),
                   out.read().decode(errors="replace"), err.read().decode(errors="replace"))


# -- the floor ---------------------------------------------------------------------------------------
def floor(regions: Sequence[str], workers: int, reads: str = "verdicts") -> None:
    """``aws_floor.read_once`` in the caller's account, on ``workers`` threads."""
    import boto3
    from botocore.config import Config

    config = Config(max_pool_connections=workers, retries={"mode": "standard", "total_max_attempts": 10})
    reach = {"": aws_floor.client_factory(boto3.session.Session(), config, regions[0])}
    with ThreadPoolExecutor(workers) as pool:
        account = boto3.session.Session().client("sts", config=config).get_caller_identity()["Account"]
        print(json.dumps(aws_floor.read_once(pool, reach, regions, reads, ids={"": account})))


_LIBRARY_SCAN = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from auditor.catalog import load_catalog
from auditor.providers.aws.collect import AwsOptions, collect_aws
from auditor.outputs.findings_json import render
from auditor.pipeline import ScanInputs, evaluate_inventory
started = datetime.now(UTC)
inventory = collect_aws(AwsOptions(regions=tuple(sys.argv[3:]), max_workers=int(sys.argv[2])))
result = evaluate_inventory(ScanInputs(rules=load_catalog(providers=("aws",))), inventory, started)
Path(sys.argv[1], "findings.json").write_text(render(result), encoding="utf-8")
sys.exit(result.exit_code())
"""


def scan_argv(out: Path, regions: Sequence[str], workers: int, library: bool) -> list[str]:
    if library:
        return [sys.executable, "-c", _LIBRARY_SCAN, str(out), str(workers), *regions]
    region_args = [arg for r in regions for arg in ("--region", r)]
    return [sys.executable, "-m", "auditor", "scan", "aws", *region_args, "--out", str(out),
            "--format", "json", "--quiet"]


def verdicts(out: Path) -> Verdicts:
    """(rule id, resource id) -> status of a run's findings.json; empty when the run wrote none."""
    if not (out / "findings.json").is_file():
        return {}
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return {(f["rule_id"], f["resource_id"]): f["status"] for f in doc["findings"]}


def compare(label: str, got: Verdicts, want: Verdicts, rules: Sequence[str] = ()) -> bool:
    """Print and check that ``got`` equals ``want``; for each of ``rules``, how many of its verdicts are equal."""
    diffs = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
    print(f"  {label}: {len(want) - len(diffs)}/{len(want)} verdicts equal, {len(diffs)} differ")
    for rule in rules:
        mine = [k for k in want if k[0] == rule]
        print(f"    {rule}: {sum(got.get(k) == want[k] for k in mine)}/{len(mine)} equal")
    for rule, resource in diffs[:10]:
        print(f"    {rule} {resource}: {got.get((rule, resource))} (want {want.get((rule, resource))})")
    return not diffs


def print_pairs(pairs: Sequence[tuple[Run, Run]]) -> None:
    """With --repeat: each (scan, floor) pair's wall times and ratio, and the median ratio.

    Scan and floor alternate, so a slow spell of a shared machine lands on both sides of some pairs;
    the median is the figure to quote, the spread is the machine's noise.
    """
    if len(pairs) < 2:
        return
    ratios = sorted(scan.wall_s / floor.wall_s for scan, floor in pairs)
    print(f"\n{len(pairs)} pairs, scan/floor wall s:",
          ", ".join(f"{scan.wall_s:.2f}/{floor.wall_s:.2f}" for scan, floor in pairs))
    print(f"ratios {', '.join(f'{r:.2f}' for r in ratios)}; median {statistics.median(ratios):.2f}")


def report(runs: Sequence[Run]) -> None:
    print(f"\n{'run':<14}{'wall s':>8}{'CPU s':>8}{'exit':>6}{'API calls':>11}{'faults':>8}"
          f"{'peak RSS MB':>13}")
    for r in runs:
        print(f"{r.label:<14}{r.wall_s:>8.2f}{r.cpu_s:>8.2f}{r.code:>6}{sum(r.calls.values()):>11}"
              f"{sum(r.faults.values()):>8}{r.peak_tree_rss_mb:>13.1f}")
    ops = sorted({op for r in runs for op in r.calls})
    print(f"\n{'service':<10}{'operation':<48}" + "".join(f"{r.label:>14}" for r in runs))
    for op in ops:
        print(f"{op[0]:<10}{op[1]:<48}" + "".join(f"{r.calls.get(op, 0):>14}" for r in runs))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--regions", type=int, default=2, choices=range(1, len(REGIONS) + 1))
    parser.add_argument("--latency-ms", type=float, default=0.0, help="server-side delay per request")
    parser.add_argument("--workers", type=int, default=16, help="threads of the floor (and of --library)")
    parser.add_argument("--throttle", type=float, default=0.0, help="fraction answered with throttling")
    parser.add_argument("--errors", type=float, default=0.0, help="fraction answered with HTTP 500")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the fault injection")
    parser.add_argument("--library", action="store_true", help="scan with collect_aws() instead of the CLI")
    parser.add_argument("--repeat", type=int, default=1, help="scan/floor pairs to time (the median ratio is printed)")
    parser.add_argument("--reads", choices=aws_floor.FLOORS, default="verdicts",
                        help="what the floor reads: everything the verdicts need (default) or the documents only")
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)  # the floor's own child
    args = parser.parse_args(argv)
    regions = REGIONS[: args.regions]
    if args.floor:
        floor(regions, args.workers, args.reads)
        return 0

    from auditor.demo.aws_estate import seed_estate
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
        estate = seed_estate(url, scaled_spec(args.endpoints, regions), workers=4)
        print(f"seeded {estate.counts} in {regions} in {time.perf_counter() - started:.1f} s "
              f"({counter.total} calls)")
        env = apply_environment(demo_environment(url, regions[0]), os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        conditions.latency_ms = args.latency_ms
        clean_out, faulty_out = Path(tmp, "clean"), Path(tmp, "faulty")
        clean_out.mkdir()
        faulty_out.mkdir()
        floor_argv = [sys.executable, __file__, "--floor", "--regions", str(args.regions),
                      "--workers", str(args.workers), "--reads", args.reads]
        runs = [run_child("scan", scan_argv(clean_out, regions, args.workers, args.library), env, counter),
                run_child("floor", floor_argv, env, counter)]
        pairs = [(runs[0], runs[1])]
        for i in range(1, args.repeat):
            again = Path(tmp, f"again-{i}")
            again.mkdir()
            pairs.append((run_child("scan", scan_argv(again, regions, args.workers, args.library), env, counter),
                          run_child("floor", floor_argv, env, counter)))
        if args.throttle or args.errors:
            conditions.throttle, conditions.errors = args.throttle, args.errors
            runs.append(run_child("scan+faults", scan_argv(faulty_out, regions, args.workers, args.library),
                                  env, counter))
        report(runs)
        for r in runs:
            if r.code not in (0, 1) or (r.label != "floor" and "Traceback" in r.stderr):
                print(f"\n{r.label} exited {r.code}:\n{r.stderr[-3000:]}")
        print(f"\nscan/floor wall-time ratio: {runs[0].wall_s / runs[1].wall_s:.2f}, "
              f"API-call ratio: {sum(runs[0].calls.values()) / max(1, sum(runs[1].calls.values())):.2f}")
        print_pairs(pairs)
        print("verdicts:")
        clean = verdicts(clean_out)
        ok = compare("scan vs seeded truth", clean, dict(estate.expected), SERVING_RULES)
        if len(runs) == 3:
            ok = compare(f"faulty scan (throttle {args.throttle}, errors {args.errors}) vs fault-free scan",
                         verdicts(faulty_out), clean) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
