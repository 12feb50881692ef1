"""The endpoint inventory and the gateway-to-endpoint links of report.html, derived from the findings.

findings.json holds no resource documents, so what the report shows of each model endpoint (its auth,
identity, encryption, capture and network aspects) is read from the verdicts of the rules that evidence
them: ``endpoint_inventory`` for the endpoints table, ``gateway_links`` for the API Management APIs in
front of them. Both feed the page's data block (:mod:`auditor.outputs.html`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from auditor.model import Status
from auditor.outputs.html_view import STATUS_ORDER

ENDPOINT_KINDS: dict[str, str] = {
    "aws.sagemaker.endpoint": "SageMaker endpoint",
    "azure.ml.online_endpoint": "Azure ML online endpoint",
    "azure.ml.serverless_endpoint": "Azure ML serverless endpoint",
    "azure.ml.legacy_service": "Azure ML v1 service",
}
ASPECTS: tuple[str, ...] = ("auth", "identity", "encryption", "capture", "network")
GATEWAY_RULE = "azure.apim.api.model_endpoint_protected"

# Where each aspect of an endpoint is evidenced: (rule, whose finding: the endpoint's own, its
# workspace's, or its deployments'). Absent: no rule of the catalog evidences it for that kind.
_SOURCES: dict[str, dict[str, tuple[str, str]]] = {
    "aws.sagemaker.endpoint": {
        "encryption": ("aws.sagemaker.endpoint.data_capture_encrypted", "self"),
        "capture": ("aws.sagemaker.endpoint.data_capture_enabled", "self"),
    },
    "azure.ml.online_endpoint": {
        "auth": ("azure.ml.online_endpoint.auth_mode", "self"),
        "identity": ("azure.ml.online_endpoint.identity_least_privilege", "self"),
        "encryption": ("azure.ml.workspace.cmk_encryption", "workspace"),
        "capture": ("azure.ml.online_deployment.data_collection_enabled", "deployments"),
        "network": ("azure.ml.online_endpoint.public_network_access_disabled", "self"),
    },
    "azure.ml.serverless_endpoint": {
        "auth": ("azure.ml.serverless_endpoint.auth_mode", "self"),
        "encryption": ("azure.ml.workspace.cmk_encryption", "workspace"),
    },
    "azure.ml.legacy_service": {
        "auth": ("azure.ml.legacy_service.auth_enabled", "self"),
        "encryption": ("azure.ml.workspace.cmk_encryption", "workspace"),
    },
}
# Facts of the platform rather than of a finding.
_FIXED: dict[tuple[str, str], str] = {("aws.sagemaker.endpoint", "auth"): "IAM SigV4"}
_WORST = {s.value: i for i, s in enumerate((Status.ERROR, Status.FAIL, Status.MUTED, Status.PASS,
                                            Status.NOT_APPLICABLE))}


def _key(provider: str, resource_id: str) -> str:
    return resource_id.lower() if provider == "azure" else resource_id


def _workspace_of(resource_id: str) -> str | None:
    """The Azure ML workspace id an endpoint id lies under (Resource Manager ids are hierarchical)."""
    lowered = resource_id.lower()
    marker = "/workspaces/"
    at = lowered.find(marker)
    if at < 0:
        return None
    end = lowered.find("/", at + len(marker))
    return lowered if end < 0 else lowered[:end]


def endpoint_inventory(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every endpoint (inventory or findings), with its auth mode, identity, encryption, data capture,
    network exposure and gateways at a glance, each as ``{"text", "status", "rule"}``."""
    findings: Sequence[Mapping[str, Any]] = doc["findings"]
    by_resource: dict[tuple[str, str], Mapping[str, Any]] = {}
    by_deployments: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    counts: dict[str, dict[str, int]] = {}
    endpoints: dict[str, dict[str, Any]] = {}
    for entry in doc.get("inventory", ()):
        if entry["type"] in ENDPOINT_KINDS:
            endpoints.setdefault(_key(entry["provider"], entry["id"]), dict(entry))
    for f in findings:
        key = _key(f["provider"], f["resource_id"])
        by_resource[(f["rule_id"], key)] = f
        if f["resource_type"] in ENDPOINT_KINDS:
            endpoints.setdefault(key, {"id": f["resource_id"], "type": f["resource_type"], "provider": f["provider"],
                                       "account": f["account"], "region": f["region"],
                                       "name": f["resource_name"]})
            tally = counts.setdefault(key, {})
            tally[f["status"]] = tally.get(f["status"], 0) + 1
        elif "/deployments/" in key:
            parent = key[: key.rindex("/deployments/")]
            by_deployments.setdefault((f["rule_id"], parent), []).append(f)
    gateways: dict[str, list[dict[str, str]]] = {}
    for link in gateway_links(doc):
        if link["endpoint_id"]:
            key = _key("aws" if link["endpoint_kind"].startswith("aws.") else "azure", link["endpoint_id"])
            gateways.setdefault(key, []).append({"api": link["api_name"] or link["api_id"],
                                                 "protection": link["protection"], "status": link["status"]})
    rows = []
    for key, endpoint in endpoints.items():
        kind = endpoint["type"]
        aspects = {}
        for aspect in ASPECTS:
            fixed = _FIXED.get((kind, aspect))
            source = _SOURCES.get(kind, {}).get(aspect)
            if fixed is not None:
                aspects[aspect] = {"text": fixed, "status": "", "rule": ""}
            elif source is None:
                aspects[aspect] = {"text": "", "status": "", "rule": ""}
            else:
                aspects[aspect] = _aspect(source, key, by_resource, by_deployments)
        rows.append({
            "id": endpoint["id"], "name": endpoint["name"], "kind": kind, "kind_label": ENDPOINT_KINDS[kind],
            "provider": endpoint["provider"], "account": endpoint["account"], "region": endpoint["region"],
            **aspects,
            "gateways": sorted(gateways.get(key, []), key=lambda g: (g["api"], g["protection"])),
            "counts": {s.value: counts.get(key, {}).get(s.value, 0) for s in STATUS_ORDER},
        })
    return sorted(rows, key=lambda r: (r["kind"], r["name"], r["id"]))


def _aspect(source: tuple[str, str], key: str, by_resource: Mapping[tuple[str, str], Mapping[str, Any]],
            by_deployments: Mapping[tuple[str, str], Sequence[Mapping[str, Any]]]) -> dict[str, str]:
    rule_id, whose = source
    if whose == "deployments":
        found = sorted(by_deployments.get((rule_id, key), ()), key=lambda f: f["resource_id"])
        if not found:
            return {"text": "no deployment", "status": "", "rule": rule_id}
        collecting = sum(1 for f in found if f["status"] == Status.PASS.value)
        worst = min((f["status"] for f in found), key=lambda s: _WORST[s])
        return {"text": f"{collecting} of {len(found)} deployments collect", "status": worst, "rule": rule_id}
    target = _workspace_of(key) if whose == "workspace" else key
    f = by_resource.get((rule_id, target)) if target is not None else None
    if f is None:
        return {"text": "not evaluated", "status": "", "rule": rule_id}
    return {"text": _describe(rule_id, f), "status": f["status"], "rule": rule_id}


def _describe(rule_id: str, f: Mapping[str, Any]) -> str:
    """A few words for one aspect, from the finding's evidence (the rule's own keys) and status."""
    ev: Mapping[str, Any] = f["evidence"]
    status: str = f["status"]
    if status == Status.ERROR.value:
        return "undecided (ERROR)"
    if rule_id.endswith(".auth_mode") and isinstance(ev.get("properties.authMode"), str):
        return str(ev["properties.authMode"])
    if rule_id == "azure.ml.legacy_service.auth_enabled":
        if ev.get("properties.aadAuthEnabled") is True:
            return "token (Entra ID)"
        return "key" if ev.get("properties.authEnabled") is True else "none"
    if rule_id == "azure.ml.online_endpoint.identity_least_privilege":
        if status == Status.NOT_APPLICABLE.value:
            return "no managed identity"
        broad = ev.get("broad_assignments")
        if isinstance(broad, list) and broad:
            return f"broad role: {broad[0]}" + (f" (+{len(broad) - 1})" if len(broad) > 1 else "")
        principals = ev.get("principal_ids")
        n = len(principals) if isinstance(principals, list) else 0
        return f"{n} identit{'y' if n == 1 else 'ies'}, no broad role"
    if rule_id == "azure.ml.workspace.cmk_encryption":
        return "workspace: customer-managed key" if status == Status.PASS.value else "workspace: Microsoft-managed key"
    if rule_id == "aws.sagemaker.endpoint.data_capture_encrypted":
        if status == Status.NOT_APPLICABLE.value:
            return "no capture to encrypt"
        key = ev.get("DataCaptureConfig.KmsKeyId")
        return f"capture: KMS {key}" if isinstance(key, str) and key else "capture: no KMS key"
    if rule_id == "aws.sagemaker.endpoint.data_capture_enabled":
        return "enabled" if status == Status.PASS.value else "off"
    if rule_id.endswith(".public_network_access_disabled"):
        value = ev.get("properties.publicNetworkAccess")
        return f"public access: {value}" if isinstance(value, str) else "public access: not set (enabled by default)"
    return {"PASS": "compliant", "FAIL": "non-compliant", "MUTED": "non-compliant (waived)",
            "NOT_APPLICABLE": "not applicable"}.get(status, status)


def gateway_links(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Gateway API -> model endpoint -> protection, one row per link the API Management findings record."""
    rows = []
    for f in doc["findings"]:
        if f["rule_id"] != GATEWAY_RULE:
            continue
        fronts = f["evidence"].get("fronts")
        if not isinstance(fronts, list):
            continue
        protection = f["evidence"].get("protection")
        if not isinstance(protection, str):
            protection = "undecided" if f["status"] == Status.ERROR.value else "unknown"
        for front in fronts:
            if not isinstance(front, Mapping):
                continue
            rows.append({
                "api_id": f["resource_id"], "api_name": f["resource_name"], "account": f["account"],
                "endpoint_kind": _text(front.get("kind")), "endpoint_id": _text(front.get("id")),
                "endpoint_name": _text(front.get("name")), "host": _text(front.get("host")),
                "via": _text(front.get("via")), "protection": protection, "status": f["status"],
                "finding": f["id"],
            })
    return sorted(rows, key=lambda r: (r["api_id"], r["endpoint_kind"], r["host"], r["endpoint_id"], r["via"]))


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
