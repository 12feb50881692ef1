"""A scanned estate for the browser tests: both clouds, every status, a gateway, baseline marks and
attacker-controlled strings in the places a cloud API lets them in (names, tags, messages, evidence,
waivers). Each payload, if it ever ran, would set ``window.__pwned``."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from auditor.catalog import load_catalog, load_frameworks
from auditor.model import CoverageRow, Finding, Resource, ScanResult, Severity, Status, Waiver
from auditor.outputs.findings_json import to_document
from auditor.owners import assign as assign_owners

ACCOUNTS = ("111111111111", "222222222222")
SUBSCRIPTION = "5d0f3e1a-7c2b-4a9e-9f10-2b6c8d4e0a01"
REGION = "eu-west-1"

HOSTILE_NAME = '<img src=x onerror="window.__pwned=1">'
HOSTILE_TAG = '"><script>window.__pwned=2</script>'
HOSTILE_MESSAGE = "Endpoint is open </script><script>window.__pwned=3</script>"
HOSTILE_KEY = "<img src=x onerror=window.__pwned=4>"
HOSTILE_VALUE = "<svg onload=window.__pwned=5>"
HOSTILE_REASON = "<b onmouseover=window.__pwned=6>accepted</b>"

WS = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/ml/providers/Microsoft.MachineLearningServices"
      "/workspaces/mlw-prod")
API = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/gw/providers/Microsoft.ApiManagement/service/apim/apis/score"
SAGEMAKER_ENDPOINTS = 40
ONLINE_ENDPOINTS = 12
# The endpoint whose config could not be read: its row cannot show what serves it.
UNREAD_CONFIG = 37
# The endpoint whose tags could not be read: its owner is unknown, not unowned.
UNREAD_TAGS = 21
HOSTILE_OWNER = "<img src=x onerror=window.__pwned=7>"


def endpoint_tags(i: int) -> dict[str, str]:
    """SageMaker endpoint i's tags: an owner for most (one hostile), none for every fifth."""
    tags = {"team": "ml", "notes": HOSTILE_TAG} if i == 7 else {"team": "ml"}
    if i == 7:
        tags["owner"] = HOSTILE_OWNER
    elif i % 5:
        tags["owner"] = "ml-platform" if i % 2 else "recsys"
    return tags


def sm_arn(account: str, kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{account}:{kind}/{name}"


def role_arn(account: str, i: int) -> str:
    """The execution role of endpoint i's model: one role per ten endpoints and account."""
    return f"arn:aws:iam::{account}:role/sm-exec-{i // 10}"


def build() -> ScanResult:
    catalog = load_catalog()

    def make(rule_id: str, resource_id: str, status: Status, evidence: dict[str, Any], name: str,
             message: str = "", account: str = ACCOUNTS[0], waiver: Waiver | None = None) -> Finding:
        rule = catalog[rule_id]
        azure = rule.provider == "azure"
        return Finding(rule_id=rule_id, resource_id=resource_id, resource_type=rule.resource_type,
                       provider=rule.provider, account=SUBSCRIPTION if azure else account,
                       region="westeurope" if azure else REGION, status=status, severity=rule.severity,
                       message=message or f"{rule.title}: {name} is {status.value.lower()}.",
                       evidence=evidence, resource_name=name, waiver=waiver)

    waiver = Waiver(rules=("azure.ml.online_endpoint.public_network_access_disabled",), resources=("*",),
                    reason=HOSTILE_REASON, owner="ml-platform@example.com", expires=date(2027, 3, 31), index=0)
    findings: list[Finding] = []
    resources: list[Resource] = []
    roles: set[str] = set()

    def resource(resource_id: str, rtype: str, name: str, account: str, **related: Any) -> Resource:
        azure = rtype.startswith("azure.")
        unread = {f"related.{k}": "AccessDenied" for k, v in related.items() if v is None}
        return Resource(id=resource_id, type=rtype, provider="azure" if azure else "aws",
                        account=SUBSCRIPTION if azure else account, region="westeurope" if azure else REGION,
                        name=name, document={}, tags={}, related=related, unreadable=unread)

    for i in range(SAGEMAKER_ENDPOINTS):
        account = ACCOUNTS[i % 2]
        name = HOSTILE_NAME if i == 7 else f"churn-{i:02d}"
        endpoint = sm_arn(account, "endpoint", f"churn-{i:02d}")
        config = sm_arn(account, "endpoint-config", f"churn-{i:02d}-cfg")
        model = sm_arn(account, "model", f"churn-{i:02d}-model")
        role = role_arn(account, i)
        capture = i % 3 != 0
        findings += [
            make("aws.sagemaker.endpoint.data_capture_enabled", endpoint, Status.PASS if capture else Status.FAIL,
                 {"DataCaptureConfig.EnableCapture": capture or None}, name,
                 message=HOSTILE_MESSAGE if i == 7 else "", account=account),
            make("aws.sagemaker.endpoint.data_capture_encrypted", endpoint,
                 (Status.PASS if i % 2 else Status.FAIL) if capture else Status.NOT_APPLICABLE,
                 {"DataCaptureConfig.KmsKeyId": "alias/capture" if i % 2 else None}
                 if i != 7 else {HOSTILE_KEY: HOSTILE_VALUE}, name, account=account),
            make("aws.sagemaker.endpoint_config.kms_volume_encryption", config,
                 Status.FAIL if i % 4 == 1 else Status.PASS,
                 {"KmsKeyId": None if i % 4 == 1 else "alias/volume"}, f"churn-{i:02d}-cfg", account=account),
            make("aws.sagemaker.model.network_isolation", model,
                 Status.FAIL if i % 5 else Status.PASS, {"EnableNetworkIsolation": i % 5 == 0},
                 f"churn-{i:02d}-model", account=account),
            make("aws.sagemaker.model.vpc", model,
                 Status.ERROR if i == 3 else Status.PASS, {"VpcConfig.Subnets": ["subnet-1"]},
                 f"churn-{i:02d}-model", account=account),
        ]
        if role not in roles:
            roles.add(role)
            findings.append(make("aws.iam.role.sagemaker_least_privilege", role,
                                 Status.FAIL if i // 10 == 1 else Status.PASS, {"AttachedPolicies": []},
                                 role.rsplit("/", 1)[-1], account=account))
            resources.append(resource(role, "aws.iam.role", role.rsplit("/", 1)[-1], account))
        resources += [
            Resource(id=endpoint, type="aws.sagemaker.endpoint", provider="aws", account=account,
                     region=REGION, name=name, document={},
                     tags=endpoint_tags(i),
                     related={"endpoint_config": None if i == UNREAD_CONFIG else config},
                     unreadable={"related.endpoint_config": "AccessDenied"} if i == UNREAD_CONFIG
                     else {"tags": "AccessDenied"} if i == UNREAD_TAGS else {}),
            resource(config, "aws.sagemaker.endpoint_config", f"churn-{i:02d}-cfg", account, models=[model],
                     kms_keys=[], capture_bucket=None if not capture else f"arn:aws:s3:::capture-{account}"),
            resource(model, "aws.sagemaker.model", f"churn-{i:02d}-model", account, execution_role=role),
        ]
    modes = ("Key", "AADToken", "AMLToken")
    for i in range(ONLINE_ENDPOINTS):
        endpoint = f"{WS}/onlineEndpoints/scorer-{i:02d}"
        name = f"scorer-{i:02d}"
        mode = modes[i % 3]
        findings += [
            make("azure.ml.online_endpoint.auth_mode", endpoint, Status.FAIL if mode == "Key" else Status.PASS,
                 {"properties.authMode": mode}, name),
            make("azure.ml.online_endpoint.identity_least_privilege", endpoint,
                 Status.FAIL if i == 4 else Status.PASS,
                 {"principal_ids": [f"p-{i}"], **({"broad_assignments": ["Owner at subscription scope"]} if i == 4
                                                  else {})}, name),
            make("azure.ml.online_endpoint.public_network_access_disabled", endpoint,
                 Status.MUTED if i % 2 else Status.PASS,
                 {"properties.publicNetworkAccess": "Enabled" if i % 2 else "Disabled"}, name,
                 waiver=waiver if i % 2 else None),
            make("azure.ml.online_deployment.data_collection_enabled", f"{endpoint}/deployments/blue",
                 Status.FAIL if i % 3 == 1 else Status.PASS, {}, "blue"),
        ]
        resources += [
            replace(resource(endpoint, "azure.ml.online_endpoint", name, SUBSCRIPTION, workspace=WS,
                             deployments=[f"{endpoint}/deployments/blue"]),
                    tags={"Owner": "scoring-team"} if i % 2 else {}),
            resource(f"{endpoint}/deployments/blue", "azure.ml.online_deployment", "blue", SUBSCRIPTION,
                     endpoint=endpoint),
        ]
    resources.append(resource(WS, "azure.ml.workspace", "mlw-prod", SUBSCRIPTION))
    resources += [resource(f"arn:aws:s3:::capture-{account}", "aws.s3.bucket", f"capture-{account}", account)
                  for account in ACCOUNTS]
    findings += [
        make("azure.ml.workspace.cmk_encryption", WS, Status.PASS,
             {"properties.encryption.status": "Enabled"}, "mlw-prod"),
        make("azure.apim.api.model_endpoint_protected", API, Status.FAIL,
             {"fronts": [{"kind": "azure.ml.online_endpoint", "id": f"{WS}/onlineEndpoints/scorer-00",
                          "name": "scorer-00", "host": "scorer-00.westeurope.inference.ml.azure.com",
                          "via": "serviceUrl"}],
              "protection": "none", "subscriptionRequired": False}, "score-api"),
    ]
    coverage = (
        CoverageRow("aws", ACCOUNTS[0], REGION, "sagemaker", sm_arn(ACCOUNTS[0], "", "*"),
                    ("aws.sagemaker.endpoint",), resources=60),
        CoverageRow("aws", ACCOUNTS[1], REGION, "sagemaker", sm_arn(ACCOUNTS[1], "", "*"),
                    ("aws.sagemaker.endpoint",), resources=60),
        CoverageRow("azure", SUBSCRIPTION, "*", "machinelearningservices", f"/subscriptions/{SUBSCRIPTION}",
                    ("azure.ml.online_endpoint",), resources=40),
    )
    return ScanResult(
        tool_version="0.1.0", started_at=datetime(2026, 6, 2, 3, 0, tzinfo=UTC),
        finished_at=datetime(2026, 6, 2, 3, 2, tzinfo=UTC),
        scopes=(f"aws:{ACCOUNTS[0]}:{REGION}", f"aws:{ACCOUNTS[1]}:{REGION}", f"azure:{SUBSCRIPTION}"),
        findings=assign_owners(findings, resources, "owner"), coverage=coverage, owner_tag="owner",
        rules={rule_id: rule for rule_id, rule in catalog.items() if rule_id in {f.rule_id for f in findings}},
        fail_on=Severity.HIGH, resources=tuple(resources), frameworks=load_frameworks(),
    )


BASELINE_CYCLE = (("still_failing", "FAIL"), ("new", None), ("unchanged", "PASS"), ("regressed", "PASS"),
                  ("unknown", None))


def document() -> dict[str, Any]:
    """The findings document of ``build()``, with baseline marks as ``--baseline`` writes them."""
    doc = copy.deepcopy(to_document(build()))
    counts = dict.fromkeys(("new", "still_failing", "regressed", "resolved", "unknown", "unchanged"), 0)
    for i, f in enumerate(doc["findings"]):
        state, previous = BASELINE_CYCLE[i % len(BASELINE_CYCLE)]
        f["baseline"] = {"state": state, "previous_status": previous, "previous_severity": None}
        counts[state] += 1
    doc["baseline"] = {"file": "previous/findings.json", "started": "2026-06-01T03:00:00Z", "counts": counts,
                       "resolved": [], "unverified": []}
    return doc
