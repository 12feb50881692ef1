"""findings.ocsf.json: the findings as OCSF Compliance Finding events (class 2003), for SIEMs and data lakes.

Rendered from the findings document (``findings_json.to_document``), so a file re-rendered from
findings.json by ``auditor report`` is byte for byte the scan's. A JSON array, one event per finding
(every status), one event per line.

Mapping (OCSF ``OCSF_VERSION``, with the ``cloud`` profile):

====================================  ===========================================================
OCSF attribute                        from
====================================  ===========================================================
``class_uid`` / ``category_uid``      2003 Compliance Finding / 2 Findings
``activity_id`` / ``type_uid``        1 Create / 200301 (class_uid * 100 + activity_id)
``time`` / ``time_dt``                the scan's end (ms since the epoch / ISO 8601)
``severity_id`` / ``severity``        info 1 Informational, low 2, medium 3, high 4, critical 5
``status_id`` / ``status``            the finding's triage state: FAIL and ERROR 1 New (to act on),
                                      MUTED 3 Suppressed (waived), PASS and NOT_APPLICABLE
                                      4 Resolved (nothing to act on)
``status_code`` / ``status_detail``   the auditor's status (PASS, FAIL, ...) / the waiver, if any
``message``                           the finding's message
``compliance.status_id`` / ``status`` PASS 1 Pass, FAIL and MUTED 3 Fail (a waiver does not make a
                                      check pass), ERROR 2 Warning ("did not yield a result due to
                                      missing information"), NOT_APPLICABLE 99 Other "Not Applicable"
``compliance.control``                the rule id
``compliance.standards``              the frameworks the rule maps to (``[]`` when none)
``compliance.requirements``           "FRAMEWORK CONTROL: TITLE" for each mapped control
``finding_info``                      uid = finding id (stable across runs), title = rule title,
                                      desc = message, types = [resource type], analytic = the rule
                                      (type_id 1 Rule, desc = rationale)
``remediation``                       desc = guidance, references = the rule's references
``resources[0]``                      uid = resource id, name, type, region, cloud_partition (from
                                      the ARN), labels = the inventory's tags as "key=value"
``cloud``                             provider ``AWS`` / ``Azure``, region, account uid and type
``metadata``                          product {name, vendor_name, version}, version = OCSF_VERSION,
                                      profiles ["cloud"], event_code = rule id, uid = finding id
``unmapped.auditor``                  what OCSF has no place for: status, gating, evidence,
                                      automatic_fix, waiver
====================================  ===========================================================

The cloud account goes to ``cloud.account`` and not to ``resources[].owner``: OCSF's owner is a user
(a principal with its own uid and name), which a cloud account is not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from auditor.model import ScanResult, Status
from auditor.outputs.findings_json import TOOL_NAME, to_document

OCSF_VERSION = "1.5.0"
VENDOR = "auditor contributors"
CLASS_UID = 2003
CATEGORY_UID = 2
ACTIVITY_CREATE = 1
TYPE_UID = CLASS_UID * 100 + ACTIVITY_CREATE

SEVERITY = {"info": (1, "Informational"), "low": (2, "Low"), "medium": (3, "Medium"), "high": (4, "High"),
            "critical": (5, "Critical")}
FINDING_STATUS = {
    Status.FAIL.value: (1, "New"),
    Status.ERROR.value: (1, "New"),
    Status.MUTED.value: (3, "Suppressed"),
    Status.PASS.value: (4, "Resolved"),
    Status.NOT_APPLICABLE.value: (4, "Resolved"),
}
COMPLIANCE_STATUS = {
    Status.PASS.value: (1, "Pass"),
    Status.FAIL.value: (3, "Fail"),
    Status.MUTED.value: (3, "Fail"),
    Status.ERROR.value: (2, "Warning"),
    Status.NOT_APPLICABLE.value: (99, "Not Applicable"),
}
CLOUD_PROVIDER = {"aws": "AWS", "azure": "Azure"}
# OCSF account type_id: 10 AWS Account; an Azure subscription has no id of its own, so 99 Other.
ACCOUNT_TYPE = {"aws": (10, "AWS Account"), "azure": (99, "Azure Subscription")}


def render(result: ScanResult) -> str:
    return render_document(to_document(result))


def render_document(doc: Mapping[str, Any]) -> str:
    events = to_events(doc)
    if not events:
        return "[]\n"
    lines = ",\n".join("  " + json.dumps(e, sort_keys=True, ensure_ascii=False) for e in events)
    return f"[\n{lines}\n]\n"


def to_events(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One Compliance Finding event per finding of the document, in the document's order."""
    rules: Mapping[str, Mapping[str, Any]] = doc["rules"]
    tags = {r["id"]: r["tags"] for r in doc.get("inventory", ())}
    ended: str = doc["scan"]["ended"]
    time_ms = int(datetime.fromisoformat(ended).timestamp() * 1000)
    product = {"name": TOOL_NAME, "vendor_name": VENDOR, "version": doc["tool"]["version"]}
    return [_event(f, rules[f["rule_id"]], tags.get(f["resource_id"], {}), time_ms, ended, product)
            for f in doc["findings"]]


def _event(f: Mapping[str, Any], rule: Mapping[str, Any], tags: Mapping[str, str], time_ms: int, time_dt: str,
           product: Mapping[str, Any]) -> dict[str, Any]:
    status: str = f["status"]
    severity_id, severity = SEVERITY[f["severity"]]
    status_id, status_caption = FINDING_STATUS[status]
    compliance_id, compliance_caption = COMPLIANCE_STATUS[status]
    title = f["title"] or f["rule_id"]
    waiver = f.get("waiver")
    event: dict[str, Any] = {
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Compliance Finding",
        "type_uid": TYPE_UID,
        "type_name": "Compliance Finding: Create",
        "time": time_ms,
        "time_dt": time_dt,
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status_caption,
        "status_code": status,
        "message": f["message"],
        "metadata": {
            "version": OCSF_VERSION,
            "product": dict(product),
            "profiles": ["cloud"],
            "event_code": f["rule_id"],
            "uid": f["id"],
        },
        "finding_info": {
            "uid": f["id"],
            "title": title,
            "desc": f["message"],
            "types": [f["resource_type"]],
            "analytic": {"uid": f["rule_id"], "name": title, "type_id": 1, "type": "Rule",
                         "desc": rule["rationale"]},
        },
        "compliance": {
            "control": f["rule_id"],
            "standards": sorted({ref["framework"] for ref in rule["frameworks"]}),
            "requirements": [_requirement(ref) for ref in rule["frameworks"]],
            "status_id": compliance_id,
            "status": compliance_caption,
            "status_code": status,
        },
        "remediation": {"desc": f["remediation"]["guidance"], "references": list(rule["references"])},
        "resources": [_resource(f, tags)],
        "cloud": _cloud(f),
        "unmapped": {"auditor": {
            "status": status,
            "gating": f["gating"],
            "evidence": f["evidence"],
            "automatic_fix": f["remediation"]["automatic"],
            "waiver": waiver,
        }},
    }
    if waiver is not None:
        event["status_detail"] = f"waived: {waiver['reason']} (owner {waiver['owner']}, expires {waiver['expires']})"
    return event


def _requirement(ref: Mapping[str, Any]) -> str:
    text = f"{ref['framework']} {ref['control']}"
    return f"{text}: {ref['title']}" if ref["title"] else text


def _resource(f: Mapping[str, Any], tags: Mapping[str, str]) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "uid": f["resource_id"],
        "name": f["resource_name"],
        "type": f["resource_type"],
        "region": f["region"],
    }
    partition = _partition(f)
    if partition:
        resource["cloud_partition"] = partition
    if tags:
        resource["labels"] = [f"{key}={value}" for key, value in sorted(tags.items())]
    return resource


def _partition(f: Mapping[str, Any]) -> str | None:
    parts = f["resource_id"].split(":", 2)
    if f["provider"] == "aws" and len(parts) == 3 and parts[0] == "arn" and parts[1]:
        return str(parts[1])
    return None


def _cloud(f: Mapping[str, Any]) -> dict[str, Any]:
    provider: str = f["provider"]
    type_id, type_name = ACCOUNT_TYPE.get(provider, (99, provider))
    return {
        "provider": CLOUD_PROVIDER.get(provider, provider),
        "region": f["region"],
        "account": {"uid": f["account"], "type_id": type_id, "type": type_name},
    }
