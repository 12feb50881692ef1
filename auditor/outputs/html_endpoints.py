"""The endpoint inventory and the gateway-to-endpoint links of report.html, derived from the findings.

An endpoint's row shows its whole posture: its own findings and those of everything that serves it.
What serves it is the graph :data:`auditor.policy_scope.USES` encodes (the policy scope follows the same
edges): endpoint -> endpoint config -> models, KMS keys, capture bucket; model -> execution role; online
endpoint -> workspace, deployments. findings.json records those edges in each inventory entry's ``uses``
(it holds no resource documents). Each finding of the endpoint and its parts is one line of one aspect
(:mod:`auditor.outputs.html_aspects`); the row's status is the worst of all of them. A part that cannot
be known (the relation was not read, the resource no longer exists or is not in the inventory) is listed
as such and makes the row UNKNOWN unless something already failed: unknown is never shown as PASS.

``endpoint_inventory`` gives the endpoints table (``EndpointRows`` row by row), ``gateway_links`` the API
Management APIs in front of them; both feed the page's data block (:mod:`auditor.outputs.html`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from auditor.identity import resource_key
from auditor.model import Status
from auditor.outputs import html_aspects
from auditor.outputs.html_view import STATUS_ORDER
from auditor.policy_scope import USES

ENDPOINT_KINDS: dict[str, str] = {
    "aws.sagemaker.endpoint": "SageMaker endpoint",
    "azure.ml.online_endpoint": "Azure ML online endpoint",
    "azure.ml.serverless_endpoint": "Azure ML serverless endpoint",
    "azure.ml.legacy_service": "Azure ML v1 service",
}
ASPECTS: tuple[str, ...] = html_aspects.ASPECTS
UNKNOWN = "UNKNOWN"
GATEWAY_RULE = "azure.apim.api.model_endpoint_protected"

# Facts of the platform rather than of a finding.
_FIXED: dict[tuple[str, str], str] = {("aws.sagemaker.endpoint", "auth"): "IAM SigV4"}
# Kinds USES does not follow: their workspace (the parent in the Resource Manager id) evidences encryption.
_WORKSPACE_RULES: dict[str, tuple[str, ...]] = {
    "azure.ml.serverless_endpoint": ("azure.ml.workspace.cmk_encryption",),
    "azure.ml.legacy_service": ("azure.ml.workspace.cmk_encryption",),
}
# What one resource of each relation is called; relations every user has one of (none recorded: unknown).
_NOUNS = {"endpoint_config": "endpoint config", "models": "model", "execution_role": "execution role",
          "kms_keys": "KMS key", "capture_bucket": "capture bucket", "workspace": "workspace",
          "deployments": "deployment"}
_REQUIRED = frozenset({"endpoint_config", "models", "execution_role", "workspace"})

Key = tuple[str, str]


def _key(provider: str, resource_id: str) -> Key:
    return provider, resource_key(provider, resource_id)


def _workspace_of(key: Key) -> Key | None:
    """The key of the Azure ML workspace an endpoint's key lies under (Resource Manager ids are hierarchical)."""
    provider, rid = key
    marker = "/workspaces/"
    at = rid.find(marker)
    if at < 0:
        return None
    end = rid.find("/", at + len(marker))
    return provider, rid if end < 0 else rid[:end]


def endpoint_inventory(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every endpoint (inventory or findings) with its posture: for each aspect, lines ``{"rule", "text",
    "status", "findings"}`` (``findings``: positions in ``doc["findings"]``), the parts that serve it,
    what of them is not known, the worst status (``status``) and the findings counted by status."""
    return list(EndpointRows(doc))


class EndpointRows:
    """``endpoint_inventory``'s rows, built one at a time as they are iterated (report.html keeps only their
    compact form: 100,000 findings' rows take 75 MB at once); ``keys`` gives each row's endpoint, in the
    rows' order, without building them."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        findings: Sequence[Mapping[str, Any]] = doc["findings"]
        entries: dict[Key, Mapping[str, Any]] = {}
        endpoints: dict[Key, Mapping[str, Any]] = {}
        for entry in doc.get("inventory", ()):
            key = _key(entry["provider"], entry["id"])
            entries.setdefault(key, entry)
            if entry["type"] in ENDPOINT_KINDS:
                endpoints.setdefault(key, entry)  # read only
        by_resource: dict[Key, list[int]] = {}
        for i, f in enumerate(findings):
            key = _key(f["provider"], f["resource_id"])
            by_resource.setdefault(key, []).append(i)
            if f["resource_type"] in ENDPOINT_KINDS:
                endpoints.setdefault(key, {"id": f["resource_id"], "type": f["resource_type"],
                                           "provider": f["provider"], "account": f["account"],
                                           "region": f["region"], "name": f["resource_name"]})
        gateways: dict[Key, list[dict[str, str]]] = {}
        for link in gateway_links(doc):
            if link["endpoint_id"]:
                key = _key("aws" if link["endpoint_kind"].startswith("aws.") else "azure", link["endpoint_id"])
                gateways.setdefault(key, []).append({"api": link["api_name"] or link["api_id"],
                                                     "protection": link["protection"], "status": link["status"]})
        self._findings = findings
        self._entries = entries
        self._by_resource = by_resource
        self._gateways = gateways
        self._lines: dict[tuple[str, tuple[int, ...]], tuple[str, str]] = {}  # shared parts word lines once
        # the rows' order, (kind, name, id), is known before any row is built (a stable sort, as of the rows)
        self._order = sorted(endpoints.items(), key=lambda item: (item[1]["type"], item[1]["name"], item[1]["id"]))

    @property
    def keys(self) -> list[tuple[str, str, str, str, str, str]]:
        """Each row's (provider, id, kind, account, region, name), in the rows' order."""
        return [(e["provider"], e["id"], e["type"], e["account"], e["region"], e["name"]) for _, e in self._order]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for key, endpoint in self._order:
            yield self._row(key, endpoint)

    def _row(self, key: Key, endpoint: Mapping[str, Any]) -> dict[str, Any]:
        findings, by_resource = self._findings, self._by_resource
        kind = endpoint["type"]
        parts, unknown = _parts(key, endpoint, self._entries)
        if key not in by_resource:
            unknown.insert(0, "its own checks: no finding (not evaluated)")
        picked = [i for part in (key, *(p["key"] for p in parts)) for i in by_resource.get(part, ())]
        workspace = _workspace_of(key) if kind in _WORKSPACE_RULES else None
        if workspace is not None:
            picked += [i for i in by_resource.get(workspace, ())
                       if findings[i]["rule_id"] in _WORKSPACE_RULES[kind]]
        aspects = _aspects(kind, picked, findings, self._lines)
        statuses = [findings[i]["status"] for i in picked]
        status = html_aspects.worst(statuses)
        if unknown and status not in (Status.ERROR.value, Status.FAIL.value):
            status = UNKNOWN
        return {
            "id": endpoint["id"], "name": endpoint["name"], "kind": kind, "kind_label": ENDPOINT_KINDS[kind],
            "provider": endpoint["provider"], "account": endpoint["account"], "region": endpoint["region"],
            "aspects": aspects,
            "parts": [{"relation": p["relation"], "id": p["id"]} for p in parts],
            "unknown": unknown,
            "status": status,
            "findings": sorted(picked),
            "gateways": sorted(self._gateways.get(key, []), key=lambda g: (g["api"], g["protection"])),
            "counts": {s.value: statuses.count(s.value) for s in STATUS_ORDER},
        }


def _parts(start: Key, endpoint: Mapping[str, Any],
           entries: Mapping[Key, Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """What serves an endpoint, following USES through the inventory's ``uses``; and what is not known."""
    provider = endpoint["provider"]
    parts: list[dict[str, Any]] = []
    unknown: list[str] = []
    seen = {start}
    todo: list[Mapping[str, Any]] = [endpoint]
    while todo:
        user = todo.pop(0)
        relations = USES.get(user["type"], ())
        uses = user.get("uses")
        whose = "" if user is endpoint else f" of {user['name'] or user['id']}"
        if relations and not isinstance(uses, Mapping):
            unknown.append(f"what serves it{whose}: not recorded")
            continue
        for relation in relations:
            noun = _NOUNS.get(relation, relation.replace("_", " "))
            ids = uses.get(relation) if isinstance(uses, Mapping) else None
            if ids is None:
                unknown.append(f"{noun}{whose}: could not be read")
                continue
            if not ids and relation in _REQUIRED:
                unknown.append(f"{noun}{whose}: not found")
            gone = sum(1 for resource_id in ids if not isinstance(resource_id, str))
            if gone:
                unknown.append(f"{noun}{whose}: {gone} no longer exist{'s' if gone == 1 else ''}")
            for resource_id in ids:
                if not isinstance(resource_id, str):
                    continue
                key = _key(provider, resource_id)
                if key in seen:
                    continue
                seen.add(key)
                parts.append({"relation": relation, "id": resource_id, "key": key})
                entry = entries.get(key)
                if entry is None:
                    unknown.append(f"{noun} {resource_id}{whose}: not in the inventory")
                elif entry["type"] in USES:
                    todo.append(entry)
    return parts, unknown


def _aspects(kind: str, picked: Sequence[int], findings: Sequence[Mapping[str, Any]],
             lines: dict[tuple[str, tuple[int, ...]], tuple[str, str]]) -> dict[str, list[dict[str, Any]]]:
    """One line per rule of the picked findings (positions in ``findings``), filed under its aspect; the
    platform's facts first. ``lines``: the words and status of each (rule, findings) already worded, for the
    parts many endpoints share."""
    by_rule: dict[str, list[int]] = {}
    for i in picked:
        by_rule.setdefault(findings[i]["rule_id"], []).append(i)
    aspects: dict[str, list[dict[str, Any]]] = {aspect: [] for aspect in ASPECTS}
    for aspect in ASPECTS:
        fixed = _FIXED.get((kind, aspect))
        if fixed is not None:
            aspects[aspect].append({"rule": "", "text": fixed, "status": "", "findings": []})
    for rule_id in sorted(by_rule, key=html_aspects.line_order):
        found = by_rule[rule_id]
        if len(found) > 1:
            found = sorted(found, key=lambda i: findings[i]["resource_id"])
        positions = tuple(found)
        worded = lines.get((rule_id, positions))
        if worded is None:
            docs = [findings[i] for i in found]
            worded = (html_aspects.describe(rule_id, docs), html_aspects.worst([f["status"] for f in docs]))
            if docs[0]["resource_type"] != kind:  # a part's line may serve other endpoints; its own, never
                lines[(rule_id, positions)] = worded
        aspects[html_aspects.aspect_of(rule_id)].append({"rule": rule_id, "text": worded[0], "status": worded[1],
                                                         "findings": list(positions)})
    return aspects


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
