"""findings.json: the contract of product-spec.md, its schema, and reading it back."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from auditor.errors import ConfigError
from auditor.findings import document
from auditor.findings.document import from_document
from auditor.findings.read import read_findings
from auditor.identity import finding_id
from auditor.model import Resource, ScanResult, Severity, Status
from auditor.outputs.findings_json import render, to_document

from .builders import (
    ACCOUNT,
    AUTH_MODE,
    AZURE_ENDPOINT,
    KMS,
    REGION,
    SAGEMAKER_SCOPE,
    SUBSCRIPTION,
    incomplete_collection,
    make_result,
    sm_arn,
)

SPEC_FINDING_KEYS = {
    "id", "rule_id", "status", "severity", "provider", "resource_id", "resource_type", "region", "account",
    "message", "evidence", "remediation", "frameworks",
}


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = document.schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_every_variant_validates_against_the_published_schema(
    any_result: ScanResult, validator: jsonschema.Draft202012Validator
) -> None:
    doc = json.loads(render(any_result))
    assert list(validator.iter_errors(doc)) == []


def test_round_trip_is_exact(any_result: ScanResult) -> None:
    doc = to_document(any_result)
    again = to_document(from_document(json.loads(render(any_result)), "findings.json"))
    assert again == doc


def test_render_is_sorted_and_deterministic(result: ScanResult) -> None:
    shuffled = dataclasses.replace(result, findings=tuple(reversed(result.findings)),
                                   coverage=tuple(reversed(result.coverage)))
    text = render(result)
    assert text == render(shuffled)
    assert text.endswith("}\n")
    doc = json.loads(text)
    assert doc == to_document(result)
    lines = text.splitlines()
    for finding in doc["findings"]:  # one line per finding: a changed verdict is a one-line diff
        assert sum(1 for line in lines if f'"id": "{finding["id"]}"' in line) == 1
        assert json.dumps(finding, sort_keys=True, ensure_ascii=False) in text
    order = [(f["rule_id"], f["resource_id"]) for f in doc["findings"]]
    assert order == sorted(order)


def test_top_level_and_scan_block(result: ScanResult) -> None:
    doc = to_document(result)
    assert doc["schema_version"] == "1.0"
    assert doc["tool"] == {"name": "auditor", "version": "0.1.0"}
    assert doc["scan"] == {
        "started": "2025-06-02T03:00:05Z",
        "ended": "2025-06-02T03:02:19Z",
        "scopes": list(result.scopes),
        "fail_on": "high",
        "complete": True,
        "exit_code": 1,
    }


def test_naive_and_offset_times_are_written_in_utc(result: ScanResult) -> None:
    local = datetime(2025, 6, 2, 5, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    naive = datetime(2025, 6, 2, 3, 2, 19)  # naive: taken to be UTC
    doc = to_document(dataclasses.replace(result, started_at=local, finished_at=naive))
    assert (doc["scan"]["started"], doc["scan"]["ended"]) == ("2025-06-02T03:00:05Z", "2025-06-02T03:02:19Z")


def test_findings_carry_the_spec_keys(result: ScanResult) -> None:
    for f in to_document(result)["findings"]:
        assert set(f) >= SPEC_FINDING_KEYS
        assert set(f["remediation"]) == {"guidance", "automatic"}
        assert ("waiver" in f) == (f["status"] == "MUTED")
        assert f["id"] == finding_id(f["rule_id"], f["provider"], f["resource_id"])


def test_muted_finding_keeps_its_waiver_and_rule_metadata(result: ScanResult) -> None:
    doc = to_document(result)
    muted = next(f for f in doc["findings"] if f["status"] == "MUTED")
    assert muted["waiver"] == {"reason": "Partner integration still on keys; migration tracked in SEC-142",
                               "owner": "ml-platform@example.com", "expires": "2027-03-31", "number": 1}
    assert muted["remediation"] == {"guidance": f"Fix {AUTH_MODE} like this.", "automatic": True}
    kms = next(f for f in doc["findings"] if f["rule_id"] == KMS)
    assert kms["frameworks"] == [{"framework": "CIS AWS", "control": "2.1.1"},
                                 {"framework": "ISO 27001", "control": "A.8.24"}]
    assert kms["title"] == result.rules[KMS].title


def test_summary_counts_and_gating(result: ScanResult) -> None:
    doc = to_document(result)
    summary = doc["summary"]
    assert summary["by_status"] == {"PASS": 3, "FAIL": 3, "ERROR": 0, "MUTED": 1, "NOT_APPLICABLE": 1}
    assert summary["by_severity"] == {"critical": 1, "high": 1, "medium": 1, "low": 0, "info": 0}
    assert summary["total"] == 8
    assert summary["rules_evaluated"] == 5
    assert summary["resources"] == 6  # ep-a, ep-b, m-a, m-b, m-serverless, the Azure endpoint
    gating = {f.id for f in result.gating()}
    assert len(gating) == 2
    assert set(summary["gating"]) == gating
    assert {f["id"] for f in doc["findings"] if f["gating"]} == gating
    # The medium FAIL does not gate at fail_on=high, and the MUTED high never does.
    lowered = to_document(dataclasses.replace(result, fail_on=Severity.MEDIUM))
    assert len(lowered["summary"]["gating"]) == 3
    assert lowered["scan"]["fail_on"] == "medium"


def test_incomplete_scan_is_never_complete() -> None:
    doc = to_document(incomplete_collection())
    assert doc["scan"]["complete"] is False
    assert doc["scan"]["exit_code"] == 2
    denied = [row for row in doc["coverage"] if row["status"] == "error"]
    assert [row["error"] for row in denied] == ["AccessDenied: sagemaker:ListEndpointConfigs"]
    assert doc["summary"]["by_status"]["ERROR"] == 3
    assert doc["summary"]["resources"] == 1  # the unreadable scope is not a resource


def test_waivers_as_written(result: ScanResult) -> None:
    waivers = to_document(result)["waivers"]
    assert waivers["expired"] == [result.expired_waivers[0].as_written()]
    assert waivers["unused"] == [{**result.unused_waivers[0].as_written(), "nearest": []}]


def test_evidence_becomes_plain_json(result: ScanResult, validator: jsonschema.Draft202012Validator) -> None:
    evidence = {
        "LastModifiedTime": datetime(2025, 5, 1, 12, 0, tzinfo=UTC),
        "expires": date(2026, 1, 1),
        "variants": ("a", "b"),
        "ports": {443, 80},
        "cost": Decimal("1.50"),
        "ratio": float("nan"),
        "nested": {1: [None, True, 2.5]},
    }
    first = dataclasses.replace(result.findings[0], evidence=evidence)
    doc = to_document(dataclasses.replace(result, findings=(first, *result.findings[1:])))
    assert list(validator.iter_errors(doc)) == []
    written = next(f for f in doc["findings"] if f["id"] == first.id)["evidence"]
    assert written == {
        "LastModifiedTime": "2025-05-01T12:00:00Z",
        "expires": "2026-01-01",
        "variants": ["a", "b"],
        "ports": [80, 443],
        "cost": "1.50",
        "ratio": "nan",
        "nested": {"1": [None, True, 2.5]},
    }


def test_rule_missing_from_the_result_gets_a_stand_in(result: ScanResult) -> None:
    rules = {k: v for k, v in result.rules.items() if k != KMS}
    doc = to_document(dataclasses.replace(result, rules=rules))
    assert doc["rules"][KMS]["severity"] == "high"
    assert doc["summary"]["rules_evaluated"] == 5
    assert to_document(from_document(doc, "findings.json")) == doc


def test_muted_without_waiver_is_a_bug_not_a_silent_file(result: ScanResult) -> None:
    broken = dataclasses.replace(result.findings[0], status=Status.MUTED, waiver=None)
    with pytest.raises(ValueError, match="MUTED without a waiver"):
        to_document(dataclasses.replace(result, findings=(broken,)))


def test_from_document_rebuilds_rules_with_metadata_only(result: ScanResult) -> None:
    rebuilt = from_document(to_document(result), "out/findings.json")
    rule = rebuilt.rules[AUTH_MODE]
    assert (rule.expect, rule.check) == (None, None)
    assert rule.remediation.remediator == "online_endpoint_aad_token"
    assert rule.remediation.automatic
    assert rule.frameworks == result.rules[AUTH_MODE].frameworks
    assert rule.source == "out/findings.json"
    muted = next(f for f in rebuilt.findings if f.status is Status.MUTED)
    assert muted.waiver is not None and muted.waiver.expires == date(2027, 3, 31)
    assert rebuilt.exit_code() == result.exit_code()
    assert rebuilt.started_at == result.started_at


# --- malformed files ------------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _index(doc: dict[str, Any], status: str) -> int:
    return next(i for i, f in enumerate(doc["findings"]) if f["status"] == status)


def _set(path: tuple[str | int, ...], value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        target: Any = doc
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return mutate


def _unknown_rule(doc: dict[str, Any]) -> None:
    f = doc["findings"][0]
    f["rule_id"] = "aws.sagemaker.no_such_rule"
    f["id"] = finding_id(f["rule_id"], f["provider"], f["resource_id"])


def _unwaived_muted(doc: dict[str, Any]) -> None:
    del doc["findings"][_index(doc, "MUTED")]["waiver"]


def _waived_pass(doc: dict[str, Any]) -> None:
    doc["findings"][_index(doc, "PASS")]["waiver"] = {"reason": "r", "owner": "o", "expires": "2030-01-01"}


MALFORMED: dict[str, tuple[Mutation, str, str]] = {
    "missing status": (lambda d: d["findings"][0].pop("status"), "$.findings[0]", "'status' is a required"),
    "unknown status": (_set(("findings", 0, "status"), "WARN"), "$.findings[0].status", "'WARN'"),
    "unknown severity": (_set(("findings", 1, "severity"), "urgent"), "$.findings[1].severity", "'urgent'"),
    "unknown provider": (_set(("findings", 2, "provider"), "gcp"), "$.findings[2].provider", "'gcp'"),
    "extra finding key": (_set(("findings", 0, "colour"), "red"), "$.findings[0]", "'colour' was unexpected"),
    "evidence not an object": (_set(("findings", 0, "evidence"), []), "$.findings[0].evidence", "object"),
    "future schema": (_set(("schema_version",), "2.0"), "$.schema_version", "'1.0' was expected"),
    "bad timestamp": (_set(("scan", "started"), "yesterday"), "$.scan.started", "does not match"),
    "impossible date": (_set(("waivers", "expired", 0, "expires"), "2025-02-30"),
                        "$.waivers.expired[0].expires", "not a date"),
    "wrong id": (_set(("findings", 0, "id"), "0" * 32), "$.findings[0].id", "is not the id"),
    "unknown rule": (_unknown_rule, "$.findings[0].rule_id", "not described under $.rules"),
    "muted without waiver": (_unwaived_muted, "$.findings[{MUTED}]", "'waiver' is a required"),
    "waiver on a pass": (_waived_pass, "$.findings[{PASS}].waiver", "not allowed"),
    "rule severity": (_set(("rules", KMS, "severity"), "urgent"), f"$.rules['{KMS}'].severity", "'urgent'"),
    "rule key mismatch": (_set(("rules", KMS, "id"), "other"), f"$.rules['{KMS}'].id", "differs from"),
    "coverage error without text": (_set(("coverage", 0, "status"), "error"), "$.coverage[0].error", "None"),
    "missing summary": (lambda d: d.pop("summary"), "$", "'summary' is a required"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_file_names_file_and_field(result: ScanResult, case: str) -> None:
    mutate, field, message = MALFORMED[case]
    doc = copy.deepcopy(to_document(result))
    field = field.format(MUTED=_index(doc, "MUTED"), PASS=_index(doc, "PASS"))
    mutate(doc)
    with pytest.raises(ConfigError) as caught:
        from_document(doc, "nightly/findings.json")
    err = caught.value
    assert (err.file, err.field) == ("nightly/findings.json", field)
    assert message in str(err)
    assert str(err).startswith(f"nightly/findings.json: field '{field}': ")


def test_error_message_stays_short(result: ScanResult) -> None:
    doc = to_document(result)
    doc["findings"][0]["evidence"] = "x" * 5000
    with pytest.raises(ConfigError) as caught:
        from_document(doc, "findings.json")
    assert len(str(caught.value)) < 400


def test_read_findings_from_disk(tmp_path: Path, result: ScanResult) -> None:
    path = tmp_path / "findings.json"
    path.write_text(render(result), encoding="utf-8")
    assert to_document(read_findings(path)) == to_document(result)


def test_read_findings_reports_json_syntax_with_line(tmp_path: Path) -> None:
    path = tmp_path / "findings.json"
    path.write_text('{\n  "schema_version": "1.0",\n  oops\n}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_findings(path)
    assert (caught.value.file, caught.value.line) == (str(path), 3)


@pytest.mark.parametrize(("content", "needle"), [("[]", "JSON object"), (None, "cannot read")])
def test_read_findings_rejects_non_documents(tmp_path: Path, content: str | None, needle: str) -> None:
    path = tmp_path / "findings.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=needle):
        read_findings(path)


def test_scope_error_findings_survive_the_round_trip() -> None:
    scanned = incomplete_collection()
    rebuilt = from_document(to_document(scanned), "findings.json")
    errors = [f for f in rebuilt.findings if f.status is Status.ERROR]
    assert {f.resource_id for f in errors} == {SAGEMAKER_SCOPE}
    assert not rebuilt.complete
    assert rebuilt.exit_code() == 2
    assert make_result().exit_code() == 1


def test_inventory_records_what_serves_an_endpoint(validator: jsonschema.Draft202012Validator) -> None:
    """The report shows an endpoint's whole posture from these edges (auditor.scope_model.USES)."""
    endpoint, config, model = sm_arn("endpoint", "churn"), sm_arn("endpoint-config", "churn-cfg"), sm_arn("model", "m")
    role = f"arn:aws:iam::{ACCOUNT}:role/exec"
    workspace = AZURE_ENDPOINT.split("/onlineEndpoints/")[0]

    def resource(resource_id: str, rtype: str, related: dict[str, Any], unreadable: dict[str, str] | None = None
                 ) -> Resource:
        azure = rtype.startswith("azure.")
        return Resource(id=resource_id, type=rtype, provider="azure" if azure else "aws",
                        account=SUBSCRIPTION if azure else ACCOUNT, region="westeurope" if azure else REGION,
                        name=resource_id.rsplit("/", 1)[-1], document={}, related=related,
                        unreadable=unreadable or {})

    resources = (
        resource(endpoint, "aws.sagemaker.endpoint", {"endpoint_config": config}),
        # One variant's model no longer exists; the capture bucket could not be read.
        resource(config, "aws.sagemaker.endpoint_config", {"models": [model, None], "kms_keys": [],
                                                           "capture_bucket": None},
                 {"related.capture_bucket": "AccessDenied"}),
        resource(model, "aws.sagemaker.model", {"execution_role": role}),
        resource(role, "aws.iam.role", {"models": [model]}),
        resource(AZURE_ENDPOINT, "azure.ml.online_endpoint",
                 {"workspace": workspace, "deployments": [f"{AZURE_ENDPOINT}/deployments/blue"],
                  "principal_ids": ["p"], "role_assignments": [{"id": "a", "scope": "/", "roleName": "Owner"}]}),
        # Not described at all: nothing it uses is known.
        resource(sm_arn("endpoint", "unread"), "aws.sagemaker.endpoint", {}, {"*": "AccessDenied"}),
    )
    scanned = make_result(resources=resources)
    doc = json.loads(render(scanned))
    assert list(validator.iter_errors(doc)) == []
    uses = {entry["id"]: entry.get("uses") for entry in doc["inventory"]}
    assert uses[endpoint] == {"endpoint_config": [config], "inference_components": []}
    assert uses[config] == {"models": [model, None], "kms_keys": [], "capture_bucket": None,
                            "async_output_buckets": []}
    assert uses[model] == {"execution_role": [role]}
    assert uses[AZURE_ENDPOINT] == {"workspace": [workspace], "deployments": [f"{AZURE_ENDPOINT}/deployments/blue"]}
    assert uses[role] is None, "a role uses nothing that serves an endpoint"
    assert uses[sm_arn("endpoint", "unread")] == {"endpoint_config": None, "inference_components": None}
    # Read back (auditor report, --baseline, merge) and written again: the same edges.
    assert to_document(from_document(doc, "findings.json")) == to_document(scanned)
