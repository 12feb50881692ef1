"""findings.ocsf.json: OCSF Compliance Finding events (class 2003).

Validated two ways: through py-ocsf-models (Prowler's maintained pydantic models of OCSF), and by a
focused check of the attributes OCSF requires of class 2003 and of the cloud profile, since the
models ignore attributes they do not declare (``cloud``) and check no enum captions.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding  # type: ignore[import-untyped]

from auditor.findings.document import from_document
from auditor.model import ScanResult
from auditor.outputs.findings_json import to_document
from auditor.outputs.ocsf import OCSF_VERSION, render

from .builders import (
    AUTH_MODE,
    AZURE_ENDPOINT,
    CAPTURE,
    HOSTILE,
    ISOLATION,
    KMS,
    SAGEMAKER_SCOPE,
    empty,
    hostile,
    incomplete_collection,
    sm_arn,
    undecided_rule,
)

# Required by OCSF for class 2003 (base event, finding, compliance_finding) and by the cloud profile.
REQUIRED = ("activity_id", "category_uid", "class_uid", "compliance", "finding_info", "metadata", "severity_id",
            "time", "type_uid", "cloud")


def events(result: ScanResult) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(render(result))
    return loaded


def by_key(result: ScanResult) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["compliance"]["control"], e["resources"][0]["uid"]): e for e in events(result)}


def test_every_variant_is_one_valid_event_per_finding(any_result: ScanResult) -> None:
    loaded = events(any_result)
    assert isinstance(loaded, list) and len(loaded) == len(any_result.findings)
    for event in loaded:
        ComplianceFinding.model_validate(event)
        for key in REQUIRED:
            assert key in event, key
        assert (event["class_uid"], event["category_uid"], event["activity_id"]) == (2003, 2, 1)
        assert event["type_uid"] == event["class_uid"] * 100 + event["activity_id"] == 200301
        assert event["metadata"]["version"] == OCSF_VERSION
        assert event["metadata"]["product"]["name"] == "auditor" and event["metadata"]["product"]["vendor_name"]
        assert event["metadata"]["profiles"] == ["cloud"]
        assert {"uid", "title"} <= set(event["finding_info"])
        assert isinstance(event["compliance"]["standards"], list)
        assert event["cloud"]["provider"] in ("AWS", "Azure")


def test_deterministic_and_identical_when_re_rendered_from_findings_json(any_result: ScanResult) -> None:
    text = render(any_result)
    assert render(any_result) == text
    assert render(from_document(to_document(any_result), "findings.json")) == text


def test_status_and_severity_mapping(result: ScanResult) -> None:
    events_by = by_key(result)
    fail = events_by[KMS, sm_arn("endpoint-config", "ep-a")]
    assert (fail["severity_id"], fail["severity"]) == (4, "High")
    assert (fail["status_id"], fail["status"], fail["status_code"]) == (1, "New", "FAIL")
    assert (fail["compliance"]["status_id"], fail["compliance"]["status"]) == (3, "Fail")
    passed = events_by[KMS, sm_arn("endpoint-config", "ep-b")]
    assert (passed["status_id"], passed["compliance"]["status_id"], passed["compliance"]["status"]) == (4, 1, "Pass")
    muted = events_by[AUTH_MODE, AZURE_ENDPOINT]
    assert (muted["status_id"], muted["status"], muted["compliance"]["status_id"]) == (3, "Suppressed", 3)
    assert muted["status_detail"].startswith("waived: Partner integration")
    assert muted["unmapped"]["auditor"]["waiver"]["owner"] == "ml-platform@example.com"
    not_applicable = events_by[ISOLATION, sm_arn("model", "m-serverless")]
    assert (not_applicable["compliance"]["status_id"], not_applicable["compliance"]["status"]) == (
        99, "Not Applicable"
    )
    critical = events_by[ISOLATION, sm_arn("model", "m-b")]
    assert (critical["severity_id"], critical["severity"]) == (5, "Critical")
    assert events_by[CAPTURE, sm_arn("endpoint-config", "ep-a")]["severity_id"] == 3

    error = by_key(undecided_rule())[ISOLATION, sm_arn("model", "m-c")]
    assert (error["status_id"], error["compliance"]["status_id"], error["compliance"]["status"]) == (1, 2, "Warning")


def test_finding_info_compliance_resources_and_cloud(result: ScanResult) -> None:
    event = by_key(result)[KMS, sm_arn("endpoint-config", "ep-a")]
    f = next(f for f in result.findings if f.rule_id == KMS and f.resource_id.endswith("/ep-a"))
    assert event["finding_info"]["uid"] == f.id == event["metadata"]["uid"]
    assert event["finding_info"]["title"] == result.rules[KMS].title
    assert event["finding_info"]["desc"] == event["message"] == f.message
    assert event["finding_info"]["types"] == ["aws.sagemaker.endpoint_config"]
    assert event["finding_info"]["analytic"] == {
        "uid": KMS, "name": result.rules[KMS].title, "type_id": 1, "type": "Rule", "desc": result.rules[KMS].rationale,
    }
    assert event["compliance"]["standards"] == ["CIS AWS", "ISO 27001"]
    assert event["compliance"]["requirements"] == ["CIS AWS 2.1.1: Encryption at rest", "ISO 27001 A.8.24"]
    assert event["remediation"] == {"desc": f"Fix {KMS} like this.", "references": list(result.rules[KMS].references)}
    assert event["resources"] == [{"uid": f.resource_id, "name": "ep-a", "type": "aws.sagemaker.endpoint_config",
                                   "region": "eu-west-1", "cloud_partition": "aws"}]
    assert event["cloud"] == {"provider": "AWS", "region": "eu-west-1",
                              "account": {"uid": "123456789012", "type_id": 10, "type": "AWS Account"}}
    assert event["unmapped"]["auditor"]["gating"] is True
    assert event["unmapped"]["auditor"]["evidence"]["KmsKeyId"] is None
    assert event["time"] == int(datetime(2025, 6, 2, 3, 2, 19, tzinfo=UTC).timestamp()) * 1000
    azure = by_key(result)[AUTH_MODE, AZURE_ENDPOINT]
    assert azure["cloud"]["provider"] == "Azure" and azure["cloud"]["account"]["type_id"] == 99
    assert "cloud_partition" not in azure["resources"][0]


def test_incomplete_collection_events_are_warnings_on_the_scope() -> None:
    scope_events = [e for e in events(incomplete_collection()) if e["resources"][0]["uid"] == SAGEMAKER_SCOPE]
    assert len(scope_events) == 3
    assert {(e["compliance"]["status_id"], e["status_code"]) for e in scope_events} == {(2, "ERROR")}


def test_hostile_strings_and_inventory_tags() -> None:
    loaded = events(hostile())
    [kms] = [e for e in loaded if e["compliance"]["control"] == KMS]
    assert kms["resources"][0]["name"] == HOSTILE
    assert kms["resources"][0]["labels"] == [f"{HOSTILE}=</script><script>alert('x')</script>",
                                             "owner=\"' onmouseover=\"alert(2)"]
    assert kms["finding_info"]["title"] == HOSTILE


def test_empty_result_is_an_empty_array() -> None:
    assert render(empty()) == "[]\n"
