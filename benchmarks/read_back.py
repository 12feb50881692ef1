"""Benchmark reading a large findings.json back: ``auditor report`` and ``auditor remediate plan``.

    python benchmarks/read_back.py [--findings 100000] [--format json --format html] [--repeat 1]
                                   [--no-baseline] [--file FINDINGS.json] [--keep DIR]

1. Generates, in a child process, a findings.json of ``--findings`` findings in the shape a scan writes
   (the ``json`` formatter's own output, with an inventory): the embedded demo estate scanned once and
   cloned into fresh AWS accounts and Azure subscriptions (``report_html.scaled``: real rules, messages
   and evidence, MUTED and ERROR findings, API Management links), compared with a baseline so every
   finding carries a baseline mark (``--no-baseline``: none; ``--name-tags``: every resource tagged with its
   own name, so no two tag sets are alike). ``--file`` measures an existing file instead.
2. Runs, each as a subprocess (``python -m auditor ...``), ``--repeat`` times:
   - **report**: ``auditor report FILE --format ... --out DIR --quiet`` (default formats json and html);
   - **plan**: ``auditor remediate plan FILE --out PLAN --quiet``.
3. Prints wall time, CPU time and peak RSS of each, against the targets: under 10 s each, and the
   report under 300 MB.

Peak RSS is the child's ``ru_maxrss`` from ``wait4``. Linux charges a child the high-water mark of the
memory it was forked with until it execs, so this is only the child's own figure because this process
stays small: it never imports the tool or loads the file (the generation runs in its own child). It is
checked against the VmHWM of the child polled from /proc every 10 ms, and the larger is reported.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.model import ScanResult

REPO = Path(__file__).resolve().parent.parent
TARGET_S = 10.0
TARGET_REPORT_MB = 300.0


def generate(path: Path, total: int, baseline: bool, name_tags: bool) -> None:
    """Write a findings.json of ``total`` findings at ``path`` (runs in its own process)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    sys.path.insert(0, str(REPO))
    from report_html import demo_scan, scaled

    from auditor.baseline import state
    from auditor.model import BaselineComparison, FindingBaseline, Status
    from auditor.outputs.findings_json import render

    with tempfile.TemporaryDirectory() as tmp:
        base = demo_scan(Path(tmp))
    result = unique(scaled(base, total))
    if name_tags:  # every resource tagged with its own name, as AWS consoles do: no two tag sets alike
        result = dataclasses.replace(result, resources=tuple(
            dataclasses.replace(r, tags={**r.tags, "Name": f"{r.name or r.id}-{i}"})
            for i, r in enumerate(result.resources)))
    if baseline:  # a nightly run compared with the night before: every sixth finding changed
        cycle = (Status.FAIL, Status.PASS, None, Status.NOT_APPLICABLE, Status.MUTED, Status.ERROR)
        marks = {}
        for i, f in enumerate(result.findings):
            before = f.status if i % 6 else cycle[(i // 6) % len(cycle)]
            marks[f.id] = FindingBaseline(state(f.status, before), previous_status=before,
                                          previous_severity=f.severity if before is not None else None)
        comparison = BaselineComparison(file="previous/findings.json", started=result.started_at, findings=marks)
        result = dataclasses.replace(result, baseline=comparison)
    text = render(result)
    path.write_text(text, encoding="utf-8", newline="\n")
    counts = {s.value: sum(1 for f in result.findings if f.status is s) for s in Status}
    print(f"generated {path}: {len(result.findings)} findings {counts}, {len(result.resources)} inventoried "
          f"resources, {len(text.encode()) / 1e6:.1f} MB")


def unique(result: ScanResult) -> ScanResult:
    """``result`` with every resource id unique: the clones keep the ids that name no account (S3 buckets)."""
    seen: set[tuple[str, str]] = set()

    def own(type_: str, resource_id: str, account: str) -> str:
        key = (type_, resource_id)
        if key not in seen:
            seen.add(key)
            return resource_id
        return f"{resource_id}-{account}"

    findings = [dataclasses.replace(f, resource_id=own(f.rule_id, f.resource_id, f.account)) for f in result.findings]
    seen.clear()
    resources = [dataclasses.replace(r, id=own(r.type, r.id, r.account)) for r in result.resources]
    return dataclasses.replace(result, findings=tuple(findings), resources=tuple(resources))


@dataclasses.dataclass(frozen=True)
class Run:
    label: str
    wall_s: float
    cpu_s: float
    peak_mb: float
    code: int
    stderr: str


def _hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def run_child(label: str, argv: Sequence[str]) -> Run:
    peak = [0]
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(argv), cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _hwm_kb(proc.pid))
                done.wait(0.01)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        poller.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return Run(label, wall, usage.ru_utime + usage.ru_stime, max(peak[0], usage.ru_maxrss) / 1024,
                   proc.returncode, err.read().decode(errors="replace"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--format", dest="formats", action="append", metavar="NAME",
                        help="a format auditor report writes (repeatable; default: json and html)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-baseline", action="store_true", help="generate findings without baseline marks")
    parser.add_argument("--name-tags", action="store_true",
                        help="tag every resource with its own Name (the demo's clones share a dozen tag sets)")
    parser.add_argument("--file", type=Path, help="measure this findings.json instead of generating one")
    parser.add_argument("--keep", type=Path, help="work (and leave the files) in this directory")
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)  # the generating child
    args = parser.parse_args(argv)
    if args.generate:
        generate(args.generate, args.findings, not args.no_baseline, args.name_tags)
        return 0

    formats = args.formats or ["json", "html"]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        findings = args.file
        if findings is None:
            findings = workdir / "input" / "findings.json"
            findings.parent.mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            generating = [sys.executable, __file__, "--generate", str(findings), "--findings", str(args.findings)]
            subprocess.run(generating + (["--no-baseline"] if args.no_baseline else [])
                           + (["--name-tags"] if args.name_tags else []), check=True)
            print(f"generation took {time.perf_counter() - started:.1f} s")
        print(f"input: {findings} ({findings.stat().st_size / 1e6:.1f} MB); load average "
              f"{os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
        report = [sys.executable, "-m", "auditor", "report", str(findings), "--out", str(workdir / "report"),
                  "--quiet", *(a for f in formats for a in ("--format", f))]
        plan = [sys.executable, "-m", "auditor", "remediate", "plan", str(findings), "--out",
                str(workdir / "plan.json"), "--quiet"]
        runs: dict[str, list[Run]] = {"report": [], "plan": []}
        for _ in range(args.repeat):
            runs["report"].append(run_child("report", report))
            runs["plan"].append(run_child("plan", plan))
        failed = False
        for label, measured in runs.items():
            for run in measured:
                print(f"{label:<7} wall {run.wall_s:6.2f} s  CPU {run.cpu_s:6.2f} s  peak RSS {run.peak_mb:7.1f} MB  "
                      f"exit {run.code}")
                if run.code not in (0, 1, 2):
                    print(run.stderr)
                    failed = True
            wall = statistics.median(r.wall_s for r in measured)
            peak = max(r.peak_mb for r in measured)
            met = wall < TARGET_S and (label != "report" or peak < TARGET_REPORT_MB)
            print(f"{label}: median wall {wall:.2f} s, peak RSS {peak:.0f} MB: target "
                  f"{'met' if met else 'MISSED'} (< {TARGET_S:.0f} s"
                  + (f", < {TARGET_REPORT_MB:.0f} MB)" if label == "report" else ")"))
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
