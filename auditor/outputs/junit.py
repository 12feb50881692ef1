"""junit.xml: the findings as JUnit XML, for the test-report views of Jenkins, GitLab and others.

Rendered from the findings document (``findings_json.to_document``), so a report re-rendered from
findings.json by ``auditor report`` is byte for byte the scan's.

Mapping (the structure of the Ant/Jenkins ``junit-10.xsd``):

- ``<testsuites name="auditor">`` with the totals; one ``<testsuite>`` per rule (``name`` = rule id,
  ``<properties>`` with its title, severity, provider and resource type);
- one ``<testcase>`` per finding: ``classname`` = resource type, ``name`` = the resource's display name
  (``auditor.outputs.names``: unambiguous within the rule, and the same on every run for the same resource);
- the JUnit verdicts are the gate's: a FAIL that gates the build (``ScanResult.gating()``: at or above
  ``--fail-on``, and with ``--fail-on-new`` new or regressed) -> ``<failure message=MESSAGE type=SEVERITY>``
  (text: message, evidence, remediation, whether an automatic fix exists); a FAIL that does not gate ->
  a passed ``<testcase>`` whose ``system-out`` holds the FAIL, why it does not gate (below ``--fail-on``,
  or still failing since the baseline under ``--fail-on-new``) and the same details, and each rule suite
  counts them in its ``fail.not_gating`` property (``fail.total`` counts every FAIL); ERROR ->
  ``<error type="ERROR">`` whatever the gate (an incomplete scan exits 2); MUTED ->
  ``<skipped message="waived: REASON (OWNER, expires DATE)">`` ("newly waived: ..." when its baseline state
  is ``newly_waived``: risk accepted since the baseline); NOT_APPLICABLE ->
  ``<skipped message="not applicable">`` (the rule does not apply: neither a pass nor a failure);
  PASS -> a plain ``<testcase>``. ``<testsuites>`` carries the totals of its suites: ``tests``,
  ``failures`` (the gating FAILs, so 0 exactly when no FAIL gates) and ``errors``;
- a last ``<testsuite name="auditor.coverage">`` with one testcase per collection unit, an ``<error>``
  for each one that could not be read, so an incomplete scan shows up even in a view that only
  counts errors.
- with ``--baseline``: each rule suite's ``<properties>`` count its findings by baseline state
  (``baseline.new``, ``baseline.regressed``, ``baseline.newly_waived``, ...; ``baseline.resolved`` includes the
  resolved findings that are gone), each testcase's failure text and ``system-out`` say its state, and a testsuite
  ``auditor.baseline`` without testcases carries the comparison in its properties (baseline file and start,
  ``fail_on_new``, the counts). The JUnit schema has no properties on a testcase.

XML is built with ``xml.etree.ElementTree`` (which escapes), after removing the characters XML 1.0
forbids (control characters, lone surrogates, U+FFFE/U+FFFF): a cloud API can return them, and a
parser rejects the whole file for one of them.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET  # building only: no untrusted XML is parsed here
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from auditor.model import ScanResult, Severity, Status
from auditor.outputs.findings_json import TOOL_NAME, to_document
from auditor.outputs.names import display_name
from auditor.outputs.owner_view import owner_name

COVERAGE_SUITE = f"{TOOL_NAME}.coverage"
BASELINE_SUITE = f"{TOOL_NAME}.baseline"
BASELINE_STATES = ("new", "regressed", "newly_waived", "still_failing", "resolved", "unknown", "unchanged")
_ILLEGAL_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(value: object) -> str:
    """``value`` as text XML 1.0 can carry: characters it forbids are removed."""
    return _ILLEGAL_XML.sub("", str(value))


def render(result: ScanResult) -> str:
    return render_document(to_document(result))


def render_document(doc: Mapping[str, Any]) -> str:
    root = to_element(doc)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def to_element(doc: Mapping[str, Any]) -> ET.Element:
    rules: Mapping[str, Mapping[str, Any]] = doc["rules"]
    by_rule: dict[str, list[Mapping[str, Any]]] = {rule_id: [] for rule_id in sorted(rules)}
    for f in doc["findings"]:
        by_rule[f["rule_id"]].append(f)
    timestamp = doc["scan"]["started"].removesuffix("Z")  # Ant's format: local ISO 8601, no zone
    baseline = doc.get("baseline")
    gone = _gone_resolved(baseline)
    fail_on = Severity(doc["scan"]["fail_on"])
    suites = [_rule_suite(rules[rule_id], findings, timestamp, baseline is not None, gone.get(rule_id, 0), fail_on)
              for rule_id, findings in by_rule.items()]
    if doc["coverage"]:
        suites.append(_coverage_suite(doc["coverage"], timestamp))
    if baseline is not None:
        suites.append(_baseline_suite(baseline, doc["scan"], timestamp))
    root = ET.Element("testsuites", _attrs(
        name=TOOL_NAME,
        tests=sum(int(s.get("tests", "0")) for s in suites),
        failures=sum(int(s.get("failures", "0")) for s in suites),
        errors=sum(int(s.get("errors", "0")) for s in suites),
        time=_duration(doc["scan"]),
    ))
    root.extend(suites)
    return root


def _rule_suite(rule: Mapping[str, Any], findings: Sequence[Mapping[str, Any]], timestamp: str, compared: bool,
                gone_resolved: int, fail_on: Severity) -> ET.Element:
    statuses = [f["status"] for f in findings]
    fails = [f for f in findings if f["status"] == Status.FAIL.value]
    gating = sum(1 for f in fails if f["gating"])
    suite = ET.Element("testsuite", _attrs(
        name=rule["id"],
        tests=len(findings),
        failures=gating,
        errors=statuses.count(Status.ERROR.value),
        skipped=statuses.count(Status.MUTED.value) + statuses.count(Status.NOT_APPLICABLE.value),
        time="0",
        timestamp=timestamp,
    ))
    properties = ET.SubElement(suite, "properties")
    for key in ("title", "severity", "provider", "resource_type"):
        ET.SubElement(properties, "property", _attrs(name=key, value=rule[key]))
    frameworks = "; ".join(f"{ref['framework']} {ref['control']}" for ref in rule["frameworks"])
    if frameworks:
        ET.SubElement(properties, "property", _attrs(name="frameworks", value=frameworks))
    ET.SubElement(properties, "property", _attrs(name="fail.total", value=len(fails)))
    ET.SubElement(properties, "property", _attrs(name="fail.not_gating", value=len(fails) - gating))
    if compared:
        states = [f["baseline"]["state"] for f in findings]
        for state in BASELINE_STATES:
            n = states.count(state) + (gone_resolved if state == "resolved" else 0)
            ET.SubElement(properties, "property", _attrs(name=f"baseline.{state}", value=n))
    for f in findings:
        suite.append(_testcase(f, rule, fail_on))
    return suite


def _testcase(f: Mapping[str, Any], rule: Mapping[str, Any], fail_on: Severity) -> ET.Element:
    name = display_name(f["provider"], f["account"], f["region"], f["resource_id"], f["resource_name"])
    case = ET.Element("testcase", _attrs(classname=f["resource_type"], name=name, time="0"))
    status: str = f["status"]
    not_gating = ""
    if status == Status.FAIL.value and f["gating"]:
        failure = ET.SubElement(case, "failure", _attrs(message=f["message"], type=f["severity"]))
        failure.text = clean(_details(f, rule))
    elif status == Status.FAIL.value:  # reported, but it does not fail the build: a passed testcase
        not_gating = f"\ndoes not gate the build: {_why_not_gating(f, fail_on)}\n\n{_details(f, rule)}"
    elif status == Status.ERROR.value:
        error = ET.SubElement(case, "error", _attrs(message=f"could not be evaluated: {f['message']}", type="ERROR"))
        error.text = clean(_details(f, rule))
    elif status == Status.MUTED.value:
        waiver = f.get("waiver") or {"reason": "", "owner": "", "expires": ""}
        waived = "newly waived" if f.get("baseline", {}).get("state") == "newly_waived" else "waived"
        message = f"{waived}: {waiver['reason']} ({waiver['owner']}, expires {waiver['expires']})"
        ET.SubElement(case, "skipped", _attrs(message=message)).text = clean(f["message"])
    elif status == Status.NOT_APPLICABLE.value:
        ET.SubElement(case, "skipped", _attrs(message="not applicable")).text = clean(f["message"])
    out = ET.SubElement(case, "system-out")
    out.text = clean(
        f"finding {f['id']}\nresource {f['resource_name'] or '-'} ({f['provider']} account {f['account']}, "
        f"region {f['region']})\n{f['status']} {f['severity']}: {f['message']}"
        + (f"\nbaseline: {baseline_phrase(f['baseline'])}" if "baseline" in f else "")
        + not_gating
    )
    return case


def _why_not_gating(f: Mapping[str, Any], fail_on: Severity) -> str:
    """Why a FAIL does not gate: its severity is below the gate, or (--fail-on-new) it failed before."""
    if Severity(f["severity"]).rank < fail_on.rank:
        return f"{f['severity']} is below --fail-on {fail_on.value}"
    return "it was already failing in the baseline (--fail-on-new gates only new or regressed FAILs)"


def baseline_phrase(mark: Mapping[str, Any]) -> str:
    """``regressed (PASS in the baseline)``, ``new (not in the baseline)``."""
    before = f"{mark['previous_status']} in the baseline" if mark["previous_status"] else "not in the baseline"
    return f"{mark['state'].replace('_', ' ')} ({before})"


def _gone_resolved(baseline: Mapping[str, Any] | None) -> dict[str, int]:
    """Per rule, the resolved findings that are no longer findings (they have no testcase)."""
    counts: dict[str, int] = {}
    for p in (baseline or {}).get("resolved", ()):
        if p["status"] is None:
            counts[p["rule_id"]] = counts.get(p["rule_id"], 0) + 1
    return counts


def _baseline_suite(baseline: Mapping[str, Any], scan: Mapping[str, Any], timestamp: str) -> ET.Element:
    suite = ET.Element("testsuite", _attrs(name=BASELINE_SUITE, tests=0, failures=0, errors=0, skipped=0, time="0",
                                           timestamp=timestamp))
    properties = ET.SubElement(suite, "properties")
    values: list[tuple[str, object]] = [("baseline.file", baseline["file"]), ("baseline.started", baseline["started"]),
                                        ("fail_on_new", "true" if scan.get("fail_on_new") else "false")]
    values += [(f"baseline.{state}", baseline["counts"][state]) for state in BASELINE_STATES]
    for name, value in values:
        ET.SubElement(properties, "property", _attrs(name=name, value=value))
    return suite


def _details(f: Mapping[str, Any], rule: Mapping[str, Any]) -> str:
    remediation = f["remediation"]
    lines = [
        f["message"],
        "",
        f"Severity: {f['severity']}" + (" (gates the build)" if f["gating"] else ""),
        *([f"Baseline: {baseline_phrase(f['baseline'])}"] if "baseline" in f else []),
        f"Resource: {f['resource_id']}",
        f"Account: {f['account']}  Region: {f['region']}",
        f"Owner: {owner_name(f)}",
        f"Finding id: {f['id']}",
    ]
    if f["evidence"]:
        lines += ["", "Evidence:"]
        lines += [f"  {key} = {json.dumps(f['evidence'][key], sort_keys=True, ensure_ascii=False)}"
                  for key in sorted(f["evidence"])]
    lines += ["", "Remediation:", f"  {remediation['guidance'] or '-'}",
              "Automatic fix: " + ("available (auditor remediate)" if remediation["automatic"] else "not available")]
    if rule["references"]:
        lines += ["References:", *(f"  {ref}" for ref in rule["references"])]
    return "\n".join(lines)


def _coverage_suite(coverage: Sequence[Mapping[str, Any]], timestamp: str) -> ET.Element:
    failed = [row for row in coverage if row["status"] == "error"]
    suite = ET.Element("testsuite", _attrs(
        name=COVERAGE_SUITE, tests=len(coverage), failures=0, errors=len(failed), skipped=0, time="0",
        timestamp=timestamp,
    ))
    for row in coverage:
        name = f"{row['account']}/{row['region']}/{row['service']}"
        case = ET.SubElement(suite, "testcase", _attrs(classname=f"{COVERAGE_SUITE}.{row['provider']}", name=name,
                                                       time="0"))
        if row["status"] == "error":
            error = ET.SubElement(case, "error", _attrs(message=f"could not collect: {row['error']}",
                                                        type="collection"))
            error.text = clean(f"Scope {row['scope_id']} could not be read: {row['error']}\n"
                               f"Rules of {', '.join(row['resource_types'])} there are ERROR, never PASS.")
        else:
            ET.SubElement(case, "system-out").text = clean(f"{row['resources']} resources collected")
    return suite


def _attrs(**values: object) -> dict[str, str]:
    return {key: clean(value) for key, value in values.items()}


def _duration(scan: Mapping[str, Any]) -> str:
    seconds = (datetime.fromisoformat(scan["ended"]) - datetime.fromisoformat(scan["started"])).total_seconds()
    return f"{max(seconds, 0.0):.3f}"
