"""Small ScanResults for the baseline and history tests, built from the model's dataclasses."""

from __future__ import annotations

from datetime import UTC, date, datetime

from auditor.model import CoverageRow, Finding, Rule, ScanResult, Severity, Status, Waiver
from auditor.rule_parts import Remediation

ACCOUNT = "123456789012"
REGION = "eu-west-1"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
BEFORE = datetime(2025, 6, 1, 3, 0, 0, tzinfo=UTC)
NOW = datetime(2025, 6, 2, 3, 0, 0, tzinfo=UTC)

ISOLATION = "aws.sagemaker.model.network_isolation"  # critical
KMS = "aws.sagemaker.endpoint_config.kms_volume_encryption"  # high
CAPTURE = "aws.sagemaker.endpoint.data_capture_enabled"  # medium
AUTH = "azure.ml.online_endpoint.auth_mode"  # high
BUCKET = "aws.s3.bucket.kms_default_encryption"  # medium: a bucket is found through the configs naming it

_TYPES = {ISOLATION: "aws.sagemaker.model", KMS: "aws.sagemaker.endpoint_config", CAPTURE: "aws.sagemaker.endpoint",
          AUTH: "azure.ml.online_endpoint", BUCKET: "aws.s3.bucket"}
_SEVERITIES = {ISOLATION: Severity.CRITICAL, KMS: Severity.HIGH, CAPTURE: Severity.MEDIUM, AUTH: Severity.HIGH,
               BUCKET: Severity.MEDIUM}

RULES = {
    rule_id: Rule(id=rule_id, title=rule_id, severity=_SEVERITIES[rule_id],
                  provider="azure" if rule_id.startswith("azure") else "aws", resource_type=_TYPES[rule_id],
                  rationale="", remediation=Remediation(guidance="fix it"))
    for rule_id in _TYPES
}

SAGEMAKER_SCOPE = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:*"
AZURE_SCOPE = f"/subscriptions/{SUBSCRIPTION}"
SAGEMAKER_ROW = CoverageRow("aws", ACCOUNT, REGION, "sagemaker", SAGEMAKER_SCOPE,
                            ("aws.sagemaker.endpoint", "aws.sagemaker.endpoint_config", "aws.sagemaker.model"), 3)
S3_ROW = CoverageRow("aws", ACCOUNT, "global", "s3", "arn:aws:s3:::*", ("aws.s3.bucket",), 1,
                     found_through=(f"arn:aws:sagemaker:*:{ACCOUNT}:*",))
AZURE_ROW = CoverageRow("azure", SUBSCRIPTION, "*", "machinelearningservices", AZURE_SCOPE,
                        ("azure.ml.online_endpoint",), 1)


def arn(kind: str, name: str, region: str = REGION) -> str:
    return f"arn:aws:sagemaker:{region}:{ACCOUNT}:{kind}/{name}"


def endpoint_id(name: str) -> str:
    return (f"{AZURE_SCOPE}/resourceGroups/ml/providers/Microsoft.MachineLearningServices/workspaces/ws"
            f"/onlineEndpoints/{name}")


def finding(rule_id: str, resource_id: str, status: Status, severity: Severity | None = None) -> Finding:
    azure = rule_id.startswith("azure")
    waiver = None
    if status is Status.MUTED:
        waiver = Waiver(rules=(rule_id,), resources=(resource_id,), reason="accepted", owner="team@example.com",
                        expires=date(2030, 1, 1), index=0)
    return Finding(rule_id=rule_id, resource_id=resource_id, resource_type=_TYPES[rule_id],
                   provider="azure" if azure else "aws", account=SUBSCRIPTION if azure else ACCOUNT,
                   region="westeurope" if azure else REGION, status=status,
                   severity=severity or _SEVERITIES[rule_id], message=f"{rule_id} {status.value}", waiver=waiver)


def scan(*findings: Finding, started: datetime = NOW, coverage: tuple[CoverageRow, ...] = (SAGEMAKER_ROW, AZURE_ROW),
         rules: dict[str, Rule] | None = None, fail_on: Severity = Severity.HIGH) -> ScanResult:
    return ScanResult(tool_version="0.1.0", started_at=started, finished_at=started,
                      scopes=(f"aws:{ACCOUNT}:{REGION}",), findings=findings, coverage=coverage,
                      rules=RULES if rules is None else rules, fail_on=fail_on)
