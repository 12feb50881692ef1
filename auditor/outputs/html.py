"""The HTML report: one self-contained file that opens offline (reports/report.html.j2).

The report is rendered from the findings document (``findings_json.to_document``), not from the
ScanResult directly, so a report re-rendered later from findings.json is the same page as the one the
scan wrote. Python does the grouping and counting here; the templates only loop and print.

Safety: autoescape is on for every template (never ``select_autoescape``, which keys off file names),
undefined names fail loudly, the only markup marked safe is the tool's own stylesheet, and the page
declares a Content-Security-Policy that forbids every external load and every script.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from auditor.model import ScanResult, Severity, Status
from auditor.outputs.findings_json import to_document
from auditor.paths import reports_dir

TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

SEVERITY_ORDER: tuple[Severity, ...] = tuple(sorted(Severity, key=lambda s: s.rank, reverse=True))
# Statuses a reader must look at, in the order they are shown; the rest fold into a <details>.
ATTENTION: tuple[Status, ...] = (Status.FAIL, Status.ERROR, Status.MUTED)
QUIET: tuple[Status, ...] = (Status.PASS, Status.NOT_APPLICABLE)
STATUS_ORDER: tuple[Status, ...] = ATTENTION + QUIET

_ATTENTION_VALUES = frozenset(s.value for s in ATTENTION)
_STATUS_RANK = {s.value: i for i, s in enumerate(STATUS_ORDER)}
_SEVERITY_RANK = {s.value: s.rank for s in Severity}


class HtmlFormatter:
    """The ``html`` output format: ``report.html``."""

    name = "html"
    filename = "report.html"

    def __init__(self, templates_dir: Path | None = None) -> None:
        self.templates_dir = templates_dir

    def render(self, result: ScanResult) -> str:
        return render(result, self.templates_dir)


def render(result: ScanResult, templates_dir: Path | None = None) -> str:
    """The report page for ``result``; templates from ``templates_dir`` (default: the shipped ones)."""
    return render_document(to_document(result), templates_dir)


def render_document(doc: Mapping[str, Any], templates_dir: Path | None = None) -> str:
    """The report page for a findings document (one ``to_document`` produced)."""
    directory = templates_dir if templates_dir is not None else reports_dir()
    # Our own stylesheet, read from the tool's template directory: the one string marked safe.
    css = Markup((directory / STYLESHEET).read_text(encoding="utf-8"))  # noqa: S704
    template = environment(directory).get_template(TEMPLATE)
    return template.render(report=build_view(doc), css=css, csp=CONTENT_SECURITY_POLICY)


def environment(directory: Path) -> Environment:
    return Environment(
        loader=FileSystemLoader(directory),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def build_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What the template prints: the document, grouped and counted."""
    rules: Mapping[str, Mapping[str, Any]] = doc["rules"]
    items = [_item(f, rules[f["rule_id"]]) for f in doc["findings"]]
    scan = doc["scan"]
    summary = doc["summary"]
    coverage_errors = sum(1 for row in doc["coverage"] if row["status"] == "error")
    error_findings: int = summary["by_status"][Status.ERROR.value]
    tags = {r["id"]: r["tags"] for r in doc.get("inventory", ())}
    incomplete = None
    if not scan["complete"]:
        incomplete = {"coverage_errors": coverage_errors, "error_findings": error_findings}
    return {
        "tool": doc["tool"],
        "scan": {
            "started": _display_time(scan["started"]),
            "ended": _display_time(scan["ended"]),
            "duration": _duration(scan["started"], scan["ended"]),
            "scopes": scan["scopes"],
            "fail_on": scan["fail_on"],
            "exit_code": scan["exit_code"],
        },
        "verdict": _verdict(scan["exit_code"], len(summary["gating"]), scan["fail_on"]),
        "incomplete": incomplete,
        "statuses": [{"status": s.value, "count": summary["by_status"][s.value]} for s in STATUS_ORDER],
        "severities": [
            {"severity": s.value, "count": summary["by_severity"][s.value]} for s in SEVERITY_ORDER
        ],
        "total": summary["total"],
        "resources": summary["resources"],
        "rules_evaluated": summary["rules_evaluated"],
        "gating": sorted((i for i in items if i["finding"]["gating"]), key=_severity_first),
        "coverage": doc["coverage"],
        "coverage_errors": coverage_errors,
        "waivers": doc["waivers"],
        "muted": summary["by_status"][Status.MUTED.value],
        "sections": [s for s in (_section(sev, items, tags) for sev in SEVERITY_ORDER) if s is not None],
        "rules": _rule_rows(rules, items),
        "frameworks": [_framework_view(f) for f in doc.get("frameworks", ())],
    }


_CONTROL_LABELS = {"passed": "passed", "failed": "failed", "not_evaluated": "not evaluated",
                   "not_covered": "not covered"}


def _framework_view(framework: Mapping[str, Any]) -> dict[str, Any]:
    """One framework of the summary: counts, then each control with the rules that evidence it."""
    counts = framework["counts"]
    controls = []
    for control in framework["controls"]:
        waived = control["waived"]
        controls.append({
            "id": control["id"],
            "title": control["title"],
            "css": "waived" if waived else control["status"],
            "label": "failed (waived)" if waived else _CONTROL_LABELS[control["status"]],
            "rules": [{**rule, "label": rule["state"].replace("_", " ")} for rule in control["rules"]],
        })
    return {
        "anchor": f"framework-{framework['id']}",
        "title": framework["title"],
        "version": framework["version"],
        "informative": framework["informative"],
        "source": framework["source"],
        "counts": [{"css": key, "label": _CONTROL_LABELS[key], "count": counts[key]} for key in _CONTROL_LABELS],
        "waived": counts["waived"],
        "total": counts["total"],
        "controls": controls,
    }


def _item(finding: Mapping[str, Any], rule: Mapping[str, Any]) -> dict[str, Any]:
    evidence: Mapping[str, Any] = finding["evidence"]
    return {
        "finding": finding,
        "rule": rule,
        "title": finding["title"] or finding["rule_id"],
        "anchor": f"finding-{finding['id']}",
        "waiver": finding.get("waiver"),
        # Values JSON-dumped here and escaped by the template, like every other string.
        "evidence": [
            (key, json.dumps(evidence[key], sort_keys=True, ensure_ascii=False)) for key in sorted(evidence)
        ],
    }


def _section(
    severity: Severity, items: Sequence[dict[str, Any]], tags: Mapping[str, Mapping[str, str]]
) -> dict[str, Any] | None:
    mine = [i for i in items if i["finding"]["severity"] == severity.value]
    if not mine:
        return None
    attention = sorted(
        (i for i in mine if i["finding"]["status"] in _ATTENTION_VALUES),
        key=lambda i: (
            i["finding"]["resource_id"], _STATUS_RANK[i["finding"]["status"]], i["finding"]["rule_id"]
        ),
    )
    quiet = sorted(
        (i for i in mine if i["finding"]["status"] not in _ATTENTION_VALUES),
        key=lambda i: (i["finding"]["resource_id"], i["finding"]["rule_id"]),
    )
    quiet_counts = _status_counts(quiet)
    return {
        "severity": severity.value,
        "counts": [{"status": s, "count": n} for s, n in _status_counts(mine).items() if n],
        "resources": _by_resource(attention, tags),
        "quiet": quiet,
        "quiet_counts": [{"status": s.value, "count": quiet_counts[s.value]} for s in QUIET],
    }


def _by_resource(
    items: Iterable[dict[str, Any]], tags: Mapping[str, Mapping[str, str]]
) -> list[dict[str, Any]]:
    """Items under one heading per resource; resources with the worst status (FAIL) come first."""
    groups: dict[str, dict[str, Any]] = {}
    for item in items:
        f = item["finding"]
        group = groups.setdefault(f["resource_id"], {
            "id": f["resource_id"],
            "name": f["resource_name"],
            "type": f["resource_type"],
            "provider": f["provider"],
            "account": f["account"],
            "region": f["region"],
            "tags": sorted(tags.get(f["resource_id"], {}).items()),
            "entries": [],
        })
        group["entries"].append(item)
    return sorted(
        groups.values(),
        key=lambda g: (min(_STATUS_RANK[i["finding"]["status"]] for i in g["entries"]), g["id"]),
    )


def _rule_rows(
    rules: Mapping[str, Mapping[str, Any]], items: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    by_rule: dict[str, list[dict[str, Any]]] = {rule_id: [] for rule_id in rules}
    for item in items:
        by_rule[item["finding"]["rule_id"]].append(item)
    rows = [
        {
            "rule": rule,
            "counts": [{"status": s, "count": n} for s, n in _status_counts(by_rule[rule_id]).items()],
            "total": len(by_rule[rule_id]),
        }
        for rule_id, rule in rules.items()
    ]
    return sorted(rows, key=lambda r: (-_SEVERITY_RANK[r["rule"]["severity"]], r["rule"]["id"]))


def _status_counts(items: Iterable[dict[str, Any]]) -> dict[str, int]:
    counts = {s.value: 0 for s in STATUS_ORDER}
    for item in items:
        counts[item["finding"]["status"]] += 1
    return counts


def _severity_first(item: Mapping[str, Any]) -> tuple[int, str, str]:
    f = item["finding"]
    return -_SEVERITY_RANK[f["severity"]], f["rule_id"], f["resource_id"]


def _verdict(exit_code: int, gating: int, fail_on: str) -> dict[str, str]:
    if exit_code == 2:
        return {"key": "incomplete", "label": "Incomplete",
                "detail": "Some verdicts are missing. Exit code 2."}
    if exit_code == 1:
        noun = "finding" if gating == 1 else "findings"
        return {"key": "failed", "label": "Failed",
                "detail": f"{gating} {noun} at or above {fail_on} failed the build. Exit code 1."}
    return {"key": "passed", "label": "Passed",
            "detail": f"Complete; nothing at or above {fail_on} failed. Exit code 0."}


def _display_time(stamp: str) -> str:
    return datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(started: str, ended: str) -> str:
    seconds = max(0, int((datetime.fromisoformat(ended) - datetime.fromisoformat(started)).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
