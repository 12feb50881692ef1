"""Benchmark `auditor scan azure` against a large estate served by the Resource Manager stand-in.

    python benchmarks/scan_azure.py [--endpoints 1000] [--subscriptions 2] [--workspaces 6] [--page-size 50]
                                    [--latency-ms 0] [--workers 16] [--throttle 0.15 --errors 0.03] [--seed 7]
                                    [--repeat 1] [--ai-accounts N]

Seeds N online endpoints over the workspaces of a few subscriptions (``auditor.demo.azure_estate``
documents): one or two deployments each, computes, serverless endpoints and v1 services per workspace,
system-assigned identities with their own scoped role assignments, and a few user-assigned identities
shared by many endpoints; and AI Services / Azure OpenAI accounts (``auditor.demo.ai_estate``; one per 20
endpoints unless ``--ai-accounts`` says otherwise) with two deployments and two content filter policies each.
Then times, each in a subprocess against the same server:

- the scan: ``python -m auditor scan azure --credential cli --arm-endpoint URL --subscription S ...
  --format json --quiet``, with the fake ``az`` first on PATH and the stand-in's CA in REQUESTS_CA_BUNDLE
  (``auditor.demo.run.demo_azure_environment``);
- the floor: a plain ``requests`` loop on ``--workers`` threads that reads everything once: the
  workspaces of each subscription, then every workspace's computes, online endpoints, serverless
  endpoints and v1 services, then every endpoint's deployments and every principal's role assignments,
  and the AI accounts of each subscription with every model-serving account's deployments and policies,
  each list followed through its nextLinks.

For each: wall time, requests counted by the server per (method, path shape), peak RSS of the process
tree (see scan_aws.py: VmRSS summed over the child and its descendants, polled every 10 ms). With
``--throttle``/``--errors`` a third run answers those fractions of requests with 429 (Retry-After: 1)
and 503, and its verdicts must equal the fault-free run's; every scan's verdicts are also compared with
the verdicts the seeded spec implies.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scan_aws import Run, compare, print_pairs, run_child, verdicts  # noqa: E402 - the measuring harness is shared

NS = "Microsoft.MachineLearningServices"
AI_NS, AI_API = "Microsoft.CognitiveServices", "2025-06-01"
API, LEGACY_API, AUTHZ_API = "2025-12-01", "2021-07-01", "2022-04-01"
FLOOR_TOKEN = "bench-floor-token"


def scaled_spec(endpoints: int, subscriptions: int, workspaces: int) -> Any:
    """``endpoints`` online endpoints round-robin over ``workspaces`` workspaces in ``subscriptions``."""
    from auditor.demo import azure_estate as a

    subs = {f"5d0f3e1a-7c2b-4a9e-9f10-{i:012d}": f"bench-{i}" for i in range(1, subscriptions + 1)}
    sub_ids = list(subs)
    spaces = [a.Workspace(sub_ids[i % subscriptions], f"rg-bench-{i}", f"mlw-bench-{i:02d}", "westeurope",
                          "Disabled" if i % 2 else "Enabled", cmk=i % 3 == 0,
                          isolation="AllowOnlyApprovedOutbound" if i % 2 else None,
                          private_link="Approved" if i % 2 else None) for i in range(workspaces)]
    storage = {s: f"/subscriptions/{s}/resourceGroups/rg-bench-data/providers/Microsoft.Storage/storageAccounts/"
                  f"stbench{n}" for n, s in enumerate(sub_ids)}
    registry = {s: f"/subscriptions/{s}/resourceGroups/rg-bench-data/providers/Microsoft.ContainerRegistry/"
                   f"registries/crbench{n}" for n, s in enumerate(sub_ids)}
    shared = [a.UserIdentity(s, "rg-bench-identity", f"id-bench-{n}-{k}", (
        a.Grant("Contributor", f"/subscriptions/{s}/resourceGroups/rg-bench-0") if k == 2 else
        a.Grant("Storage Blob Data Reader", storage[s]), a.Grant("AcrPull", registry[s])))
        for n, s in enumerate(sub_ids) for k in range(3)]
    computes = [a.Compute(w.name, f"{kind.lower()}-{j}", kind, j % 2 == 0 if kind != "Kubernetes" else None)
                for w in spaces for j, kind in enumerate(("ComputeInstance", "AmlCompute", "Kubernetes"))]
    eps, deps = [], []
    for i in range(endpoints):
        w = spaces[i % workspaces]
        name, kind = f"bench-ep-{i:05d}", i % 10
        user = next(u.name for u in shared if u.subscription == w.subscription and u.name.endswith(f"-{i % 3}"))
        grants = ((a.Grant("Owner", f"/subscriptions/{w.subscription}"),) if i % 97 == 0 else
                  (a.Grant("Storage Blob Data Reader", storage[w.subscription]),
                   a.Grant("AcrPull", registry[w.subscription]))[: 1 + i % 2])
        eps.append(a.Endpoint(w.name, name, ("AADToken", "AMLToken", "Key")[i % 3], public=i % 4 == 0,
                              system_identity=kind < 6, user_identity=user if 6 <= kind < 9 else None,
                              grants=grants, kubernetes="kubernetes-2" if kind == 9 else None))
        for d in ("blue", "green")[: 1 + (i % 3 == 0)]:
            deps.append(a.Deployment(name, d, kubernetes=kind == 9, egress="Disabled" if i % 2 else "Enabled",
                                     collector=a.BOTH if i % 3 else None, env={"MODEL_NAME": name, "WORKERS": "4"},
                                     secret_env={"DB_PASSWORD": f"bench-Fake-{i}-pw"} if i % 25 == 0 else {}))
    serverless = [a.Serverless(w.name, f"sl-{w.name}-{j}", ("AAD", "Key", "KeyAndAAD")[j], "Enabled" if j else None)
                  for w in spaces for j in range(3)]
    services = [a.Service(w.name, f"svc-{w.name}-{c.lower()}", c, auth_enabled=c == "AKS", token_auth=False)
                for w in spaces[::2] for c in ("AKS", "ACI")]
    return a.AzureSpec(subs, tuple(spaces), tuple(computes), tuple(shared), tuple(eps), tuple(deps),
                       tuple(serverless), tuple(services), tags={"team": "bench"})


def scaled_ai(accounts: int, subscriptions: Sequence[str]) -> Any:
    """``accounts`` AI accounts round-robin over ``subscriptions``: OpenAI and AIServices (every tenth a Face
    account, not audited), settings varied so each rule has PASS and FAIL, two deployments and policies each."""
    from auditor.demo import ai_estate as ai

    policies = (ai.AiPolicy("bench-strict"), ai.AiPolicy("bench-relaxed", off=(("Hate", "Prompt"),)))
    found = []
    for i in range(accounts):
        sub = subscriptions[i % len(subscriptions)]
        kind = "Face" if i % 10 == 9 else ("OpenAI", "AIServices")[i % 2]
        reader = ("Storage Blob Data Reader", f"/subscriptions/{sub}/resourceGroups/rg-bench-data/providers/"
                                              "Microsoft.Storage/storageAccounts/stbench")
        grants = (("Contributor", f"/subscriptions/{sub}/resourceGroups/rg-bench-ai"),) if i % 7 == 0 else (reader,)
        deployments = tuple(ai.AiDeployment(f"dep-{j}", "gpt-4o", "2024-11-20",
                                            ("Microsoft.DefaultV2", "bench-strict", "bench-relaxed", None)[(i + j) % 4])
                            for j in range(2)) if kind != "Face" else ()
        found.append(ai.AiAccount(sub, "rg-bench-ai", f"ai-bench-{i:04d}", kind, "swedencentral",
                                  local_auth_disabled=i % 2 == 0, public_network=("Disabled", "Enabled", "Deny")[i % 3],
                                  cmk=i % 3 == 0, system_identity=i % 5 != 4, grants=grants, deployments=deployments,
                                  policies=policies if kind != "Face" else ()))
    return ai.build_ai_estate(ai.AiSpec(accounts=tuple(found), tags={"team": "bench"}))


# -- the floor ---------------------------------------------------------------------------------------
def floor(url: str, ca_bundle: str, subscriptions: Sequence[str], workers: int) -> None:
    """Read every workspace, child list, deployment list and principal's role assignments once."""
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    session.mount("https://", HTTPAdapter(pool_connections=1, pool_maxsize=workers))
    session.verify = ca_bundle
    session.headers["Authorization"] = f"Bearer {FLOOR_TOKEN}"

    def items(path: str, version: str, extra: dict[str, str] | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        link: str | None = f"{url}{path}"
        params: dict[str, str] | None = {"api-version": version, **(extra or {})}
        while link:
            answer = session.get(link, params=params, timeout=120)
            answer.raise_for_status()
            body = answer.json()
            found += body["value"]
            link, params = body.get("nextLink"), None  # the nextLink carries the query
        return found

    kinds = (("computes", API), ("onlineEndpoints", API), ("serverlessEndpoints", API), ("services", LEGACY_API))
    with ThreadPoolExecutor(workers) as pool:
        spaces = [w for found in pool.map(lambda s: items(f"/subscriptions/{s}/providers/{NS}/workspaces", API),
                                          subscriptions) for w in found]
        jobs = [(w["id"], kind, version) for w in spaces for kind, version in kinds]
        children = list(pool.map(lambda job: (job[1], items(f"{job[0]}/{job[1]}", job[2])), jobs))
        endpoints = [e for kind, found in children if kind == "onlineEndpoints" for e in found]
        principals = {(e["id"].split("/")[2], p) for e in endpoints for p in _principals(e.get("identity") or {})}
        reads: list[tuple[str, str, dict[str, str]]] = [(f"{e['id']}/deployments", API, {}) for e in endpoints]
        accounts = [a for found in pool.map(lambda s: items(f"/subscriptions/{s}/providers/{AI_NS}/accounts", AI_API),
                                            subscriptions) for a in found]
        serving = [a for a in accounts if str(a.get("kind", "")).lower() in ("openai", "aiservices")]
        principals |= {(a["id"].split("/")[2], p) for a in serving for p in _principals(a.get("identity") or {})}
        reads += [(f"{a['id']}/{kind}", AI_API, {}) for a in serving for kind in ("deployments", "raiPolicies")]
        reads += [(f"/subscriptions/{s}/providers/Microsoft.Authorization/roleAssignments", AUTHZ_API,
                   {"$filter": f"principalId eq '{p}'"}) for s, p in principals]
        read = sum(len(found) for found in pool.map(lambda job: items(*job), reads))
    print(json.dumps({"workspaces": len(spaces), "children": sum(len(f) for _, f in children),
                      "endpoints": len(endpoints), "ai_accounts": len(accounts), "principals": len(principals),
                      "deployments_policies_and_roles": read}))


def _principals(identity: dict[str, Any]) -> list[str]:
    found = [identity["principalId"]] if identity.get("principalId") else []
    return found + [u["principalId"] for u in (identity.get("userAssignedIdentities") or {}).values()]


# -- runs --------------------------------------------------------------------------------------------
class _Requests:
    """The counter interface scan_aws.run_child expects, over the stand-in's own counters."""

    def __init__(self, arm: Any) -> None:
        self.arm = arm

    def reset(self) -> None:
        self.arm.reset_counters()

    def calls(self) -> dict[tuple[str, str], int]:
        return dict(self.arm.requests)

    def faults(self) -> dict[str, int]:
        return dict(self.arm.injected)


def report(runs: Sequence[Run]) -> None:
    print(f"\n{'run':<14}{'wall s':>8}{'CPU s':>8}{'exit':>6}{'requests':>10}{'faults':>8}{'peak RSS MB':>13}")
    for r in runs:
        print(f"{r.label:<14}{r.wall_s:>8.2f}{r.cpu_s:>8.2f}{r.code:>6}{sum(r.calls.values()):>10}"
              f"{sum(r.faults.values()):>8}{r.peak_tree_rss_mb:>13.1f}")
    print(f"\n{'request':<100}" + "".join(f"{r.label:>14}" for r in runs))
    for method, shape in sorted({op for r in runs for op in r.calls}):
        short = shape.replace("/providers/Microsoft.MachineLearningServices/", "/.../ML/")
        short = short.replace("/providers/Microsoft.Authorization/", "/.../Authz/")
        short = short.replace(f"/providers/{AI_NS}/", "/.../AI/")
        print(f"{method + ' ' + short:<100}" + "".join(f"{r.calls.get((method, shape), 0):>14}" for r in runs))


PROFILE: list[str] = []  # e.g. ["-m", "cProfile", "-o", FILE] to profile the scan child


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--subscriptions", type=int, default=2)
    parser.add_argument("--workspaces", type=int, default=6)
    parser.add_argument("--page-size", type=int, default=50, help="items per list page")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="server-side delay per request")
    parser.add_argument("--workers", type=int, default=16, help="threads of the floor")
    parser.add_argument("--throttle", type=float, default=0.0, help="fraction answered 429 in a third run")
    parser.add_argument("--errors", type=float, default=0.0, help="fraction answered 503 in a third run")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the fault injection")
    parser.add_argument("--repeat", type=int, default=1, help="scan/floor pairs to time (the median ratio is printed)")
    parser.add_argument("--ai-accounts", type=int, default=None,
                        help="AI Services / OpenAI accounts (default: one per 20 endpoints)")
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)  # the floor's own child
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--ca", help=argparse.SUPPRESS)
    parser.add_argument("--subscription", action="append", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor:
        floor(args.url, args.ca, args.subscription, args.workers)
        return 0

    from auditor.demo.arm_server import ArmServer
    from auditor.demo.azure_estate import build_estate
    from auditor.demo.fake_az import write_fake_az
    from auditor.demo.run import demo_azure_environment

    started = time.perf_counter()
    estate = build_estate(scaled_spec(args.endpoints, args.subscriptions, args.workspaces))
    ai = scaled_ai(args.endpoints // 20 if args.ai_accounts is None else args.ai_accounts, estate.subscriptions)
    documents = [*estate.documents, *ai.documents]
    with ArmServer(documents, subscriptions=estate.subscription_documents, page_size=args.page_size,
                   seed=args.seed) as arm, tempfile.TemporaryDirectory() as tmp:
        seeded = {**{k: len(v) for k, v in estate.ids.items()}, **{f"ai_{k}": len(v) for k, v in ai.ids.items()}}
        print(f"seeded {seeded}, {len(documents)} documents, in {time.perf_counter() - started:.1f} s")
        write_fake_az(Path(tmp, "az"))
        env = dict(os.environ)
        for key, value in demo_azure_environment(arm.ca_bundle, str(Path(tmp, "az"))).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        subs = [a for s in estate.subscriptions for a in ("--subscription", s)]
        arm.latency_ms = args.latency_ms
        counter = _Requests(arm)

        def scan(label: str) -> Run:
            out = Path(tmp, label)
            out.mkdir()
            return run_child(label, [sys.executable, *PROFILE, "-m", "auditor", "scan", "azure", "--credential", "cli",
                                     "--arm-endpoint", arm.url, *subs, "--out", str(out), "--format", "json",
                                     "--quiet"], env, counter)

        floor_argv = [sys.executable, __file__, "--floor", "--url", arm.url, "--ca", arm.ca_bundle,
                      "--workers", str(args.workers), *subs]
        runs = [scan("scan"), run_child("floor", floor_argv, env, counter)]
        pairs = [(runs[0], runs[1])]
        for i in range(1, args.repeat):
            pairs.append((scan(f"again-{i}"), run_child("floor", floor_argv, env, counter)))
        if args.throttle or args.errors:
            arm.throttle_rate, arm.error_rate = args.throttle, args.errors
            runs.append(scan("scan+faults"))
        report(runs)
        for r in runs:
            if r.code not in (0, 1) or "Traceback" in r.stderr:
                print(f"\n{r.label} exited {r.code}:\n{r.stderr[-3000:]}")
        print(f"\nfloor: {runs[1].stdout.strip()}")
        print(f"scan/floor wall-time ratio: {runs[0].wall_s / runs[1].wall_s:.2f}, "
              f"request ratio: {sum(runs[0].calls.values()) / max(1, sum(runs[1].calls.values())):.2f}")
        print_pairs(pairs)
        print("verdicts:")
        clean = verdicts(Path(tmp, "scan"))
        ok = compare("scan vs seeded truth", clean, {**estate.expected, **ai.expected})
        if len(runs) == 3:
            ok = compare(f"faulty scan (throttle {args.throttle}, errors {args.errors}) vs fault-free scan",
                         verdicts(Path(tmp, "scan+faults")), clean) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
