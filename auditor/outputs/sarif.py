"""report.sarif: SARIF 2.1.0 for GitHub code scanning (and any other SARIF consumer).

Rendered from the findings document (``findings_json.to_document``), so a report re-rendered from
findings.json by ``auditor report`` is byte for byte the scan's.

One run; ``tool.driver`` lists every evaluated rule with its title, rationale, help (remediation,
whether an automatic fix exists, anchors, references, frameworks) and GitHub's ``security-severity``.

Which findings become results:

- FAIL: a result at the level of its severity (critical/high: error, medium: warning, low/info: note).
- ERROR: a result with ``kind: "fail"`` and ``level: "error"`` whatever the rule's severity, its message
  starting "Could not be evaluated:". SARIF's ``kind: "review"`` would fit the meaning, but the spec then
  forces ``level: "none"``, which code scanning shows as the least important alert: an undecided check
  must be at least as visible as a failure (it makes the exit code 2, which outranks 1). Keeping the
  finding's fingerprint also keeps an open alert open instead of letting GitHub close it as fixed.
  ``properties.status`` says ``ERROR``, and the run's invocation fails with a notification.
- MUTED: a result with ``suppressions: [{kind: external, status: accepted, justification: reason}]``
  (the waiver's owner and expiry under the suppression's properties); GitHub shows it as dismissed.
- PASS and NOT_APPLICABLE: omitted; ``run.properties.auditor.counts`` says how many.

Cloud resources have no file, and GitHub needs a physical location to show an alert: each result points
at a stable pseudo path built from the resource id (:mod:`auditor.outputs.sarif_locations`), and its
logical location carries the full id. ``partialFingerprints`` holds the finding id (a hash of rule and
resource), stable across runs.

With ``--baseline`` each result carries ``baselineState`` (SARIF 2.1.0 §3.27.24), decided on SARIF's own
terms: whether the baseline run, rendered as SARIF, had a result with the same fingerprint (it had one for
its FAIL, ERROR and MUTED findings, none for PASS and NOT_APPLICABLE), and whether that result changed:

- ``new``: no result in the baseline: auditor's ``new`` (absent before), ``regressed`` from PASS or
  NOT_APPLICABLE (a PASS is not a SARIF result, so the alert is new to any SARIF consumer), and
  ``newly_waived`` from absent, PASS or NOT_APPLICABLE (a new result, born suppressed);
- ``unchanged``: the same status and severity as before (``still_failing``; MUTED or ERROR both times);
- ``updated``: a result before, but its status or severity changed: ``regressed`` from MUTED (the waiver
  ended, the suppression is gone), a FAIL that became ERROR (auditor's ``unknown``), ERROR that became
  FAIL, a new waiver (FAIL or ERROR -> MUTED: auditor's ``newly_waived``), a severity override;
- ``absent`` is never written: a resolved finding is not a result. GitHub code scanning ignores
  ``baselineState`` and would open an alert for an ``absent`` result; it closes an alert when its
  fingerprint stops appearing, which is what resolved means. The resolved count is in ``run.properties``.

``properties.baseline_state`` keeps auditor's own state (new, still_failing, regressed, newly_waived, unknown,
unchanged) beside it. There is no ``run.baselineGuid`` (the baseline findings file has no SARIF run guid):
the baseline run is named out of band, as §3.27.24 allows, in ``run.properties.auditor.baseline`` (file,
start, counts).

GitHub's limits: at most ``MAX_RESULTS`` results per run (the most severe FAIL and ERROR first, then
MUTED; the cut is stated in ``run.properties`` and in a tool notification), ``MAX_RULES`` rules and
``MAX_TAGS`` tags per rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from auditor.model import ScanResult, Severity, Status
from auditor.outputs.findings_json import TOOL_NAME, to_document
from auditor.outputs.markdown_escape import escape_block, escape_text
from auditor.outputs.owner_view import owner_name
from auditor.outputs.sarif_locations import location

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/auditor/"
FINGERPRINT = "auditorFinding/v1"

MAX_RESULTS = 25_000
MAX_RULES = 1_000
MAX_TAGS = 20
MAX_NOTIFICATIONS = 100
MAX_EVIDENCE = 1_000  # characters of JSON a result's evidence may take in properties

# GitHub's convention: over 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low. GitHub reads the
# value as a string holding a number, as its documentation writes it.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}

REPORTED = (Status.FAIL.value, Status.ERROR.value, Status.MUTED.value)
OMITTED = (Status.PASS.value, Status.NOT_APPLICABLE.value)
_SEVERITY_RANK = {s.value: s.rank for s in Severity}
_PLACEHOLDER = "auditor:results"
_SAFE_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#@!$&'()*+,;=%]+")


def render(result: ScanResult) -> str:
    return render_document(to_document(result))


def render_document(doc: Mapping[str, Any]) -> str:
    """The SARIF log as text: keys sorted, one result a line (100,000 findings stay fast to write)."""
    log = to_sarif(doc)
    run = log["runs"][0]
    results = run["results"]
    run["results"] = _PLACEHOLDER
    body = json.dumps(log, indent=2, sort_keys=True, ensure_ascii=False)
    lines = ",\n".join("        " + json.dumps(r, sort_keys=True, ensure_ascii=False) for r in results)
    text = f"[\n{lines}\n      ]" if results else "[]"
    # Inside a JSON string every quote is escaped, so only the real key can match with bare quotes.
    marker = f'"results": "{_PLACEHOLDER}"'
    if body.count(marker) != 1:
        raise RuntimeError("SARIF rendering: the results placeholder is not in the log exactly once")
    return body.replace(marker, f'"results": {text}') + "\n"


def to_sarif(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The SARIF log of a findings document, as plain JSON values."""
    rules: Mapping[str, Mapping[str, Any]] = doc["rules"]
    reported = sorted((f for f in doc["findings"] if f["status"] in REPORTED), key=_priority)
    kept = reported[:MAX_RESULTS]
    referenced = {f["rule_id"] for f in kept}
    # Rules with results first when more than MAX_RULES would be listed, then in id order.
    rule_ids = sorted(sorted(rules, key=lambda r: (r not in referenced, r))[:MAX_RULES])
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    without_rule = sum(1 for f in kept if f["rule_id"] not in index)
    kept = [f for f in kept if f["rule_id"] in index]
    omitted = len(reported) - len(kept)
    counts = {
        "findings": doc["summary"]["total"],
        "by_status": doc["summary"]["by_status"],
        "results": len(kept),
        "omitted": {
            **{status: doc["summary"]["by_status"][status] for status in OMITTED},
            "over_result_limit": omitted - without_rule,
            "over_rule_limit": without_rule,
        },
    }
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {
                "name": TOOL_NAME,
                "version": doc["tool"]["version"],
                "informationUri": INFORMATION_URI,
                "rules": [_rule(rules[rule_id]) for rule_id in rule_ids],
            }},
            "invocations": [_invocation(doc, omitted, len(reported))],
            "properties": {"auditor": _run_properties(doc, counts, omitted, len(reported))},
            "results": [_result(f, index[f["rule_id"]]) for f in kept],
        }],
    }


def _run_properties(doc: Mapping[str, Any], counts: Mapping[str, Any], omitted: int, reported: int) -> dict[str, Any]:
    scan = doc["scan"]
    properties: dict[str, Any] = {
        "scan": {"complete": scan["complete"], "exit_code": scan["exit_code"], "fail_on": scan["fail_on"],
                 "scopes": scan["scopes"]},
        "counts": counts,
        "truncated": omitted > 0,
        "result_limit": MAX_RESULTS,
        "note": _omission_note(counts["omitted"], omitted, reported),
    }
    baseline = doc.get("baseline")
    if baseline is not None:
        properties["scan"]["fail_on_new"] = scan.get("fail_on_new", False)
        properties["baseline"] = {
            "file": baseline["file"],
            "started": baseline["started"],
            "counts": baseline["counts"],
            "note": "Resolved findings are not results (GitHub closes an alert whose fingerprint is no longer "
                    "uploaded); findings.json lists them under baseline.resolved.",
        }
    return properties


def sarif_baseline_state(f: Mapping[str, Any]) -> str:
    """``new``, ``unchanged`` or ``updated``: whether the baseline run had this result, and whether it changed."""
    mark = f["baseline"]
    if mark["previous_status"] not in REPORTED:  # absent, PASS or NOT_APPLICABLE: no result in the baseline
        return "new"
    if mark["previous_status"] == f["status"] and mark["previous_severity"] == f["severity"]:
        return "unchanged"
    return "updated"


def _priority(f: Mapping[str, Any]) -> tuple[int, int, str, str]:
    """What survives the result cap: FAIL and ERROR before MUTED (already dismissed), worst first."""
    return int(f["status"] == Status.MUTED.value), -_SEVERITY_RANK[f["severity"]], f["rule_id"], f["resource_id"]


def _omission_note(omitted: Mapping[str, int], cut: int, reported: int) -> str:
    note = (f"PASS ({omitted['PASS']}) and NOT_APPLICABLE ({omitted['NOT_APPLICABLE']}) findings are not "
            "SARIF results; findings.json has every finding.")
    if cut:
        note += " " + _cap_message(cut, reported)
    return note


def _cap_message(cut: int, reported: int) -> str:
    return (f"{cut} of {reported} FAIL/ERROR/MUTED results were left out to stay within GitHub code scanning's "
            f"limits ({MAX_RESULTS} results, {MAX_RULES} rules per run); the most severe were kept. "
            "See findings.json or report.html for all of them.")


# --- rules -----------------------------------------------------------------------------------------


def _rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    severity: str = rule["severity"]
    title = rule["title"] or rule["id"]
    remediation = rule["remediation"]
    frameworks = [f"{ref['framework']} {ref['control']}" for ref in rule["frameworks"]]
    tags = list(dict.fromkeys(["security", "compliance", rule["provider"], rule["resource_type"],
                               *(ref["framework"] for ref in rule["frameworks"])]))[:MAX_TAGS]
    entry: dict[str, Any] = {
        "id": rule["id"],
        "name": _pascal(rule["id"]),
        "shortDescription": {"text": title},
        "fullDescription": {"text": rule["rationale"] or title},
        "help": {"text": _help_text(rule), "markdown": _help_markdown(rule)},
        "defaultConfiguration": {"level": LEVEL[severity]},
        "properties": {
            "severity": severity,
            "security-severity": SECURITY_SEVERITY[severity],
            "precision": "very-high",
            "tags": tags,
            "provider": rule["provider"],
            "resource_type": rule["resource_type"],
            "frameworks": frameworks,
            "automatic_fix": remediation["automatic"],
        },
    }
    help_uri = next((ref for ref in rule["references"] if _is_safe_url(ref)), None)
    if help_uri is not None:
        entry["helpUri"] = help_uri
    return entry


def _pascal(rule_id: str) -> str:
    """``aws.sagemaker.model.network_isolation`` -> ``AwsSagemakerModelNetworkIsolation``."""
    return "".join(word[:1].upper() + word[1:] for word in re.split(r"[^A-Za-z0-9]+", rule_id) if word)


def _is_safe_url(value: str) -> bool:
    if not _SAFE_URL.fullmatch(value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _help_text(rule: Mapping[str, Any]) -> str:
    remediation = rule["remediation"]
    lines = [remediation["guidance"] or "No remediation guidance.", "", _automatic(remediation)]
    for heading, items in (("Anchors", rule["anchors"]), ("References", rule["references"]),
                           ("Frameworks", [_framework(ref) for ref in rule["frameworks"]])):
        if items:
            lines += ["", f"{heading}:", *(f"- {item}" for item in items)]
    return "\n".join(lines)


def _help_markdown(rule: Mapping[str, Any]) -> str:
    remediation = rule["remediation"]
    lines = ["**Remediation**", "", escape_block(remediation["guidance"] or "No remediation guidance."), "",
             escape_text(_automatic(remediation))]
    references = [f"<{ref}>" if _is_safe_url(ref) else escape_text(ref) for ref in rule["references"]]
    for heading, items in (("Anchors", [escape_text(a) for a in rule["anchors"]]), ("References", references),
                           ("Frameworks", [escape_text(_framework(ref)) for ref in rule["frameworks"]])):
        if items:
            lines += ["", f"**{heading}**", "", *(f"- {item}" for item in items)]
    return "\n".join(lines)


def _automatic(remediation: Mapping[str, Any]) -> str:
    if remediation["automatic"]:
        return f"Automatic fix: available (auditor remediate, remediator {remediation['remediator']})."
    return "Automatic fix: not available."


def _framework(ref: Mapping[str, Any]) -> str:
    text = f"{ref['framework']} {ref['control']}"
    return f"{text}: {ref['title']}" if ref["title"] else text


# --- results ---------------------------------------------------------------------------------------


def _result(f: Mapping[str, Any], rule_index: int) -> dict[str, Any]:
    status: str = f["status"]
    result: dict[str, Any] = {
        "ruleId": f["rule_id"],
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": "error" if status == Status.ERROR.value else LEVEL[f["severity"]],
        "message": {"text": _message(f)},
        "locations": [location(f)],
        "partialFingerprints": {FINGERPRINT: f["id"]},
        "properties": {
            "status": status,
            "severity": f["severity"],
            "gating": f["gating"],
            "finding_id": f["id"],
            "evidence": _evidence(f["evidence"]),
            "owner": owner_name(f),
        },
    }
    mark = f.get("baseline")
    if mark is not None:
        result["baselineState"] = sarif_baseline_state(f)
        result["properties"]["baseline_state"] = mark["state"]
        result["properties"]["previous_status"] = mark["previous_status"]
    waiver = f.get("waiver")
    if status == Status.MUTED.value and waiver is not None:
        result["suppressions"] = [{
            "kind": "external",
            "status": "accepted",
            "justification": waiver["reason"],
            "properties": {"owner": waiver["owner"], "expires": waiver["expires"]},
        }]
    return result


def _evidence(evidence: Mapping[str, Any]) -> Mapping[str, Any]:
    """The evidence, unless it is large: 25,000 results must stay under GitHub's 10 MB (gzip) upload."""
    if len(json.dumps(evidence, ensure_ascii=False)) <= MAX_EVIDENCE:
        return evidence
    return {"truncated": f"evidence over {MAX_EVIDENCE} characters: see findings.json"}


def _message(f: Mapping[str, Any]) -> str:
    text = f["message"] or f["title"] or f["rule_id"]
    if f["status"] == Status.ERROR.value:
        return f"Could not be evaluated: {text}"
    waiver = f.get("waiver")
    if f["status"] == Status.MUTED.value and waiver is not None:
        return f"{text} (waived: {waiver['reason']}; owner {waiver['owner']}, expires {waiver['expires']})"
    return str(text)


# --- invocation ------------------------------------------------------------------------------------


def _invocation(doc: Mapping[str, Any], cut: int, reported: int) -> dict[str, Any]:
    scan = doc["scan"]
    notes: list[dict[str, Any]] = []
    failed = [row for row in doc["coverage"] if row["status"] == "error"]
    for row in failed[:MAX_NOTIFICATIONS]:
        notes.append(_note("error", "auditor/coverage",
                           f"Could not collect {row['service']} in {row['provider']} account {row['account']}, "
                           f"region {row['region']}: {row['error']}. Its resources were not evaluated."))
    if len(failed) > MAX_NOTIFICATIONS:
        notes.append(_note("error", "auditor/coverage",
                           f"… and {len(failed) - MAX_NOTIFICATIONS} more collection failures (see findings.json)."))
    errors = doc["summary"]["by_status"][Status.ERROR.value]
    if errors:
        notes.append(_note("error", "auditor/undecided",
                           f"{errors} rule verdicts could not be decided (ERROR); they are results with level "
                           "error and a message starting 'Could not be evaluated'."))
    if cut:
        notes.append(_note("warning", "auditor/result-limit", _cap_message(cut, reported)))
    return {
        "executionSuccessful": bool(scan["complete"]),
        "exitCode": scan["exit_code"],
        "exitCodeDescription": _exit_description(scan["exit_code"], scan["fail_on"], scan.get("fail_on_new", False)),
        "startTimeUtc": scan["started"],
        "endTimeUtc": scan["ended"],
        "toolExecutionNotifications": notes,
    }


def _note(level: str, descriptor: str, text: str) -> dict[str, Any]:
    return {"level": level, "descriptor": {"id": descriptor}, "message": {"text": text}}


def _exit_description(exit_code: int, fail_on: str, fail_on_new: bool = False) -> str:
    new = "new or regressed " if fail_on_new else ""
    return {
        0: f"complete; nothing {'new ' if fail_on_new else ''}at or above {fail_on} failed",
        1: f"complete; some {new}FAIL at or above {fail_on}",
        2: "incomplete: some collection failed or some rule could not be decided",
    }.get(exit_code, "unknown")
