"""Resource store and routing of the local Resource Manager stand-in (served by ``arm_server.ArmServer``).

Resources are ARM documents (``id``, ``name``, ``type``, ...) keyed by lower-cased id; answers keep the
id as stored. Every collection is a sorted list of child keys indexed by the lower-cased collection
path (and top-level resources also under the subscription-wide ``/subscriptions/S/providers/NS/TYPE``
list), so a page costs a bisect and a slice however large the estate. Role assignments and role
definitions follow Microsoft.Authorization's rules; writes answer like the services' long-running
operations do. Documents are never changed in place: a write stores a new dict, so a reader may
serialise what it got after the lock is released. Everything here is HTTP-agnostic: methods return a
``Reply`` that ``arm_server`` writes out.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import copy
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from auditor.demo.arm_authz import ensure_principal, list_assignments, put_assignment, role_definitions
from auditor.demo.arm_groups import NAMESPACE as GROUPS_NAMESPACE
from auditor.demo.arm_groups import ManagementGroups
from auditor.demo.arm_model import (
    AUTHZ,
    Json,
    PathInfo,
    Reply,
    builtin_role_definitions,
    error,
    parse_path,
    subscription_document,
    user_identity_ids,
)

_ML = "microsoft.machinelearningservices/workspaces"
# lower-cased type -> (PUT status with Azure-AsyncOperation, PATCH as 202 + Location, DELETE as 202 + Location),
# as azure-mgmt-machinelearningservices 2.0.0b2 accepts them (workspace PUT: 200/202 only; compute PATCH: 200 only).
_LRO: dict[str, tuple[int, bool, bool]] = {
    _ML: (200, True, True),
    f"{_ML}/computes": (201, False, True),
    **{f"{_ML}/{kind}": (201, True, True) for kind in (
        "onlineendpoints", "onlineendpoints/deployments", "batchendpoints", "batchendpoints/deployments",
        "serverlessendpoints")},
}
# Server-computed properties a PUT body cannot carry; Azure keeps them across a replacing PUT.
_READ_ONLY = frozenset({
    "scoringUri", "swaggerUri", "privateEndpointConnections", "workspaceId", "discoveryUrl", "mlFlowTrackingUri",
    "serviceProvisionedResourceGroup", "notebookInfo", "tenantId", "inferenceEndpoint", "gatewayUrl",
    "managementApiUrl", "portalUrl", "developerPortalUrl", "scmUrl", "publicIPAddresses", "privateIPAddresses",
    "createdAtUtc", "createdOn", "modifiedOn"})
_OPS_PREFIX = "/providers/Microsoft.Local"


def _new_etag() -> str:
    return f'"{uuid.uuid4().hex[:16]}"'


def _bare_etag(value: str) -> str:
    return value.strip().removeprefix("W/").strip('"')


def _encode_token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _decode_token(token: str) -> str:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()


def _with_state(doc: Json, state: str) -> Json:
    properties = doc.get("properties")
    return {**doc, "properties": {**(properties if isinstance(properties, dict) else {}),
                                  "provisioningState": state}}


@dataclass
class _Operation:
    resource_key: str
    polls_left: int
    final: str  # "succeed" (set provisioningState), "resource" (answer the resource), "gone" (answer 204)


class ArmStore:
    """Thread-safe store of ARM documents with collection indexes, role-based access data and operations."""

    def __init__(self, docs: Iterable[Mapping[str, Any]], *, subscriptions: Iterable[Mapping[str, Any]] | None = None,
                 page_size: int = 2, base_url: str = "https://127.0.0.1") -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.page_size, self.base_url = page_size, base_url
        self.poll_delay_ms = 10
        self._link_bases: list[tuple[str, str]] = []  # (id prefix key, base URL): see link_base
        self._lock = threading.RLock()
        self._docs: dict[str, Json] = {}
        self._lists: dict[str, list[str]] = {}
        self._assignments: list[str] = []
        self._role_defs: dict[str, Json] = {}
        self._ops: dict[str, _Operation] = {}
        self.groups = ManagementGroups()  # the management-group tree (arm_groups)
        seeded = [copy.deepcopy(dict(doc)) for doc in docs]
        for doc in seeded:
            if not all(isinstance(doc.get(k), str) and doc[k] for k in ("id", "name", "type")):
                raise ValueError(f"a resource needs string id, name and type: {str(doc)[:200]}")
        subs = [copy.deepcopy(dict(s)) for s in subscriptions] if subscriptions is not None else [
            subscription_document(sid) for sid in dict.fromkeys(
                parse_path(d["id"]).segments[1] for d in seeded if d["id"].lower().startswith("/subscriptions/"))]
        for sub in subs:
            sid = sub.get("subscriptionId") or str(sub.get("id", "")).rsplit("/", 1)[-1]
            self._insert({**sub, "id": sub.get("id") or f"/subscriptions/{sid}", "subscriptionId": sid})
        for role in builtin_role_definitions():
            self._role_defs[role["name"].lower()] = role
        for doc in seeded:
            self.put_document(doc)

    # -- direct access (seeding, tests) -------------------------------------------------------------
    def put_document(self, doc: Mapping[str, Any]) -> None:
        """Store a document as it is (an etag is added when missing); no operation, no checks."""
        new = copy.deepcopy(dict(doc))
        info = parse_path(new["id"])
        if info.resource_type.lower() == f"{AUTHZ}/roleDefinitions".lower():
            with self._lock:
                self._role_defs[new["name"].lower()] = new
            return
        new.setdefault("etag", _new_etag())
        with self._lock:
            self._insert(new)

    def get_document(self, resource_id: str) -> Json | None:
        """A deep copy of the stored document, or None."""
        with self._lock:
            doc = self._docs.get(parse_path(resource_id).key)
        return copy.deepcopy(doc) if doc is not None else None

    def remove_document(self, resource_id: str) -> bool:
        """Remove a document and everything under it; True when it existed."""
        with self._lock:
            return self._remove_tree(parse_path(resource_id).key)

    def _identity_ids(self, identity_id: str) -> dict[str, Any]:
        """The principal and client ids of user-assigned identity ``identity_id``: those of its stored resource
        (``Microsoft.ManagedIdentity/userAssignedIdentities``), else stable ones derived from its id."""
        doc = self._docs.get(parse_path(identity_id).key)
        props = doc.get("properties") if doc else None
        ids = user_identity_ids(identity_id)
        if isinstance(props, dict):
            ids.update({k: props[k] for k in ids if isinstance(props.get(k), str) and props[k]})
        return dict(ids)

    def _insert(self, doc: Json) -> None:
        info = parse_path(doc["id"])
        key, segs = info.key, info.segments
        if len(segs) > 4 and segs[2].lower() == "resourcegroups":
            rg_key = "/".join(info.key.split("/")[:5])
            if rg_key not in self._docs:
                rg_id = "/" + "/".join(segs[:4])
                self._insert({"id": rg_id, "name": segs[3], "type": "Microsoft.Resources/resourceGroups",
                              "location": doc.get("location") or "eastus", "tags": {},
                              "properties": {"provisioningState": "Succeeded"}})
        is_new = key not in self._docs
        self._docs[key] = doc
        if not is_new:
            return
        for list_key in self._list_keys(info):
            bisect.insort(self._lists.setdefault(list_key, []), key)
        if info.resource_type.lower() == f"{AUTHZ}/roleAssignments".lower():
            bisect.insort(self._assignments, key)

    @staticmethod
    def _list_keys(info: PathInfo) -> list[str]:
        key, segs = info.key, info.segments
        keys = [key.rsplit("/", 1)[0] or "/"]
        if len(segs) == 8 and segs[2].lower() == "resourcegroups" and segs[4].lower() == "providers":
            keys.append(f"/subscriptions/{segs[1]}/providers/{segs[5]}/{segs[6]}".lower())
        return keys

    def _remove_tree(self, key: str) -> bool:
        if key not in self._docs:
            return False
        for doomed in [k for k in self._docs if k == key or k.startswith(key + "/")]:
            info = parse_path(self._docs.pop(doomed)["id"])
            for list_key, keys in [(k, self._lists.get(k, [])) for k in self._list_keys(info)] + [
                    ("", self._assignments)]:
                at = bisect.bisect_left(keys, doomed)
                if at < len(keys) and keys[at] == doomed:
                    del keys[at]
                if list_key and not keys:
                    self._lists.pop(list_key, None)
        return True

    def point_links_at(self, prefix_key: str, base_url: str) -> None:
        """Answer the nextLinks and operation URLs of the ids under ``prefix_key`` on ``base_url`` (tests)."""
        with self._lock:
            self._link_bases.insert(0, (prefix_key, base_url))

    def link_base(self, key: str) -> str:
        """The base URL of the nextLinks and operation URLs answered for the id ``key``: this server's own,
        unless a test pointed that prefix elsewhere (:meth:`point_links_at`)."""
        for prefix, base in self._link_bases:
            if prefix in ("", "/") or key == prefix or key.startswith(prefix + "/"):
                return base
        return self.base_url

    # -- reads ----------------------------------------------------------------------------------------
    def get(self, info: PathInfo, query: Mapping[str, str]) -> Reply:
        segs = info.segments
        if len(segs) == 4 and f"/{segs[0]}/{segs[1]}".lower() == _OPS_PREFIX.lower():
            return self._poll(segs[2], segs[3], query)
        authz = (info.namespace or "").lower() == AUTHZ.lower() and len(info.types) == 1
        if (info.namespace or "").lower() == GROUPS_NAMESPACE.lower() and info.namespace_index == 0:
            return self.groups.get(info, query, self._page)
        with self._lock:
            if authz and info.types[0].lower() == "roleassignments" and info.is_collection:
                return list_assignments(self._assignments, self._docs, info, query, self.groups.above, self._page)
            if authz and info.types[0].lower() == "roledefinitions":
                return role_definitions(self._role_defs, info, query, self._page)
            if info.is_collection:
                missing = self._missing_parent(info.segments)
                return missing or self._page(self._lists.get(info.key, []), info, query)
            doc = self._docs.get(info.key)
        if doc is None:
            return error(404, "ResourceNotFound", f"The Resource '{info.resource_type}/{segs[-1] if segs else ''}' "
                         f"was not found (id '/{'/'.join(segs)}').")
        return Reply(200, doc, {"ETag": doc["etag"]} if "etag" in doc else {})

    def _missing_parent(self, segs: tuple[str, ...]) -> Reply | None:
        """404 when the parent of the collection ``segs`` (subscription, group or resource) does not exist."""
        parent = segs[:-3] if len(segs) >= 3 and segs[-3].lower() == "providers" else segs[:-1]
        if not parent or ("/" + "/".join(parent)).lower() in self._docs:
            return None
        if len(parent) == 4 and [p.lower() for p in parent[:3]] == ["providers", GROUPS_NAMESPACE.lower(),
                                                                     "managementgroups"]:
            # a management group's extension resources (its role assignments) live in the group tree's scope
            return None if self.groups.exists(parent[3]) else error(
                404, "NotFound", f"Management group '{parent[3]}' not found.")
        if len(parent) == 2:
            return error(404, "SubscriptionNotFound", f"The subscription '{parent[1]}' could not be found.")
        if len(parent) == 4 and parent[2].lower() == "resourcegroups":
            return error(404, "ResourceGroupNotFound", f"Resource group '{parent[3]}' could not be found.")
        return error(404, "ParentResourceNotFound", f"Can not perform requested operation on nested resource. "
                     f"Parent resource '{'/'.join(parent[-2:])}' not found.")

    def _page(self, keys: list[str], info: PathInfo, query: Mapping[str, str],
              docs: Mapping[str, Json] | None = None) -> Reply:
        token = next((v for k, v in query.items() if k.lower() == "$skiptoken"), None)
        start = 0
        if token:
            try:
                start = bisect.bisect_right(keys, _decode_token(token))
            except (ValueError, binascii.Error):
                return error(400, "InvalidSkipToken", "The $skiptoken in the request is not valid.")
        chunk = keys[start:start + self.page_size]
        source = docs if docs is not None else self._docs
        body: Json = {"value": [source[k] for k in chunk]}
        if start + self.page_size < len(keys):
            params = [(k, v) for k, v in query.items() if k.lower() != "$skiptoken"]
            params.append(("$skiptoken", _encode_token(chunk[-1])))
            body["nextLink"] = f"{self.link_base(info.key)}/{'/'.join(info.segments)}?" + "&".join(
                f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in params)
        return Reply(200, body)

    # -- writes ---------------------------------------------------------------------------------------
    def _precondition(self, doc: Json | None, if_match: str | None, if_none_match: str | None) -> Reply | None:
        if if_match is not None and (doc is None or (if_match.strip() != "*" and _bare_etag(if_match) != _bare_etag(
                str(doc.get("etag", ""))))):
            return error(412, "PreconditionFailed", "The If-Match condition does not match the resource's ETag.")
        if if_none_match is not None and if_none_match.strip() == "*" and doc is not None:
            return error(412, "PreconditionFailed", "The resource already exists (If-None-Match: *).")
        return None

    def _operation(self, key: str, kind: str, final: str, api_version: str) -> str:
        op_id = uuid.uuid4().hex
        self._ops[op_id] = _Operation(key, 1, final)
        return f"{self.link_base(key)}{_OPS_PREFIX}/{kind}/{op_id}?api-version={quote(api_version, safe='')}"

    def _poll(self, kind: str, op_id: str, query: Mapping[str, str]) -> Reply:
        with self._lock:
            op = self._ops.get(op_id)
            if op is None or kind not in ("operationStatuses", "operationResults"):
                return error(404, "OperationNotFound", f"The operation '{op_id}' was not found.")
            delay = {"retry-after-ms": str(self.poll_delay_ms)}
            if op.polls_left > 0:
                op.polls_left -= 1
                if kind == "operationStatuses":
                    return Reply(200, {"id": op_id, "name": op_id, "status": "InProgress"}, delay)
                location = (f"{self.link_base(op.resource_key)}{_OPS_PREFIX}/{kind}/{op_id}"
                            f"?api-version={query.get('api-version', '')}")
                return Reply(202, None, {"Location": location, **delay})
            doc = self._docs.get(op.resource_key)
            if doc is not None and op.final != "gone":
                doc = self._docs[op.resource_key] = _with_state(doc, "Succeeded")
        if kind == "operationStatuses":
            return Reply(200, {"id": op_id, "name": op_id, "status": "Succeeded"})
        if op.final == "gone" or doc is None:
            return Reply(204)
        return Reply(200, doc, {"ETag": doc["etag"]} if "etag" in doc else {})

    def put(self, info: PathInfo, body: Any, headers: Mapping[str, str], api_version: str) -> Reply:
        if info.is_collection or not isinstance(body, dict):
            return error(405 if info.is_collection else 400, "InvalidRequestContent" if not info.is_collection
                         else "MethodNotAllowed", "PUT needs a resource id and a JSON object body.")
        rtype = info.resource_type
        doc_id, name = "/" + "/".join(info.segments), info.segments[-1]
        with self._lock:
            if rtype.lower() == f"{AUTHZ}/roleDefinitions".lower():
                existed = name.lower() in self._role_defs
                new = {**body, "id": doc_id, "name": name, "type": rtype}
                self._role_defs[name.lower()] = new
                return Reply(200 if existed else 201, new)
            old = self._docs.get(info.key)
            failed = self._precondition(old, headers.get("if-match"), headers.get("if-none-match")) or (
                self._missing_parent(info.segments[:-1]) if len(info.segments) > 2 else None)
            if failed:
                return failed
            if rtype.lower() == f"{AUTHZ}/roleAssignments".lower():
                return put_assignment(self._assignments, self._docs, info, body, old, self._insert)
            new = {k: v for k, v in body.items() if k not in ("id", "name", "type", "etag", "systemData")}
            new = {"id": old["id"] if old else doc_id, "name": old["name"] if old else name,
                   "type": old["type"] if old else rtype, **new, "etag": _new_etag()}
            if old and "systemData" in old:
                new["systemData"] = old["systemData"]
            body_props = new.get("properties")
            props: Json = body_props if isinstance(body_props, dict) else {}
            old_props = old.get("properties", {}) if old else {}
            props = {**{k: v for k, v in old_props.items() if k in _READ_ONLY}, **props}
            if rtype.lower() == f"{_ML}/onlineendpoints" and "scoringUri" not in props:
                host = f"{name}.{str(new.get('location', 'eastus')).replace(' ', '').lower()}.inference.ml.azure.com"
                props.update(scoringUri=f"https://{host}/score", swaggerUri=f"https://{host}/swagger.json")
            new["properties"] = props
            if "identity" in new:
                new["identity"] = ensure_principal(new["identity"], old.get("identity") if old else None,
                                                    self._identity_ids)
            lro = _LRO.get(rtype.lower())
            if lro is None:
                self._insert(new)
                return Reply(200 if old else 201, new, {"ETag": new["etag"]})
            new = _with_state(new, "Updating" if old else "Creating")
            self._insert(new)
            status_url = self._operation(info.key, "operationStatuses", "succeed", api_version)
            return Reply(lro[0], new, {"ETag": new["etag"], "Azure-AsyncOperation": status_url,
                                       "retry-after-ms": str(self.poll_delay_ms)})

    def patch(self, info: PathInfo, body: Any, headers: Mapping[str, str], api_version: str) -> Reply:
        if info.is_collection or not isinstance(body, dict):
            return error(405 if info.is_collection else 400, "InvalidRequestContent", "PATCH needs a JSON object.")
        with self._lock:
            old = self._docs.get(info.key)
            if old is None:
                return error(404, "ResourceNotFound", f"The Resource '/{'/'.join(info.segments)}' was not found.")
            failed = self._precondition(old, headers.get("if-match"), None)
            if failed:
                return failed
            new = dict(old)
            for key, value in body.items():
                if key in ("id", "name", "type", "etag", "systemData"):
                    continue
                merge = key in ("tags", "identity", "properties") and isinstance(value, dict)
                current = old.get(key)
                before: Json = current if isinstance(current, dict) else {}
                new[key] = {**before, **value} if merge else value
            if "identity" in body:
                new["identity"] = ensure_principal(new["identity"], old.get("identity"), self._identity_ids)
            new["etag"] = _new_etag()
            lro = _LRO.get(old["type"].lower())
            if lro is None or not lro[1]:
                self._insert(new)
                return Reply(200, new, {"ETag": new["etag"]})
            self._insert(_with_state(new, "Updating"))
            location = self._operation(info.key, "operationResults", "resource", api_version)
            return Reply(202, None, {"Location": location, "retry-after-ms": str(self.poll_delay_ms)})

    def delete(self, info: PathInfo, headers: Mapping[str, str], api_version: str) -> Reply:
        if info.is_collection:
            return error(405, "MethodNotAllowed", "DELETE needs a resource id.")
        with self._lock:
            if info.resource_type.lower() == f"{AUTHZ}/roleDefinitions".lower():
                gone = self._role_defs.pop(info.segments[-1].lower(), None)
                return Reply(200, gone) if gone else Reply(204)
            old = self._docs.get(info.key)
            if old is None:
                return Reply(204)
            failed = self._precondition(old, headers.get("if-match"), None)
            if failed:
                return failed
            self._remove_tree(info.key)
            lro = _LRO.get(old["type"].lower())
            if lro is None or not lro[2]:
                return Reply(200, old if old["type"].lower() == f"{AUTHZ}/roleAssignments".lower() else None)
            location = self._operation(info.key, "operationResults", "gone", api_version)
            return Reply(202, None, {"Location": location, "retry-after-ms": str(self.poll_delay_ms)})
