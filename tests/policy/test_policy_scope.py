"""A policy's scope follows a serving endpoint to what it uses, and counts every resource it leaves out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.findings.document import from_document
from auditor.model import CoverageRow, Finding, Inventory, Resource, Rule, Severity, Status
from auditor.outputs.findings_json import to_document
from auditor.pipeline import evaluate_inventory, prepare_policy
from auditor.policy_scope import ScopeEntry, apply_scope
from auditor.rule_parts import Remediation
from auditor.scope_model import PolicyScope

from .helpers import SUB, WS, write

ACCOUNT = "123456789012"
EAST = "us-east-1"


def arn(kind: str, name: str, region: str = EAST, service: str = "sagemaker") -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{kind}/{name}"


def resource(rid: str, rtype: str, *, region: str = EAST, tags: dict[str, str] | None = None,
             **related: Any) -> Resource:
    provider = "azure" if rtype.startswith("azure") else "aws"
    return Resource(id=rid, type=rtype, provider=provider, account=SUB if provider == "azure" else ACCOUNT,
                    region=region, name=rid.rsplit("/", 1)[-1], document={}, related=related, tags=tags or {})


def rule(rtype: str) -> Rule:
    return Rule(id=f"{rtype}.rule", title="t", severity=Severity.HIGH, provider=rtype.split(".")[0],
                resource_type=rtype, rationale="", remediation=Remediation(guidance="fix"))


def finding(r: Resource, status: Status = Status.FAIL) -> Finding:
    return Finding(rule_id=f"{r.type}.rule", resource_id=r.id, resource_type=r.type, provider=r.provider,
                   account=r.account, region=r.region, status=status, severity=Severity.HIGH, message="m")


ROLE_PROD = resource(f"arn:aws:iam::{ACCOUNT}:role/prod-scoring", "aws.iam.role", region="global")
ROLE_DEV = resource(f"arn:aws:iam::{ACCOUNT}:role/dev-scoring", "aws.iam.role", region="global")
ROLE_SHARED = resource(f"arn:aws:iam::{ACCOUNT}:role/shared", "aws.iam.role", region="global")
KEY = resource(arn("key", "1111", service="kms"), "aws.kms.key")
BUCKET = resource("arn:aws:s3:::capture-prod", "aws.s3.bucket")
MODEL_PROD = resource(arn("model", "ranker"), "aws.sagemaker.model", execution_role=ROLE_PROD.id)
MODEL_DEV = resource(arn("model", "ranker-dev"), "aws.sagemaker.model", execution_role=ROLE_DEV.id)
MODEL_SHARED_DEV = resource(arn("model", "shared-dev"), "aws.sagemaker.model", execution_role=ROLE_SHARED.id)
MODEL_SHARED_PROD = resource(arn("model", "shared-prod"), "aws.sagemaker.model", execution_role=ROLE_SHARED.id)
CONFIG_PROD = resource(arn("endpoint-config", "prod"), "aws.sagemaker.endpoint_config",
                       models=[MODEL_PROD.id, MODEL_SHARED_PROD.id, None], kms_keys=[KEY.id], capture_bucket=BUCKET.id)
CONFIG_DEV = resource(arn("endpoint-config", "dev"), "aws.sagemaker.endpoint_config",
                      models=[MODEL_DEV.id, MODEL_SHARED_DEV.id], kms_keys=[], capture_bucket=None)
ENDPOINT_PROD = resource(arn("endpoint", "prod"), "aws.sagemaker.endpoint", tags={"env": "prod"},
                         endpoint_config=CONFIG_PROD.id)
ENDPOINT_DEV = resource(arn("endpoint", "dev"), "aws.sagemaker.endpoint", tags={"env": "dev"},
                        endpoint_config=CONFIG_DEV.id)
AWS = (ROLE_PROD, ROLE_DEV, ROLE_SHARED, KEY, BUCKET, MODEL_PROD, MODEL_DEV, MODEL_SHARED_DEV, MODEL_SHARED_PROD,
       CONFIG_PROD, CONFIG_DEV, ENDPOINT_PROD, ENDPOINT_DEV)
RULES = {f"{t}.rule": rule(t) for t in {r.type for r in AWS} | {"azure.ml.workspace", "azure.ml.online_endpoint",
                                                                   "azure.ml.online_deployment"}}


def scoped(entries: list[ScopeEntry], resources: tuple[Resource, ...],
           extra: tuple[Finding, ...] = ()) -> tuple[set[str], PolicyScope]:
    findings = tuple(finding(r) for r in resources) + extra
    kept, left_out = apply_scope(entries, RULES, findings, Inventory(resources=resources, coverage=()))
    return {f.resource_id for f in kept}, left_out


def test_a_tag_scope_follows_the_prod_endpoint_to_its_config_models_role_key_and_bucket() -> None:
    kept, left_out = scoped([ScopeEntry(index=0, tags={"env": "prod"})], AWS)
    assert kept == {ENDPOINT_PROD.id, CONFIG_PROD.id, MODEL_PROD.id, MODEL_SHARED_PROD.id, ROLE_PROD.id,
                    ROLE_SHARED.id, KEY.id, BUCKET.id}
    # What only dev uses is out, and counted: the shared role stays in (a prod model assumes it too).
    dev = (ENDPOINT_DEV, CONFIG_DEV, MODEL_DEV, MODEL_SHARED_DEV, ROLE_DEV)
    assert left_out.out_of_scope == len(dev) == left_out.findings
    assert left_out.by_resource_type == {"aws.iam.role": 1, "aws.sagemaker.endpoint": 1,
                                         "aws.sagemaker.endpoint_config": 1, "aws.sagemaker.model": 2}
    assert left_out.by_rule == {f"{r.type}.rule": n for r, n in
                                ((ROLE_DEV, 1), (ENDPOINT_DEV, 1), (CONFIG_DEV, 1), (MODEL_DEV, 2))}
    assert dict(left_out.by_status) == {"FAIL": 5}
    assert left_out.sentence() == "5 resources out of the policy's scope (5 findings not reported: 5 FAIL)"


def test_a_region_scope_follows_too_so_a_global_role_of_an_in_region_model_is_kept() -> None:
    kept, _ = scoped([ScopeEntry(index=0, regions=(EAST,))], AWS)
    assert ROLE_PROD.id in kept and ROLE_DEV.id in kept and BUCKET.id in kept


def test_a_resource_nothing_in_scope_uses_is_out_even_when_something_else_uses_it() -> None:
    kept, left_out = scoped([ScopeEntry(index=0, tags={"env": "staging"})], AWS)
    assert kept == set() and left_out.out_of_scope == len(AWS)


def test_azure_endpoints_bring_their_deployments_and_workspace() -> None:
    deployment = resource(f"{WS}/onlineEndpoints/scorer/deployments/blue", "azure.ml.online_deployment",
                          region="westeurope")
    endpoint = resource(f"{WS}/onlineEndpoints/scorer", "azure.ml.online_endpoint", region="westeurope",
                        tags={"Env": "prod"}, workspace=WS.upper(), deployments=[deployment.id])
    workspace = resource(WS, "azure.ml.workspace", region="westeurope")
    other_ws = resource(WS + "-other", "azure.ml.workspace", region="westeurope")
    kept, left_out = scoped([ScopeEntry(index=0, tags={"env": "prod"})], (deployment, endpoint, workspace, other_ws))
    assert kept == {deployment.id, endpoint.id, workspace.id}  # ids and tag names compare case-insensitively
    assert left_out.by_resource_type == {"azure.ml.workspace": 1}


def test_api_management_parts_are_in_the_scope_of_their_service() -> None:
    service_id = f"/subscriptions/{SUB}/resourceGroups/gw/providers/Microsoft.ApiManagement/service/apim-prod"
    service = resource(service_id, "azure.apim.service", region="westeurope", tags={"env": "prod"})
    api = resource(service_id + "/apis/churn", "azure.apim.api", region="westeurope", service=service_id.upper())
    other = resource(service_id + "-dev/apis/churn", "azure.apim.api", region="westeurope",
                     service=service_id + "-dev")
    rules = {**RULES, "azure.apim.api.rule": rule("azure.apim.api")}
    findings = tuple(finding(r) for r in (api, other))
    kept, left_out = apply_scope([ScopeEntry(index=0, tags={"env": "prod"})], rules, findings,
                                 Inventory(resources=(service, api, other), coverage=()))
    assert [f.resource_id for f in kept] == [api.id] and left_out.by_rule == {"azure.apim.api.rule": 1}


def test_an_entry_governing_other_rules_leaves_a_rule_alone_and_a_scope_error_is_never_dropped_by_tags() -> None:
    only_roles = ScopeEntry(index=0, rules=("aws.iam.role.*",), tags={"env": "prod"})
    scope_error = Finding(rule_id="aws.sagemaker.model.rule", resource_id=f"arn:aws:sagemaker:{EAST}:{ACCOUNT}:*",
                          resource_type="aws.sagemaker.model", provider="aws", account=ACCOUNT, region=EAST,
                          status=Status.ERROR, severity=Severity.HIGH, message="access denied")
    kept, left_out = scoped([only_roles], AWS, (scope_error,))
    assert kept == {r.id for r in AWS if r is not ROLE_DEV} | {scope_error.resource_id}
    assert left_out.by_rule == {"aws.iam.role.rule": 1} and left_out.out_of_scope == 1


def _evaluate(tmp_path: Path, policy: str | None) -> dict[str, Any]:
    policy_file = write(tmp_path / "policy.yaml", policy) if policy is not None else None
    inputs = prepare_policy(policy_file, None, Severity.HIGH)
    workspace = resource(WS, "azure.ml.workspace", region="westeurope", tags={"env": "dev"})
    row = CoverageRow("azure", SUB, "*", "machinelearningservices", f"/subscriptions/{SUB}",
                      ("azure.ml.workspace",), 1)
    from datetime import UTC, datetime

    result = evaluate_inventory(inputs, Inventory(resources=(workspace,), coverage=(row,)), datetime.now(UTC))
    return to_document(result)


def test_findings_json_has_policy_scope_only_with_a_policy_and_it_round_trips(tmp_path: Path) -> None:
    assert "policy_scope" not in _evaluate(tmp_path, None)
    unscoped = _evaluate(tmp_path, "severity: {}\n")["policy_scope"]
    assert unscoped == {"out_of_scope": 0, "by_rule": {}, "by_resource_type": {}, "findings": 0, "by_status": {}}
    doc = _evaluate(tmp_path, "scope:\n  - tags: {env: prod}\n")
    assert doc["findings"] == []
    assert doc["policy_scope"]["out_of_scope"] == 1
    assert doc["policy_scope"]["by_resource_type"] == {"azure.ml.workspace": 1}
    assert doc["policy_scope"]["findings"] == 4  # the four workspace rules
    again = to_document(from_document(json.loads(json.dumps(doc)), "findings.json"))
    assert again["policy_scope"] == doc["policy_scope"]


@pytest.mark.parametrize("bad", [{"out_of_scope": -1}, {"by_status": {"OK": 1}}, {"extra": 1}])
def test_the_schema_rejects_a_malformed_policy_scope(tmp_path: Path, bad: dict[str, Any]) -> None:
    import jsonschema

    from auditor.findings.document import schema

    doc = _evaluate(tmp_path, "scope:\n  - tags: {env: prod}\n")
    doc["policy_scope"].update(bad)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema())
