"""report.sarif: valid SARIF 2.1.0 (the official OASIS schema) that GitHub code scanning accepts."""

from __future__ import annotations

import dataclasses
import gzip
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from auditor.findings.document import from_document
from auditor.model import Finding, ScanResult, Severity, Status
from auditor.outputs import write_outputs
from auditor.outputs.findings_json import to_document
from auditor.outputs.formats import by_name
from auditor.outputs.sarif import MAX_RESULTS, SECURITY_SEVERITY, render
from auditor.outputs.sarif_locations import artifact_uri

from .builders import (
    ACTIVE_WAIVER,
    AUTH_MODE,
    AZURE_ENDPOINT,
    CAPTURE,
    HOSTILE,
    ISOLATION,
    KEY_ROTATION,
    KMS,
    SAGEMAKER_SCOPE,
    VARIANTS,
    finding,
    hostile,
    incomplete_collection,
    make_result,
    sm_arn,
    undecided_rule,
)

SCHEMA = Path(__file__).parents[1] / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"
VALIDATORS: dict[str, type[jsonschema.protocols.Validator]] = {
    "draft4": jsonschema.Draft4Validator,  # what the schema declares
    "draft7": jsonschema.Draft7Validator,
}


@pytest.fixture(scope="module", params=sorted(VALIDATORS))
def validator(request: pytest.FixtureRequest) -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = VALIDATORS[request.param]
    cls.check_schema(schema)
    # Formats are checked too ("uri", "uri-reference", "date-time"): rfc3986-validator, rfc3339-validator.
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def sarif(result: ScanResult) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(render(result))
    return log


def results_by_rule(log: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["ruleId"], r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]): r
            for r in log["runs"][0]["results"]}


def test_every_variant_validates_against_the_official_schema(
    any_result: ScanResult, validator: jsonschema.protocols.Validator
) -> None:
    log = sarif(any_result)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1


def test_deterministic_and_identical_when_re_rendered_from_findings_json(any_result: ScanResult) -> None:
    text = render(any_result)
    assert render(any_result) == text
    assert render(from_document(to_document(any_result), "findings.json")) == text
    assert text.endswith("}\n")


def test_driver_and_rules(result: ScanResult) -> None:
    driver = sarif(result)["runs"][0]["tool"]["driver"]
    assert driver["name"] == "auditor" and driver["version"] == "0.1.0"
    assert driver["informationUri"].startswith("https://")
    rules = {r["id"]: r for r in driver["rules"]}
    assert sorted(rules) == sorted(result.rules)
    kms = rules[KMS]
    assert kms["name"] == "AwsSagemakerEndpointConfigKmsKey"
    assert kms["shortDescription"]["text"] == result.rules[KMS].title
    assert kms["fullDescription"]["text"] == result.rules[KMS].rationale
    assert kms["defaultConfiguration"] == {"level": "error"}
    props = kms["properties"]
    assert props["security-severity"] == "8.0" and props["severity"] == "high"
    assert {"security", "aws", "aws.sagemaker.endpoint_config", "CIS AWS"} <= set(props["tags"])
    assert "Fix aws.sagemaker.endpoint_config.kms_key like this." in kms["help"]["text"]
    assert "anchor" in kms["help"]["text"] and "CIS AWS 2.1.1: Encryption at rest" in kms["help"]["text"]
    assert "<https://docs.aws.amazon.com/" in kms["help"]["markdown"]
    assert kms["helpUri"] == result.rules[KMS].references[0]
    assert rules[CAPTURE]["defaultConfiguration"] == {"level": "warning"}
    assert "remediator enable_data_capture" in rules[CAPTURE]["help"]["text"]
    assert rules[KEY_ROTATION]["defaultConfiguration"] == {"level": "note"}
    assert rules[ISOLATION]["properties"]["security-severity"] == "9.5"
    assert SECURITY_SEVERITY == {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}


def test_results_levels_suppressions_and_omissions(result: ScanResult) -> None:
    log = sarif(result)
    run = log["runs"][0]
    by_key = results_by_rule(log)
    assert len(run["results"]) == 4  # 3 FAIL + 1 MUTED; PASS and NOT_APPLICABLE are left out
    assert by_key[ISOLATION, sm_arn("model", "m-b")]["level"] == "error"  # critical
    assert by_key[KMS, sm_arn("endpoint-config", "ep-a")]["level"] == "error"  # high
    capture = by_key[CAPTURE, sm_arn("endpoint-config", "ep-a")]
    assert capture["level"] == "warning" and capture["properties"]["gating"] is False
    muted = by_key[AUTH_MODE, AZURE_ENDPOINT]
    assert muted["suppressions"] == [{
        "kind": "external", "status": "accepted",
        "justification": "Partner integration still on keys; migration tracked in SEC-142",
        "properties": {"owner": "ml-platform@example.com", "expires": "2027-03-31"},
    }]
    assert all("suppressions" not in r for key, r in by_key.items() if key[0] != AUTH_MODE)
    counts = run["properties"]["auditor"]["counts"]
    assert counts["omitted"] == {"PASS": 3, "NOT_APPLICABLE": 1, "over_result_limit": 0, "over_rule_limit": 0}
    assert counts["results"] == 4 and run["properties"]["auditor"]["truncated"] is False
    rules = run["tool"]["driver"]["rules"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in run["results"])
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is True and invocation["exitCode"] == 1
    assert invocation["toolExecutionNotifications"] == []


def test_error_findings_are_error_results_and_the_invocation_fails() -> None:
    run = sarif(undecided_rule())["runs"][0]
    [error] = [r for r in run["results"] if r["properties"]["status"] == "ERROR"]
    assert error["kind"] == "fail" and error["level"] == "error"
    assert error["message"]["text"] == "Could not be evaluated: EnableNetworkIsolation was not collected for model m-c."
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False and invocation["exitCode"] == 2
    assert [n["descriptor"]["id"] for n in invocation["toolExecutionNotifications"]] == ["auditor/undecided"]


def test_incomplete_collection_is_a_tool_notification() -> None:
    run = sarif(incomplete_collection())["runs"][0]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    coverage = [n for n in notes if n["descriptor"]["id"] == "auditor/coverage"]
    assert len(coverage) == 1 and coverage[0]["level"] == "error"
    assert "AccessDenied: sagemaker:ListEndpointConfigs" in coverage[0]["message"]["text"]
    scope_results = [r for r in run["results"]
                     if r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == SAGEMAKER_SCOPE]
    assert len(scope_results) == 3 and {r["level"] for r in scope_results} == {"error"}
    assert scope_results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "aws/123456789012/eu-west-1/sagemaker/%2A"
    )


def test_locations_github_accepts(result: ScanResult) -> None:
    for r in sarif(result)["runs"][0]["results"]:
        [location] = r["locations"]
        physical = location["physicalLocation"]
        assert physical["region"] == {"startLine": 1}
        assert not physical["artifactLocation"]["uri"].startswith("/")
        assert location["logicalLocations"][0]["kind"] == "resource"
    by_key = results_by_rule(sarif(result))
    assert by_key[KMS, sm_arn("endpoint-config", "ep-a")]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "aws/123456789012/eu-west-1/sagemaker/endpoint-config/ep-a"
    }
    azure = by_key[AUTH_MODE, AZURE_ENDPOINT]["locations"][0]
    assert azure["physicalLocation"]["artifactLocation"]["uri"] == (
        "azure/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/ml/providers"
        "/microsoft.machinelearningservices/workspaces/ws/onlineendpoints/legacy-scorer"
    )
    assert azure["logicalLocations"][0]["fullyQualifiedName"] == AZURE_ENDPOINT


def test_hostile_names_are_percent_encoded_in_the_uri_and_never_a_help_link() -> None:
    log = sarif(hostile())
    [kms] = [r for r in log["runs"][0]["results"] if r["ruleId"] == KMS]
    uri = kms["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "aws/123456789012/eu-west-1/sagemaker/endpoint-config/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E"
    assert kms["locations"][0]["logicalLocations"][0]["name"] == HOSTILE
    [rule] = [r for r in log["runs"][0]["tool"]["driver"]["rules"] if r["id"] == KMS]
    assert "helpUri" not in rule  # "javascript:alert(1) ..." is no link
    assert "<img" not in rule["help"]["markdown"] and "&lt;img" in rule["help"]["markdown"]
    assert "](" not in rule["help"]["markdown"]


@pytest.mark.parametrize(("reference", "linked"), [
    ("https://learn.microsoft.com/azure/machine-learning/concept-endpoints", True),
    ("http://[broken", False), ("https://example.com/a b", False), ("ftp://example.com/x", False),
    ("javascript:alert(1)//https://x", False), ("https://", False),
])
def test_help_uri_only_for_well_formed_http_links(reference: str, linked: bool) -> None:
    rules = dict(make_result().rules)
    rules[KMS] = dataclasses.replace(rules[KMS], references=(reference,))
    [rule] = [r for r in sarif(make_result(rules=rules))["runs"][0]["tool"]["driver"]["rules"] if r["id"] == KMS]
    assert ("helpUri" in rule) is linked
    assert (f"<{reference}>" in rule["help"]["markdown"]) is linked


def test_large_evidence_is_left_to_findings_json() -> None:
    big = finding(KMS, sm_arn("endpoint-config", "big"), Status.FAIL, evidence={"Statement": ["x" * 100] * 50})
    small = finding(CAPTURE, sm_arn("endpoint-config", "big"), Status.FAIL, evidence={"Enabled": False})
    by_key = results_by_rule(sarif(make_result(findings=(big, small))))
    assert by_key[KMS, big.resource_id]["properties"]["evidence"] == {
        "truncated": "evidence over 1000 characters: see findings.json"
    }
    assert by_key[CAPTURE, small.resource_id]["properties"]["evidence"] == {"Enabled": False}


@pytest.mark.parametrize("resource_id", ["..", ".", ""])
def test_uri_has_no_dot_or_empty_segment(resource_id: str) -> None:
    f = {"provider": "aws", "resource_id": f"arn:aws:sagemaker:eu-west-1:123456789012:model/{resource_id}",
         "account": "123456789012", "region": "eu-west-1", "resource_type": "aws.sagemaker.model"}
    segments = artifact_uri(f).split("/")
    assert all(s not in ("", ".", "..") for s in segments)


def test_fingerprints_are_the_finding_ids_and_stable_across_runs(result: ScanResult) -> None:
    later = dataclasses.replace(result, started_at=result.started_at + timedelta(days=1),
                                finished_at=result.finished_at + timedelta(days=1))
    first, second = sarif(result)["runs"][0]["results"], sarif(later)["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in first] == [r["partialFingerprints"] for r in second]
    ids = {f.id for f in result.findings}
    assert {r["partialFingerprints"]["auditorFinding/v1"] for r in first} <= ids


def test_azure_ids_in_another_case_keep_location_and_fingerprint(result: ScanResult) -> None:
    upper = [dataclasses.replace(f, resource_id=f.resource_id.upper()) if f.provider == "azure" else f
             for f in result.findings]
    first = results_by_rule(sarif(result))[AUTH_MODE, AZURE_ENDPOINT]
    [second] = [r for r in sarif(dataclasses.replace(result, findings=tuple(upper)))["runs"][0]["results"]
                if r["ruleId"] == AUTH_MODE]
    assert first["partialFingerprints"] == second["partialFingerprints"]
    assert first["locations"][0]["physicalLocation"] == second["locations"][0]["physicalLocation"]


def _many(count: int, severity: Severity, prefix: str, status: Status = Status.FAIL) -> tuple[Finding, ...]:
    return tuple(finding(KMS, sm_arn("endpoint-config", f"{prefix}-{i:05d}"), status, severity=severity,
                         message=f"Endpoint config {prefix}-{i:05d} stores data with the AWS managed key.")
                 for i in range(count))


@pytest.fixture(scope="module")
def capped() -> tuple[tuple[Finding, ...], str]:
    """One more FAIL/ERROR/MUTED finding than GitHub takes: 10 critical, 3 waived critical, the rest low."""
    waived = tuple(dataclasses.replace(f, waiver=ACTIVE_WAIVER)
                   for f in _many(3, Severity.CRITICAL, "waived", Status.MUTED))
    findings = (_many(MAX_RESULTS - 12, Severity.LOW, "low") + _many(10, Severity.CRITICAL, "crit") + waived
                + _many(20, Severity.INFO, "pass", Status.PASS))
    return findings, render(make_result(findings=findings))


def test_results_are_capped_for_github_keeping_the_most_severe(capped: tuple[tuple[Finding, ...], str]) -> None:
    findings, text = capped
    run = json.loads(text)["runs"][0]
    results = run["results"]
    assert len(results) == MAX_RESULTS
    assert [r["properties"]["severity"] for r in results[:10]] == ["critical"] * 10
    kept = {r["partialFingerprints"]["auditorFinding/v1"] for r in results}
    assert all(f.id in kept for f in findings if f.severity is Severity.CRITICAL and f.status is Status.FAIL)
    # Waived results are already dismissed on GitHub: they come after every FAIL, and go first.
    assert [r["properties"]["status"] for r in results[-3:]] == ["FAIL", "MUTED", "MUTED"]
    props = run["properties"]["auditor"]
    assert props["truncated"] is True
    assert props["counts"]["omitted"] == {"PASS": 20, "NOT_APPLICABLE": 0, "over_result_limit": 1,
                                          "over_rule_limit": 0}
    assert "1 of 25001 FAIL/ERROR/MUTED results were left out" in props["note"]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["descriptor"]["id"] for n in notes] == ["auditor/result-limit"]
    assert notes[0]["level"] == "warning" and "the most severe were kept" in notes[0]["message"]["text"]
    assert len(gzip.compress(text.encode("utf-8"))) < 10 * 1024 * 1024  # GitHub's upload limit


def test_capped_log_validates(capped: tuple[tuple[Finding, ...], str]) -> None:
    log = json.loads(capped[1])
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    # Every result comes from one function and every variant is validated in full above; validating
    # 25,000 results takes ~10 s, so the capped log is validated with a sample of them.
    results = log["runs"][0]["results"]
    log["runs"][0]["results"] = results[:50] + results[-50:]
    errors = list(validator.iter_errors(log))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


def test_sarif_is_registered_and_written_with_every_format(tmp_path: Path) -> None:
    registry = by_name()
    expected = {"sarif": "report.sarif", "junit": "junit.xml", "markdown": "summary.md", "csv": "findings.csv",
                "ocsf": "findings.ocsf.json"}
    assert {name: registry[name].filename for name in expected} == expected
    for variant, build in VARIANTS.items():
        out = tmp_path / variant
        outputs = write_outputs(build(), list(registry), out)
        assert sorted(p.name for p in out.iterdir()) == sorted(f.filename for f in registry.values())
        assert all(p.stat().st_size > 0 for p in outputs.written) and not outputs.failed
