"""Framework summary semantics, and the shipped framework files."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from auditor.catalog import load_catalog, load_rule_set
from auditor.frameworks import ControlStatus, RuleOutcome, RuleState, control_status, summarise
from auditor.model import CoverageRow, Finding, ScanResult, Severity, Status
from auditor.rule_parts import Control, Framework

from .helpers import SUB


def _outcome(state: RuleState) -> RuleOutcome:
    return RuleOutcome("azure.x.y.z", state, "", {})


@pytest.mark.parametrize(("states", "expected"), [
    ((), (ControlStatus.NOT_COVERED, False)),
    ((RuleState.PASSED, RuleState.NOT_APPLICABLE), (ControlStatus.PASSED, False)),
    ((RuleState.PASSED, RuleState.FAILED), (ControlStatus.FAILED, False)),
    ((RuleState.PASSED, RuleState.WAIVED), (ControlStatus.FAILED, True)),
    ((RuleState.WAIVED, RuleState.FAILED), (ControlStatus.FAILED, False)),
    ((RuleState.FAILED, RuleState.ERROR), (ControlStatus.FAILED, False)),
    ((RuleState.WAIVED, RuleState.ERROR), (ControlStatus.FAILED, True)),
    ((RuleState.PASSED, RuleState.ERROR), (ControlStatus.NOT_EVALUATED, False)),
    ((RuleState.PASSED, RuleState.NO_RESOURCES), (ControlStatus.NOT_EVALUATED, False)),
    ((RuleState.PASSED, RuleState.EXCLUDED), (ControlStatus.NOT_EVALUATED, False)),
    ((RuleState.PASSED, RuleState.NOT_SCANNED), (ControlStatus.NOT_EVALUATED, False)),
])
def test_control_status(states, expected):
    assert control_status([_outcome(s) for s in states]) == expected


RULE_A = "azure.ml.workspace.private_link"
RULE_B = "azure.ml.workspace.cmk_encryption"


def _finding(rule_id: str, status: Status, name: str = "ws") -> Finding:
    return Finding(rule_id, f"/subscriptions/{SUB}/w/{name}", "azure.ml.workspace", "azure", SUB, "westeurope",
                   status, Severity.MEDIUM, "m")


WHEN = datetime(2026, 1, 1)


def _result(*findings: Finding, excluded: dict[str, str] | None = None) -> ScanResult:
    catalog = load_catalog()
    framework = Framework("t", "T", (Control("C-1", "one", (RULE_A, RULE_B)), Control("C-2", "aws", (
        "aws.sagemaker.model.vpc",))))
    return ScanResult("0", WHEN, WHEN, (), findings,
                      (CoverageRow("azure", SUB, "*", "ml", f"/subscriptions/{SUB}", ("azure.ml.workspace",), 1),),
                      {rid: catalog[rid] for rid in (RULE_A, RULE_B) if rid not in (excluded or {})},
                      frameworks=(framework,), excluded_rules=excluded or {})


def test_an_error_or_an_unseen_resource_never_passes_a_control():
    (error,) = summarise(_result(_finding(RULE_A, Status.PASS), _finding(RULE_B, Status.ERROR)))
    assert error.controls[0].status is ControlStatus.NOT_EVALUATED
    (unseen,) = summarise(_result(_finding(RULE_A, Status.PASS)))
    assert unseen.controls[0].status is ControlStatus.NOT_EVALUATED
    assert unseen.controls[0].rules[1].state is RuleState.NO_RESOURCES
    assert unseen.controls[1].rules[0].state is RuleState.NOT_SCANNED, "no AWS in this scan"
    (passed,) = summarise(_result(_finding(RULE_A, Status.PASS), _finding(RULE_B, Status.NOT_APPLICABLE)))
    assert passed.controls[0].status is ControlStatus.PASSED
    (off,) = summarise(_result(_finding(RULE_A, Status.PASS), excluded={RULE_B: "disabled by the policy: x"}))
    assert off.controls[0].rules[1] == RuleOutcome(RULE_B, RuleState.EXCLUDED, "disabled by the policy: x",
                                                   {s.value: 0 for s in Status})


def test_a_framework_of_providers_not_scanned_is_left_out():
    result = _result(_finding(RULE_A, Status.PASS))
    aws_only = Framework("aws-only", "A", (Control("X", "x", ("aws.sagemaker.model.vpc",)),))
    ids = [s.framework.id for s in summarise(dataclasses.replace(result, frameworks=(aws_only,)))]
    assert ids == []


def test_the_shipped_frameworks():
    frameworks = {f.id: f for f in load_rule_set().frameworks}
    assert set(frameworks) >= {"aws-fsbp", "mcsb", "nist-800-53", "cis-controls-v8", "iso-42001", "eu-ai-act"}
    assert {fid for fid, f in frameworks.items() if f.informative} == {"iso-42001", "eu-ai-act"}
    mapped = {rid for f in frameworks.values() for c in f.controls for rid in c.rules}
    apim = {"azure.apim.api.https_only", "azure.apim.api.subscription_required", "azure.apim.backend.https_url",
            "azure.apim.backend.tls_validation", "azure.apim.product.subscription_required",
            "azure.apim.api.model_endpoint_protected"}
    assert apim <= mapped
    assert mapped == set(load_rule_set().rules), "every rule evidences some control"
    eu = {c.id: c for c in frameworks["eu-ai-act"].controls}
    assert "aws.sagemaker.endpoint.data_capture_enabled" in eu["Art. 12(1)"].rules and "Art. 15(5)" in eu
    assert all(f.source.startswith("https://") for f in frameworks.values())
