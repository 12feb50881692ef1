"""What report.html shows before its script runs: the executive summary, counted and charted in Python.

``build_view`` turns a findings document (``findings_json.to_document``) into the values the template
prints: counts, the verdict, the gating list, coverage, waivers, frameworks, the baseline trend and the
geometry of the inline SVG charts (the endpoint inventory and the gateway links of the page's data
block are :mod:`auditor.outputs.html_endpoints`). Python groups and counts; the templates only loop
and print.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from auditor.model import Severity, Status
from auditor.outputs.names import display_name
from auditor.scope_model import describe
from auditor.waiver_view import EXPIRING_SOON_DAYS

SEVERITY_ORDER: tuple[Severity, ...] = tuple(sorted(Severity, key=lambda s: s.rank, reverse=True))
# Statuses a reader must look at first, then the rest; the order of every status list on the page.
STATUS_ORDER: tuple[Status, ...] = (Status.FAIL, Status.ERROR, Status.MUTED, Status.PASS, Status.NOT_APPLICABLE)
BASELINE_STATES: tuple[str, ...] = ("new", "regressed", "newly_waived", "still_failing", "resolved", "unknown",
                                    "unchanged")
# Gating findings listed in the summary itself (the first GATING_OPEN of them open, the rest collapsed);
# the findings table filters to all of them.
GATING_SHOWN = 100
GATING_OPEN = 10
# Newly waived findings and previous failures (resolved, or gone and not re-checked) listed under the trend.
PREVIOUS_SHOWN = 50

_SEVERITY_RANK = {s.value: s.rank for s in Severity}
_CONTROL_LABELS = {"passed": "passed", "failed": "failed", "not_evaluated": "not evaluated",
                   "not_covered": "not covered"}
_DONUT_RADIUS = 48.0
_BAR_WIDTH = 320.0


def build_view(doc: Mapping[str, Any], seen: Seen | None = None) -> dict[str, Any]:
    """What the template prints: the document, grouped, counted and charted.

    ``seen``: the document's findings, already passed through a :class:`Seen` (then ``doc["findings"]``
    is not read: it may be an iterator that was consumed); without, they are read from the document."""
    rules: Mapping[str, Mapping[str, Any]] = doc["rules"]
    if seen is None:
        seen = Seen(rules)
        for f in doc["findings"]:
            seen.add(f)
    scan = doc["scan"]
    summary = doc["summary"]
    coverage_failed = [row for row in doc["coverage"] if row["status"] == "error"]
    error_findings: int = summary["by_status"][Status.ERROR.value]
    incomplete = None
    if not scan["complete"]:
        incomplete = {"coverage_errors": len(coverage_failed), "error_findings": error_findings}
    gating, gating_total = seen.gating.kept(), seen.gating.total
    statuses = [{"status": s.value, "count": summary["by_status"][s.value]} for s in STATUS_ORDER]
    severities = [{"severity": s.value, "count": summary["by_severity"][s.value]} for s in SEVERITY_ORDER]
    frameworks = [_framework_view(f) for f in doc.get("frameworks", ())]
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
        "verdict": _verdict(scan["exit_code"], gating_total, scan["fail_on"], bool(scan.get("fail_on_new"))),
        "fail_on_new": bool(scan.get("fail_on_new")),
        "incomplete": incomplete,
        "statuses": statuses,
        "severities": severities,
        "status_chart": _donut(statuses, summary["total"]),
        "severity_chart": _bars([(s["severity"], s["count"]) for s in severities], "sev-"),
        "total": summary["total"],
        "resources": summary["resources"],
        "rules_evaluated": summary["rules_evaluated"],
        "gating": [_gating_row(f, rules[f["rule_id"]]) for f in gating],
        "gating_total": gating_total,
        "gating_open": GATING_OPEN,
        "coverage": doc["coverage"],
        "coverage_failed": coverage_failed,
        "coverage_errors": len(coverage_failed),
        "waivers": _waivers_view(doc["waivers"]),
        "muted": summary["by_status"][Status.MUTED.value],
        "rules": _rule_rows(rules, seen.tallies),
        "frameworks": frameworks,
        "policy_scope": _policy_scope_view(doc.get("policy_scope")),
        "baseline": baseline_view(doc, seen),
        "history": history_view(doc),
    }


def _waivers_view(waivers: Mapping[str, Any]) -> dict[str, Any]:
    """The waivers section: every entry with its number (index + 1 in a file of an older version, which has
    none) and line; the active ones (none in an older file) with those expiring soon counted."""
    def entry(w: Mapping[str, Any]) -> dict[str, Any]:
        return {**w, "number": w.get("number", w["index"] + 1), "line": w.get("line"),
                "nearest": w.get("nearest", [])}

    active = [entry(w) for w in waivers.get("active", ())]
    return {"active": active, "expiring_soon": [w for w in active if w["expiring_soon"]],
            "soon_days": EXPIRING_SOON_DAYS, "expired": [entry(w) for w in waivers["expired"]],
            "unused": [entry(w) for w in waivers["unused"]]}


class Seen:
    """What the summary needs of the findings, gathered as they pass by once (``add`` each finding document,
    in the document's order): counts by rule and status, the gating findings and the newly waived ones (the
    most severe few of each kept whole), and the findings' baseline marks counted."""

    def __init__(self, rules: Iterable[str]) -> None:
        self.tallies: dict[str, dict[str, int]] = {rule_id: {s.value: 0 for s in STATUS_ORDER} for rule_id in rules}
        self.gating = _Worst(GATING_SHOWN)
        self.newly_waived = _Worst(PREVIOUS_SHOWN)
        self.marked: dict[str, int] = {}  # baseline state -> findings marked so, in order of first appearance

    def add(self, f: Mapping[str, Any]) -> None:
        self.tallies[f["rule_id"]][f["status"]] += 1
        if f["gating"]:
            self.gating.add(f)
        mark = f.get("baseline")
        state = mark.get("state") if isinstance(mark, Mapping) else None
        if isinstance(state, str):
            self.marked[state] = self.marked.get(state, 0) + 1
            if state == "newly_waived":
                self.newly_waived.add(f)


class _Worst:
    """The first ``n`` findings in severity order (``_severity_first``, then the order they came in: as a
    stable sort would list them), and how many came."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.total = 0
        self._kept: list[tuple[tuple[int, str, str], int, Mapping[str, Any]]] = []

    def add(self, f: Mapping[str, Any]) -> None:
        self._kept.append((_severity_first(f), self.total, f))
        self.total += 1
        if len(self._kept) >= 2 * self.n + 64:
            self._trim()

    def kept(self) -> list[Mapping[str, Any]]:
        self._trim()
        return [f for _, _, f in self._kept]

    def _trim(self) -> None:
        self._kept.sort(key=lambda item: item[:2])
        del self._kept[self.n:]


def baseline_view(doc: Mapping[str, Any], seen: Seen) -> dict[str, Any] | None:
    """The trend versus the baseline, when the document carries baseline marks; else None.

    The counts are those of the top-level ``baseline`` summary when it gives them (it can count
    findings that are gone from this scan), else the marks on the findings counted here.
    """
    summary = doc.get("baseline")
    marked = seen.marked
    if not isinstance(summary, Mapping) and not marked:
        return None
    counts = dict.fromkeys(BASELINE_STATES, 0)
    for state, n in marked.items():
        counts[state] = counts.get(state, 0) + n
    given = summary.get("counts", summary) if isinstance(summary, Mapping) else {}
    if isinstance(given, Mapping):
        for state in list(counts):
            value = given.get(state)
            if isinstance(value, int) and not isinstance(value, bool):
                counts[state] = value
    source = ""
    if isinstance(summary, Mapping):
        file, started = summary.get("file"), summary.get("started")
        parts = [f"from {file}" if isinstance(file, str) else "", _when(started)]
        source = ", ".join(part for part in parts if part)
    rows = [(state, n) for state, n in counts.items()]
    resolved, unverified = _previous(summary, "resolved"), _previous(summary, "unverified")
    # Where a count leads: the findings table when it counts exactly the findings marked so, else the
    # list of previous failures it also counts (gone from this scan), else nowhere.
    lists = {"resolved": "baseline-resolved" if resolved["total"] else "",
             "unknown": "baseline-unverified" if unverified["total"] else ""}
    return {
        "source": source,
        "counts": [{"state": state, "label": state.replace("_", " "), "count": n,
                    "listed": bool(n) and n == marked.get(state, 0), "anchor": lists.get(state, "")}
                   for state, n in rows],
        "chart": _bars(rows, "bl-"),
        "newly_waived": _newly_waived(seen.newly_waived),
        "resolved": resolved,
        "unverified": unverified,
    }


def _newly_waived(waived: _Worst) -> dict[str, Any]:
    """The findings a waiver mutes now and did not mute in the baseline, worst first, with the waiver."""
    rows = []
    for f in waived.kept():
        given = f.get("waiver")
        waiver: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
        rows.append({"severity": f["severity"], "rule_id": f["rule_id"], "resource_id": f["resource_id"],
                     "resource_name": f.get("resource_name") or "",
                     "before": f["baseline"].get("previous_status") or "not in the baseline",
                     "reason": waiver.get("reason", ""), "owner": waiver.get("owner", ""),
                     "expires": waiver.get("expires", "")})
    return {"rows": rows, "total": waived.total}


def _previous(summary: Any, key: str) -> dict[str, Any]:
    """A list of previous failures from the baseline summary: the first PREVIOUS_SHOWN and how many."""
    entries = summary.get(key) if isinstance(summary, Mapping) else None
    if not isinstance(entries, list):
        entries = []
    rows = [e for e in entries if isinstance(e, Mapping)]
    return {"rows": rows[:PREVIOUS_SHOWN], "total": len(rows)}


def history_view(doc: Mapping[str, Any]) -> dict[str, Any] | None:
    """Failures per severity over the stored runs (``--history``), as stacked bars, oldest first."""
    history = doc.get("history")
    runs = history.get("runs") if isinstance(history, Mapping) else None
    if not isinstance(history, Mapping) or not isinstance(runs, list) or not runs:
        return None
    height, width = 120.0, 440.0
    step = width / len(runs)
    bar = max(2.0, min(28.0, step * 0.7))
    totals = [sum(int(run["failures"].get(s.value, 0)) for s in SEVERITY_ORDER) for run in runs]
    top = max(max(totals), 1)
    columns = []
    for i, (run, total) in enumerate(zip(runs, totals, strict=True)):
        x = 30 + i * step + (step - bar) / 2
        y = 10 + height
        segments = []
        for s in reversed(SEVERITY_ORDER):  # info at the bottom, critical on top
            n = int(run["failures"].get(s.value, 0))
            if n:
                h = height * n / top
                y -= h
                segments.append({"css": f"sev-{s.value}", "y": _num(y), "height": _num(h), "count": n,
                                 "severity": s.value})
        columns.append({"x": _num(x), "width": _num(bar), "segments": segments, "total": total,
                        "started": _display_time(run["started"]), "complete": bool(run.get("complete", True)),
                        "exit_code": run.get("exit_code"),
                        "failures": [int(run["failures"].get(s.value, 0)) for s in SEVERITY_ORDER]})
    return {"file": str(history.get("file", "")), "runs": columns, "top": top, "top_y": _num(10.0),
            "base_y": _num(10 + height), "severities": [s.value for s in SEVERITY_ORDER],
            "first": columns[0]["started"], "last": columns[-1]["started"]}


# --- summary pieces ----------------------------------------------------------------------------------


def _framework_view(framework: Mapping[str, Any]) -> dict[str, Any]:
    """One framework: counts, a stacked bar of its controls, then each control with its rules."""
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
    total = counts["total"]
    segments = []
    x = 0.0
    for key, label in _CONTROL_LABELS.items():
        width = _BAR_WIDTH * counts[key] / total if total else 0.0
        if width:
            segments.append({"css": key, "label": label, "count": counts[key], "x": _num(x), "width": _num(width)})
        x += width
    passed = counts["passed"]
    return {
        "id": framework["id"],
        "anchor": f"framework-{framework['id']}",
        "title": framework["title"],
        "version": framework["version"],
        "informative": framework["informative"],
        "source": framework["source"],
        "counts": [{"css": key, "label": label, "count": counts[key]} for key, label in _CONTROL_LABELS.items()],
        "waived": counts["waived"],
        "total": total,
        "percent": round(100 * passed / total) if total else 0,
        "segments": segments,
        "controls": controls,
    }


def _gating_row(f: Mapping[str, Any], rule: Mapping[str, Any]) -> dict[str, Any]:
    return {"finding": f, "title": f["title"] or rule.get("title") or f["rule_id"], "anchor": f"finding-{f['id']}",
            "resource": display_name(f["provider"], f["account"], f["region"], f["resource_id"], f["resource_name"])}


def _rule_rows(rules: Mapping[str, Mapping[str, Any]],
               tallies: Mapping[str, Mapping[str, int]]) -> list[dict[str, Any]]:
    rows = [
        {"rule": rule, "counts": [{"status": s, "count": n} for s, n in tallies[rule_id].items()],
         "total": sum(tallies[rule_id].values())}
        for rule_id, rule in rules.items()
    ]
    return sorted(rows, key=lambda r: (-_SEVERITY_RANK[r["rule"]["severity"]], r["rule"]["id"]))


def _donut(statuses: Sequence[Mapping[str, Any]], total: int) -> list[dict[str, Any]]:
    """Arcs of a ring (stroke-dasharray on one circle each), largest status first round the clock."""
    circumference = 2 * math.pi * _DONUT_RADIUS
    arcs = []
    offset = 0.0
    for s in statuses:
        if not s["count"] or not total:
            continue
        length = circumference * s["count"] / total
        arcs.append({"status": s["status"], "count": s["count"], "dash": f"{_num(length)} {_num(circumference)}",
                     "offset": _num(-offset)})
        offset += length
    return arcs


def _bars(rows: Sequence[tuple[str, int]], css: str) -> list[dict[str, Any]]:
    """Horizontal bars, one per row, scaled to the largest count."""
    top = max((n for _, n in rows), default=0)
    return [{"key": key, "css": f"{css}{key}", "label": key.replace("_", " "), "count": n,
             "width": _num(_BAR_WIDTH * n / top if top else 0.0), "y": i * 26}
            for i, (key, n) in enumerate(rows)]


def _num(value: float) -> str:
    """A coordinate, rounded so the same counts always print the same bytes."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _severity_first(f: Mapping[str, Any]) -> tuple[int, str, str]:
    return -_SEVERITY_RANK[f["severity"]], f["rule_id"], f["resource_id"]


def _policy_scope_view(scope: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if scope is None:
        return None
    return {"sentence": describe(scope["out_of_scope"], scope["findings"], scope["by_status"]),
            "out_of_scope": scope["out_of_scope"],
            "by_resource_type": sorted(scope["by_resource_type"].items(), key=lambda item: (-item[1], item[0])),
            "by_rule": sorted(scope["by_rule"].items(), key=lambda item: (-item[1], item[0]))}


def _verdict(exit_code: int, gating: int, fail_on: str, fail_on_new: bool = False) -> dict[str, str]:
    if exit_code == 2:
        return {"key": "incomplete", "label": "Incomplete", "detail": "Some verdicts are missing. Exit code 2."}
    which = "new or regressed " if fail_on_new else ""
    if exit_code == 1:
        noun = "finding" if gating == 1 else "findings"
        return {"key": "failed", "label": "Failed",
                "detail": f"{gating} {which}{noun} at or above {fail_on} failed the build. Exit code 1."}
    return {"key": "passed", "label": "Passed",
            "detail": f"Complete; no {which}failure at or above {fail_on}. Exit code 0." if fail_on_new
            else f"Complete; nothing at or above {fail_on} failed. Exit code 0."}


def _when(started: Any) -> str:
    if not isinstance(started, str):
        return ""
    try:
        return f"scan of {_display_time(started)}"
    except ValueError:
        return ""


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
