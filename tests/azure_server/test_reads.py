"""Reads through the real SDK clients: subscriptions, Machine Learning, raw pinned GETs, API Management."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy
from azure.core.rest import HttpRequest
from azure.mgmt.apimanagement import ApiManagementClient
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.machinelearningservices import MachineLearningServicesMgmtClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from auditor.demo.arm_examples import example_items
from auditor.demo.arm_server import ArmServer

from .conftest import StaticToken
from .estate import APIM_B_ID, APIM_ID, ENDPOINTS, RG, SUB, SUB_B, SUB_C, WS_DEV_ID, WS_ID, endpoint_id

LIST_SHAPE = "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}/"


def raw_get(client: ARMPipelineClient[Any, Any], arm: ArmServer, path_and_query: str) -> Any:
    """send_request does not prefix base_url (generated operations call format_url first): pass absolute URLs."""
    url = path_and_query if path_and_query.startswith("https://") else f"{arm.url}{path_and_query}"
    return client.send_request(HttpRequest("GET", url))


def raw_client(arm: ArmServer, credential: StaticToken) -> ARMPipelineClient[Any, Any]:
    policies = [RetryPolicy(retry_backoff_factor=0.01),
                BearerTokenCredentialPolicy(credential, "https://management.azure.com/.default")]
    return ARMPipelineClient(base_url=arm.url, policies=policies, connection_verify=arm.ca_bundle)


def test_subscriptions_list_follows_next_links(arm: ArmServer, credential: StaticToken,
                                               client_options: dict[str, Any]) -> None:
    client = SubscriptionClient(credential, **client_options)
    subs = list(client.subscriptions.list())
    assert [s.subscription_id for s in subs] == [SUB, SUB_B, SUB_C]
    assert subs[0].display_name == "ml-prod" and subs[0].state == "Enabled"
    assert subs[1].tenant_id
    assert arm.requests[("GET", "/subscriptions")] == 2  # page size 2: one nextLink followed
    assert client.subscriptions.get(SUB_B).display_name == "ml-dev"
    assert arm.api_versions[("/subscriptions", "2022-12-01")] == 2


def test_default_subscriptions_come_from_the_resources(credential: StaticToken) -> None:
    docs = [{"id": f"/subscriptions/{SUB_C}/resourceGroups/r/providers/Microsoft.ApiManagement/service/s",
             "name": "s", "type": "Microsoft.ApiManagement/service"}]
    with ArmServer(docs) as arm:
        client = SubscriptionClient(credential, base_url=arm.url, connection_verify=arm.ca_bundle)
        assert [s.subscription_id for s in client.subscriptions.list()] == [SUB_C]


def test_machine_learning_lists_and_gets(arm: ArmServer, credential: StaticToken,
                                         client_options: dict[str, Any]) -> None:
    client = MachineLearningServicesMgmtClient(credential, SUB, **client_options)
    workspaces = list(client.workspaces.list_by_subscription())
    assert sorted(w.id for w in workspaces) == sorted([WS_ID, WS_DEV_ID])  # not the other subscription's
    assert {w.public_network_access for w in workspaces} == {"Disabled", "Enabled"}
    assert [w.name for w in client.workspaces.list_by_resource_group(RG)] == ["ws-prod"]

    endpoints = list(client.online_endpoints.list(RG, "ws-prod"))
    assert [e.name for e in endpoints] == ENDPOINTS
    assert arm.requests[("GET", LIST_SHAPE + "onlineEndpoints")] == 3  # 5 endpoints, 2 a page
    assert arm.api_versions[(LIST_SHAPE + "onlineEndpoints", "2023-04-01")] == 3

    endpoint = client.online_endpoints.get(RG, "ws-prod", "ep-1")
    assert endpoint.id == endpoint_id("ep-1")
    assert endpoint.properties.auth_mode == "Key"
    assert endpoint.identity.principal_id == "aaaaaaaa-0000-4000-8000-000000000001"
    assert endpoint.properties.scoring_uri == "https://ep-1.westeurope.inference.ml.azure.com/score"

    deployments = list(client.online_deployments.list(RG, "ws-prod", "ep-0"))
    assert [d.name for d in deployments] == ["blue"]
    assert deployments[0].properties.endpoint_compute_type == "Managed"
    assert list(client.online_deployments.list(RG, "ws-prod", "ep-1")) == []

    with pytest.raises(ResourceNotFoundError) as caught:
        client.online_endpoints.get(RG, "ws-prod", "missing")
    assert caught.value.error.code == "ResourceNotFound"


def test_ids_compare_case_insensitively_and_answer_as_stored(arm: ArmServer, credential: StaticToken,
                                                             client_options: dict[str, Any]) -> None:
    client = MachineLearningServicesMgmtClient(credential, SUB.upper(), **client_options)
    endpoint = client.online_endpoints.get(RG.upper(), "WS-PROD", "EP-3")
    assert endpoint.id == endpoint_id("ep-3")
    assert endpoint.name == "ep-3"


def test_raw_get_at_a_pinned_api_version(arm: ArmServer, credential: StaticToken) -> None:
    client = raw_client(arm, credential)
    response = raw_get(client, arm, f"{WS_ID}/serverlessEndpoints?api-version=2025-12-01")
    assert response.status_code == 200
    body = response.json()
    assert [item["name"] for item in body["value"]] == ["llm-0", "llm-1"]
    assert [item["properties"]["authMode"] for item in body["value"]] == ["Key", "AAD"]
    assert body["value"][0]["properties"]["contentSafety"] == {"contentSafetyStatus": "Disabled"}
    assert "nextLink" not in body
    assert arm.api_versions[(LIST_SHAPE + "serverlessEndpoints", "2025-12-01")] == 1

    item = raw_get(client, arm, f"{WS_ID}/serverlessEndpoints/llm-1?api-version=2025-12-01")
    assert item.status_code == 200 and item.headers["ETag"] == item.json()["etag"]

    missing = raw_get(client, arm, f"{WS_ID}/serverlessEndpoints/nope?api-version=2025-12-01")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ResourceNotFound"
    orphan = raw_get(client, arm, f"{WS_ID}-gone/onlineEndpoints?api-version=2025-12-01")
    assert orphan.status_code == 404 and orphan.json()["error"]["code"] == "ParentResourceNotFound"
    no_group = raw_get(client, arm, f"/subscriptions/{SUB}/resourceGroups/nope/providers/"
                       "Microsoft.MachineLearningServices/workspaces?api-version=2025-12-01")
    assert no_group.json()["error"]["code"] == "ResourceGroupNotFound"


def test_next_link_is_absolute_and_keeps_the_query(arm: ArmServer, credential: StaticToken) -> None:
    client = raw_client(arm, credential)
    first = raw_get(client, arm, f"{WS_ID}/onlineEndpoints?api-version=2025-12-01&count=9")
    link = first.json()["nextLink"]
    assert link.startswith(f"{arm.url}{WS_ID}/onlineEndpoints?")
    assert "api-version=2025-12-01" in link and "count=9" in link and "$skiptoken=" in link
    names = [e["name"] for e in first.json()["value"]]
    while link:
        page = raw_get(client, arm, link).json()
        names += [e["name"] for e in page["value"]]
        link = page.get("nextLink")
    assert names == ENDPOINTS


def test_api_management_lists(arm: ArmServer, credential: StaticToken, client_options: dict[str, Any]) -> None:
    client = ApiManagementClient(credential, SUB, **client_options)
    services = list(client.api_management_service.list())
    assert [s.id for s in services] == [APIM_ID]  # subscription-wide, this subscription only
    assert services[0].public_network_access == "Enabled"
    assert [s.id for s in ApiManagementClient(credential, SUB_B, **client_options).api_management_service.list()] \
        == [APIM_B_ID]

    apis = list(client.api.list_by_service("rg-gateway", "apim-models"))
    expected = example_items("ApiManagementListApis.json")
    assert sorted(a.name for a in apis) == sorted(item["name"] for item in expected)
    by_name = {a.name: a for a in apis}
    assert by_name["a1"].service_url == "http://echoapi.cloudapp.net/api" and by_name["a1"].protocols == ["https"]

    backends = {b.name: b for b in client.backend.list_by_service("rg-gateway", "apim-models")}
    assert backends["proxybackend"].tls.validate_certificate_chain is False
    products = {p.name: p for p in client.product.list_by_service("rg-gateway", "apim-models")}
    assert products["kjoshiarmtemplateCert1"].subscription_required is False
    assert products["starter"].subscription_required is True
    assert arm.api_versions[("/subscriptions/{}/providers/Microsoft.ApiManagement/service", "2024-05-01")] == 2
