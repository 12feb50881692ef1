"""junit.xml reflects the gate, end to end: `auditor demo` and `auditor report` write it, the test parses it.

Only the FAILs that gate the build (at or above --fail-on; with --fail-on-new, new or regressed) are
<failure>; the other FAILs are passed testcases carrying the FAIL in system-out, counted per suite.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from auditor.outputs.names import display_name

from .helpers import Run, fake_aws_env, run_auditor

XSD = Path(__file__).parents[1] / "fixtures" / "junit" / "junit-10.xsd"
OUTCOMES = ("failure", "error", "skipped")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("demo")
    return run_auditor(["demo", "--out", str(out), "--quiet", "--format", "json", "--format", "junit"], out,
                       env=fake_aws_env(None))


def cases(out: Path) -> tuple[ET.Element, dict[tuple[str, str], tuple[ET.Element, ET.Element]]]:
    """The root of out/junit.xml (validated) and every rule testcase with its suite, by (rule id, testcase name)."""
    text = (out / "junit.xml").read_text(encoding="utf-8")
    xmlschema.XMLSchema(XSD).validate(text)
    root = ET.fromstring(text.encode("utf-8"))
    found = {(suite.get("name", ""), case.get("name", "")): (suite, case)
             for suite in root.findall("testsuite") for case in suite.findall("testcase")}
    return root, found


def outcome(case: ET.Element) -> str | None:
    tags = [child.tag for child in case if child.tag in OUTCOMES]
    assert len(tags) <= 1
    return tags[0] if tags else None


def properties(suite: ET.Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in suite.iter("property")}


def key(f: dict[str, Any]) -> tuple[str, str]:
    """A finding's testcase: its rule's suite, and the resource's display name (unique within the rule)."""
    return f["rule_id"], display_name(f["provider"], f["account"], f["region"], f["resource_id"], f["resource_name"])


def check_totals(root: ET.Element, doc: dict[str, Any]) -> None:
    suites = root.findall("testsuite")
    for attribute in ("tests", "failures", "errors"):
        assert int(root.get(attribute, "-1")) == sum(int(s.get(attribute, "0")) for s in suites), attribute
    assert int(root.get("failures", "-1")) == len(doc["summary"]["gating"])
    for suite in suites:
        if suite.get("name") not in doc["rules"]:
            continue
        mine = [f for f in doc["findings"] if f["rule_id"] == suite.get("name")]
        fails = [f for f in mine if f["status"] == "FAIL"]
        props = properties(suite)
        assert int(props["fail.total"]) == len(fails)
        assert int(props["fail.not_gating"]) == sum(1 for f in fails if not f["gating"])
        assert int(suite.get("failures", "-1")) == sum(1 for f in fails if f["gating"])


def test_demo_junit_fails_only_the_findings_that_gate(demo: Run) -> None:
    assert demo.code == 1, demo.stderr
    doc = demo.findings()
    root, found = cases(demo.out)
    # Every testcase is named uniquely within its suite (CI systems track tests by suite and name).
    assert len(found) == sum(len(suite.findall("testcase")) for suite in root.findall("testsuite"))
    gating = set(doc["summary"]["gating"])
    fails = [f for f in doc["findings"] if f["status"] == "FAIL"]
    assert gating and len(fails) > len(gating), "the demo has FAILs below --fail-on high"
    check_totals(root, doc)
    below = 0
    for f in fails:
        _, case = found[key(f)]
        if f["id"] in gating:
            assert outcome(case) == "failure", f["id"]
            continue
        below += 1
        assert outcome(case) is None, f["id"]  # a passed testcase: it does not fail the build
        out = case.findtext("system-out") or ""
        assert f"FAIL {f['severity']}: {f['message']}" in out
        assert f"does not gate the build: {f['severity']} is below --fail-on high" in out
        assert "Remediation:" in out and f"Finding id: {f['id']}" in out
    assert below == len(fails) - len(gating)
    for f in doc["findings"]:
        if f["status"] == "NOT_APPLICABLE":
            skipped = found[key(f)][1].find("skipped")
            assert skipped is not None and skipped.get("message") == "not applicable"
        elif f["status"] == "PASS":
            assert outcome(found[key(f)][1]) is None


def test_report_under_a_stricter_gate_fails_only_the_critical_findings(demo: Run, tmp_path: Path) -> None:
    doc = demo.findings()
    doc["scan"]["fail_on"] = "critical"  # what a scan with --fail-on critical records
    edited = tmp_path / "critical.json"
    edited.write_text(json.dumps(doc))
    out = tmp_path / "out"
    r = run_auditor(["report", str(edited), "--format", "json", "--format", "junit", "--out", str(out)], out)
    assert (out / "junit.xml").is_file(), r.stderr
    again = json.loads((out / "findings.json").read_text())
    criticals = {f["id"] for f in again["findings"] if f["status"] == "FAIL" and f["severity"] == "critical"}
    assert criticals and set(again["summary"]["gating"]) == criticals
    root, found = cases(out)
    check_totals(root, again)
    assert root.get("failures") == str(len(criticals))
    high = next(f for f in again["findings"] if f["status"] == "FAIL" and f["severity"] == "high")
    case = found[key(high)][1]
    assert outcome(case) is None
    assert "does not gate the build: high is below --fail-on critical" in (case.findtext("system-out") or "")


def test_report_with_fail_on_new_fails_only_the_regression_and_keeps_errors(demo: Run, tmp_path: Path) -> None:
    doc = demo.findings()
    highs = [f for f in doc["findings"] if f["status"] == "FAIL" and f["severity"] in ("high", "critical")]
    regressed, undecided, still = highs[0], highs[1], highs[2]
    baseline_doc = json.loads(json.dumps(doc))
    [before] = [f for f in baseline_doc["findings"] if f["id"] == regressed["id"]]
    before.update(status="PASS", gating=False)
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(baseline_doc))
    doc["scan"]["fail_on_new"] = True  # what a scan with --fail-on-new records
    for f in doc["findings"]:
        if f["id"] == undecided["id"]:
            f.update(status="ERROR", gating=False, message="KmsKeyId was not collected.")
    current = tmp_path / "current.json"
    current.write_text(json.dumps(doc))

    out = tmp_path / "out"
    r = run_auditor(["report", str(current), "--baseline", str(baseline), "--format", "json", "--format", "junit",
                     "--out", str(out)], out)
    assert (out / "junit.xml").is_file(), r.stderr
    again = json.loads((out / "findings.json").read_text())
    assert again["summary"]["gating"] == [regressed["id"]]
    root, found = cases(out)
    check_totals(root, again)
    assert (root.get("failures"), root.get("errors")) == ("1", "1")
    failure = found[key(regressed)][1].find("failure")
    assert failure is not None and "Baseline: regressed (PASS in the baseline)" in (failure.text or "")
    error = found[key(undecided)][1].find("error")
    assert error is not None and error.get("message") == "could not be evaluated: KmsKeyId was not collected."
    case = found[key(still)][1]
    assert outcome(case) is None
    text = case.findtext("system-out") or ""
    assert "baseline: still failing (FAIL in the baseline)" in text
    assert "does not gate the build: it was already failing in the baseline" in text
