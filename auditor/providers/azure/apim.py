"""Azure API Management: services, their APIs, backends and products, and the policies in front of them.

SDK decision: azure-mgmt-apimanagement 5.0.0 speaks api-version 2024-05-01, but its models rename
the fields the rules read (``subscription_required``, ``type_properties_type``) and wrap policies in
``PolicyContract``. As in :mod:`auditor.providers.azure.ml`, every document is the raw Resource Manager
JSON: one ``ApiManagementClient`` per scan (:class:`ApimClient`) sends plain GETs through its own
pipeline (``_send_request``: ARM bearer-token policy with the scan's token, the scan's retry policy and
connection pool) at the pinned api-version 2024-05-01 (that of the official examples in
``auditor/demo/arm_fixtures``); every list follows ``nextLink`` to its end.

Reads, per subscription, ``providers/Microsoft.ApiManagement/service``; per service ``apis``,
``backends``, ``products``, each ``products/{p}/apis``, the service-level ``policies/policy`` and each
``apis/{a}/policies/policy`` (404: no policy), both with ``format=xml``, the well-formed export
(``rawxml`` leaves policy expressions unescaped). Nothing calls ``listSecrets``, ``listValue`` or a
named-value API. Backend credentials are kept by presence only (``related.credentials``); header and
query credential values, the authorization parameter and proxy and certificate passwords become
``"<redacted>"``, then every document goes through the redaction policy both clouds share
(:mod:`auditor.redaction`): a backend ``url`` or an API ``serviceUrl`` with a key in its query string
(``?code=``, ``api-key=``, ``sig=``, ...) or a password in its user info keeps its scheme, host and
path, with ``<redacted>`` in place of the credential. Policy XML is never stored, only the facts read
from it (:mod:`auditor.providers.azure.apim_links`).

``related``: service ``{"policy"}``; API ``{"service", "policy", "routes", "products": [{"id", "name",
"subscriptionRequired", "state"}]}`` (plus ``fronts`` from ``link_gateways``); backend ``{"service",
"credentials": {"header_names", "query_names", "certificate", "authorization_scheme"}}``; product
``{"service", "apis": [API ids]}``. Errors are data, as for Machine Learning: a failed services list
errors the subscription's ``apim-services`` row; a failed child list errors the service's
``apim-service-children`` row (the other lists are still audited); a policy that cannot be read or
parsed is ``unreadable["related.policy"]`` on every API it governs.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from auditor.identity import resource_key
from auditor.model import CoverageRow, Resource
from auditor.providers.azure import resource_types as declared
from auditor.providers.azure.apim_links import (
    API,
    BACKEND,
    PolicyError,
    PolicyFacts,
    api_routes,
    effective_policy,
    parse_policy,
)
from auditor.providers.azure.arm import (
    AzureCallError,
    add_first_seen,
    get_json_through,
    one_line,
    pages_through,
    resource_name,
)
from auditor.providers.azure.ml_endpoints import redact
from auditor.providers.azure.session import UNUSED_SUBSCRIPTION, AzureClients
from auditor.providers.azure.subscription_scan import Listing, Page, Parent, SubscriptionScan
from auditor.providers.declared import ids
from auditor.providers.pool import TaskPool
from auditor.redaction import REDACTED

if TYPE_CHECKING:
    from azure.mgmt.apimanagement import ApiManagementClient

NAMESPACE = declared.APIM
API_VERSION = "2024-05-01"
SERVICE = declared.APIM_SERVICE.id
PRODUCT = declared.APIM_PRODUCT.id
SERVICES_SERVICE = declared.SERVICES_SERVICE
CHILDREN_SERVICE = declared.SERVICE_CHILDREN_SERVICE
CHILD_TYPES: tuple[str, ...] = ids(declared.TYPES, CHILDREN_SERVICE)
RESOURCE_TYPES: tuple[str, ...] = (*ids(declared.TYPES, SERVICES_SERVICE), *CHILD_TYPES)

_CERTIFICATE_SECRETS = frozenset({"certificatepassword", "encodedcertificate"})


class ApimClient:
    """The scan's ``ApiManagementClient``: raw GETs through its pipeline, on the scan's connection pool.

    Built by the first worker that reads API Management (see :class:`AzureClients`), closed with the others.
    """

    def __init__(self, clients: AzureClients) -> None:
        self._clients = clients

    @property
    def client(self) -> ApiManagementClient:
        def build() -> ApiManagementClient:
            from azure.mgmt.apimanagement import ApiManagementClient

            return ApiManagementClient(self._clients.credential, UNUSED_SUBSCRIPTION,
                                       **self._clients.options(models=False))

        client: ApiManagementClient = self._clients.shared("apim", build)
        return client

    def url(self, path: str, query: str = "") -> str:
        return self._clients.url(path, API_VERSION) + query

    def get_json(self, url: str, operation: str) -> dict[str, Any]:
        """The JSON object at ``url``, or AzureCallError (404 included)."""
        return get_json_through(self.client, url, operation)

    def list_pages(self, path: str, operation: str) -> Iterator[list[dict[str, Any]]]:
        """Pages of a collection, following every ``nextLink``; AzureCallError on failure."""
        return pages_through(self.client, self._clients.endpoint, self.url(path), operation)


# --- documents ------------------------------------------------------------------------------------


def _properties(doc: Mapping[str, Any]) -> dict[str, Any]:
    properties = doc.get("properties")
    return properties if isinstance(properties, dict) else {}


def backend_credentials(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What credentials a backend sends, by name and kind only."""
    credentials = _properties(doc).get("credentials")
    credentials = credentials if isinstance(credentials, Mapping) else {}
    header, query = credentials.get("header"), credentials.get("query")
    authorization = credentials.get("authorization")
    scheme = authorization.get("scheme") if isinstance(authorization, Mapping) else None
    return {
        "header_names": sorted(str(k) for k in header) if isinstance(header, Mapping) else [],
        "query_names": sorted(str(k) for k in query) if isinstance(query, Mapping) else [],
        "certificate": bool(credentials.get("certificateIds") or credentials.get("certificate")),
        "authorization_scheme": str(scheme) if scheme else None,
    }


def _redact_certificates(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if str(k).lower() in _CERTIFICATE_SECRETS and v else _redact_certificates(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_certificates(item) for item in value]
    return value


def redact_apim(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of an API Management document without credential values (see the module docstring)."""
    out = copy.deepcopy(dict(doc))
    credentials = _properties(out).get("credentials")
    if isinstance(credentials, dict):
        for kind in ("header", "query"):
            if isinstance(credentials.get(kind), dict):
                credentials[kind] = {str(k): [REDACTED] * len(v) if isinstance(v, list) else REDACTED
                                     for k, v in credentials[kind].items()}
        authorization = credentials.get("authorization")
        if isinstance(authorization, dict) and authorization.get("parameter"):
            authorization["parameter"] = REDACTED
    return redact(_redact_certificates(out))


# --- collection -----------------------------------------------------------------------------------


@dataclass
class _Service(Parent):
    children: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {t: {} for t in CHILD_TYPES})
    product_apis: dict[str, list[str]] = field(default_factory=dict)  # product key -> API names (lower)
    policies: dict[str, str | None] = field(default_factory=dict)  # "" (service) or API key -> XML (None: none)
    policy_failures: dict[str, str] = field(default_factory=dict)
    product_api_failures: dict[str, str] = field(default_factory=dict)  # product key -> reason
    failed_lists: set[str] = field(default_factory=set)  # child resource types not fully listed


def _service_of(resource: Resource) -> str | None:
    return str(resource.related.get("service") or "") if resource.type in CHILD_TYPES else None


_LISTING = Listing(
    lane="azure-apim", collection=f"{NAMESPACE}/service", what="API Management services", parent_type=SERVICE,
    service=SERVICES_SERVICE, resource_types=RESOURCE_TYPES,
    unknown="the APIs, backends and products of its services are not known either",
    children_service=CHILDREN_SERVICE, child_types=CHILD_TYPES, parent_of=_service_of)


class ApimSubscription:
    """The API Management estate of one subscription, collected on the scan's pool."""

    def __init__(self, subscription: str, client: ApimClient, pool: TaskPool) -> None:
        self.client = client
        self.scan: SubscriptionScan[_Service] = SubscriptionScan(subscription, pool, _LISTING, client.list_pages,
                                                                 _Service)
        self.subscription, self.pool, self.lane = subscription, pool, self.scan.lane

    @property
    def failure(self) -> str | None:
        return self.scan.failure

    def start(self) -> None:
        self.scan.start(lambda service: [
            partial(self._list_children, service, API, "apis"),
            partial(self._list_children, service, BACKEND, "backends"),
            partial(self._list_children, service, PRODUCT, "products"),
            partial(self._get_policy, service, "")])

    def _list_children(self, service: _Service, resource_type: str, label: str) -> None:
        path = f"{service.id}/{label}"
        store = service.children[resource_type]

        def on_page(page: Page) -> None:
            with self.scan.lock:
                new = [rid for rid, _ in add_first_seen(store, page, path, lambda rid, doc: doc)]
            if resource_type == API:
                self.pool.submit_many(self.lane, [partial(self._get_policy, service, rid) for rid in new])
            elif resource_type == PRODUCT:
                self.pool.submit_many(self.lane, [partial(self._list_product_apis, service, rid) for rid in new])

        reason = self.scan.read_list(path, f"list {label} of API Management service {service.name}", on_page)
        if reason:
            with self.scan.lock:
                service.failed_lists.add(resource_type)
                service.failures.append(f"{label} list failed: {reason}")

    def _list_product_apis(self, service: _Service, product_id: str) -> None:
        names: list[str] = []

        def on_page(page: Page) -> None:
            names.extend(resource_name(doc, str(doc.get("id") or "")).lower() for doc in page)

        product = product_id.rsplit("/", 1)[-1]
        reason = self.scan.read_list(f"{product_id}/apis", f"list APIs of product {product} of {service.name}", on_page)
        with self.scan.lock:
            service.product_apis[resource_key("azure", product_id)] = names
            if reason:
                service.product_api_failures[resource_key("azure", product_id)] = reason
                service.failures.append(f"products/{product}/apis list failed: {reason}")

    def _get_policy(self, service: _Service, api_id: str) -> None:
        owner = api_id or service.id
        label = f"API {api_id.rsplit('/', 1)[-1]}" if api_id else "service"
        url = self.client.url(f"{owner}/policies/policy", "&format=xml")
        xml: str | None = None
        failure: str | None = None
        try:
            value = _properties(self.client.get_json(url, f"read the {label} policy of {service.name}")).get("value")
            xml = value if isinstance(value, str) else None
            failure = None if xml is not None else f"the {label} policy has no XML value"
        except AzureCallError as exc:
            failure = None if exc.failure.status == 404 else exc.failure.reason
        with self.scan.lock:
            service.policies[resource_key("azure", api_id)] = xml
            if failure:
                service.policy_failures[resource_key("azure", api_id)] = failure

    # --- results (after the pool has drained) ---------------------------------------------------------

    def _resource(self, resource_type: str, doc: Mapping[str, Any], region: str, related: Mapping[str, Any],
                  unreadable: Mapping[str, str] | None = None) -> Resource:
        return self.scan.resource(resource_type, redact_apim(doc), region, related, unreadable)

    def _parsed(self, service: _Service, key: str) -> tuple[PolicyFacts | None, str | None]:
        """The parsed policy of ``key`` ("" = the service): (facts or None for none, why it is unreadable)."""
        if key in service.policy_failures:
            return None, service.policy_failures[key]
        xml = service.policies.get(key)
        if xml is None:
            return None, None
        try:
            return parse_policy(xml), None
        except PolicyError as exc:
            return None, one_line(str(exc))

    def _service_resources(self, service: _Service) -> list[Resource]:
        region = service.location
        own, own_failure = self._parsed(service, "")
        out = [self._resource(SERVICE, service.document, region,
                              {} if own_failure else {"policy": effective_policy(None, own)},
                              {"related.policy": f"service-level policy: {own_failure}"} if own_failure else None)]
        apis = service.children[API]
        backends = None if BACKEND in service.failed_lists else {
            resource_name(doc, key).lower(): doc for key, doc in service.children[BACKEND].items()}
        products_known = PRODUCT not in service.failed_lists and not service.product_api_failures
        members: dict[str, list[dict[str, Any]]] = {}
        for key, doc in service.children[PRODUCT].items():
            properties = _properties(doc)
            summary = {"id": doc["id"], "name": resource_name(doc, key), "state": properties.get("state"),
                       "subscriptionRequired": properties.get("subscriptionRequired")}
            names = service.product_apis.get(key, [])
            for name in names:
                members.setdefault(name, []).append(summary)
            api_ids = [str(apis.get(resource_key("azure", api_id), {}).get("id") or api_id)
                       for api_id in (f"{service.id}/apis/{name}" for name in names)]
            failure = service.product_api_failures.get(key)
            out.append(self._resource(PRODUCT, doc, region, {"service": service.id, "apis": api_ids},
                                      {"related.apis": failure} if failure else None))
        for doc in service.children[BACKEND].values():
            out.append(self._resource(BACKEND, doc, region, {"service": service.id,
                                                             "credentials": backend_credentials(doc)}))
        for key, doc in apis.items():
            out.append(self._api(service, key, doc, own, own_failure, backends, members, products_known))
        return out

    def _api(self, service: _Service, key: str, doc: Mapping[str, Any], service_policy: PolicyFacts | None,
             service_failure: str | None, backends: Mapping[str, Mapping[str, Any]] | None,
             members: Mapping[str, list[dict[str, Any]]], products_known: bool) -> Resource:
        unreadable: dict[str, str] = {}
        facts, failure = self._parsed(service, key)
        policy: dict[str, Any] | None = None
        if failure:
            unreadable["related.policy"] = f"API policy: {failure}"
        elif service_failure and (facts is None or facts.base):
            unreadable["related.policy"] = f"service-level policy (inherited): {service_failure}"
        else:
            policy = effective_policy(facts, service_policy)
        routes, unresolved = api_routes(doc, policy, backends)
        if policy is None:
            unresolved.append("the policy could not be read, so its routing is unknown")
        if unresolved:
            unreadable["related.fronts"] = one_line("; ".join(unresolved))
        if not products_known:
            unreadable["related.products"] = "the service's products or their APIs were not all listed"
        related: dict[str, Any] = {"service": service.id, "routes": routes,
                                   "products": members.get(resource_name(doc, key).lower(), [])}
        if policy is not None:
            related["policy"] = policy
        return self._resource(API, doc, service.location, related, unreadable)

    def resources(self) -> list[Resource]:
        return [resource for service in self.scan.parents.values() for resource in self._service_resources(service)]

    def coverage(self, resources: Iterable[Resource]) -> list[CoverageRow]:
        """The subscription's services row and one children row per service."""
        return self.scan.coverage(resources)
