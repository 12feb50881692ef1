"""What the API Management collection produces from the estate: documents, relations, links, calls, verdicts."""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter
from typing import Any

from auditor.catalog import load_catalog
from auditor.demo.arm_model import parse_path
from auditor.demo.arm_server import ArmServer
from auditor.engine import evaluate
from auditor.model import Inventory, Resource, Rule
from auditor.pipeline import merge
from auditor.providers.azure import apim as azure_apim
from auditor.providers.azure.apim_links import link_gateways
from auditor.providers.azure.collect import PERMISSIONS

from .conftest import Scan
from .estate import (
    EP_CHURN,
    EP_FRAUD,
    EXPECTED,
    FRAUD_HOST,
    GW_EDGE,
    GW_PROD,
    SAGEMAKER_HOST,
    SECRETS,
    SUB_A,
    SUB_B,
    build_estate,
)

APIM_TYPES = {"Microsoft.ApiManagement/service": azure_apim.SERVICE,
              "Microsoft.ApiManagement/service/apis": "azure.apim.api",
              "Microsoft.ApiManagement/service/backends": "azure.apim.backend",
              "Microsoft.ApiManagement/service/products": azure_apim.PRODUCT}
SHAPE = "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ApiManagement/service/{}"


def apim_rules() -> list[Rule]:
    return [rule for rule in load_catalog(providers=("azure",)).values() if rule.id.startswith("azure.apim.")]


def by_name(inventory: Inventory, resource_type: str) -> dict[str, Resource]:
    return {r.name: r for r in inventory.of_type(resource_type)}


def decided(inventory: Inventory) -> dict[tuple[str, str], str]:
    names = {r.id: r.name for r in inventory.resources}
    return {(f.rule_id, names.get(f.resource_id, f.resource_id)): f.status.value
            for f in evaluate(inventory, apim_rules())}


def test_every_seeded_apim_resource_as_raw_resource_manager_json(scan: Scan) -> None:
    inventory = scan()
    seeded = {d["id"]: d for d in build_estate() if d["type"] in APIM_TYPES}
    found = {r.id: r for r in inventory.resources if r.type.startswith("azure.apim.")}
    assert set(found) == set(seeded)
    for rid, resource in found.items():
        assert resource.type == APIM_TYPES[seeded[rid]["type"]] and resource.provider == "azure"
        assert resource.account == (SUB_A if rid.startswith(f"/subscriptions/{SUB_A}") else SUB_B)
        # the canonical Resource Manager names, though API Management returns display names
        assert resource.region == ("westeurope" if GW_PROD in rid else "eastus")
    apis = by_name(inventory, "azure.apim.api")
    assert apis["fraud-sub"].document["properties"]["subscriptionRequired"] is True  # the REST names, not snake_case
    assert "subscriptionRequired" not in apis["echo"].document["properties"]  # as the official example has it
    gateway = by_name(inventory, azure_apim.SERVICE)["gw-prod"]
    assert gateway.document["properties"]["virtualNetworkType"] == "None" and gateway.tags == {"env": "prod"}


def test_effective_policies_routes_and_fronts(scan: Scan) -> None:
    apis = by_name(scan(), "azure.apim.api")
    policy: dict[str, Any] = {name: api.related["policy"] for name, api in apis.items() if "policy" in api.related}
    assert {n: (p["source"], p["validates_token"], p["rate_limited"]) for n, p in policy.items()} == {
        "fraud-sub": ("api+service", False, True),  # keeps <base /> outside inbound only: no inherited token check
        "fraud-jwt": ("api", True, False),
        "churn-inherit": ("service", True, False),  # no policy of its own: the service-level one runs
        "sagemaker-open": ("api", False, True),
        "echo": ("api+service", True, True),  # the official example policy keeps <base /> in inbound
        "legacy-soap": ("service", True, False),
        "edge-inherit": ("api+service", False, False),
        "edge-own": ("api+service", False, False),
        "edge-none": ("service", False, False)}
    assert policy["fraud-jwt"]["backend_ids"] == ["ml-fraud"]
    assert policy["churn-inherit"]["token_policies"] == [
        {"policy": "validate-azure-ad-token", "section": "inbound", "scope": "service", "conditional": False}]
    assert policy["edge-inherit"]["base_urls"] == [f"https://{FRAUD_HOST}/score"]  # inherited, query dropped
    assert policy["edge-own"]["base_urls"] == []  # its backend section has no <base />

    def fronts(name: str) -> list[tuple[str, str | None, str | None, str, str]]:
        return [(f["kind"], f["id"], f["name"], f["host"], f["via"]) for f in apis[name].related["fronts"]]

    ml = "azure.ml.online_endpoint"
    assert fronts("fraud-sub") == [(ml, EP_FRAUD, "fraud-scorer", FRAUD_HOST, "serviceUrl")]
    assert fronts("fraud-jwt") == [(ml, EP_FRAUD, "fraud-scorer", FRAUD_HOST, "backend:ml-fraud")]
    assert fronts("churn-inherit") == [(ml, EP_CHURN, "churn-scorer", "churn-scorer.westeurope.inference.ml.azure.com",
                                        "serviceUrl")]  # the API's host is mixed case
    assert fronts("sagemaker-open") == [("aws.sagemaker.endpoint", None, "churn-xgb", SAGEMAKER_HOST, "serviceUrl")]
    assert fronts("edge-inherit") == fronts("edge-none") == [(ml, EP_FRAUD, "fraud-scorer", FRAUD_HOST, "base-url")]
    for name in ("echo", "legacy-soap", "edge-own"):
        assert fronts(name) == []
    assert apis["edge-inherit"].related["products"] == [{
        "id": f"{GW_EDGE}/products/edge-open", "name": "edge-open", "state": "published",
        "subscriptionRequired": False}]
    products = by_name(scan(), azure_apim.PRODUCT)
    assert products["starter"].related["apis"] == [f"{GW_PROD}/apis/{n}"
                                                   for n in ("churn-inherit", "fraud-sub", "sagemaker-open")]


def test_malformed_and_hostile_policies_are_unreadable_never_guessed_or_expanded(scan: Scan) -> None:
    inventory = scan()
    apis = by_name(inventory, "azure.apim.api")
    broken, hostile = apis["scorer-broken"], apis["scorer-xxe"]
    assert "policy" not in broken.related and "policy" not in hostile.related
    assert broken.unreadable["related.policy"].startswith(
        "API policy: the policy is not well-formed XML: mismatched tag")
    assert "document type declaration" in hostile.unreadable["related.policy"]
    assert "rejected, not expanded" in hostile.unreadable["related.policy"]
    text = json.dumps(dataclasses.asdict(inventory), default=str)
    assert "lollollol" not in text and "root:x:0:0" not in text and "<!ENTITY" not in text
    assert "<policies>" not in text  # facts are kept, never the policy XML


def test_backend_credentials_are_recorded_by_presence_and_never_by_value(scan: Scan) -> None:
    inventory = scan()
    text = json.dumps(dataclasses.asdict(inventory), default=str)
    for secret in SECRETS:
        assert secret not in text
    proxy = by_name(inventory, "azure.apim.backend")["proxybackend"]
    assert proxy.related["credentials"] == {"header_names": ["x-functions-key"], "query_names": ["code"],
                                            "certificate": False, "authorization_scheme": "Basic"}
    credentials = proxy.document["properties"]["credentials"]
    assert credentials["header"] == {"x-functions-key": ["<redacted>"]}
    assert credentials["query"] == {"code": ["<redacted>", "<redacted>"]}
    assert credentials["authorization"] == {"scheme": "Basic", "parameter": "<redacted>"}
    assert proxy.document["properties"]["proxy"]["password"] == "<redacted>"
    assert proxy.document["properties"]["proxy"]["url"] == "http://192.168.1.1:8080"  # the rest is kept
    assert by_name(inventory, "azure.apim.backend")["plain"].related["credentials"]["header_names"] == []


def test_every_list_follows_next_link_at_the_pinned_api_version(scan: Scan, arm: ArmServer) -> None:
    scan()
    requests = arm.requests

    def pages(n: int) -> int:
        return max(1, math.ceil(n / 2))

    assert requests[("GET", "/subscriptions/{}/providers/Microsoft.ApiManagement/service")] == 2
    assert requests[("GET", SHAPE + "/apis")] == pages(8) + pages(3)
    assert requests[("GET", SHAPE + "/backends")] == pages(5) + pages(0)
    assert requests[("GET", SHAPE + "/products")] == pages(3) + pages(1)
    assert requests[("GET", SHAPE + "/products/{}/apis")] == pages(1) + pages(3) + pages(1) + pages(1)
    assert requests[("GET", SHAPE + "/policies/{}")] == 2
    assert requests[("GET", SHAPE + "/apis/{}/policies/{}")] == 11  # once per API; a 404 is "no policy"
    apim = {shape: version for shape, version in arm.api_versions if "ApiManagement" in shape}
    assert set(apim.values()) == {"2024-05-01"} and len(apim) == 7
    assert {method for method, _ in requests} == {"GET"}  # never listSecrets, listValue or any POST


def test_permissions_cover_every_apim_request(scan: Scan, arm: ArmServer) -> None:
    scan()
    actions = {f"{parse_path(shape.replace('{}', 'x')).resource_type}/read" for _, shape in arm.requests
               if "Microsoft.ApiManagement" in shape}
    assert actions == {p for p in PERMISSIONS if p.startswith("Microsoft.ApiManagement/")}


def test_coverage_rows(scan: Scan) -> None:
    inventory = scan()
    rows = {(c.service, c.scope_id): c for c in inventory.coverage if c.service.startswith("apim")}
    assert set(rows) == {("apim-services", f"/subscriptions/{SUB_A}"), ("apim-services", f"/subscriptions/{SUB_B}"),
                         ("apim-service-children", GW_PROD), ("apim-service-children", GW_EDGE)}
    assert all(c.error is None for c in rows.values())
    services = rows[("apim-services", f"/subscriptions/{SUB_A}")]
    assert (services.resource_types, services.resources, services.region) == ((azure_apim.SERVICE,), 1, "*")
    children = rows[("apim-service-children", GW_PROD)]
    assert children.resource_types == azure_apim.CHILD_TYPES and children.region == "westeurope"
    assert children.resources == 8 + 5 + 3 and rows[("apim-service-children", GW_EDGE)].resources == 3 + 0 + 1


def test_the_apim_rules_decide_as_expected(scan: Scan) -> None:
    inventory = scan()
    findings = evaluate(inventory, apim_rules())
    assert decided(inventory) == EXPECTED
    by_key = {(f.rule_id.rsplit(".", 1)[-1], f.resource_name): f for f in findings}
    open_api = by_key[("model_endpoint_protected", "sagemaker-open")]
    assert "churn-xgb at runtime.sagemaker.eu-west-1.amazonaws.com" in open_api.message
    assert "a rate limit alone protects nothing" in open_api.message
    assert open_api.evidence["fronts"][0]["name"] == "churn-xgb" and open_api.evidence["protection"] == "none"
    # By default (the product spec) subscriptionRequired protects; the stricter parameter counts an open
    # published product that requires no subscription as a way in without a key.
    assert by_key[("model_endpoint_protected", "edge-inherit")].status.value == "PASS"
    strict = [dataclasses.replace(r, params={**r.params, "open_product_bypasses_subscription": True})
              for r in apim_rules() if r.id == "azure.apim.api.model_endpoint_protected"]
    bypassed = next(f for f in evaluate(inventory, strict) if f.resource_name == "edge-inherit")
    assert bypassed.status.value == "FAIL"
    assert EP_FRAUD in bypassed.message and "open product" in bypassed.message
    assert by_key[("model_endpoint_protected", "churn-inherit")].evidence["protection"] == "token validation"
    assert by_key[("model_endpoint_protected", "fraud-sub")].evidence["protection"] == "subscription key"
    assert "not well-formed" in by_key[("model_endpoint_protected", "scorer-broken")].evidence["error"]
    assert by_key[("model_endpoint_protected", "echo")].evidence == {"fronts": []}


def test_link_gateways_names_a_sagemaker_endpoint_of_the_aws_inventory(scan: Scan) -> None:
    azure = scan()
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/churn-xgb"
    endpoint = Resource(id=arn, type="aws.sagemaker.endpoint", provider="aws", account="123456789012",
                        region="eu-west-1", name="churn-xgb", document={"EndpointName": "churn-xgb"})
    other_region = dataclasses.replace(endpoint, id=arn.replace("eu-west-1", "us-east-1"), region="us-east-1")
    aws = Inventory(resources=(endpoint, other_region), coverage=())
    linked = link_gateways(merge([azure, aws]))
    front = by_name(linked, "azure.apim.api")["sagemaker-open"].related["fronts"]
    assert front == [{"kind": "aws.sagemaker.endpoint", "id": arn, "name": "churn-xgb", "host": SAGEMAKER_HOST,
                      "via": "serviceUrl"}]
    assert link_gateways(linked) == linked  # idempotent
    assert Counter(r.type for r in linked.resources) == Counter(r.type for r in merge([azure, aws]).resources)
