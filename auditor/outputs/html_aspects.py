"""What each finding says of an endpoint's posture, in a few words, for the endpoint inventory of report.html.

:mod:`auditor.outputs.html_endpoints` gathers the findings of an endpoint and of everything that serves
it; this module files each rule under one aspect of the inventory (auth, identity, encryption, data
capture, network, other) and words one line per rule: from the finding's evidence where the rule's own
keys say more than its verdict (an auth mode, a KMS key, a broad role), else from the status. A rule this
table does not know (a custom rule) is filed under ``other`` and worded from its id, so no finding of an
endpoint's parts is ever left out of its row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from auditor.model import Status

ASPECTS: tuple[str, ...] = ("auth", "identity", "encryption", "capture", "network", "other")
OTHER = "other"

# rule -> (aspect, label, words when it passes, words when it fails). The order is the order of the lines.
_RULES: dict[str, tuple[str, str, str, str]] = {
    "azure.ml.online_endpoint.auth_mode": ("auth", "", "", ""),
    "azure.ml.serverless_endpoint.auth_mode": ("auth", "", "", ""),
    "azure.ml.legacy_service.auth_enabled": ("auth", "", "", ""),
    "azure.ml.legacy_service.token_auth": ("auth", "token auth", "on", "off"),
    "azure.ml.online_endpoint.identity_least_privilege": ("identity", "", "", ""),
    "aws.iam.role.sagemaker_least_privilege": ("identity", "execution role", "least privilege", "over-privileged"),
    "aws.sagemaker.endpoint_config.kms_volume_encryption": ("encryption", "volume", "KMS key", "no KMS key"),
    "aws.kms.key.rotation_enabled": ("encryption", "key rotation", "on", "off"),
    "azure.ml.workspace.cmk_encryption": ("encryption", "workspace", "customer-managed key", "Microsoft-managed key"),
    "aws.sagemaker.endpoint.data_capture_enabled": ("capture", "capture", "on", "off"),
    "aws.sagemaker.endpoint.data_capture_encrypted": ("capture", "capture KMS", "key set", "no key"),
    "aws.s3.bucket.kms_default_encryption": ("capture", "bucket", "SSE-KMS by default", "no SSE-KMS default"),
    "aws.s3.bucket.public_access_blocked": ("capture", "bucket", "public access blocked",
                                            "public access not blocked"),
    "azure.ml.online_deployment.data_collection_enabled": ("capture", "data collection", "on", "off"),
    "aws.sagemaker.model.network_isolation": ("network", "network isolation", "on", "off"),
    "aws.sagemaker.model.vpc": ("network", "VPC", "subnets set", "none"),
    "azure.ml.online_endpoint.public_network_access_disabled": ("network", "", "", ""),
    "azure.ml.online_deployment.egress_public_network_disabled": ("network", "deployment egress", "public disabled",
                                                                  "public allowed"),
    "azure.ml.workspace.public_network_access_disabled": ("network", "workspace public access", "disabled",
                                                          "enabled"),
    "azure.ml.workspace.private_link": ("network", "workspace private link", "approved", "none approved"),
    "azure.ml.workspace.managed_network_isolation": ("network", "workspace outbound", "approved only",
                                                     "not restricted"),
    "aws.sagemaker.endpoint_config.multi_instance": ("other", "instances", "2 or more each", "single instance"),
    "azure.ml.online_deployment.no_plaintext_secrets": ("other", "secrets", "none in plaintext",
                                                        "plaintext in environment"),
    "azure.ml.serverless_endpoint.content_safety_enabled": ("other", "content safety", "on", "off"),
    "azure.ml.legacy_service.retired": ("other", "v1 service", "", "retired: must migrate"),
    "azure.ai.account.local_auth_disabled": ("auth", "keys", "disabled (Entra ID only)", "enabled"),
    "azure.ai.account.identity_least_privilege": ("identity", "account identity", "least privilege",
                                                  "over-privileged"),
    "azure.ai.account.cmk_encryption": ("encryption", "account", "customer-managed key", "Microsoft-managed key"),
    "azure.ai.account.public_network_access_disabled": ("network", "public access", "restricted", "open"),
    "azure.ai.deployment.content_filter": ("other", "content filter", "blocks all four harms",
                                           "does not block every harm"),
}
_ORDER = {rule_id: i for i, rule_id in enumerate(_RULES)}
# What NOT_APPLICABLE means for a rule, where "not applicable" says too little.
_NOT_APPLICABLE = {
    "aws.sagemaker.endpoint_config.kms_volume_encryption": "serverless, no volume",
    "aws.sagemaker.endpoint_config.multi_instance": "serverless",
    "aws.sagemaker.endpoint.data_capture_encrypted": "no capture to encrypt",
    "aws.kms.key.rotation_enabled": "not applicable (imported or asymmetric key)",
    "azure.ml.online_deployment.egress_public_network_disabled": "the cluster's (Kubernetes)",
}
# What several resources of one type are called in a line ("off on 1 of 2 models").
_NOUNS = {
    "aws.sagemaker.endpoint_config": "configs", "aws.sagemaker.model": "models", "aws.iam.role": "roles",
    "aws.kms.key": "keys", "aws.s3.bucket": "buckets", "azure.ml.online_deployment": "deployments",
    "azure.ai.deployment": "deployments",
    "azure.ml.workspace": "workspaces",
}
_PASS, _FAIL, _ERROR, _MUTED, _NA = (Status.PASS.value, Status.FAIL.value, Status.ERROR.value, Status.MUTED.value,
                                    Status.NOT_APPLICABLE.value)
# Worst first: the status a line (and a row) takes from its findings.
WORST: tuple[str, ...] = (_ERROR, _FAIL, _MUTED, _PASS, _NA)
_RANK = {status: i for i, status in enumerate(WORST)}


def aspect_of(rule_id: str) -> str:
    known = _RULES.get(rule_id)
    return known[0] if known else OTHER


def line_order(rule_id: str) -> tuple[int, str]:
    return _ORDER.get(rule_id, len(_ORDER)), rule_id


def worst(statuses: Sequence[str]) -> str:
    """The worst of ``statuses`` (ERROR before FAIL before MUTED ...); "" when there is none."""
    return min(statuses, key=_RANK.__getitem__) if statuses else ""


def describe(rule_id: str, findings: Sequence[Mapping[str, Any]]) -> str:
    """One line for the findings of one rule over an endpoint's parts (one or several resources)."""
    if len(findings) == 1:
        return _one(rule_id, findings[0])
    statuses = [f["status"] for f in findings]
    bad = worst(statuses)
    label = _label(rule_id)
    noun = _NOUNS.get(findings[0]["resource_type"], "resources")
    words = _words(rule_id, bad)
    n = sum(1 for s in statuses if s == bad)
    where = f"{len(findings)} {noun}" if n == len(findings) else f"{n} of {len(findings)} {noun}"
    return f"{label}: {words} ({where})" if label else f"{words} ({where})"


def _label(rule_id: str) -> str:
    known = _RULES.get(rule_id)
    if known:
        return known[1]
    return rule_id.rsplit(".", 1)[-1].replace("_", " ")


def _words(rule_id: str, status: str) -> str:
    known = _RULES.get(rule_id)
    passed, failed = (known[2], known[3]) if known and (known[2] or known[3]) else ("compliant", "non-compliant")
    if status == _PASS:
        return passed or "compliant"
    if status == _FAIL:
        return failed
    if status == _MUTED:
        return f"{failed} (waived)"
    if status == _ERROR:
        return "undecided (ERROR)"
    return _NOT_APPLICABLE.get(rule_id, "not applicable") if status == _NA else status


def _one(rule_id: str, f: Mapping[str, Any]) -> str:
    """A few words for one finding, from its evidence (the rule's own keys) and status."""
    ev: Mapping[str, Any] = f["evidence"]
    status: str = f["status"]
    special = None if status == _ERROR else _from_evidence(rule_id, status, ev, f)
    if special is not None:
        return special
    label = _label(rule_id)
    words = _words(rule_id, status)
    return f"{label}: {words}" if label else words


def _from_evidence(rule_id: str, status: str, ev: Mapping[str, Any], f: Mapping[str, Any]) -> str | None:
    if rule_id.endswith(".auth_mode") and isinstance(ev.get("properties.authMode"), str):
        return str(ev["properties.authMode"]) + (" (waived)" if status == _MUTED else "")
    if rule_id == "azure.ml.legacy_service.auth_enabled":
        if ev.get("properties.aadAuthEnabled") is True:
            return "token (Entra ID)"
        return "key" if ev.get("properties.authEnabled") is True else "none"
    if rule_id == "azure.ml.online_endpoint.identity_least_privilege":
        if status == _NA:
            return "no managed identity"
        broad = ev.get("broad_assignments")
        if isinstance(broad, list) and broad:
            return f"broad role: {broad[0]}" + (f" (+{len(broad) - 1})" if len(broad) > 1 else "")
        principals = ev.get("principal_ids")
        n = len(principals) if isinstance(principals, list) else 0
        return f"{n} identit{'y' if n == 1 else 'ies'}, no broad role"
    if rule_id == "aws.sagemaker.endpoint.data_capture_encrypted":
        key = ev.get("DataCaptureConfig.KmsKeyId")
        return f"capture KMS: {key}" if isinstance(key, str) and key else None
    if rule_id == "aws.sagemaker.endpoint_config.multi_instance" and status == _FAIL:
        count = ev.get("min(ProductionVariants[?ServerlessConfig == null].InitialInstanceCount)")
        return f"instances: {count} in a variant" if isinstance(count, int) else None
    if rule_id.endswith(".public_network_access_disabled") and rule_id.startswith("azure.ml.online_endpoint"):
        value = ev.get("properties.publicNetworkAccess")
        return f"public access: {value}" if isinstance(value, str) else "public access: not set (enabled by default)"
    return None

