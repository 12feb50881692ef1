"""The endpoint inventory and the gateway-to-endpoint links of report.html, derived from the findings.

An endpoint's row shows its whole posture: its own findings and those of everything that serves it.
What serves it is the graph :data:`auditor.scope_model.USES` encodes (the policy scope follows the same
edges): endpoint -> endpoint config -> models, KMS keys, capture bucket, async output buckets; endpoint ->
inference components -> models; model -> execution role; online endpoint -> workspace, deployments.
findings.json records those edges in each inventory entry's ``uses`` (it holds no resource documents). Each
finding of the endpoint and its parts is one line of one aspect (:mod:`auditor.outputs.html_aspects`); the
row's status is the worst of all of them. A part that cannot be known (the relation was not read, the resource
no longer exists or is not in the inventory) is listed as such and makes the row UNKNOWN unless something
already failed: unknown is never shown as PASS.

``endpoint_inventory`` gives the endpoints table (``EndpointRows`` row by row), ``gateway_links`` the API
Management APIs in front of them; both feed the page's data block (:mod:`auditor.outputs.html`).
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from auditor.identity import resource_key
from auditor.model import Status
from auditor.outputs import html_aspects
from auditor.outputs.html_view import STATUS_ORDER
from auditor.scope_model import USES

ENDPOINT_KINDS: dict[str, str] = {
    "aws.sagemaker.endpoint": "SageMaker endpoint",
    "azure.ml.online_endpoint": "Azure ML online endpoint",
    "azure.ml.serverless_endpoint": "Azure ML serverless endpoint",
    "azure.ml.legacy_service": "Azure ML v1 service",
    "azure.ai.account": "Azure AI Services / OpenAI account",
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
          "deployments": "deployment", "inference_components": "inference component",
          "async_output_buckets": "async output bucket"}
_REQUIRED = frozenset({"endpoint_config", "models", "execution_role", "workspace"})
# An endpoint served by inference components runs their models: its config's variants name none, and a component
# may run a container of its own.
_COMPONENTS = "inference_components"

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


class _Entry(NamedTuple):
    """What a row needs of an inventory entry (or of an endpoint that only its findings name). ``uses``: the
    ids under each relation :data:`USES` gives its type, in that order (None: could not be read); None when
    the entry records no ``uses`` at all."""

    id: str
    type: str
    name: str
    provider: str
    account: str
    region: str
    uses: tuple[tuple[Any, ...] | None, ...] | None


class EndpointRows:
    """``endpoint_inventory``'s rows, built one at a time as they are iterated (report.html keeps only their
    compact form); ``keys`` gives each row's endpoint, in the rows' order, without building them.

    With ``doc``, its inventory and findings are read at once. Without, the inventory's entries are given
    with ``add_entry``, then the findings in the document's order with ``add_finding``: report.html passes
    each finding document by once, and the rows keep only what they read of it (rule, status, resource and
    evidence), so 100,000 findings' documents never exist at once."""

    def __init__(self, doc: Mapping[str, Any] | None = None,
                 rules: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """``rules``: the document's ``rules`` (their ``report`` words each line); with ``doc``, its own."""
        self._words = html_aspects.Words(doc["rules"] if doc is not None else rules or {})
        self._number: dict[Key, int] = {}  # each resource's number: the inventory's in order, then the findings'
        self._keys: list[Key] = []  # the key of each number
        self._entries: list[_Entry | None] = []  # the inventory entry of each number (None: not in it)
        self._endpoints: dict[int, _Entry] = {}
        self._links: list[dict[str, Any]] = []
        # finding i's resource (its number), rule, status, resource id, resource type and evidence: columns
        self._resource_of = array("i")
        self._rule: list[str] = []
        self._status: list[str] = []
        self._resource_id: list[str] = []
        self._resource_type: list[str] = []
        self._evidence: list[Mapping[str, Any]] = []
        self._found: tuple[array[int], array[int]] | None = None  # the findings of each resource (_positions)
        if doc is not None:
            for entry in doc.get("inventory", ()):
                self.add_entry(entry)
            for f in doc["findings"]:
                self.add_finding(f)

    def add_entry(self, entry: Mapping[str, Any]) -> None:
        """An inventory entry (the first of a key counts, as in the document's order)."""
        uses = entry.get("uses")
        compact = None
        if isinstance(uses, Mapping):
            compact = tuple(None if uses.get(relation) is None else tuple(uses[relation])
                            for relation in USES.get(entry["type"], ()))
        known = _Entry(entry["id"], entry["type"], entry["name"], entry["provider"], entry["account"],
                       entry["region"], compact)
        number = self._numbered(_key(known.provider, known.id), known)
        if known.type in ENDPOINT_KINDS:
            self._endpoints.setdefault(number, known)  # read only

    def add_finding(self, f: Mapping[str, Any]) -> None:
        """The next finding of the document (its position: the number of findings given before it)."""
        resource_id: str = f["resource_id"]
        number = self._numbered(_key(f["provider"], resource_id), None)
        self._resource_of.append(number)
        self._rule.append(f["rule_id"])
        self._status.append(f["status"])
        self._resource_id.append(resource_id)
        self._resource_type.append(f["resource_type"])
        self._evidence.append(f["evidence"])
        if f["resource_type"] in ENDPOINT_KINDS and number not in self._endpoints:
            self._endpoints[number] = _Entry(resource_id, f["resource_type"], f["resource_name"], f["provider"],
                                             f["account"], f["region"], None)
        if f["rule_id"] == GATEWAY_RULE:
            self._links += _links_of(f)

    def _numbered(self, key: Key, entry: _Entry | None) -> int:
        """The number of the resource ``key`` names (a new one for a key not seen before); ``entry`` is its
        inventory entry unless it has one already."""
        number = self._number.get(key)
        if number is None:
            number = self._number[key] = len(self._keys)
            self._keys.append(key)
            self._entries.append(entry)
        elif self._entries[number] is None:  # the first inventory entry of a key is its entry
            self._entries[number] = entry
        return number

    @property
    def links(self) -> list[dict[str, Any]]:
        """``gateway_links`` of the findings given."""
        return sorted(self._links, key=_link_order)

    def _order(self) -> list[tuple[int, _Entry]]:
        # the rows' order, (kind, name, id), is known before any row is built (a stable sort, as of the rows)
        return sorted(self._endpoints.items(), key=lambda item: (item[1].type, item[1].name, item[1].id))

    @property
    def keys(self) -> list[tuple[str, str, str, str, str, str]]:
        """Each row's (provider, id, kind, account, region, name), in the rows' order."""
        return [(e.provider, e.id, e.type, e.account, e.region, e.name) for _, e in self._order()]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        gateways: dict[Key, list[dict[str, str]]] = {}
        for link in self.links:
            if link["endpoint_id"]:
                key = _key("aws" if link["endpoint_kind"].startswith("aws.") else "azure", link["endpoint_id"])
                gateways.setdefault(key, []).append({"api": link["api_name"] or link["api_id"],
                                                     "protection": link["protection"], "status": link["status"]})
        for number, endpoint in self._order():
            key = self._keys[number]
            yield self._row(key, endpoint, gateways.get(key, []))

    def _positions(self, key: Key) -> Sequence[int]:
        """The positions of the findings of the resource ``key`` names, in order."""
        if self._found is None:  # each resource's findings, one after the other: where each starts, then them
            starts = array("i", bytes(4 * (len(self._keys) + 1)))
            for number in self._resource_of:
                starts[number + 1] += 1
            for number in range(len(self._keys)):
                starts[number + 1] += starts[number]
            placed = array("i", bytes(4 * len(self._resource_of)))
            free = starts[:-1]
            for i, number in enumerate(self._resource_of):
                placed[free[number]] = i
                free[number] += 1
            self._found = starts, placed
        found = self._number.get(key)
        if found is None:
            return ()
        starts, placed = self._found
        return placed[starts[found]:starts[found + 1]]

    def _row(self, key: Key, endpoint: _Entry, gateways: list[dict[str, str]]) -> dict[str, Any]:
        kind = endpoint.type
        parts, unknown = _parts(key, endpoint, self._number, self._entries)
        picked = [i for part in (key, *(p["key"] for p in parts)) for i in self._positions(part)]
        if not self._positions(key):
            unknown.insert(0, "its own checks: no finding (not evaluated)")
        workspace = _workspace_of(key) if kind in _WORKSPACE_RULES else None
        if workspace is not None:
            picked += [i for i in self._positions(workspace) if self._rule[i] in _WORKSPACE_RULES[kind]]
        aspects = self._aspects(kind, picked)
        statuses = [self._status[i] for i in picked]
        status = html_aspects.worst(statuses)
        if unknown and status not in (Status.ERROR.value, Status.FAIL.value):
            status = UNKNOWN
        return {
            "id": endpoint.id, "name": endpoint.name, "kind": kind, "kind_label": ENDPOINT_KINDS[kind],
            "provider": endpoint.provider, "account": endpoint.account, "region": endpoint.region,
            "aspects": aspects,
            "parts": [{"relation": p["relation"], "id": p["id"]} for p in parts],
            "unknown": unknown,
            "status": status,
            "findings": sorted(picked),
            "gateways": sorted(gateways, key=lambda g: (g["api"], g["protection"])),
            "counts": {s.value: statuses.count(s.value) for s in STATUS_ORDER},
        }

    def _aspects(self, kind: str, picked: Sequence[int]) -> dict[str, list[dict[str, Any]]]:
        """One line per rule of the picked findings (positions), filed under its aspect; the platform's facts
        first. (Each line is worded anew: keeping the lines of parts that several endpoints share saved a
        fifth of the wording, which is a few percent of the rows' time, for 10 MB at 100,000 findings.)"""
        rule_of, resource_id = self._rule, self._resource_id
        by_rule: dict[str, list[int]] = {}
        for i in picked:
            by_rule.setdefault(rule_of[i], []).append(i)
        aspects: dict[str, list[dict[str, Any]]] = {aspect: [] for aspect in ASPECTS}
        for aspect in ASPECTS:
            fixed = _FIXED.get((kind, aspect))
            if fixed is not None:
                aspects[aspect].append({"rule": "", "text": fixed, "status": "", "findings": []})
        for rule_id in sorted(by_rule, key=self._words.line_order):
            found = by_rule[rule_id]
            if len(found) > 1:
                found.sort(key=resource_id.__getitem__)
            docs = [self._finding(i) for i in found]
            aspects[self._words.aspect_of(rule_id)].append({
                "rule": rule_id, "text": self._words.describe(rule_id, docs),
                "status": html_aspects.worst([f["status"] for f in docs]), "findings": found})
        return aspects

    def _finding(self, i: int) -> dict[str, Any]:
        """What ``html_aspects.describe`` reads of finding ``i``."""
        return {"rule_id": self._rule[i], "status": self._status[i], "resource_id": self._resource_id[i],
                "resource_type": self._resource_type[i], "evidence": self._evidence[i]}


def _parts(start: Key, endpoint: _Entry, numbers: Mapping[Key, int],
           entries: Sequence[_Entry | None]) -> tuple[list[dict[str, Any]], list[str]]:
    """What serves an endpoint, following USES through the inventory's ``uses``; and what is not known."""
    provider = endpoint.provider
    parts: list[dict[str, Any]] = []
    unknown: list[str] = []
    seen = {start}
    todo: list[_Entry] = [endpoint]
    components = any(relation == _COMPONENTS and ids for relation, ids in zip(USES.get(endpoint.type, ()),
                                                                               endpoint.uses or (), strict=False))
    while todo:
        user = todo.pop(0)
        relations = USES.get(user.type, ())
        whose = "" if user is endpoint else f" of {user.name or user.id}"
        if relations and user.uses is None:
            unknown.append(f"what serves it{whose}: not recorded")
            continue
        for relation, ids in zip(relations, user.uses or (), strict=True):
            noun = _NOUNS.get(relation, relation.replace("_", " "))
            if ids is None:
                unknown.append(f"{noun}{whose}: could not be read")
                continue
            if not ids and relation in _REQUIRED and not (relation == "models" and (
                    components or user.type == "aws.sagemaker.inference_component")):
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
                number = numbers.get(key)
                entry = None if number is None else entries[number]
                if entry is None:
                    unknown.append(f"{noun} {resource_id}{whose}: not in the inventory")
                elif entry.type in USES:
                    todo.append(entry)
    return parts, unknown


def gateway_links(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Gateway API -> model endpoint -> protection, one row per link the API Management findings record."""
    return sorted((row for f in doc["findings"] for row in _links_of(f)), key=_link_order)


def _links_of(f: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The gateway links one finding records: none unless it is one of ``GATEWAY_RULE``."""
    if f["rule_id"] != GATEWAY_RULE:
        return []
    fronts = f["evidence"].get("fronts")
    if not isinstance(fronts, list):
        return []
    protection = f["evidence"].get("protection")
    if not isinstance(protection, str):
        protection = "undecided" if f["status"] == Status.ERROR.value else "unknown"
    return [{"api_id": f["resource_id"], "api_name": f["resource_name"], "account": f["account"],
             "endpoint_kind": _text(front.get("kind")), "endpoint_id": _text(front.get("id")),
             "endpoint_name": _text(front.get("name")), "host": _text(front.get("host")),
             "via": _text(front.get("via")), "protection": protection, "status": f["status"], "finding": f["id"]}
            for front in fronts if isinstance(front, Mapping)]


def _link_order(row: Mapping[str, Any]) -> tuple[str, str, str, str, str]:
    return row["api_id"], row["endpoint_kind"], row["host"], row["endpoint_id"], row["via"]


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
