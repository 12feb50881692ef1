"""Planned API Management APIs: their effective policy, routes and products, as the collector derives them.

At run time the API Management collector gives each API ``related.policy`` (its own policy over the
service-level one), ``related.routes`` (its serviceUrl and the backends and base-urls its policy names) and
``related.products``; the pipeline's link stage (:func:`auditor.providers.azure.apim_links.link_gateways`)
turns the routes into ``related.fronts``, the model endpoints an API reaches. At plan time the same functions
build them from the plan's entries: the API's and the service's planned policy documents, the planned
backends and product memberships of the same service. A URL the plan knows only after apply but that
references a planned model endpoint is that endpoint's scoring URL (``https://NAME.REGION.inference.ml.azure.com
/score``; ``https://runtime.sagemaker.REGION.amazonaws.com/endpoints/NAME/invocations``), and the planned
online endpoint's document gets the scoringUri Resource Manager will report, so the link stage matches them.

What a service that exists before the plan may hold outside it (its service-level policy, other backends,
other products) is not known: the API's policy or products are then unreadable, never assumed empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from auditor.iac.read import Plan, Planned
from auditor.model import Inventory, Resource
from auditor.planned import AfterApply
from auditor.providers.azure.apim_links import PolicyError, api_routes, effective_policy, parse_policy

API, BACKEND, PRODUCT = "azure.apim.api", "azure.apim.backend", "azure.apim.product"
ML_ENDPOINT, SAGEMAKER_ENDPOINT = "azure.ml.online_endpoint", "aws.sagemaker.endpoint"


@dataclass(frozen=True)
class Names:
    """The attribute names of one tool's API Management types."""

    service_types: tuple[str, ...]
    service_name: str  # the service's own name attribute
    service: str  # the attribute naming a child's service
    api: str  # the attribute naming an API on its policy and its product memberships
    product: str
    backend: str
    api_policy: str  # the type of an API's policy, its document attribute below
    service_policy: str
    policy_value: str
    policy_service: str  # the attribute naming a service-level policy's service
    product_api: str
    api_url: str  # an API's serviceUrl attribute
    backend_url: str


NAMES: Mapping[str, Names] = {
    "terraform": Names(("azurerm_api_management",), "name", "api_management_name", "api_name", "product_id", "name",
                       "azurerm_api_management_api_policy", "azurerm_api_management_policy", "xml_content",
                       "api_management_id", "azurerm_api_management_product_api", "service_url", "url"),
    "pulumi": Names(("azure-native:apimanagement:ApiManagementService",), "serviceName", "serviceName", "apiId",
                    "productId", "backendId", "azure-native:apimanagement:ApiPolicy",
                    "azure-native:apimanagement:Policy", "value", "serviceName",
                    "azure-native:apimanagement:ProductApi", "serviceUrl", "url"),
}
_LIVE = ("create", "update", "replace", "no-op")


def _known(value: Any) -> str | None:
    return value if isinstance(value, str) and not isinstance(value, AfterApply) and value else None


class _Service:
    """What one plan says of its API Management services, keyed by the service's name (or address)."""

    def __init__(self, plan: Plan, names: Names, inventory: Inventory) -> None:
        self.names = names
        self.by_address = {p.address: p for p in plan.changes}
        self.resources = {r.id: r for r in inventory.resources}
        self.created = {self._own_key(p) for p in plan.changes
                        if p.source_type in names.service_types and p.action == "create"}
        self.children: dict[str, list[Planned]] = {}  # per service: what its APIs' links come from
        for p in plan.changes:
            if p.action not in _LIVE:
                continue
            if p.source_type == names.service_policy:
                self.children.setdefault(self.key(p, names.policy_service), []).append(p)
            elif p.source_type in (names.api_policy, names.product_api) or (
                    p.address in self.resources and self.resources[p.address].type == BACKEND):
                self.children.setdefault(self.key(p, names.service), []).append(p)

    def _own_key(self, service: Planned) -> str:
        return (_known(service.values.get(self.names.service_name)) or service.address).lower()

    def key(self, planned: Planned, attribute: str) -> str:
        """The service a child names in ``attribute``: by reference to a planned service, or by name."""
        for target in planned.references.get(attribute, ()):
            if target in self.by_address and self.by_address[target].source_type in self.names.service_types:
                return self._own_key(self.by_address[target])
        return (_known(planned.values.get(attribute)) or "").lower()

    def child_name(self, planned: Planned, attribute: str) -> str:
        """The API, product or backend a child names: by reference (that resource's name) or as written."""
        for target in planned.references.get(attribute, ()):
            if target in self.resources:
                return self.resources[target].name.lower()
        return (_known(planned.values.get(attribute)) or "").lower()

    def url(self, planned: Planned, attribute: str) -> str | None:
        """A planned URL: as written, or the scoring URL of the planned endpoint it references."""
        written = _known(planned.values.get(attribute))
        if written is not None:
            return written
        for target in planned.references.get(attribute, ()):
            endpoint = self.resources.get(target)
            if endpoint is not None and endpoint.type == ML_ENDPOINT and endpoint.region:
                return scoring_uri(endpoint)
            if endpoint is not None and endpoint.type == SAGEMAKER_ENDPOINT and endpoint.region:
                return f"https://runtime.sagemaker.{endpoint.region}.amazonaws.com/endpoints/{endpoint.name}/invocations"
        return None


def scoring_uri(endpoint: Resource) -> str:
    return f"https://{endpoint.name.lower()}.{endpoint.region.lower()}.inference.ml.azure.com/score"


def link_apis(inventory: Inventory, plans: Sequence[Plan]) -> Inventory:
    """``inventory`` with each planned API's ``related`` policy, routes and products; planned online endpoints
    with the scoringUri they will have."""
    resources = {r.id: r for r in inventory.resources}
    for r in inventory.resources:
        if r.type == ML_ENDPOINT and r.region and isinstance(r.document.get("properties"), Mapping) \
                and "scoringUri" not in r.document["properties"]:
            resources[r.id] = replace(r, document={**r.document, "properties": {
                **r.document["properties"], "scoringUri": scoring_uri(r)}})
    for plan in plans:
        names = NAMES[plan.format]
        services = _Service(plan, names, replace(inventory, resources=tuple(resources.values())))
        for planned in plan.changes:  # a backend's URL the plan knows as a planned endpoint's
            backend = resources.get(planned.address)
            url = services.url(planned, names.backend_url) if backend is not None and backend.type == BACKEND else None
            if backend is not None and url is not None and isinstance(backend.document.get("properties"), Mapping):
                resources[planned.address] = replace(backend, document={**backend.document, "properties": {
                    **backend.document["properties"], "url": url}})
        apis = [p for p in plan.changes if p.address in resources and resources[p.address].type == API]
        if apis:
            services = _Service(plan, names, replace(inventory, resources=tuple(resources.values())))
            for planned in apis:
                resources[planned.address] = _api(resources[planned.address], planned, plan, services)
    return replace(inventory, resources=tuple(resources[r.id] for r in inventory.resources))


def _policy(planned: Planned, names: Names) -> tuple[Any, str | None]:
    text = _known(planned.values.get(names.policy_value))
    if text is None:
        return None, f"the policy of {planned.address} is known only after apply"
    try:
        return parse_policy(text), None
    except PolicyError as e:
        return None, f"{planned.address}: {e}"


def _api(resource: Resource, planned: Planned, plan: Plan, services: _Service) -> Resource:
    names = services.names
    service = services.key(planned, names.service)
    api_name = resource.name.lower()
    own = service_policy = None
    own_failure = service_failure = None
    backends: dict[str, Mapping[str, Any]] = {}
    products: list[dict[str, Any]] = []
    for other in services.children.get(service, ()):
        if other.source_type == names.api_policy:
            if services.child_name(other, names.api) == api_name:
                own, own_failure = _policy(other, names)
        elif other.source_type == names.service_policy:
            service_policy, service_failure = _policy(other, names)
        elif other.source_type == names.product_api:
            if services.child_name(other, names.api) == api_name:
                products.append(_product(other, services))
        else:
            backend = services.resources[other.address]
            backends[backend.name.lower()] = backend.document
    created = service in services.created
    unreadable = dict(resource.unreadable)
    policy: dict[str, Any] | None = None
    if own_failure or service_failure:
        unreadable["related.policy"] = "; ".join(f for f in (own_failure, service_failure) if f)
    elif service_policy is None and not created and (own is None or own.base):
        unreadable["related.policy"] = "the service-level policy of a service outside this plan is not known"
    else:
        policy = effective_policy(own, service_policy)
    url = services.url(planned, names.api_url)
    document = {**resource.document, "properties": {**resource.document.get("properties", {}),
                                                    **({"serviceUrl": url} if url else {})}}
    routes, unresolved = api_routes(document, policy, backends if created or _all_named(policy, backends) else None)
    if policy is None:
        unresolved.append("the policy could not be read, so its routing is unknown")
    if unresolved:
        unreadable["related.fronts"] = "; ".join(unresolved)
    outside = [p["name"] for p in products if p["id"] == p["name"]]
    if not created:
        unreadable["related.products"] = "products of a service outside this plan are not known"
    elif outside:
        unreadable["related.products"] = f"product(s) {', '.join(outside)} are not part of this plan"
    related = {**resource.related, "routes": routes, "products": products, **({"policy": policy} if policy else {})}
    return replace(resource, document=document, related=related, unreadable=unreadable)


def _all_named(policy: Mapping[str, Any] | None, backends: Mapping[str, Any]) -> bool:
    return policy is not None and all(b.lower() in backends for b in policy.get("backend_ids", []))


def _product(membership: Planned, services: _Service) -> dict[str, Any]:
    names = services.names
    product_name = services.child_name(membership, names.product)
    product = next((r for r in services.resources.values() if r.type == PRODUCT and r.name.lower() == product_name),
                   None)
    properties = product.document.get("properties", {}) if product is not None else {}
    return {"id": product.id if product else product_name, "name": product_name,
            "subscriptionRequired": properties.get("subscriptionRequired"), "state": properties.get("state")}
