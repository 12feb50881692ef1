"""One rule of resource identity (:mod:`auditor.identity`): the registry's providers follow it, and AWS ARNs
stay case-sensitive wherever ids are compared (waivers, the baseline, the policy scope, findings.json and the
report). The Azure side, end to end through the stand-in: ``tests/azureml/test_resource_identity.py``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from auditor import identity
from auditor.findings.compare import compare
from auditor.model import (
    BaselineState,
    CoverageRow,
    Finding,
    Inventory,
    Resource,
    Rule,
    ScanResult,
    Severity,
    Status,
    Waiver,
)
from auditor.outputs.findings_json import render
from auditor.outputs.html_endpoints import endpoint_inventory
from auditor.policy_scope import ScopeEntry, apply_scope
from auditor.providers import get, names
from auditor.rule_parts import Remediation
from auditor.waivers import apply_waivers

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ENDPOINT = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/Churn-Scorer"
CONFIG = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/Churn-Config"
NOW = datetime(2026, 6, 2, tzinfo=UTC)
SPELLINGS = ("/subscriptions/S/resourceGroups/RG/providers/Microsoft.MachineLearningServices/workspaces/WS",
             "/subscriptions/s/resourcegroups/rg/providers/microsoft.machinelearningservices/workspaces/ws",
             ENDPOINT, ENDPOINT.lower(), "")


@pytest.mark.parametrize("name", names())
def test_each_provider_keys_ids_by_the_shared_rule(name: str) -> None:
    provider = get(name)
    assert all(provider.resource_key(rid) == identity.resource_key(name, rid) for rid in SPELLINGS)
    folds = provider.resource_key(SPELLINGS[0]) == provider.resource_key(SPELLINGS[1])
    assert folds is identity.folds_case(name)


def test_the_table_names_only_registered_providers_and_azure_is_in_it() -> None:
    assert set(names()) >= identity.CASE_INSENSITIVE
    assert identity.folds_case("azure") and not identity.folds_case("aws")


def _rule(rtype: str) -> Rule:
    return Rule(id=f"{rtype}.rule", title="t", severity=Severity.HIGH, provider="aws", resource_type=rtype,
                rationale="", remediation=Remediation(guidance="fix"))


def _resource(rid: str, rtype: str, **related: str) -> Resource:
    return Resource(id=rid, type=rtype, provider="aws", account=ACCOUNT, region=REGION,
                    name=rid.rsplit("/", 1)[-1], document={}, related=related, tags={"env": "prod"} if
                    rtype == "aws.sagemaker.endpoint" else {})


def _finding(rid: str, rtype: str = "aws.sagemaker.endpoint", status: Status = Status.FAIL) -> Finding:
    return Finding(rule_id=f"{rtype}.rule", resource_id=rid, resource_type=rtype, provider="aws", account=ACCOUNT,
                   region=REGION, status=status, severity=Severity.HIGH, message="m",
                   resource_name=rid.rsplit("/", 1)[-1])


def _result(*findings: Finding, resources: tuple[Resource, ...] = ()) -> ScanResult:
    rules = {r.id: r for r in (_rule("aws.sagemaker.endpoint"), _rule("aws.sagemaker.endpoint_config"))}
    row = CoverageRow("aws", ACCOUNT, REGION, "sagemaker", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:*",
                      ("aws.sagemaker.endpoint", "aws.sagemaker.endpoint_config"), len(resources))
    return ScanResult(tool_version="0.1.0", started_at=NOW, finished_at=NOW, scopes=(f"aws:{ACCOUNT}:{REGION}",),
                      findings=findings, coverage=(row,), rules=rules, fail_on=Severity.HIGH, resources=resources)


def test_a_waiver_for_an_arn_in_another_case_mutes_nothing() -> None:
    waiver = Waiver(rules=("*",), resources=(ENDPOINT.lower(),), reason="r", owner="o@example.com",
                    expires=date(2099, 1, 1), index=0)
    outcome = apply_waivers([_finding(ENDPOINT)], [waiver], NOW.date())
    assert [f.status for f in outcome.findings] == [Status.FAIL] and outcome.unused == (waiver,)


def test_a_baseline_arn_in_another_case_is_another_resource() -> None:
    comparison = compare(_result(_finding(ENDPOINT)), _result(_finding(ENDPOINT.lower())), "before.json")
    assert [e.state for e in comparison.findings.values()] == [BaselineState.NEW]
    assert [p.resource_id for p in comparison.resolved] == [ENDPOINT.lower()]


def test_the_policy_scope_does_not_follow_an_arn_spelled_otherwise() -> None:
    endpoint = _resource(ENDPOINT, "aws.sagemaker.endpoint", endpoint_config=CONFIG.lower())
    config = _resource(CONFIG, "aws.sagemaker.endpoint_config")
    findings = (_finding(ENDPOINT), _finding(CONFIG, "aws.sagemaker.endpoint_config"))
    rules = {r.id: r for r in (_rule("aws.sagemaker.endpoint"), _rule("aws.sagemaker.endpoint_config"))}
    kept, left_out = apply_scope([ScopeEntry(index=0, tags={"env": "prod"})], rules, findings,
                                 Inventory(resources=(endpoint, config), coverage=()))
    assert [f.resource_id for f in kept] == [ENDPOINT] and left_out.out_of_scope == 1


def test_findings_json_and_the_report_count_two_arns_differing_in_case_as_two_resources() -> None:
    endpoint = _resource(ENDPOINT, "aws.sagemaker.endpoint", endpoint_config=CONFIG.lower())
    config = _resource(CONFIG, "aws.sagemaker.endpoint_config")
    doc = json.loads(render(_result(_finding(ENDPOINT), _finding(ENDPOINT.lower()),
                                    _finding(CONFIG, "aws.sagemaker.endpoint_config"),
                                    resources=(endpoint, config))))
    assert doc["summary"]["resources"] == 3
    rows = {row["id"]: row for row in endpoint_inventory(doc)}
    assert set(rows) == {ENDPOINT, ENDPOINT.lower()}
    assert f"endpoint config {CONFIG.lower()}: not in the inventory" in rows[ENDPOINT]["unknown"]


def test_a_baseline_scope_spelled_otherwise_counts_as_read_for_what_is_found_through_it() -> None:
    """A resource found only through other scopes (``found_through``) is resolved when every scope that could
    reference it was read: a baseline naming one of them in another case names a scope this scan read."""
    sub = "/subscriptions/S"
    role = Rule(id="azure.role.rule", title="t", severity=Severity.HIGH, provider="azure", resource_type="azure.role",
                rationale="", remediation=Remediation(guidance="fix"))
    group = CoverageRow("azure", "S", "*", "ml", f"{sub}/resourceGroups/ML", ("azure.ml.workspace",), 1)
    roles = CoverageRow("azure", "S", "*", "authorization", f"{sub}/providers/Microsoft.Authorization",
                        ("azure.role",), 0, found_through=("/subscriptions/*/resourceGroups/*",))
    gone = Finding(rule_id=role.id, resource_id=f"{sub}/providers/Microsoft.Authorization/roleAssignments/a",
                   resource_type="azure.role", provider="azure", account="S", region="*", status=Status.FAIL,
                   severity=Severity.HIGH, message="m")

    def result(coverage: tuple[CoverageRow, ...], *findings: Finding) -> ScanResult:
        return ScanResult(tool_version="0.1.0", started_at=NOW, finished_at=NOW, scopes=("azure:S",),
                          findings=findings, coverage=coverage, rules={role.id: role}, fail_on=Severity.HIGH)

    before = result((CoverageRow("azure", "S", "*", "ml", "/subscriptions/s/resourcegroups/ml",
                                 ("azure.ml.workspace",), 1), roles), gone)
    comparison = compare(result((group, roles)), before, "before.json")
    assert [p.resource_id for p in comparison.resolved] == [gone.resource_id] and not comparison.unverified
