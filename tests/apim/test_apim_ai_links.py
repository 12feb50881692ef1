"""Gateway APIs in front of Azure AI Services / Azure OpenAI accounts and serverless model endpoints are linked to them,
and azure.apim.api.model_endpoint_protected judges those APIs as it judges APIs in front of ML endpoints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from auditor.catalog import load_catalog
from auditor.demo.ai_estate import build_ai_estate, northwind_ai_spec
from auditor.model import Inventory, Resource
from auditor.pipeline import ScanInputs, evaluate_inventory
from auditor.providers.azure.apim_links import link_gateways

SUB = "7a1e0c2d-3b4f-4a5e-8c6d-000000a10001"
ESTATE = build_ai_estate(northwind_ai_spec(SUB, SUB))
GW = f"/subscriptions/{SUB}/resourceGroups/rg-gw/providers/Microsoft.ApiManagement/service/gw"


def _resource(doc: dict[str, Any], kind: str, **related: Any) -> Resource:
    return Resource(id=doc["id"], type=kind, provider="azure", account=SUB, region="westeurope", name=doc["name"],
                    document=doc, related=related)


def _api(name: str, url: str, subscription_required: bool) -> Resource:
    doc = {"id": f"{GW}/apis/{name}", "name": name, "properties": {"serviceUrl": url,
                                                                   "subscriptionRequired": subscription_required}}
    policy = {"validates_token": False, "token_policies": [], "backend_ids": [], "base_urls": [],
              "rate_limited": False, "fragments": [], "source": "none"}
    return _resource(doc, "azure.apim.api", service=GW, routes=[{"via": "serviceUrl", "url": url}], products=[],
                     policy=policy)


def _inventory(*apis: Resource) -> Inventory:
    accounts = [_resource(d, "azure.ai.account") for d in ESTATE.documents
                if d["type"] == "Microsoft.CognitiveServices/accounts"]
    serverless = _resource({"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/"
                                  "workspaces/w/serverlessEndpoints/llama-chat", "name": "llama-chat",
                            "properties": {"inferenceEndpoint": {
                                "uri": "https://llama-chat-abcd.eastus2.models.ai.azure.com"}}},
                           "azure.ml.serverless_endpoint")
    return link_gateways(Inventory(resources=(*accounts, serverless, *apis), coverage=()))


def test_every_ai_host_form_is_linked_to_its_account_or_endpoint() -> None:
    inventory = _inventory(
        _api("oai", "https://oai-nw-prod-weu.openai.azure.com/openai/deployments/gpt-4o-support", True),
        _api("cog", "https://ais-nw-prod-eus.cognitiveservices.azure.com/openai", False),
        _api("foundry", "https://AIS-NW-PROD-EUS.services.ai.azure.com/models", False),
        _api("elsewhere", "https://someone-else.openai.azure.com/openai", True),
        _api("maas", "https://llama-chat-abcd.eastus2.models.ai.azure.com/chat/completions", True),
        _api("maas-unknown", "https://phi-x.westus3.models.ai.azure.com", True),
        _api("lookalike", "https://oai-nw-prod-weu.openai.azure.com.evil.example/openai", True))
    fronts = {r.name: [(f["kind"], f["id"], f["name"], f["host"]) for f in r.related["fronts"]]
              for r in inventory.of_type("azure.apim.api")}
    locked, open_ = ESTATE.ids["account"]["oai-nw-prod-weu"], ESTATE.ids["account"]["ais-nw-prod-eus"]
    assert fronts["oai"] == [("azure.ai.account", locked, "oai-nw-prod-weu", "oai-nw-prod-weu.openai.azure.com")]
    assert fronts["cog"] == [("azure.ai.account", open_, "ais-nw-prod-eus",
                              "ais-nw-prod-eus.cognitiveservices.azure.com")]
    assert fronts["foundry"] == [("azure.ai.account", open_, "ais-nw-prod-eus",
                                  "ais-nw-prod-eus.services.ai.azure.com")]
    assert fronts["elsewhere"] == [("azure.ai.account", None, "someone-else", "someone-else.openai.azure.com")]
    assert fronts["maas"][0][:3] == ("azure.ml.serverless_endpoint", inventory.of_type(
        "azure.ml.serverless_endpoint")[0].id, "llama-chat")
    assert fronts["maas-unknown"] == [("azure.ml.serverless_endpoint", None, "phi-x",
                                       "phi-x.westus3.models.ai.azure.com")]
    assert fronts["lookalike"] == []


def test_an_open_api_in_front_of_an_ai_account_fails_and_a_keyed_one_passes() -> None:
    inventory = _inventory(_api("open", "https://ais-nw-prod-eus.cognitiveservices.azure.com/openai", False),
                           _api("keyed", "https://oai-nw-prod-weu.openai.azure.com/openai", True))
    result = evaluate_inventory(ScanInputs(rules=load_catalog(providers=("azure",))), inventory, datetime.now(UTC))
    got = {f.resource_name: f for f in result.findings if f.rule_id == "azure.apim.api.model_endpoint_protected"}
    assert got["open"].status.value == "FAIL" and "ais-nw-prod-eus" in got["open"].message
    assert got["keyed"].status.value == "PASS"
    assert got["open"].evidence["fronts"][0]["kind"] == "azure.ai.account"
