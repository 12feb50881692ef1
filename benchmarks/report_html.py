"""Benchmark report.html with 100,000 findings: file size, render time, and the page in headless Chromium.

    python benchmarks/report_html.py [--findings 100000] [--runs 3] [--keep DIR] [--readme]

1. Scans the embedded demo estate once (``python -m auditor demo --format json``: both clouds, real
   rules, real messages and evidence) and clones it into as many AWS accounts and Azure subscriptions as
   it takes to reach ``--findings``: each copy moves every id into its own account or subscription, so
   Resource Manager hierarchies (workspace -> endpoint -> deployment), what serves each endpoint (the
   inventory's ``uses``; bucket names get the copy's account as a suffix) and the endpoint inventory
   stay intact. Every tenth copy has a fifth of its failures waived (MUTED), every 25th a few ERRORs,
   each copy an API Management API in front of one of its online endpoints, and every finding a
   baseline mark.
2. Times ``findings_json.to_document`` and ``html.render_document`` and reports the file size.
3. Opens the file in Debian's Chromium (headless, through Playwright, fresh profile, no network) and
   measures, ``--runs`` times each on a fresh page: time to interactive (navigation start until the
   findings table has its first rows, and until they are painted: ``performance`` marks the page's
   script sets), then single operations, each until the next frame is painted: a status facet (FAIL),
   a text search (its first, which also lowercases every message once, minus the 120 ms input
   debounce), sorting by severity, grouping by rule, expanding a finding.

Targets (issue 6): at most 25 MB, interactive within 3 s, a filter within 1 s. ``--readme`` writes the
figures into benchmarks/README.md between the ``report_html figures`` markers.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from auditor.findings.read import read_findings  # noqa: E402
from auditor.model import Finding, Resource, ScanResult, Status, Waiver  # noqa: E402
from auditor.outputs import html  # noqa: E402
from auditor.outputs.findings_json import to_document  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
APIM_RULE = "azure.apim.api.model_endpoint_protected"
BASELINE_CYCLE = (("still_failing", "FAIL"), ("unchanged", "PASS"), ("unchanged", "PASS"), ("new", None),
                  ("unchanged", "NOT_APPLICABLE"), ("regressed", "PASS"))
SEARCH_DEBOUNCE_MS = 120
MARK_START, MARK_END = "<!-- report_html figures -->", "<!-- /report_html figures -->"


def demo_scan(workdir: Path) -> ScanResult:
    out = workdir / "demo"
    run = subprocess.run([sys.executable, "-m", "auditor", "demo", "--out", str(out), "--format", "json", "--quiet"],
                         cwd=REPO, capture_output=True, text=True, check=False)
    if run.returncode not in (0, 1) or not (out / "findings.json").is_file():
        raise SystemExit(f"the demo scan failed ({run.returncode}):\n{run.stderr}")
    return read_findings(out / "findings.json")


_BUCKET_ARN = re.compile(r"^arn:aws:s3:::[^/]+$")


def _move(text: str, accounts: dict[str, str]) -> str:
    for old, new in accounts.items():
        text = text.replace(old, new)
    # Bucket names hold no account: each copy's buckets get its first account as a suffix, so no two
    # copies share a bucket (and no finding id repeats).
    if accounts and _BUCKET_ARN.match(text):
        text = f"{text}-{next(iter(accounts.values()))}"
    return text


def _moved_related(related: Any, accounts: dict[str, str]) -> dict[str, Any]:
    """What a copied resource uses (the inventory's ``uses``), moved into the copy's accounts."""
    def move(value: Any) -> Any:
        if isinstance(value, str):
            return _move(value, accounts)
        return [move(v) for v in value] if isinstance(value, list) else value
    return {name: move(value) for name, value in related.items()}


def scaled(base: ScanResult, total: int) -> ScanResult:
    """``base`` cloned into fresh accounts and subscriptions until it has ``total`` findings."""
    aws = sorted({f.account for f in base.findings if f.provider == "aws"})
    azure = sorted({f.account for f in base.findings if f.provider == "azure"})
    online = sorted({f.resource_id for f in base.findings if f.resource_type == "azure.ml.online_endpoint"})
    findings: list[Finding] = []
    resources: list[Resource] = []
    copy = 0
    while len(findings) < total:
        accounts = {a: f"{(copy * 7919 + i) % 10**12:012d}" for i, a in enumerate(aws)}
        accounts.update({s: f"{copy:08x}-{i:04x}-4{copy % 4096:03x}-8000-{copy * 31 + i:012x}"
                         for i, s in enumerate(azure)})
        waiver = Waiver(rules=("*",), resources=("*",), reason=f"Accepted for migration wave {copy}",
                        owner="platform@example.com", expires=date(2027, 6, 30), index=copy)
        for n, f in enumerate(base.findings):
            status, message, evidence, waived = f.status, f.message, f.evidence, None
            if status is Status.FAIL and copy % 10 == 0 and n % 5 == 0:
                status, waived = Status.MUTED, waiver
            elif copy % 25 == 3 and n % 40 == 0:
                status, evidence = Status.ERROR, {"error": "AccessDenied"}
                message = f"{f.resource_name or f.resource_id}: the document could not be read (AccessDenied)."
            findings.append(dataclasses.replace(
                f, resource_id=_move(f.resource_id, accounts), account=accounts.get(f.account, f.account),
                status=status, message=message, evidence=evidence, waiver=waived))
        if online:
            endpoint = _move(online[copy % len(online)], accounts)
            subscription = accounts[azure[0]]
            api = (f"/subscriptions/{subscription}/resourceGroups/rg-gw/providers/Microsoft.ApiManagement"
                   f"/service/apim-{copy}/apis/score")
            protected = copy % 3 != 0
            findings.append(Finding(
                rule_id=APIM_RULE, resource_id=api, resource_type="azure.apim.api", provider="azure",
                account=subscription, region="westeurope", status=Status.PASS if protected else Status.FAIL,
                severity=base.rules[APIM_RULE].severity, resource_name="score",
                message=f"Fronts {endpoint} (via serviceUrl)" + (", protected by a subscription key." if protected
                                                                 else ": no subscription key is required."),
                evidence={"fronts": [{"kind": "azure.ml.online_endpoint", "id": endpoint,
                                      "name": endpoint.rsplit("/", 1)[-1],
                                      "host": f"{endpoint.rsplit('/', 1)[-1]}.westeurope.inference.ml.azure.com",
                                      "via": "serviceUrl"}],
                          "protection": "subscription key" if protected else "none",
                          "subscriptionRequired": protected}))
        resources += [dataclasses.replace(r, id=_move(r.id, accounts), account=accounts.get(r.account, r.account),
                                          related=_moved_related(r.related, accounts))
                      for r in base.resources]
        copy += 1
    return dataclasses.replace(base, findings=tuple(findings[:total]), resources=tuple(resources),
                               expired_waivers=(), unused_waivers=())


def with_baseline(doc: dict[str, Any]) -> dict[str, Any]:
    """Baseline marks in the shape ``--baseline`` writes (the comparison itself is not what is measured)."""
    counts: dict[str, int] = {}
    for i, f in enumerate(doc["findings"]):
        state, previous = BASELINE_CYCLE[i % len(BASELINE_CYCLE)]
        f["baseline"] = {"state": state, "previous_status": previous, "previous_severity": None}
        counts[state] = counts.get(state, 0) + 1
    doc["baseline"] = {"file": "previous/findings.json", "started": doc["scan"]["started"], "counts": counts,
                       "resolved": [], "unverified": []}
    return doc


NEXT_FRAME = "await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));"
OPERATIONS = {
    "filter: status = FAIL": f"""async () => {{
        const box = Array.from(document.querySelectorAll('details[data-facet=status] label.facet-item'))
            .find(l => l.textContent.includes('FAIL')).querySelector('input');
        const t = performance.now(); box.click(); {NEXT_FRAME} return performance.now() - t; }}""",
    "search: first query": f"""async () => {{
        const input = document.getElementById('f-search'); const line = document.getElementById('findings-count');
        const before = line.textContent; const t = performance.now();
        input.value = 'churn'; input.dispatchEvent(new Event('input'));
        while (line.textContent === before) await new Promise(r => setTimeout(r, 1));
        {NEXT_FRAME} return performance.now() - t - {SEARCH_DEBOUNCE_MS}; }}""",
    "sort: severity": f"""async () => {{
        const t = performance.now(); document.querySelector('th.col-severity button.sort').click();
        {NEXT_FRAME} return performance.now() - t; }}""",
    "group: rule": f"""async () => {{
        const select = document.getElementById('f-group'); const t = performance.now();
        select.value = 'rule'; select.dispatchEvent(new Event('change'));
        {NEXT_FRAME} return performance.now() - t; }}""",
    "expand a finding": f"""async () => {{
        const t = performance.now(); document.querySelector('#findings-body tr.frow').click();
        {NEXT_FRAME} return performance.now() - t; }}""",
}


def measure(path: Path, runs: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    figures: dict[str, list[float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        figures["browser"] = [float(browser.version.split(".")[0])]
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.goto(path.as_uri(), timeout=120_000)
            page.wait_for_selector("#findings-app[data-state=ready]", timeout=120_000)
            page.wait_for_function("() => true")  # one round trip, so the paint mark has been set
            marks = page.evaluate("""() => Object.fromEntries(['findings-ready', 'findings-painted'].map(
                name => [name, (performance.getEntriesByName(name)[0] || {startTime: -1}).startTime]))""")
            figures.setdefault("interactive: rows in the document", []).append(marks["findings-ready"])
            figures.setdefault("interactive: rows painted", []).append(marks["findings-painted"])
            figures.setdefault("JS heap MB", []).append(
                page.evaluate("() => performance.memory ? performance.memory.usedJSHeapSize / 1e6 : -1"))
            for name, script in OPERATIONS.items():
                figures.setdefault(name, []).append(page.evaluate(script))
            if errors:
                raise SystemExit(f"the page logged errors: {errors[:3]}")
            context.close()
        browser.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write report.html into this directory and keep it")
    parser.add_argument("--readme", action="store_true", help="write the figures into benchmarks/README.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        base = demo_scan(workdir)
        print(f"demo scan: {len(base.findings)} findings ({time.perf_counter() - started:.1f} s)")
        result = scaled(base, args.findings)
        counts = {s.value: sum(1 for f in result.findings if f.status is s) for s in Status}
        print(f"estate: {len(result.findings)} findings {counts}, {len(result.resources)} resources")

        t0 = time.perf_counter()
        doc = with_baseline(to_document(result))
        t1 = time.perf_counter()
        page = html.render_document(doc)
        t2 = time.perf_counter()
        again = html.render_document(doc)
        assert again == page, "the same document must render the same bytes"
        size = len(page.encode("utf-8"))
        data_size = len(html.embed_json(html.embedded_data(page)).encode("utf-8"))
        out_dir = args.keep or workdir
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "report.html"
        path.write_text(page, encoding="utf-8")
        print(f"to_document: {t1 - t0:.2f} s; render_document: {t2 - t1:.2f} s")
        print(f"report.html: {size / 1e6:.1f} MB (data block {data_size / 1e6:.1f} MB; target <= 25 MB)")
        print(f"findings.json for comparison: {len(json.dumps(doc, ensure_ascii=False).encode()) / 1e6:.1f} MB")

        figures = measure(path, args.runs)
        chromium = int(figures.pop("browser")[0])
        rows = []
        for name, values in figures.items():
            unit = "" if "MB" in name else " ms"
            print(f"{name}: median {statistics.median(values):.0f}{unit} (runs: "
                  f"{', '.join(f'{v:.0f}' for v in values)})")
            rows.append((name, statistics.median(values), min(values), max(values)))
        tti = statistics.median(figures["interactive: rows painted"])
        flt = statistics.median(figures["filter: status = FAIL"])
        print(f"targets: size {'met' if size <= 25e6 else 'MISSED'}, interactive < 3 s "
              f"{'met' if tti < 3000 else 'MISSED'}, filter < 1 s {'met' if flt < 1000 else 'MISSED'}")

        if args.readme:
            write_readme(len(result.findings), len(result.resources), size, data_size, t2 - t1, chromium, rows,
                         args.runs)


def write_readme(findings: int, resources: int, size: int, data_size: int, render_s: float, chromium: int,
                 rows: list[tuple[str, float, float, float]], runs: int) -> None:
    readme = REPO / "benchmarks" / "README.md"
    text = readme.read_text(encoding="utf-8")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        MARK_START,
        f"Measured {datetime.now(UTC).date().isoformat()} on a shared {os.cpu_count()}-vCPU VM (load average "
        f"{load:.1f} at the end of the run), Python {platform.python_version()}, Debian Chromium {chromium} "
        f"headless, {findings:,} findings over {resources:,} inventoried resources, median of {runs} fresh pages.",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| report.html size | {size / 1e6:.1f} MB (data block {data_size / 1e6:.1f} MB) | <= 25 MB |",
        f"| render_document (Python) | {render_s:.1f} s | - |",
    ]
    targets = {"interactive: rows painted": "< 3000 ms", "filter: status = FAIL": "< 1000 ms"}
    for name, median, low, high in rows:
        unit = "" if "MB" in name else " ms"
        lines.append(f"| {name} | {median:.0f}{unit} (range {low:.0f}-{high:.0f}) | {targets.get(name, '-')} |")
    lines.append(MARK_END)
    block = "\n".join(lines)
    if MARK_START in text:
        text = re.sub(re.escape(MARK_START) + ".*?" + re.escape(MARK_END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    readme.write_text(text, encoding="utf-8")
    print(f"wrote the figures into {readme}")


if __name__ == "__main__":
    main()
