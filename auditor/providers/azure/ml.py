"""Azure Machine Learning: workspaces, computes, online endpoints and deployments, serverless endpoints, v1 services.

SDK decision
------------
azure-mgmt-machinelearningservices 1.0.1 (api 2020-08-01) has no online or serverless endpoints.
2.0.0b2 (api 2023-04-01, pinned exactly) has workspaces, computes, online endpoints and deployments,
but its models silently drop ``managedNetwork``, and it has no serverless endpoints and no data
collector; no version has the v1 web services (``workspaces/{ws}/services``). The rules are written
against the REST JSON as ``az resource show`` prints it (``properties.authMode``,
``properties.managedNetwork.isolationMode``, ``properties.dataCollector.collections``,
``properties.contentSafety.contentSafetyStatus``), and a trip through the SDK models turns a document
into a snake_case dict without exactly the fields those rules read. So:

* Every Machine Learning document is the raw Resource Manager JSON of a collection list, read through
  the pipeline of one shared ``MachineLearningServicesMgmtClient`` (``_send_request``, the generated
  clients' documented raw-request path), built with the scan's explicit read-only policy list
  (:func:`auditor.providers.azure.session.arm_policies`): ARM's bearer-token policy with the scan's
  audience and the retry policy (10 retries of 429/5xx, ``Retry-After`` honoured), but no automatic
  resource-provider registration (a write). The api-version is pinned: 2025-12-01 (the newest stable
  version, the one the official examples show) for workspaces, computes, online endpoints,
  deployments and serverless endpoints; 2021-07-01 (the newest that still has them) for the v1
  ``services``. Every list follows ``nextLink`` to its end. Resource Manager lists return full
  documents, so nothing is read item by item. A pinned version keeps document shapes stable for the
  rules; moving it is a deliberate change, tested against the official examples of the new version.
* Role assignments are listed per principal as raw JSON (api 2022-04-01) through the same pipeline, and
  each role definition is read once with azure-mgmt-authorization (:mod:`auditor.providers.azure.roles`);
  subscriptions are listed with azure-mgmt-resource-subscriptions, through its pager.
* Nothing calls ``listKeys``, ``getKeys`` or a token API: the scan needs read permissions only.

Secrets never leave this module: every document passes through the redaction policy both clouds
share (:mod:`auditor.redaction`): environment variable values (compute custom services, online
deployments, v1 services), well-known secret fields (passwords, private keys, connection strings,
endpoint keys) and any string :func:`auditor.secrets.secret_kinds` recognises are replaced with
``"<redacted>"`` (a URL keeps its shape, its credentials redacted in place); a deployment keeps, per
variable, only its name, whether it has a value and the kinds of secret the value looked like
(``related.environment_variables``).

Work is pipelined on the scan's pool: each workspace's four child lists start as soon as the page
naming the workspace arrives, and each online endpoint's deployments list and its identities' role
assignments as soon as the page naming the endpoint arrives.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from auditor.identity import resource_key
from auditor.model import CoverageRow, Resource
from auditor.providers.azure import resource_types as declared
from auditor.providers.azure.arm import (
    MAX_ROW_ERROR,
    add_first_seen,
    one_line,
    read_pages,
    resource_name,
    with_id,
)
from auditor.providers.azure.ml_endpoints import (
    NAMESPACE,
    ONLINE_DEPLOYMENT,
    ONLINE_ENDPOINT,
    endpoint_principals,
    endpoint_related,
    environment_variables,
)
from auditor.providers.azure.roles import RoleCollector
from auditor.providers.azure.session import AzureClients
from auditor.providers.declared import ids
from auditor.providers.pool import TaskPool
from auditor.regions import canonical_azure_location

WORKSPACE = declared.WORKSPACE.id
COMPUTE = declared.COMPUTE.id
SERVERLESS_ENDPOINT = declared.SERVERLESS_ENDPOINT.id
LEGACY_SERVICE = declared.LEGACY_SERVICE.id
WORKSPACES_SERVICE = declared.WORKSPACES_SERVICE
CHILDREN_SERVICE = declared.CHILDREN_SERVICE
CHILD_TYPES: tuple[str, ...] = ids(declared.TYPES, CHILDREN_SERVICE)
RESOURCE_TYPES: tuple[str, ...] = (*ids(declared.TYPES, WORKSPACES_SERVICE), *CHILD_TYPES)

API_VERSION = "2025-12-01"
LEGACY_API_VERSION = "2021-07-01"

# Resource Manager's documented answers for a resource type a region does not offer: newer regions
# never had v1 web services. Only the v1 list reads them as "no v1 services"; 403/5xx stay errors.
NO_V1_SERVICES_CODES = frozenset({"NoRegisteredProviderFor", "InvalidResourceType"})


@dataclass(frozen=True)
class _ChildList:
    label: str  # the collection's path segment, named in coverage errors
    resource_type: str
    api_version: str
    absent_codes: frozenset[str] = frozenset()


_CHILD_LISTS: tuple[_ChildList, ...] = (
    _ChildList("computes", COMPUTE, API_VERSION),
    _ChildList("onlineEndpoints", ONLINE_ENDPOINT, API_VERSION),
    _ChildList("serverlessEndpoints", SERVERLESS_ENDPOINT, API_VERSION),
    _ChildList("services", LEGACY_SERVICE, LEGACY_API_VERSION, NO_V1_SERVICES_CODES),
)


@dataclass
class _Workspace:
    id: str
    name: str
    location: str
    document: dict[str, Any]
    children: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {kind.resource_type: {} for kind in _CHILD_LISTS})
    deployments: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # endpoint id (lower) -> docs
    deployment_failures: dict[str, str] = field(default_factory=dict)  # endpoint id (lower) -> reason
    failures: list[str] = field(default_factory=list)


def _join(messages: Iterable[str]) -> str | None:
    text = "; ".join(dict.fromkeys(m for m in messages if m))
    return one_line(text, MAX_ROW_ERROR) if text else None


class MlSubscription:
    """The Machine Learning estate of one subscription, collected on the scan's pool."""

    def __init__(self, subscription: str, clients: AzureClients, pool: TaskPool, roles: RoleCollector) -> None:
        self.subscription = subscription
        self.clients = clients
        self.pool = pool
        self.roles = roles
        self.lane = ("azure-ml", subscription.lower())
        self.failure: str | None = None
        self._lock = threading.Lock()
        self._workspaces: dict[str, _Workspace] = {}

    def start(self) -> None:
        self.pool.submit(self.lane, self._list_workspaces)

    # --- collection ----------------------------------------------------------------------------------

    def _read_list(self, path: str, api_version: str, operation: str,
                   on_page: Callable[[list[dict[str, Any]]], None],
                   absent_codes: frozenset[str] = frozenset()) -> str | None:
        """Read every page of a list into ``on_page``; why it failed, or None."""
        return read_pages(self.clients.list_pages(path, api_version, operation), on_page, absent_codes)

    def _list_workspaces(self) -> None:
        path = f"/subscriptions/{self.subscription}/providers/{NAMESPACE}/workspaces"

        def on_page(page: list[dict[str, Any]]) -> None:
            with self._lock:
                new = add_first_seen(self._workspaces, page, path, lambda rid, doc: _Workspace(
                    rid, resource_name(doc, rid), canonical_azure_location(str(doc.get("location") or "")), doc))
            self.pool.submit_many(self.lane, [partial(self._list_children, workspace, kind)
                                              for _, workspace in new for kind in _CHILD_LISTS])

        reason = self._read_list(path, API_VERSION, f"list workspaces of subscription {self.subscription}", on_page)
        if reason:
            self.failure = f"workspaces list failed: {reason}"

    def _list_children(self, workspace: _Workspace, kind: _ChildList) -> None:
        path = f"{workspace.id}/{kind.label}"
        store = workspace.children[kind.resource_type]

        def on_page(page: list[dict[str, Any]]) -> None:
            with self._lock:
                new = add_first_seen(store, page, path, lambda rid, doc: doc)
            if kind.resource_type == ONLINE_ENDPOINT:
                for rid, doc in new:
                    self._on_endpoint(workspace, rid, doc)

        reason = self._read_list(path, kind.api_version, f"list {kind.label} of workspace {workspace.name}", on_page,
                                 kind.absent_codes)
        if reason:
            with self._lock:
                workspace.failures.append(f"{kind.label} list failed: {reason}")

    def _on_endpoint(self, workspace: _Workspace, endpoint_id: str, document: Mapping[str, Any]) -> None:
        principals, _missing = endpoint_principals(document)
        for principal in principals:
            self.roles.request(self.subscription, principal, self.lane)
        self.pool.submit(self.lane, partial(self._list_deployments, workspace, endpoint_id,
                                            resource_name(document, endpoint_id)))

    def _list_deployments(self, workspace: _Workspace, endpoint_id: str, endpoint_name: str) -> None:
        path = f"{endpoint_id}/deployments"
        found: dict[str, dict[str, Any]] = {}

        def on_page(page: list[dict[str, Any]]) -> None:
            for raw in page:
                variables = environment_variables(raw)  # names and secret kinds, read before redaction
                rid, doc = with_id(raw, path)
                found.setdefault(resource_key("azure", rid), {"document": doc, "environment_variables": variables})

        reason = self._read_list(path, API_VERSION, f"list deployments of online endpoint {endpoint_name}", on_page)
        with self._lock:
            workspace.deployments[resource_key("azure", endpoint_id)] = found
            if reason:
                workspace.deployment_failures[resource_key("azure", endpoint_id)] = reason
                workspace.failures.append(f"onlineEndpoints/{endpoint_name}/deployments list failed: {reason}")

    # --- results (after the pool has drained) --------------------------------------------------------

    def _resource(self, resource_type: str, doc: Mapping[str, Any], region: str,
                  related: Mapping[str, Any] | None = None, unreadable: Mapping[str, str] | None = None) -> Resource:
        document = dict(doc)  # redacted when its page arrived (with_id)
        rid = str(document["id"])
        tags = document.get("tags")
        return Resource(
            id=rid, type=resource_type, provider="azure", account=self.subscription,
            region=canonical_azure_location(str(document.get("location") or region)),
            name=resource_name(document, rid), document=document,
            related=dict(related or {}), unreadable=dict(unreadable or {}),
            tags={str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {},
        )

    def resources(self) -> list[Resource]:
        out: list[Resource] = []
        for workspace in self._workspaces.values():
            region = workspace.location
            out.append(self._resource(WORKSPACE, workspace.document, region))
            owner = {"workspace": workspace.id}
            for resource_type in (COMPUTE, SERVERLESS_ENDPOINT, LEGACY_SERVICE):
                out.extend(self._resource(resource_type, doc, region, owner)
                           for doc in workspace.children[resource_type].values())
            for key, doc in workspace.children[ONLINE_ENDPOINT].items():
                deployments = workspace.deployments.get(key, {})
                related, unreadable = endpoint_related(
                    doc, workspace.id, sorted(str(d["document"]["id"]) for d in deployments.values()),
                    workspace.deployment_failures.get(key),
                    lambda principal: self.roles.assignments(self.subscription, principal))
                endpoint = self._resource(ONLINE_ENDPOINT, doc, region, related, unreadable)
                out.append(endpoint)
                out.extend(self._resource(ONLINE_DEPLOYMENT, d["document"], endpoint.region,
                                          {"endpoint": endpoint.id,
                                           "environment_variables": d["environment_variables"]})
                           for d in deployments.values())
        return out

    def coverage(self, resources: Iterable[Resource]) -> list[CoverageRow]:
        """The subscription's workspaces row and one children row per workspace."""
        children: dict[str, int] = {}
        workspaces = 0
        for resource in resources:
            if resource.type == WORKSPACE:
                workspaces += 1
            elif resource.type in CHILD_TYPES:
                parent = str(resource.related.get("workspace") or "")
                if resource.type == ONLINE_DEPLOYMENT:
                    parent = resource_key("azure", resource.id).split("/onlineendpoints/", 1)[0]
                key = resource_key("azure", parent)
                children[key] = children.get(key, 0) + 1
        error = None
        if self.failure:
            error = one_line(f"{self.failure}; the children of its workspaces (computes, endpoints, deployments, "
                             "v1 services) are not known either", MAX_ROW_ERROR)
        rows = [CoverageRow(
            provider="azure", account=self.subscription, region="*", service=WORKSPACES_SERVICE,
            scope_id=f"/subscriptions/{self.subscription}",
            resource_types=RESOURCE_TYPES if error else (WORKSPACE,), resources=workspaces, error=error,
        )]
        for key, workspace in self._workspaces.items():
            rows.append(CoverageRow(
                provider="azure", account=self.subscription, region=workspace.location or "*",
                service=CHILDREN_SERVICE, scope_id=workspace.id, resource_types=CHILD_TYPES,
                resources=children.get(key, 0), error=_join(workspace.failures),
            ))
        return rows

