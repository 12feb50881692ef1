"""A small Azure Machine Learning estate for the remediation tests: edited copies of the official REST examples.

``ep-key`` fails three endpoint rules (Key auth, public access, Owner on the subscription for its
identity), ``ep-ok`` passes them, the workspace is public, ``sl-key`` is a Key serverless endpoint.
Secrets sit where a careless full PUT or journal would leak them: a connection string in ep-key's
description (redacted by the collector, so the PUT must send the raw document back untouched) and a
password in a deployment's environment.
"""

from __future__ import annotations

from typing import Any

from auditor.demo.arm_examples import as_resource, example_body, example_items
from auditor.demo.arm_model import role_assignment_document, subscription_document

SUB = "dddddddd-4444-4444-8444-444444444444"
TENANT = "72f988bf-0000-4000-8000-00000000d3e0"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-ml"
WS = f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/ws-remediate"
EP_KEY = f"{WS}/onlineEndpoints/ep-key"
EP_OK = f"{WS}/onlineEndpoints/ep-ok"
SL_KEY = f"{WS}/serverlessEndpoints/sl-key"
GW = f"{RG}/providers/Microsoft.ApiManagement/service/gw"
API_OPEN = f"{GW}/apis/scoring-open"
API_WS = f"{GW}/apis/stream"
STORAGE = f"{RG}/providers/Microsoft.Storage/storageAccounts/mlmodels"
P_KEY = "c0c0c0c0-0000-4000-8000-000000000001"
P_OK = "c0c0c0c0-0000-4000-8000-000000000002"

ACCOUNT_KEY = "U2VjcmV0U3RvcmFnZUtleQ" * 4 + "abcdefgh=="
CONNECTION = (f"DefaultEndpointsProtocol=https;AccountName=mlmodels;AccountKey={ACCOUNT_KEY};"
              "EndpointSuffix=core.windows.net")
DB_PASSWORD = "Tr0ub4dor&3-horse-battery-staple"
SECRETS = (ACCOUNT_KEY, CONNECTION, DB_PASSWORD)

OWNER_ASSIGNMENT = role_assignment_document(f"/subscriptions/{SUB}", P_KEY, "Owner")
READER_ASSIGNMENT = role_assignment_document(STORAGE, P_KEY, "Storage Blob Data Reader")


def _endpoint(resource_id: str, auth: str, public: str, principal: str, **properties: Any) -> dict[str, Any]:
    name = resource_id.rsplit("/", 1)[-1]
    host = f"{name}.westeurope.inference.ml.azure.com"
    return as_resource(example_body("Workspace/OnlineEndpoint/get.json"), resource_id, location="westeurope",
                       kind="Managed", tags={"team": "ml"}, sku=None,
                       identity={"type": "SystemAssigned", "principalId": principal, "tenantId": TENANT},
                       properties={"authMode": auth, "publicNetworkAccess": public, "provisioningState": "Succeeded",
                                   "compute": None, "traffic": {"blue": 100}, "scoringUri": f"https://{host}/score",
                                   "swaggerUri": f"https://{host}/swagger.json", "properties": {"team": "ml"},
                                   **properties})


def build() -> list[dict[str, Any]]:
    workspace = as_resource(example_body("Workspace/get.json"), WS, location="westeurope", tags={"team": "ml"},
                            properties={"publicNetworkAccess": "Enabled"})
    deployment = as_resource(example_body("OnlineDeployment/ManagedOnlineDeployment/get.json"),
                             f"{EP_KEY}/deployments/blue", location="westeurope", properties={
                                 "egressPublicNetworkAccess": "Disabled",
                                 "environmentVariables": {"DB_PASSWORD": DB_PASSWORD, "LOG_LEVEL": "info"}})
    serverless = as_resource(example_body("Workspace/ServerlessEndpoint/get.json"), SL_KEY, location="westeurope",
                             identity={"type": "None"}, properties={"authMode": "Key"})
    api = example_items("ApiManagementListApis.json")[2]
    gateway = [
        as_resource(example_body("ApiManagementServiceGetService.json"), GW, location="West Europe", tags={}),
        as_resource(api, API_OPEN, properties={"displayName": "scoring", "path": "scoring", "apiVersionSetId": None,
                                               "protocols": ["http", "https"], "subscriptionRequired": False,
                                               "serviceUrl": "https://api.contoso.com/v1"}),
        as_resource(api, API_WS, properties={"displayName": "stream", "path": "stream", "apiVersionSetId": None,
                                             "type": "websocket", "protocols": ["ws", "wss"],
                                             "subscriptionRequired": True, "serviceUrl": "wss://api.contoso.com/ws"}),
    ]
    return [
        *gateway, workspace, deployment, serverless,
        _endpoint(EP_KEY, "Key", "Enabled", P_KEY, description=CONNECTION),
        _endpoint(EP_OK, "AADToken", "Disabled", P_OK, description="fraud scoring"),
        OWNER_ASSIGNMENT, READER_ASSIGNMENT,
        role_assignment_document(STORAGE, P_OK, "Storage Blob Data Reader"),
    ]


def subscriptions() -> list[dict[str, Any]]:
    return [subscription_document(SUB, "ml-remediation")]
