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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from auditor.identity import resource_key
from auditor.model import CoverageRow, Resource
from auditor.providers.azure import resource_types as declared
from auditor.providers.azure.arm import add_first_seen, read_pages, resource_name, with_id
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
from auditor.providers.azure.subscription_scan import Listing, Page, Parent, SubscriptionScan
from auditor.providers.declared import ids
from auditor.providers.pool import TaskPool

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
class _Workspace(Parent):
    children: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {kind.resource_type: {} for kind in _CHILD_LISTS})
    deployments: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # endpoint id (lower) -> docs
    deployment_failures: dict[str, str] = field(default_factory=dict)  # endpoint id (lower) -> reason


def _workspace_of(resource: Resource) -> str | None:
    """The workspace a child resource is counted under (a deployment's through its endpoint's id)."""
    if resource.type == ONLINE_DEPLOYMENT:
        return resource_key("azure", resource.id).split("/onlineendpoints/", 1)[0]
    return str(resource.related.get("workspace") or "") if resource.type in CHILD_TYPES else None


_LISTING = Listing(
    lane="azure-ml", collection=f"{NAMESPACE}/workspaces", what="workspaces", parent_type=WORKSPACE,
    service=WORKSPACES_SERVICE, resource_types=RESOURCE_TYPES,
    unknown="the children of its workspaces (computes, endpoints, deployments, v1 services) are not known either",
    children_service=CHILDREN_SERVICE, child_types=CHILD_TYPES, parent_of=_workspace_of)


class MlSubscription:
    """The Machine Learning estate of one subscription, collected on the scan's pool."""

    def __init__(self, subscription: str, clients: AzureClients, pool: TaskPool, roles: RoleCollector) -> None:
        self.clients = clients
        self.roles = roles
        self.scan: SubscriptionScan[_Workspace] = SubscriptionScan(
            subscription, pool, _LISTING, lambda path, operation: clients.list_pages(path, API_VERSION, operation),
            _Workspace)
        self.subscription, self.pool, self.lane = subscription, pool, self.scan.lane

    @property
    def failure(self) -> str | None:
        return self.scan.failure

    def start(self) -> None:
        self.scan.start(lambda workspace: [partial(self._list_children, workspace, kind) for kind in _CHILD_LISTS])

    # --- collection ----------------------------------------------------------------------------------

    def _list_children(self, workspace: _Workspace, kind: _ChildList) -> None:
        path = f"{workspace.id}/{kind.label}"
        store = workspace.children[kind.resource_type]

        def on_page(page: Page) -> None:
            with self.scan.lock:
                new = add_first_seen(store, page, path, lambda rid, doc: doc)
            if kind.resource_type == ONLINE_ENDPOINT:
                for rid, doc in new:
                    self._on_endpoint(workspace, rid, doc)

        reason = read_pages(self.clients.list_pages(path, kind.api_version,
                                                    f"list {kind.label} of workspace {workspace.name}"),
                            on_page, kind.absent_codes)
        if reason:
            with self.scan.lock:
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

        def on_page(page: Page) -> None:
            for raw in page:
                variables = environment_variables(raw)  # names and secret kinds, read before redaction
                rid, doc = with_id(raw, path)
                found.setdefault(resource_key("azure", rid), {"document": doc, "environment_variables": variables})

        reason = self.scan.read_list(path, f"list deployments of online endpoint {endpoint_name}", on_page)
        with self.scan.lock:
            workspace.deployments[resource_key("azure", endpoint_id)] = found
            if reason:
                workspace.deployment_failures[resource_key("azure", endpoint_id)] = reason
                workspace.failures.append(f"onlineEndpoints/{endpoint_name}/deployments list failed: {reason}")

    # --- results (after the pool has drained) --------------------------------------------------------

    def _resource(self, resource_type: str, doc: Mapping[str, Any], region: str,
                  related: Mapping[str, Any] | None = None, unreadable: Mapping[str, str] | None = None) -> Resource:
        return self.scan.resource(resource_type, dict(doc), region, related, unreadable)  # redacted by with_id

    def resources(self) -> list[Resource]:
        out: list[Resource] = []
        for workspace in self.scan.parents.values():
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
        return self.scan.coverage(resources)
