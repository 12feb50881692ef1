"""The estate the stand-in tests serve: edited copies of the official REST examples."""

from __future__ import annotations

from typing import Any

from auditor.demo.arm_examples import as_resource, example_body, example_items
from auditor.demo.arm_model import role_assignment_document, subscription_document

SUB = "11111111-2222-3333-4444-555555555555"
SUB_B = "22222222-3333-4444-5555-666666666666"
SUB_C = "33333333-4444-5555-6666-777777777777"
RG = "rg-ml"
RG_OTHER = "rg-ml-dev"
RG_APIM = "rg-gateway"
ML = "providers/Microsoft.MachineLearningServices/workspaces"
WS_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}/{ML}/ws-prod"
WS_DEV_ID = f"/subscriptions/{SUB}/resourceGroups/{RG_OTHER}/{ML}/ws-dev"
WS_B_ID = f"/subscriptions/{SUB_B}/resourceGroups/rg-b/{ML}/ws-b"
ENDPOINTS = [f"ep-{i}" for i in range(5)]
ENDPOINT_PRINCIPALS = {name: f"aaaaaaaa-0000-4000-8000-00000000000{i}" for i, name in enumerate(ENDPOINTS)}
USER_PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000001"
APIM_ID = f"/subscriptions/{SUB}/resourceGroups/{RG_APIM}/providers/Microsoft.ApiManagement/service/apim-models"
APIM_B_ID = f"/subscriptions/{SUB_B}/resourceGroups/rg-b/providers/Microsoft.ApiManagement/service/apim-b"
RG_SCOPE = f"/subscriptions/{SUB}/resourceGroups/{RG}"


def endpoint_id(name: str) -> str:
    return f"{WS_ID}/onlineEndpoints/{name}"


def _endpoint(name: str, index: int) -> dict[str, Any]:
    host = f"{name}.westeurope.inference.ml.azure.com"
    return as_resource(
        example_body("Workspace/OnlineEndpoint/get.json"), endpoint_id(name), location="westeurope",
        identity={"type": "SystemAssigned", "principalId": ENDPOINT_PRINCIPALS[name],
                  "tenantId": "72f988bf-0000-4000-8000-00000000d3e0"},
        properties={"authMode": "Key" if index % 2 else "AMLToken", "provisioningState": "Succeeded",
                    "publicNetworkAccess": "Enabled", "scoringUri": f"https://{host}/score",
                    "swaggerUri": f"https://{host}/swagger.json", "compute": None, "traffic": {"blue": 100}})


def build_estate() -> list[dict[str, Any]]:
    """Three subscriptions' worth of Machine Learning, API Management and role assignments."""
    docs = [
        as_resource(example_body("Workspace/get.json"), WS_ID),
        as_resource(example_body("Workspace/get.json"), WS_DEV_ID, properties={"publicNetworkAccess": "Enabled"}),
        as_resource(example_body("Workspace/get.json"), WS_B_ID),
    ]
    docs += [_endpoint(name, i) for i, name in enumerate(ENDPOINTS)]
    docs.append(as_resource(example_body("OnlineDeployment/ManagedOnlineDeployment/get.json"),
                            f"{endpoint_id('ep-0')}/deployments/blue"))
    docs += [as_resource(item, f"{WS_ID}/serverlessEndpoints/llm-{i}", properties={"authMode": mode})
             for i, (item, mode) in enumerate(zip(example_items("Workspace/ServerlessEndpoint/list.json") * 2,
                                                  ("Key", "AAD"), strict=True))]
    docs.append(as_resource(example_body("ApiManagementServiceGetService.json"), APIM_ID))
    docs.append(as_resource(example_body("ApiManagementServiceGetService.json"), APIM_B_ID))
    for listing, kind in (("ApiManagementListApis.json", "apis"), ("ApiManagementListBackends.json", "backends"),
                          ("ApiManagementListProducts.json", "products")):
        docs += [as_resource(item, f"{APIM_ID}/{kind}/{item['name']}") for item in example_items(listing)]
    docs += [
        role_assignment_document(f"/subscriptions/{SUB}", USER_PRINCIPAL, "Owner", principal_type="User"),
        role_assignment_document(RG_SCOPE, ENDPOINT_PRINCIPALS["ep-1"], "Contributor"),
        role_assignment_document(WS_ID, ENDPOINT_PRINCIPALS["ep-1"], "AzureML Data Scientist"),
        role_assignment_document(endpoint_id("ep-0"), ENDPOINT_PRINCIPALS["ep-0"], "Storage Blob Data Reader"),
        role_assignment_document(f"/subscriptions/{SUB_B}", ENDPOINT_PRINCIPALS["ep-1"], "Reader"),
    ]
    return docs


def build_subscriptions() -> list[dict[str, Any]]:
    first = example_items("GetSubscriptions.json")[0]
    return [
        {**first, "id": f"/subscriptions/{SUB}", "subscriptionId": SUB, "displayName": "ml-prod"},
        subscription_document(SUB_B, "ml-dev"),
        subscription_document(SUB_C, "sandbox"),
    ]
