"""summary.md: a Markdown summary sized for a pull-request comment or ``$GITHUB_STEP_SUMMARY``.

Rendered from the findings document (``findings_json.to_document``), like every other format, so a
summary re-rendered from findings.json by ``auditor report`` is the same text as the scan's.

Size: GitHub caps a step summary at 1 MiB and a comment at 65,536 characters. The whole summary stays
under ``MAX_CHARS`` (60,000, counted in UTF-16 code units, which is the stricter count): every cell is
cut to a fixed length, and each list (coverage errors, undecided rules, gating findings, waivers) shows
as many rows as its share of the budget allows, then "… and N more (see report.html / findings.json)".

With ``--baseline`` the head adds the comparison (counts by state), and four sections follow the gating
findings: FAIL findings new or regressed since the baseline (whatever their severity), the findings newly
waived since the baseline (a FAIL a waiver now mutes: accepted risk, with the waiver's reason, owner and
expiry), the resolved ones, and the previous failures this scan could not re-check.

Escaping: every string from a cloud API, a rule file or a waivers file is untrusted; identifiers go into code
spans and prose is escaped (:mod:`auditor.outputs.markdown_escape`), so no value can end a table row or a cell,
start markup, mention anyone or become a link.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.model import ScanResult, Severity, Status
from auditor.outputs.findings_json import to_document
from auditor.outputs.markdown_escape import CELL_ID, code, escape_text
from auditor.outputs.names import display_name
from auditor.outputs.owner_view import UNOWNED, failures_by_owner
from auditor.scope_model import describe
from auditor.waiver_view import EXPIRING_SOON_DAYS

MAX_CHARS = 60_000
MORE = "… and {n} more (see report.html / findings.json)"
# Each later section is guaranteed this much of the budget (or its full size, when smaller).
SECTION_FLOOR = 4_000
MAX_SCOPES_SHOWN = 10
CELL_TEXT = 300  # characters of a message or reason kept in a cell
CELL_RESOURCE = 260  # characters of a resource's display name kept (its parents and subscription make it long)

SEVERITY_ORDER: tuple[Severity, ...] = tuple(sorted(Severity, key=lambda s: s.rank, reverse=True))
STATUS_ORDER: tuple[Status, ...] = (Status.FAIL, Status.ERROR, Status.MUTED, Status.PASS, Status.NOT_APPLICABLE)
_SEVERITY_RANK = {s.value: s.rank for s in Severity}


def render(result: ScanResult) -> str:
    return render_document(to_document(result))


def render_document(doc: Mapping[str, Any]) -> str:
    """The summary of a findings document, under ``MAX_CHARS``."""
    head = "\n".join([*_header(doc), *_policy_scope_head(doc), *_baseline_head(doc), "", *_counts(doc["findings"]),
                      ""])
    sections = _sections(doc)
    remaining = MAX_CHARS - size(head) - 1
    floors = [min(s.full_size(), SECTION_FLOOR) for s in sections]
    parts = [head]
    for i, section in enumerate(sections):
        text = section.render(remaining - sum(floors[i + 1:]))
        if text:
            parts.append(text)
            remaining -= size(text) + 1
    return "\n".join(parts).rstrip("\n") + "\n"


def size(text: str) -> int:
    """Length in UTF-16 code units: what a browser-side counter sees (an emoji counts twice)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2  # a lone surrogate (U+FFFD when written): 1


# --- the fixed head --------------------------------------------------------------------------------


def _header(doc: Mapping[str, Any]) -> list[str]:
    scan = doc["scan"]
    exit_code: int = scan["exit_code"]
    fail_on = scan["fail_on"]
    gating = len(doc["summary"]["gating"])
    new = "new " if scan.get("fail_on_new") else ""
    if exit_code == 2:
        verdict = (f"⚠️ **Incomplete** — some verdicts are missing, so this scan cannot count as clean. "
                   f"Exit code {exit_code}.")
    elif exit_code == 1:
        noun = "finding" if gating == 1 else "findings"
        which = f"new or regressed {noun}" if new else noun
        verdict = (f"❌ **Failed** — complete scan; {gating} {which} at or above `{fail_on}` failed the build. "
                   f"Exit code {exit_code}.")
    else:
        verdict = (f"✅ **Passed** — complete scan; nothing {new}at or above `{fail_on}` failed. "
                   f"Exit code {exit_code}.")
    scopes = scan["scopes"]
    shown = ", ".join(code(s, in_table=False) for s in scopes[:MAX_SCOPES_SHOWN]) or "—"
    if len(scopes) > MAX_SCOPES_SHOWN:
        shown += f" and {len(scopes) - MAX_SCOPES_SHOWN} more"
    tool = doc["tool"]
    return [
        "## auditor: compliance scan summary",
        "",
        verdict,
        "",
        f"{escape_text(tool['name'])} {code(tool['version'], in_table=False)} · "
        f"{scan['started']} → {scan['ended']} · fail on `{fail_on}` · scopes: {shown}",
    ]


_STATE_LABELS = (("new", "new"), ("regressed", "regressed"), ("newly_waived", "newly waived"),
                 ("still_failing", "still failing"), ("resolved", "resolved"), ("unknown", "unknown"),
                 ("unchanged", "unchanged"))
_STANDING_OUT = ("new", "regressed", "newly_waived")  # bold in the head when not zero


def _policy_scope_head(doc: Mapping[str, Any]) -> list[str]:
    scope = doc.get("policy_scope")
    if scope is None:
        return []
    line = f"🔎 **{escape_text(describe(scope['out_of_scope'], scope['findings'], scope['by_status']))}.**"
    if scope["by_resource_type"]:
        types = ", ".join(f"{code(t, in_table=False)} {n}" for t, n in scope["by_resource_type"].items())
        line += f" Resources left out, by type: {types}."
    return ["", line]


def _baseline_head(doc: Mapping[str, Any]) -> list[str]:
    baseline = doc.get("baseline")
    if baseline is None:
        return []
    counts = baseline["counts"]
    parts = ", ".join(f"**{counts[key]} {label}**" if key in _STANDING_OUT and counts[key]
                      else f"{counts[key]} {label}" for key, label in _STATE_LABELS)
    gate = " Only new or regressed failures gate (`--fail-on-new`)." if doc["scan"].get("fail_on_new") else ""
    return ["", f"Compared with the baseline {code(baseline['file'], in_table=False)} (scan of "
                f"{baseline['started']}): {parts}.{gate}"]


def _counts(findings: Sequence[Mapping[str, Any]]) -> list[str]:
    table = {(sev.value, st.value): 0 for sev in SEVERITY_ORDER for st in STATUS_ORDER}
    for f in findings:
        table[f["severity"], f["status"]] += 1
    header = ["Severity", *(s.value for s in STATUS_ORDER), "Total"]
    lines = [_row(header), _row(["---"] + ["---:"] * (len(header) - 1))]
    for sev in SEVERITY_ORDER:
        counts = [table[sev.value, st.value] for st in STATUS_ORDER]
        lines.append(_row([sev.value, *map(str, counts), str(sum(counts))]))
    totals = [sum(table[sev.value, st.value] for sev in SEVERITY_ORDER) for st in STATUS_ORDER]
    lines.append(_row(["**Total**", *(f"**{n}**" for n in totals), f"**{sum(totals)}**"]))
    return ["### Findings by severity and status", "", *lines]


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


# --- the sections that share the budget ------------------------------------------------------------


@dataclass(frozen=True)
class _Section:
    title: str
    intro: str
    header: tuple[str, ...]
    rows: Sequence[Mapping[str, Any]]
    cells: Callable[[Mapping[str, Any]], list[str]]
    empty: str = ""

    def _lines(self) -> list[str]:
        return [f"### {self.title}", "", self.intro, ""] if self.intro else [f"### {self.title}", ""]

    def full_size(self) -> int:
        return size(self.render(None))

    def render(self, budget: int | None) -> str:
        """The section within ``budget`` characters (None: all of it); empty when there is nothing to say."""
        lines = self._lines()
        if not self.rows:
            return "\n".join([*lines, self.empty]) + "\n" if self.empty else ""
        lines += [_row(self.header), _row(["---"] * len(self.header))]
        used = sum(size(line) + 1 for line in lines)
        reserve = size(MORE.format(n=len(self.rows))) + 2
        shown = 0
        for item in self.rows:
            line = _row(self.cells(item))
            if budget is not None and used + size(line) + 1 + reserve > budget:
                break
            lines.append(line)
            used += size(line) + 1
            shown += 1
        if shown < len(self.rows):
            lines += ["", MORE.format(n=len(self.rows) - shown)]
        return "\n".join(lines) + "\n"


def _sections(doc: Mapping[str, Any]) -> list[_Section]:
    scan = doc["scan"]
    findings = doc["findings"]
    sections: list[_Section] = []
    if scan["exit_code"] == 2:
        failed = [row for row in doc["coverage"] if row["status"] == "error"]
        errors = sorted((f for f in findings if f["status"] == Status.ERROR.value), key=_severity_first)
        sections.append(_Section(
            title=f"⚠️ INCOMPLETE: collection failed for {len(failed)} of {len(doc['coverage'])} units",
            intro="Resources there were not evaluated: their rules are reported as ERROR, never as PASS.",
            header=("Provider", "Account", "Region", "Service", "Error"),
            rows=failed,
            cells=lambda r: [code(r["provider"]), code(r["account"]), code(r["region"]), code(r["service"]),
                             escape_text(r["error"], CELL_TEXT)],
        ))
        sections.append(_Section(
            title=f"⚠️ INCOMPLETE: {_plural(len(errors), 'verdict')} could not be decided (ERROR)",
            intro="Data was missing, access was denied or a rule crashed; fix the cause and scan again.",
            header=("Severity", "Rule", "Resource", "Reason"),
            rows=errors,
            cells=_finding_cells,
        ))
    gating = sorted((f for f in findings if f["gating"]), key=_severity_first)
    which = "new or regressed FAIL" if scan.get("fail_on_new") else "FAIL"
    sections.append(_Section(
        title=f"Findings that fail the build: {which} at or above `{scan['fail_on']}` ({len(gating)})",
        intro="",
        header=("Severity", "Rule", "Resource", "Message"),
        rows=gating,
        cells=_finding_cells,
        empty=f"No {'new ' if scan.get('fail_on_new') else ''}finding at or above `{scan['fail_on']}` failed.",
    ))
    if scan.get("owner_tag"):  # a scan that recorded owners (older files did not)
        sections.append(_owners_section(scan["owner_tag"], findings))
    if "baseline" in doc:
        sections.extend(_baseline_sections(doc))
    waivers = doc["waivers"]
    sections.append(_active_waivers_section(waivers.get("active", ())))  # absent from older findings files
    sections.append(_Section(
        title=f"Expired waivers (no longer applied) ({len(waivers['expired'])})",
        intro="",
        header=("#", "Reason", "Owner", "Expired", "Rules", "Resources"),
        rows=waivers["expired"],
        cells=lambda w: [_waiver_number(w), *_waiver_cells(w)],
    ))
    sections.append(_Section(
        title=f"Unused waivers (matched no finding) ({len(waivers['unused'])})",
        intro="",
        header=("#", "Reason", "Owner", "Expires", "Rules", "Resources", "Nearest scanned resources"),
        rows=waivers["unused"],
        cells=lambda w: [_waiver_number(w), *_waiver_cells(w),
                         ", ".join(code(r) for r in w.get("nearest", ())) or "none near"],
    ))
    return sections


def _owners_section(tag: str, findings: Sequence[Mapping[str, Any]]) -> _Section:
    def cells(r: Mapping[str, Any]) -> list[str]:
        name = escape_text(r["owner"], CELL_ID) if r["owned"] else (
            f"_unowned_ (no {code(tag)} tag)" if r["owner"] == UNOWNED else "_unknown_ (tags not read)")
        return [name, str(r["failed"]), str(r["gating"])]

    return _Section(title=f"Failures by owner (tag {code(tag, in_table=False)})", intro="",
                    header=("Owner", "FAIL", "Failing the build"), rows=failures_by_owner(findings), cells=cells)


def _active_waivers_section(active: Sequence[Mapping[str, Any]]) -> _Section:
    soon = [w for w in active if w["expiring_soon"]]
    intro = ""
    if soon:
        numbers = ", ".join(f"#{w['number']}" for w in soon)
        intro = (f"⚠️ Expiring within {EXPIRING_SOON_DAYS} days of the scan: {numbers}. Renew each with a new "
                 "reason, or fix what it mutes.")
    return _Section(
        title=f"Active waivers ({len(active)}; {len(soon)} expiring within {EXPIRING_SOON_DAYS} days)",
        intro=intro,
        header=("#", "Mutes", "Expires", "Reason", "Owner", "Rules", "Resources"),
        rows=active,
        cells=_active_waiver_cells,
    )


def _active_waiver_cells(w: Mapping[str, Any]) -> list[str]:
    mutes = ", ".join(f"{n} {sev}" for sev, n in w["mutes_by_severity"].items())
    expires = f"{w['expires']} (in {_plural(w['days_left'], 'day')})"
    if w["expiring_soon"]:
        expires = f"⚠️ **{expires}**"
    cells = _waiver_cells(w)
    return [_waiver_number(w), f"{w['mutes']} ({mutes})" if mutes else "0", expires, cells[0], cells[1], *cells[3:]]


def _waiver_number(w: Mapping[str, Any]) -> str:
    """``2 (line 11)``: the entry's number as people count them (index + 1 in an older file), and its line."""
    number = w.get("number", w["index"] + 1)
    return f"{number} (line {w['line']})" if "line" in w else str(number)


def _baseline_sections(doc: Mapping[str, Any]) -> list[_Section]:
    baseline = doc["baseline"]
    new = sorted((f for f in doc["findings"] if f["baseline"]["state"] in ("new", "regressed")), key=_severity_first)
    waived = sorted((f for f in doc["findings"] if f["baseline"]["state"] == "newly_waived"), key=_severity_first)
    return [
        _Section(
            title=f"New since baseline ({len(new)})",
            intro="FAIL findings that did not fail in the baseline: new, or regressed from PASS, NOT_APPLICABLE "
                  "or MUTED.",
            header=("Severity", "State", "Rule", "Resource", "Message"),
            rows=new,
            cells=lambda f: [f["severity"], _state_cell(f["baseline"]), *_finding_cells(f)[1:]],
            empty="No finding fails that did not fail in the baseline.",
        ),
        _Section(
            title=f"Newly waived since baseline ({len(waived)})",
            intro="FAIL findings a waiver mutes now that were not muted in the baseline: risk accepted since then. "
                  "MUTED findings never fail the build.",
            header=("Severity", "Rule", "Resource", "Before", "Reason", "Owner", "Expires"),
            rows=waived,
            cells=_newly_waived_cells,
            empty="No waiver mutes a finding that was not muted in the baseline.",
        ),
        _Section(
            title=f"Resolved since baseline ({len(baseline['resolved'])})",
            intro="",
            header=("Severity", "Rule", "Resource", "Now"),
            rows=baseline["resolved"],
            cells=lambda p: [p["severity"], code(p["rule_id"]), _previous_resource(p),
                             p["status"] or "gone (its scope was scanned)"],
        ),
        _Section(
            title=f"Baseline failures this scan could not re-check ({len(baseline['unverified'])})",
            intro="Not counted as resolved: their state is unknown.",
            header=("Severity", "Rule", "Resource", "Why"),
            rows=baseline["unverified"],
            cells=lambda p: [p["severity"], code(p["rule_id"]), _previous_resource(p),
                             escape_text(p["reason"], CELL_TEXT)],
        ),
    ]


def _previous_resource(p: Mapping[str, Any]) -> str:
    """A baseline failure's resource by its display name, as the other tables name theirs; by its id when the
    comparison does not record what names it (a findings file of an older version)."""
    if not p.get("provider"):
        return code(p["resource_id"])
    name = display_name(p["provider"], p["account"], p["region"], p["resource_id"], p["resource_name"])
    return code(name, CELL_RESOURCE)


def _state_cell(mark: Mapping[str, Any]) -> str:
    if mark["state"] == "regressed":
        return f"regressed (was {mark['previous_status']})"
    return str(mark["state"]).replace("_", " ")


def _newly_waived_cells(f: Mapping[str, Any]) -> list[str]:
    waiver = f["waiver"]
    before = f["baseline"]["previous_status"] or "not in the baseline"
    return [*_finding_cells(f)[:3], before, escape_text(waiver["reason"], CELL_TEXT),
            escape_text(waiver["owner"], CELL_ID), waiver["expires"]]


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _finding_cells(f: Mapping[str, Any]) -> list[str]:
    resource = display_name(f["provider"], f["account"], f["region"], f["resource_id"], f["resource_name"])
    return [f["severity"], code(f["rule_id"]), code(resource, CELL_RESOURCE), escape_text(f["message"], CELL_TEXT)]


def _waiver_cells(w: Mapping[str, Any]) -> list[str]:
    return [
        escape_text(w["reason"], CELL_TEXT),
        escape_text(w["owner"], CELL_ID),
        w["expires"],
        ", ".join(code(r) for r in w["rules"][:5]) + (" …" if len(w["rules"]) > 5 else ""),
        ", ".join(code(r) for r in w["resources"][:5]) + (" …" if len(w["resources"]) > 5 else ""),
    ]


def _severity_first(f: Mapping[str, Any]) -> tuple[int, str, str]:
    return -_SEVERITY_RANK[f["severity"]], f["rule_id"], f["resource_id"]
