"""ScanResult values for the output-format tests, built by hand from the model's dataclasses."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from auditor.model import CoverageRow, Finding, Resource, Rule, ScanResult, Severity, Status, Waiver
from auditor.rule_parts import FrameworkRef, Remediation

ACCOUNT = "123456789012"
REGION = "eu-west-1"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
STARTED = datetime(2025, 6, 2, 3, 0, 5, tzinfo=UTC)
FINISHED = datetime(2025, 6, 2, 3, 2, 19, tzinfo=UTC)
TODAY = date(2025, 6, 2)

HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_SCRIPT = "</script><script>alert('x')</script>"
HOSTILE_QUOTES = "\"' onmouseover=\"alert(2)"

KMS = "aws.sagemaker.endpoint_config.kms_key"
CAPTURE = "aws.sagemaker.endpoint_config.data_capture"
ISOLATION = "aws.sagemaker.model.network_isolation"
AUTH_MODE = "azure.ml.online_endpoint.auth_mode"
KEY_ROTATION = "aws.kms.key.rotation"  # evaluated, but no resource of its type in scope


def sm_arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name}"


AZURE_ENDPOINT = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/ml/providers/Microsoft.MachineLearningServices"
    "/workspaces/ws/onlineEndpoints/legacy-scorer"
)
SAGEMAKER_SCOPE = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:*"


def _rule(rule_id: str, title: str, severity: Severity, resource_type: str, *, provider: str = "aws",
          remediator: str | None = None, frameworks: tuple[FrameworkRef, ...] = ()) -> Rule:
    return Rule(
        id=rule_id,
        title=title,
        severity=severity,
        provider=provider,
        resource_type=resource_type,
        rationale=f"Why {rule_id} matters.\nSecond line of rationale.",
        remediation=Remediation(guidance=f"Fix {rule_id} like this.", remediator=remediator),
        anchors=(f"{rule_id}#anchor",),
        references=("https://docs.aws.amazon.com/sagemaker/latest/dg/encryption-at-rest.html",),
        frameworks=frameworks,
        source=f"rules/{provider}/{rule_id}.yaml",
    )


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        _rule(KMS, "Endpoint config encrypts its storage volume with a customer-managed key", Severity.HIGH,
              "aws.sagemaker.endpoint_config",
              frameworks=(FrameworkRef("CIS AWS", "2.1.1", "Encryption at rest"),
                          FrameworkRef("ISO 27001", "A.8.24"))),
        _rule(CAPTURE, "Endpoint config captures inference data", Severity.MEDIUM,
              "aws.sagemaker.endpoint_config", remediator="enable_data_capture"),
        _rule(ISOLATION, "Model runs with network isolation", Severity.CRITICAL, "aws.sagemaker.model",
              frameworks=(FrameworkRef("NIST 800-53", "SC-7", "Boundary protection"),)),
        _rule(AUTH_MODE, "Online endpoint does not use key authentication", Severity.HIGH,
              "azure.ml.online_endpoint", provider="azure", remediator="online_endpoint_aad_token"),
        _rule(KEY_ROTATION, "KMS key rotation is enabled", Severity.INFO, "aws.kms.key"),
    )
}


def finding(rule_id: str, resource_id: str, status: Status, *, message: str = "", name: str = "",
            evidence: dict[str, Any] | None = None, waiver: Waiver | None = None,
            severity: Severity | None = None) -> Finding:
    rule = RULES[rule_id]
    return Finding(
        rule_id=rule_id,
        resource_id=resource_id,
        resource_type=rule.resource_type,
        provider=rule.provider,
        account=SUBSCRIPTION if rule.provider == "azure" else ACCOUNT,
        region="westeurope" if rule.provider == "azure" else REGION,
        status=status,
        severity=severity or rule.severity,
        message=message or f"{rule.title}: {status.value.lower()}.",
        evidence=evidence if evidence is not None else {},
        resource_name=name or resource_id.rsplit("/", 1)[-1],
        waiver=waiver,
    )


ACTIVE_WAIVER = Waiver(
    rules=(AUTH_MODE,), resources=(AZURE_ENDPOINT,),
    reason="Partner integration still on keys; migration tracked in SEC-142",
    owner="ml-platform@example.com", expires=date(2027, 3, 31), index=0, source="waivers.yaml",
)
EXPIRED_WAIVER = Waiver(
    rules=("aws.sagemaker.*",), resources=(sm_arn("endpoint-config", "old-*"),),
    reason="Legacy endpoint being retired", owner="ops@example.com", expires=date(2025, 1, 31), index=1,
    source="waivers.yaml",
)
UNUSED_WAIVER = Waiver(
    rules=(ISOLATION,), resources=(sm_arn("model", "gone"),), reason="Vendor model, isolation breaks it",
    owner="ml-platform@example.com", expires=date(2026, 12, 31), index=2, source="waivers.yaml",
)

COVERAGE_OK = (
    CoverageRow("aws", ACCOUNT, REGION, "sagemaker", SAGEMAKER_SCOPE,
                ("aws.sagemaker.endpoint_config", "aws.sagemaker.model"), resources=5),
    CoverageRow("azure", SUBSCRIPTION, "*", "machinelearningservices", f"/subscriptions/{SUBSCRIPTION}",
                ("azure.ml.online_endpoint",), resources=1),
    CoverageRow("aws", ACCOUNT, REGION, "kms", f"arn:aws:kms:{REGION}:{ACCOUNT}:*", ("aws.kms.key",)),
)


def base_findings() -> tuple[Finding, ...]:
    return (
        finding(KMS, sm_arn("endpoint-config", "ep-a"), Status.FAIL,
                message="Endpoint config ep-a stores data with the AWS managed key.",
                evidence={"KmsKeyId": None, "ProductionVariants[0].InstanceType": "ml.m5.large"}),
        finding(KMS, sm_arn("endpoint-config", "ep-b"), Status.PASS,
                evidence={"KmsKeyId": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234"}),
        finding(CAPTURE, sm_arn("endpoint-config", "ep-a"), Status.FAIL,
                evidence={"DataCaptureConfig.EnableCapture": False}),
        finding(CAPTURE, sm_arn("endpoint-config", "ep-b"), Status.PASS),
        finding(ISOLATION, sm_arn("model", "m-a"), Status.PASS, evidence={"EnableNetworkIsolation": True}),
        finding(ISOLATION, sm_arn("model", "m-b"), Status.FAIL, evidence={"EnableNetworkIsolation": False}),
        finding(ISOLATION, sm_arn("model", "m-serverless"), Status.NOT_APPLICABLE),
        finding(AUTH_MODE, AZURE_ENDPOINT, Status.MUTED, waiver=ACTIVE_WAIVER,
                evidence={"properties.authMode": "Key"}),
    )


def make_result(**changes: Any) -> ScanResult:
    result = ScanResult(
        tool_version="0.1.0",
        started_at=STARTED,
        finished_at=FINISHED,
        scopes=(f"aws:{ACCOUNT}:{REGION}", f"azure:{SUBSCRIPTION}"),
        findings=base_findings(),
        coverage=COVERAGE_OK,
        rules=RULES,
        fail_on=Severity.HIGH,
        expired_waivers=(EXPIRED_WAIVER,),
        unused_waivers=(UNUSED_WAIVER,),
    )
    return dataclasses.replace(result, **changes)


def incomplete_collection() -> ScanResult:
    """The SageMaker listing was denied: a coverage error and ERROR findings for the scope."""
    denied = dataclasses.replace(COVERAGE_OK[0], resources=0,
                                 error="AccessDenied: sagemaker:ListEndpointConfigs")
    errors = tuple(
        finding(rule_id, SAGEMAKER_SCOPE, Status.ERROR, name="",
                message="The SageMaker resources of eu-west-1 could not be listed: access denied.",
                evidence={"error": "AccessDenied"})
        for rule_id in (KMS, CAPTURE, ISOLATION)
    )
    kept = tuple(f for f in base_findings() if f.provider == "azure")
    return make_result(coverage=(denied, *COVERAGE_OK[1:]), findings=kept + errors)


def undecided_rule() -> ScanResult:
    """Collection complete, but one rule could not decide (missing data): still incomplete."""
    error = finding(ISOLATION, sm_arn("model", "m-c"), Status.ERROR,
                    message="EnableNetworkIsolation was not collected for model m-c.")
    return make_result(findings=(*base_findings(), error))


def clean() -> ScanResult:
    return make_result(findings=tuple(f for f in base_findings() if f.status is Status.PASS),
                       expired_waivers=(), unused_waivers=())


def empty() -> ScanResult:
    return make_result(findings=(), coverage=(), rules={}, scopes=(), expired_waivers=(), unused_waivers=())


def hostile() -> ScanResult:
    """Attacker-controlled strings everywhere a cloud API or a waivers file can put them."""
    arn = sm_arn("endpoint-config", HOSTILE)
    hostile_waiver = dataclasses.replace(ACTIVE_WAIVER, reason=HOSTILE_SCRIPT, owner=HOSTILE_QUOTES)
    findings = (
        finding(KMS, arn, Status.FAIL, name=HOSTILE,
                message=f"Config {HOSTILE} is unencrypted {HOSTILE_SCRIPT}",
                evidence={HOSTILE: HOSTILE_SCRIPT, "Tags": {"owner": HOSTILE_QUOTES, "x": [HOSTILE]}}),
        finding(CAPTURE, arn, Status.PASS, name=HOSTILE, message=HOSTILE),
        finding(AUTH_MODE, AZURE_ENDPOINT, Status.MUTED, waiver=hostile_waiver, name=HOSTILE_QUOTES),
    )
    rules = dict(RULES)
    rules[KMS] = dataclasses.replace(RULES[KMS], title=HOSTILE, rationale=HOSTILE_SCRIPT,
                                     references=(f"javascript:alert(1) {HOSTILE}",),
                                     remediation=Remediation(guidance=HOSTILE_QUOTES))
    coverage = (dataclasses.replace(COVERAGE_OK[0], error=f"denied {HOSTILE}"), *COVERAGE_OK[1:])
    waiver = dataclasses.replace(UNUSED_WAIVER, reason=HOSTILE, resources=(HOSTILE_SCRIPT,))
    tagged = Resource(id=arn, type="aws.sagemaker.endpoint_config", provider="aws", account=ACCOUNT, region=REGION,
                      name=HOSTILE, document={}, tags={HOSTILE: HOSTILE_SCRIPT, "owner": HOSTILE_QUOTES})
    return make_result(findings=findings, rules=rules, coverage=coverage, scopes=(HOSTILE,),
                       unused_waivers=(waiver,), tool_version=HOSTILE_QUOTES, resources=(tagged,))


VARIANTS: dict[str, Callable[[], ScanResult]] = {
    "complete": make_result,
    "incomplete_collection": incomplete_collection,
    "undecided_rule": undecided_rule,
    "clean": clean,
    "empty": empty,
    "hostile": hostile,
}
