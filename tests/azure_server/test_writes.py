"""Writes as long-running operations, through the real LRO pollers of azure-mgmt-machinelearningservices 2.0.0b2."""

from __future__ import annotations

import time
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy
from azure.core.rest import HttpRequest
from azure.mgmt.apimanagement import ApiManagementClient
from azure.mgmt.apimanagement.models import ProductContract
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.machinelearningservices import MachineLearningServicesMgmtClient
from azure.mgmt.machinelearningservices.models import (
    ManagedServiceIdentity,
    OnlineEndpoint,
    OnlineEndpointProperties,
    PartialManagedServiceIdentity,
    PartialMinimalTrackedResourceWithIdentity,
    Workspace,
    WorkspaceUpdateParameters,
)

from auditor.demo.arm_server import ArmServer

from .conftest import StaticToken
from .estate import APIM_ID, ENDPOINT_PRINCIPALS, RG, SUB, WS_ID, endpoint_id

OPS = "/providers/Microsoft.Local/{}/{}"


@pytest.fixture
def ml(credential: StaticToken, client_options: dict[str, Any]) -> MachineLearningServicesMgmtClient:
    return MachineLearningServicesMgmtClient(credential, SUB, **client_options)


def test_create_endpoint_polls_the_async_operation(arm: ArmServer, ml: MachineLearningServicesMgmtClient) -> None:
    started = time.monotonic()
    poller = ml.online_endpoints.begin_create_or_update(RG, "ws-prod", "ep-new", OnlineEndpoint(
        location="westeurope", identity=ManagedServiceIdentity(type="SystemAssigned"),
        properties=OnlineEndpointProperties(auth_mode="AADToken", public_network_access="Disabled")))
    created = poller.result()
    assert time.monotonic() - started < 2  # the operation asks for 10 ms between polls
    assert created.id == endpoint_id("ep-new")
    assert created.properties.provisioning_state == "Succeeded"
    assert created.properties.auth_mode == "AADToken"
    assert created.properties.scoring_uri == "https://ep-new.westeurope.inference.ml.azure.com/score"
    assert created.identity.principal_id  # a system-assigned identity gets a principal id
    stored = arm.get_resource(endpoint_id("ep-new").upper())
    assert stored is not None and stored["properties"]["publicNetworkAccess"] == "Disabled"
    requests = arm.requests
    assert requests[("PUT", "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/"
                            "workspaces/{}/onlineEndpoints/{}")] == 1
    assert requests[("GET", OPS.format("operationStatuses", "{}"))] == 2  # InProgress, then Succeeded
    assert [e.name for e in ml.online_endpoints.list(RG, "ws-prod")][-1] == "ep-new"


def test_replacing_put_keeps_server_computed_properties(arm: ArmServer, ml: MachineLearningServicesMgmtClient) -> None:
    before = ml.online_endpoints.get(RG, "ws-prod", "ep-1")
    before.properties.auth_mode = "AMLToken"
    before.properties.public_network_access = "Disabled"
    after = ml.online_endpoints.begin_create_or_update(RG, "ws-prod", "ep-1", before).result()
    assert after.properties.auth_mode == "AMLToken" and after.properties.public_network_access == "Disabled"
    assert after.properties.scoring_uri == before.properties.scoring_uri
    assert after.identity.principal_id == ENDPOINT_PRINCIPALS["ep-1"]  # an identity keeps its id
    stored = arm.get_resource(endpoint_id("ep-1"))
    assert stored is not None and stored["properties"]["authMode"] == "AMLToken"
    assert stored["properties"]["provisioningState"] == "Succeeded"


def test_replacing_put_keeps_the_principal_of_a_user_assigned_identity(
        arm: ArmServer, ml: MachineLearningServicesMgmtClient) -> None:
    # A PUT carries each user-assigned identity as {} (principalId and clientId are read-only): Azure keeps
    # the identity's ids, so the endpoint's role assignments still name it afterwards.
    identity = (f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ManagedIdentity/"
                "userAssignedIdentities/id-scoring")
    ids = {"principalId": "cccccccc-0000-4000-8000-000000000001", "clientId": "cccccccc-0000-4000-8000-0000000000c1"}
    seeded = arm.get_resource(endpoint_id("ep-3"))
    assert seeded is not None
    arm.add_resources([{**seeded, "identity": {"type": "SystemAssigned,UserAssigned",
                                               "principalId": ENDPOINT_PRINCIPALS["ep-3"],
                                               "userAssignedIdentities": {identity: ids}}}])
    before = ml.online_endpoints.get(RG, "ws-prod", "ep-3")
    before.properties.auth_mode = "AADToken"
    after = ml.online_endpoints.begin_create_or_update(RG, "ws-prod", "ep-3", before).result()
    assert after.identity.principal_id == ENDPOINT_PRINCIPALS["ep-3"]
    [(key, user)] = after.identity.user_assigned_identities.items()
    assert key.lower() == identity.lower()
    assert (user.principal_id, user.client_id) == (ids["principalId"], ids["clientId"])
    stored = arm.get_resource(endpoint_id("ep-3"))
    assert stored is not None and stored["identity"]["userAssignedIdentities"][identity] == ids


def test_a_new_user_assigned_identity_gets_stable_ids(arm: ArmServer, ml: MachineLearningServicesMgmtClient) -> None:
    identity = (f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ManagedIdentity/"
                "userAssignedIdentities/id-new")
    created = [ml.online_endpoints.begin_create_or_update(RG, "ws-prod", name, OnlineEndpoint(
        location="westeurope", identity=ManagedServiceIdentity(type="UserAssigned",
                                                                user_assigned_identities={identity: {}}),
        properties=OnlineEndpointProperties(auth_mode="AADToken"))).result() for name in ("ep-u1", "ep-u2")]
    users = [next(iter(c.identity.user_assigned_identities.values())) for c in created]
    assert users[0].principal_id and users[0].client_id and users[0].principal_id != users[0].client_id
    # one identity, one principal, whichever resource it is assigned to
    assert (users[0].principal_id, users[0].client_id) == (users[1].principal_id, users[1].client_id)


def test_update_polls_the_location(arm: ArmServer, ml: MachineLearningServicesMgmtClient) -> None:
    updated = ml.online_endpoints.begin_update(RG, "ws-prod", "ep-2", PartialMinimalTrackedResourceWithIdentity(
        tags={"owner": "ml-platform"}, identity=PartialManagedServiceIdentity(type="SystemAssigned"))).result()
    assert updated.tags["owner"] == "ml-platform"
    stored = arm.get_resource(endpoint_id("ep-2"))
    assert stored is not None and stored["tags"] == {"owner": "ml-platform"}
    assert stored["properties"]["authMode"] == "AMLToken"  # PATCH merges; untouched properties stay
    assert stored["identity"]["principalId"] == ENDPOINT_PRINCIPALS["ep-2"]
    assert arm.requests[("GET", OPS.format("operationResults", "{}"))] == 2  # 202 once, then 200

    workspace = ml.workspaces.begin_update(RG, "ws-prod", WorkspaceUpdateParameters(
        public_network_access="Enabled", tags={"env": "prod"})).result()
    assert workspace.public_network_access == "Enabled" and workspace.tags["env"] == "prod"


def test_create_workspace_answers_200_with_an_async_operation(arm: ArmServer,
                                                              ml: MachineLearningServicesMgmtClient) -> None:
    # 2.0.0b2 accepts only 200 or 202 to a workspace PUT (201 for endpoints and deployments)
    created = ml.workspaces.begin_create_or_update(RG, "ws-new", Workspace(
        location="westeurope", public_network_access="Disabled", friendly_name="new")).result()
    assert created.name == "ws-new" and created.provisioning_state == "Succeeded"
    assert created.public_network_access == "Disabled"
    assert [w.name for w in ml.workspaces.list_by_resource_group(RG)] == ["ws-new", "ws-prod"]


def test_delete_endpoint(arm: ArmServer, ml: MachineLearningServicesMgmtClient) -> None:
    ml.online_endpoints.begin_delete(RG, "ws-prod", "ep-0").result()
    assert arm.get_resource(endpoint_id("ep-0")) is None
    assert arm.get_resource(f"{endpoint_id('ep-0')}/deployments/blue") is None  # children go with it
    with pytest.raises(ResourceNotFoundError):
        ml.online_endpoints.get(RG, "ws-prod", "ep-0")
    assert [e.name for e in ml.online_endpoints.list(RG, "ws-prod")] == ["ep-1", "ep-2", "ep-3", "ep-4"]


def test_if_match(arm: ArmServer, credential: StaticToken) -> None:
    client: ARMPipelineClient[Any, Any] = ARMPipelineClient(
        base_url=arm.url, connection_verify=arm.ca_bundle,
        policies=[RetryPolicy(), BearerTokenCredentialPolicy(credential, "https://management.azure.com/.default")])
    url = f"{arm.url}{WS_ID}/serverlessEndpoints/llm-0?api-version=2025-12-01"
    current = client.send_request(HttpRequest("GET", url))
    etag = current.headers["ETag"]
    body = {"location": "westeurope", "properties": {"authMode": "AAD", "modelSettings": {"modelId": "m"}}}
    stale = client.send_request(HttpRequest("PUT", url, json=body, headers={"If-Match": '"stale"'}))
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "PreconditionFailed"
    patched = client.send_request(HttpRequest("PATCH", url, json={"tags": {"a": "b"}}, headers={"If-Match": '"x"'}))
    assert patched.status_code == 412
    assert arm.get_resource(f"{WS_ID}/serverlessEndpoints/llm-0")["properties"]["authMode"] == "Key"  # type: ignore[index]
    fresh = client.send_request(HttpRequest("PUT", url, json=body, headers={"If-Match": etag}))
    assert fresh.status_code == 201 and "Azure-AsyncOperation" in fresh.headers
    assert fresh.headers["ETag"] != etag
    exists = client.send_request(HttpRequest("PUT", url, json=body, headers={"If-None-Match": "*"}))
    assert exists.status_code == 412
    stored = arm.get_resource(f"{WS_ID}/serverlessEndpoints/llm-0")
    assert stored is not None and stored["properties"]["authMode"] == "AAD"
    assert stored["properties"]["inferenceEndpoint"]["uri"] == "https://www.contoso.com/example"  # kept


def test_synchronous_writes_of_other_types(arm: ArmServer, credential: StaticToken,
                                           client_options: dict[str, Any]) -> None:
    apim = ApiManagementClient(credential, SUB, **client_options)
    product = apim.product.create_or_update("rg-gateway", "apim-models", "models", ProductContract(
        display_name="Models", subscription_required=True, state="published"))
    assert product.subscription_required is True
    stored = arm.get_resource(f"{APIM_ID}/products/models")
    assert stored is not None and stored["type"] == "Microsoft.ApiManagement/service/products"
    apim.product.delete("rg-gateway", "apim-models", "models", if_match="*")
    assert arm.get_resource(f"{APIM_ID}/products/models") is None
    with pytest.raises(HttpResponseError) as caught:  # a child needs its parent
        apim.product.create_or_update("rg-gateway", "missing", "p", ProductContract(display_name="P"))
    assert caught.value.status_code == 404
