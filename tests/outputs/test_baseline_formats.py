"""Baseline marks in every format: Markdown, SARIF (baselineState, official schema), JUnit (XSD), CSV."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import xmlschema

from auditor.findings.compare import with_baseline
from auditor.findings.document import from_document
from auditor.model import ScanResult, Severity, Status
from auditor.outputs import csv as csv_format
from auditor.outputs import junit, markdown, sarif
from auditor.outputs.findings_json import render, to_document
from auditor.outputs.formats import by_name

from .builders import (
    ACCOUNT,
    ACTIVE_WAIVER,
    AUTH_MODE,
    AZURE_ENDPOINT,
    CAPTURE,
    ISOLATION,
    KMS,
    REGION,
    STARTED,
    SUBSCRIPTION,
    base_findings,
    finding,
    make_result,
    sm_arn,
)

SARIF_SCHEMA = Path(__file__).parents[1] / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"
JUNIT_XSD = Path(__file__).parents[1] / "fixtures" / "junit" / "junit-10.xsd"
BASELINE_FILE = "previous/findings.json"


def previous() -> ScanResult:
    """The baseline: what the current findings of builders.make_result() were the day before."""
    return make_result(
        started_at=STARTED.replace(day=1),
        finished_at=STARTED.replace(day=1, hour=4),
        findings=(
            finding(KMS, sm_arn("endpoint-config", "ep-a"), Status.FAIL),  # -> still_failing
            finding(KMS, sm_arn("endpoint-config", "ep-b"), Status.PASS),  # -> unchanged
            # CAPTURE ep-a absent                                          # -> new (FAIL, medium)
            finding(CAPTURE, sm_arn("endpoint-config", "ep-b"), Status.FAIL),  # -> resolved (PASS now)
            finding(ISOLATION, sm_arn("model", "m-a"), Status.PASS),  # -> unchanged
            finding(ISOLATION, sm_arn("model", "m-b"), Status.PASS),  # -> regressed (FAIL, critical: gates)
            finding(ISOLATION, sm_arn("model", "m-gone"), Status.FAIL),  # -> resolved, gone
            # an Azure id in other case: the same finding; FAIL before, MUTED now -> newly_waived (SARIF: updated)
            finding(AUTH_MODE, AZURE_ENDPOINT.upper().replace("/SUBSCRIPTIONS/", "/subscriptions/"), Status.FAIL),
        ),
    )


def compared(fail_on_new: bool = True) -> ScanResult:
    return with_baseline(make_result(), previous(), BASELINE_FILE, fail_on_new)


def states(result: ScanResult) -> dict[tuple[str, str], str]:
    return {(f["rule_id"], f["resource_id"]): f["baseline"]["state"] for f in to_document(result)["findings"]}


def test_the_scenario_has_every_interesting_state() -> None:
    result = compared()
    assert states(result) == {
        (KMS, sm_arn("endpoint-config", "ep-a")): "still_failing",
        (KMS, sm_arn("endpoint-config", "ep-b")): "unchanged",
        (CAPTURE, sm_arn("endpoint-config", "ep-a")): "new",
        (CAPTURE, sm_arn("endpoint-config", "ep-b")): "resolved",
        (ISOLATION, sm_arn("model", "m-a")): "unchanged",
        (ISOLATION, sm_arn("model", "m-b")): "regressed",
        (ISOLATION, sm_arn("model", "m-serverless")): "unchanged",
        (AUTH_MODE, AZURE_ENDPOINT): "newly_waived",
    }
    # CAPTURE is below high; the newly waived AUTH_MODE (high) is MUTED, which never gates
    assert [f.resource_id for f in result.gating()] == [sm_arn("model", "m-b")]
    assert result.exit_code() == 1


@pytest.mark.parametrize("name", sorted(set(by_name()) - {"html"}))  # html: tests/outputs/test_html_report.py
def test_every_format_is_deterministic_and_re_renders_the_same_from_findings_json(name: str) -> None:
    formatter = by_name()[name]
    result = compared()
    text = formatter.render(result)
    assert formatter.render(compared()) == text
    assert formatter.render(from_document(json.loads(render(result)), "findings.json")) == text


# --- Markdown -----------------------------------------------------------------------------------------


def test_markdown_shows_the_comparison_and_the_new_failures() -> None:
    text = markdown.render(compared())
    assert f"Compared with the baseline `{BASELINE_FILE}` (scan of 2025-06-01T03:00:05Z)" in text
    assert ("**1 new**, **1 regressed**, **1 newly waived**, 1 still failing, 2 resolved, 0 unknown, 3 unchanged."
            in text)
    assert "Only new or regressed failures gate (`--fail-on-new`)." in text
    assert "❌ **Failed** — complete scan; 1 new or regressed finding at or above `high` failed the build." in text
    assert "### Findings that fail the build: new or regressed FAIL at or above `high` (1)" in text
    new = text.split("### New since baseline (2)", 1)[1].split("###", 1)[0]
    rows = [line for line in new.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert [row.split(" | ")[1] for row in rows] == ["regressed (was PASS)", "new"]  # critical first
    resolved = text.split("### Resolved since baseline (2)", 1)[1].split("###", 1)[0]
    # Named as the other tables name resources (the baseline recorded the name, region and account).
    assert "`m-gone (eu-west-1, account 123456789012)`" in resolved and "gone" in resolved
    assert "arn:aws:sagemaker" not in resolved
    assert "| PASS |" in resolved
    assert "could not re-check" not in text  # nothing unverified: the section is left out


def test_markdown_lists_the_newly_waived_findings_with_their_waiver() -> None:
    text = markdown.render(compared())
    assert text.index("### New since baseline (2)") < text.index("### Newly waived since baseline (1)")
    waived = text.split("### Newly waived since baseline (1)", 1)[1].split("###", 1)[0]
    rows = [line for line in waived.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0] == "| Severity | Rule | Resource | Before | Reason | Owner | Expires |"
    legacy_scorer = f"legacy-scorer (workspaces/ws; resource group ml, subscription {SUBSCRIPTION})"
    assert rows[1:] == [f"| high | `{AUTH_MODE}` | `{legacy_scorer}` | FAIL | Partner integration still on keys; "
                        "migration tracked in SEC-142 | `ml-platform@example.com` | 2027-03-31 |"]
    assert "MUTED findings never fail the build." in waived


def test_markdown_says_when_nothing_was_newly_waived() -> None:
    text = markdown.render(with_baseline(make_result(), make_result(), BASELINE_FILE, False))
    assert "### Newly waived since baseline (0)" in text
    assert "No waiver mutes a finding that was not muted in the baseline." in text
    assert "0 newly waived" in text and "**0 newly waived**" not in text


def test_markdown_passes_when_only_old_failures_remain() -> None:
    result = with_baseline(make_result(), make_result(), BASELINE_FILE, True)
    text = markdown.render(result)
    assert "✅ **Passed** — complete scan; nothing new at or above `high` failed. Exit code 0." in text
    assert "No finding fails that did not fail in the baseline." in text


def test_markdown_without_a_baseline_is_unchanged() -> None:
    text = markdown.render(make_result())
    assert "baseline" not in text.lower()


def test_markdown_lists_unverified_failures() -> None:
    gone = finding(ISOLATION, "arn:aws:sagemaker:us-east-1:123456789012:model/elsewhere", Status.FAIL)
    result = with_baseline(make_result(), make_result(findings=(*base_findings(), gone)), BASELINE_FILE, False)
    text = markdown.render(result)
    assert "### Baseline failures this scan could not re-check (1)" in text
    assert "no scope of this scan holds its resource" in text


# --- SARIF ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.Draft4Validator:
    loaded = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(loaded, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def sarif_results(result: ScanResult) -> dict[tuple[str, str], dict[str, Any]]:
    log = json.loads(sarif.render(result))
    return {(r["ruleId"], r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]): r
            for r in log["runs"][0]["results"]}


def test_sarif_with_baseline_states_is_valid(sarif_validator: jsonschema.Draft4Validator) -> None:
    log = json.loads(sarif.render(compared()))
    errors = list(sarif_validator.iter_errors(log))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


def test_sarif_baseline_state_mapping() -> None:
    results = sarif_results(compared())
    got = {key: (r["baselineState"], r["properties"]["baseline_state"]) for key, r in results.items()}
    assert got == {
        (KMS, sm_arn("endpoint-config", "ep-a")): ("unchanged", "still_failing"),
        (CAPTURE, sm_arn("endpoint-config", "ep-a")): ("new", "new"),
        (ISOLATION, sm_arn("model", "m-b")): ("new", "regressed"),  # PASS was no SARIF result
        (AUTH_MODE, AZURE_ENDPOINT): ("updated", "newly_waived"),  # FAIL -> MUTED: the result is now suppressed
    }
    assert "absent" not in {r["baselineState"] for r in results.values()}


@pytest.mark.parametrize(("before", "now", "expected"), [
    (Status.MUTED, Status.FAIL, ("updated", "regressed")),  # the waiver ended: same result, no suppression
    (Status.FAIL, Status.ERROR, ("updated", "unknown")),
    (Status.ERROR, Status.FAIL, ("updated", "new")),
    (Status.ERROR, Status.ERROR, ("unchanged", "unchanged")),
    (Status.NOT_APPLICABLE, Status.FAIL, ("new", "regressed")),
    (None, Status.ERROR, ("new", "unknown")),
    (Status.MUTED, Status.MUTED, ("unchanged", "unchanged")),
    (None, Status.MUTED, ("new", "newly_waived")),  # a new resource, muted on its first appearance
    (Status.PASS, Status.MUTED, ("new", "newly_waived")),  # a PASS was no SARIF result
    (Status.ERROR, Status.MUTED, ("updated", "newly_waived")),
])
def test_sarif_baseline_state_of_other_transitions(before: Status | None, now: Status,
                                                   expected: tuple[str, str]) -> None:
    rid = sm_arn("model", "x")
    waiver = dataclasses.replace(ACTIVE_WAIVER, rules=(ISOLATION,), resources=(rid,))
    old = make_result(findings=(finding(ISOLATION, rid, before, waiver=waiver if before is Status.MUTED else None),)
                      if before else ())
    new = make_result(findings=(finding(ISOLATION, rid, now, waiver=waiver if now is Status.MUTED else None),))
    [r] = sarif_results(with_baseline(new, old, BASELINE_FILE, False)).values()
    assert (r["baselineState"], r["properties"]["baseline_state"]) == expected


def test_sarif_a_severity_change_is_an_update() -> None:
    rid = sm_arn("model", "x")
    old = make_result(findings=(finding(ISOLATION, rid, Status.FAIL, severity=Severity.MEDIUM),))
    new = make_result(findings=(finding(ISOLATION, rid, Status.FAIL),))
    [r] = sarif_results(with_baseline(new, old, BASELINE_FILE, False)).values()
    assert (r["baselineState"], r["properties"]["baseline_state"]) == ("updated", "still_failing")


def test_sarif_run_names_the_baseline_and_the_gate() -> None:
    log = json.loads(sarif.render(compared()))
    run = log["runs"][0]
    props = run["properties"]["auditor"]
    assert props["baseline"]["file"] == BASELINE_FILE and props["baseline"]["started"] == "2025-06-01T03:00:05Z"
    assert props["baseline"]["counts"]["resolved"] == 2 and props["scan"]["fail_on_new"] is True
    assert run["invocations"][0]["exitCodeDescription"] == "complete; some new or regressed FAIL at or above high"
    gating = [r for r in run["results"] if r["properties"]["gating"]]
    assert [r["properties"]["baseline_state"] for r in gating] == ["regressed"]


def test_sarif_without_a_baseline_has_no_baseline_state() -> None:
    text = sarif.render(make_result())
    assert "baselineState" not in text and "baseline_state" not in text and '"baseline"' not in text


# --- JUnit ------------------------------------------------------------------------------------------------


def test_junit_with_baseline_is_valid_and_carries_the_states() -> None:
    text = junit.render(compared())
    xmlschema.XMLSchema(JUNIT_XSD).validate(text)
    root = ET.fromstring(text)
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    props = {p.get("name"): p.get("value") for p in suites[ISOLATION].iter("property")}
    assert (props["baseline.regressed"], props["baseline.resolved"], props["baseline.unchanged"]) == ("1", "1", "2")
    summary = {p.get("name"): p.get("value") for p in suites[junit.BASELINE_SUITE].iter("property")}
    assert summary["baseline.file"] == BASELINE_FILE and summary["fail_on_new"] == "true"
    assert (summary["baseline.new"], summary["baseline.resolved"]) == ("1", "2")
    assert suites[junit.BASELINE_SUITE].get("tests") == "0"
    [case] = [c for c in suites[ISOLATION].findall("testcase") if c.get("name") == f"m-b ({REGION}, account {ACCOUNT})"]
    failure = case.find("failure")
    assert failure is not None and "Baseline: regressed (PASS in the baseline)" in (failure.text or "")
    assert "baseline: regressed (PASS in the baseline)" in (case.findtext("system-out") or "")
    assert root.get("tests") == str(sum(int(s.get("tests", "0")) for s in suites.values()))


def test_junit_counts_and_labels_the_newly_waived_findings() -> None:
    root = ET.fromstring(junit.render(compared()))
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    summary = {p.get("name"): p.get("value") for p in suites[junit.BASELINE_SUITE].iter("property")}
    assert (summary["baseline.newly_waived"], summary["baseline.unchanged"]) == ("1", "3")
    props = {p.get("name"): p.get("value") for p in suites[AUTH_MODE].iter("property")}
    assert (props["baseline.newly_waived"], props["baseline.unchanged"]) == ("1", "0")
    [case] = suites[AUTH_MODE].findall("testcase")
    skipped = case.find("skipped")
    assert skipped is not None and (skipped.get("message") or "").startswith(
        "newly waived: Partner integration still on keys; migration tracked in SEC-142 (ml-platform@example.com, "
        "expires 2027-03-31)")
    assert "baseline: newly waived (FAIL in the baseline)" in (case.findtext("system-out") or "")
    unchanged = junit.render(with_baseline(make_result(), make_result(), BASELINE_FILE, False))
    assert 'message="waived: Partner integration' in unchanged and "newly waived" not in unchanged


def test_junit_without_a_baseline_has_no_baseline_suite() -> None:
    assert "baseline" not in junit.render(make_result())


# --- CSV --------------------------------------------------------------------------------------------------


def csv_rows(result: ScanResult) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_format.render(result), newline="")))


def test_csv_has_a_baseline_state_column() -> None:
    assert csv_format.COLUMNS[19] == "baseline_state"  # where it has always been: CI reads columns by position
    rows = csv_rows(compared())
    assert {(r["rule_id"], r["resource_id"]): r["baseline_state"] for r in rows} == states(compared())
    assert {r["baseline_state"] for r in csv_rows(make_result())} == {""}
