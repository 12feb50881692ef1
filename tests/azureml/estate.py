"""The estate the Azure collector tests serve: edited copies of the official REST examples.

Two subscriptions with Machine Learning (and a third, empty one, so the subscription list pages):
compliant and violating workspaces, computes, online endpoints with system- and user-assigned
identities and their role assignments, deployments with secret and harmless environment variables,
serverless endpoints and v1 web services. Every list the collector reads holds more than one page
(page size 2) where it matters. ``EXPECTED`` is what the 16 azure.ml.* rules decide per resource.
"""

from __future__ import annotations

from typing import Any

from auditor.demo.arm_examples import as_resource, example_body, example_items
from auditor.demo.arm_groups import ManagementGroups
from auditor.demo.arm_model import role_assignment_document, subscription_document

SUB_A = "aaaaaaaa-1111-4111-8111-111111111111"
SUB_B = "bbbbbbbb-2222-4222-8222-222222222222"
SUB_C = "cccccccc-3333-4333-8333-333333333333"  # no Machine Learning at all
TENANT = "72f988bf-0000-4000-8000-00000000d3e0"
ML = "providers/Microsoft.MachineLearningServices/workspaces"

RG_PROD = f"/subscriptions/{SUB_A}/resourceGroups/rg-ml-prod"
WS_SECURE = f"{RG_PROD}/{ML}/ws-secure"
WS_OPEN = f"{RG_PROD}/{ML}/ws-open"
WS_PENDING = f"/subscriptions/{SUB_A}/resourceGroups/rg-ml-dev/{ML}/ws-pending"
WS_B = [f"/subscriptions/{SUB_B}/resourceGroups/rg-b/{ML}/ws-b{i}" for i in (1, 2, 3)]

EP_AAD = f"{WS_SECURE}/onlineEndpoints/ep-aad"
EP_OWNER = f"{WS_SECURE}/onlineEndpoints/ep-owner"
EP_KEY = f"{WS_SECURE}/onlineEndpoints/ep-key"
EP_NONE = f"{WS_SECURE}/onlineEndpoints/ep-none"
EP_B = f"{WS_B[0]}/onlineEndpoints/ep-b"

P_AAD = "a0a0a0a0-0000-4000-8000-000000000001"
P_OWNER = "a0a0a0a0-0000-4000-8000-000000000002"
P_UA = "a0a0a0a0-0000-4000-8000-000000000003"
P_B = "a0a0a0a0-0000-4000-8000-000000000004"
USER = "b0b0b0b0-0000-4000-8000-000000000001"
UAI = f"{RG_PROD}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/scorer"
STORAGE = f"/subscriptions/{SUB_A}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/mlmodels"

# Secret values seeded into documents: none may appear anywhere in the inventory.
ACCOUNT_KEY = "Zm9vYmFyYmF6cXV4" * 5 + "abcdefgh=="
STORAGE_CONNECTION = (f"DefaultEndpointsProtocol=https;AccountName=mlmodels;AccountKey={ACCOUNT_KEY};"
                      "EndpointSuffix=core.windows.net")
SAS_URL = "https://mlmodels.blob.core.windows.net/models?sv=2022-11-02&ss=b&sp=r&sig=Q2xhc3NpZmllZFNpZ25hdHVyZQ%3D%3D"
DB_PASSWORD = "Tr0ub4dor&3-horse-battery"
COMPUTE_TOKEN = "ghp_" + "C0mputeCustomServiceSecretValue1234"
V1_TOKEN = "sk-" + "legacyServiceOpenAIStyleKey0123456789"
SECRETS = (ACCOUNT_KEY, STORAGE_CONNECTION, SAS_URL, "Q2xhc3NpZmllZFNpZ25hdHVyZQ", DB_PASSWORD, COMPUTE_TOKEN,
           V1_TOKEN)


def _identity(kind: str, system: str | None = None, user: dict[str, str] | None = None) -> dict[str, Any]:
    identity: dict[str, Any] = {"type": kind}
    if system:
        identity.update(principalId=system, tenantId=TENANT)
    if user:
        identity["userAssignedIdentities"] = {
            uai: {"principalId": principal, "clientId": "c0c0c0c0-0000-4000-8000-000000000001"}
            for uai, principal in user.items()}
    return identity


def _workspaces() -> list[dict[str, Any]]:
    get = example_body("Workspace/get.json")
    minimal = example_items("Workspace/listBySubscription.json")[0]
    return [
        as_resource(get, WS_SECURE, location="westeurope", tags={"env": "prod", "team": "ml"}),
        as_resource(get, WS_OPEN, location="westeurope", tags={}, properties={
            "publicNetworkAccess": "Enabled", "encryption": {"status": "Disabled"},
            "managedNetwork": {"isolationMode": "AllowInternetOutbound"}, "privateEndpointConnections": []}),
        as_resource(get, WS_PENDING, location="northeurope", properties={
            "publicNetworkAccess": None, "managedNetwork": None,
            "encryption": {"status": "Enabled", "keyVaultProperties": {"keyIdentifier": ""}},
            "privateEndpointConnections": [{
                **get["properties"]["privateEndpointConnections"][0],
                "properties": {"privateLinkServiceConnectionState": {"status": "Pending"}}}]}),
        as_resource(minimal, WS_B[0], location="eastus"),
        as_resource(minimal, WS_B[1], location="eastus"),
        as_resource(get, WS_B[2], location="eastus2"),
    ]


def _computes() -> list[dict[str, Any]]:
    instance = example_body("Compute/get/ComputeInstance.json")
    secret_service = {**instance["properties"]["properties"]["customServices"][0],
                      "environmentVariables": {"HUB_TOKEN": {"type": "local", "value": COMPUTE_TOKEN},
                                               "THEME": {"type": "local", "value": "dark"}}}
    open_inner = {**instance["properties"]["properties"], "customServices": [secret_service]}
    return [
        as_resource(instance, f"{WS_SECURE}/computes/ci-secure", properties={"disableLocalAuth": True}),
        as_resource(instance, f"{WS_SECURE}/computes/ci-open",
                    properties={"disableLocalAuth": False, "properties": open_inner}),
        as_resource(example_body("Compute/get/AmlCompute.json"), f"{WS_SECURE}/computes/cluster"),
        as_resource(example_body("Compute/get/KubernetesCompute.json"), f"{WS_SECURE}/computes/aks"),
        as_resource(instance, f"{WS_OPEN}/computes/ci-dev", properties={"disableLocalAuth": True}),
    ]


def _endpoint(resource_id: str, auth: str, public: str | None, identity: dict[str, Any]) -> dict[str, Any]:
    name = resource_id.rsplit("/", 1)[-1]
    host = f"{name}.westeurope.inference.ml.azure.com"
    return as_resource(example_body("Workspace/OnlineEndpoint/get.json"), resource_id, location="westeurope",
                       kind="Managed", tags={"owner": "scoring"}, identity=identity, properties={
                           "authMode": auth, "publicNetworkAccess": public, "provisioningState": "Succeeded",
                           "compute": None, "traffic": {"blue": 100}, "scoringUri": f"https://{host}/score",
                           "swaggerUri": f"https://{host}/swagger.json"})


def _endpoints() -> list[dict[str, Any]]:
    return [
        _endpoint(EP_AAD, "AADToken", "Disabled", _identity("SystemAssigned", P_AAD)),
        _endpoint(EP_OWNER, "AMLToken", "Enabled", _identity("SystemAssigned,UserAssigned", P_OWNER, {UAI: P_UA})),
        _endpoint(EP_KEY, "Key", "Enabled", _identity("UserAssigned", None, {UAI: P_UA})),
        _endpoint(EP_NONE, "Key", "Disabled", _identity("None")),
        _endpoint(EP_B, "AMLToken", "Disabled", _identity("SystemAssigned", P_B)),
    ]


def _deployments() -> list[dict[str, Any]]:
    managed = example_body("OnlineDeployment/ManagedOnlineDeployment/get.json")
    kubernetes = example_body("OnlineDeployment/KubernetesOnlineDeployment/get.json")
    return [
        as_resource(managed, f"{EP_AAD}/deployments/blue", location="westeurope", properties={
            "egressPublicNetworkAccess": "Disabled",
            "dataCollector": {"collections": {"model_inputs": {"dataCollectionMode": "Enabled"}, "model_outputs": {}}},
            "environmentVariables": {"LOG_LEVEL": "info", "MODEL_NAME": "fraud-v3", "WORKERS": "4"}}),
        as_resource(managed, f"{EP_AAD}/deployments/green", location="westeurope", properties={
            "egressPublicNetworkAccess": "Enabled",
            "dataCollector": {"collections": {"model_inputs": {"dataCollectionMode": "Enabled"},
                                              "model_outputs": {"dataCollectionMode": "Disabled"}}},
            "environmentVariables": {"STORAGE": STORAGE_CONNECTION, "MODEL_URL": SAS_URL, "DB_PASSWORD": DB_PASSWORD,
                                     "LOG_LEVEL": "debug"}}),
        as_resource(kubernetes, f"{EP_AAD}/deployments/k8s", location="westeurope", properties={
            "environmentVariables": {"FEATURE_FLAG": "on", "API_TOKEN": ""}}),
        as_resource(managed, f"{EP_B}/deployments/main", location="eastus", properties={
            "egressPublicNetworkAccess": "Disabled", "environmentVariables": {}}),
    ]


def _serverless() -> list[dict[str, Any]]:
    get = example_body("Workspace/ServerlessEndpoint/get.json")
    listed = example_items("Workspace/ServerlessEndpoint/list.json")[0]
    return [
        as_resource(get, f"{WS_SECURE}/serverlessEndpoints/sl-aad", location="westeurope",
                    properties={"authMode": "AAD"}),
        as_resource(listed, f"{WS_SECURE}/serverlessEndpoints/sl-key", location="westeurope"),
        as_resource(get, f"{WS_SECURE}/serverlessEndpoints/sl-both", location="westeurope",
                    properties={"authMode": "KeyAndAAD", "contentSafety": None}),
        as_resource(listed, f"{WS_OPEN}/serverlessEndpoints/sl-open", location="westeurope"),
    ]


def _services() -> list[dict[str, Any]]:
    aks, aci = example_items("MachineLearningService/listByWorkspace.json")
    environment = aks["properties"]["environmentImageRequest"]
    secret_environment = {**environment, "environment": {**environment["environment"],
                                                         "environmentVariables": {"OPENAI_KEY": V1_TOKEN}}}
    return [
        as_resource(aks, f"{WS_SECURE}/services/svc-aks-token",
                    properties={"authEnabled": False, "aadAuthEnabled": True}),
        as_resource(aks, f"{WS_SECURE}/services/svc-aks-key",
                    properties={"environmentImageRequest": secret_environment}),
        as_resource(aci, f"{WS_SECURE}/services/svc-aci-open", properties={"authEnabled": False}),
    ]


def _role_assignments() -> list[dict[str, Any]]:
    return [
        role_assignment_document(STORAGE, P_AAD, "Storage Blob Data Reader"),
        role_assignment_document(f"/subscriptions/{SUB_B}", P_AAD, "Owner"),  # another scanned subscription: pooled
        role_assignment_document(f"/subscriptions/{SUB_A}", P_OWNER, "Owner"),
        role_assignment_document(WS_SECURE, P_UA, "Contributor"),
        role_assignment_document(RG_PROD, P_UA, "Reader"),
        role_assignment_document(WS_SECURE, P_UA, "AzureML Data Scientist"),  # P_UA: two pages of assignments
        role_assignment_document(f"/subscriptions/{SUB_A}", USER, "Owner", principal_type="User"),
        role_assignment_document(f"/subscriptions/{SUB_B}/resourceGroups/rg-b", P_B, "Contributor"),
    ]


def build_estate() -> list[dict[str, Any]]:
    return [*_workspaces(), *_computes(), *_endpoints(), *_deployments(), *_serverless(), *_services(),
            *_role_assignments()]


def build_subscriptions() -> list[dict[str, Any]]:
    return [subscription_document(SUB_A, "ml-prod"), subscription_document(SUB_B, "ml-dev"),
            subscription_document(SUB_C, "sandbox")]


SUB_X = "dddddddd-4444-4444-8444-444444444444"  # outside mg-org, for the management-group tests


def build_groups(groups: ManagementGroups) -> None:
    """The management-group tree of the group tests: mg-org (mg-prod: SUB_A; mg-dev: SUB_B, its child mg-sandbox:
    SUB_C) and mg-other (SUB_X), under tenant-root."""
    groups.add_group("tenant-root", None, "Tenant Root Group")
    groups.add_group("mg-org", "tenant-root", "Organisation")
    groups.add_group("mg-prod", "mg-org")
    groups.add_group("mg-dev", "mg-org")
    groups.add_group("mg-sandbox", "mg-dev")
    groups.add_group("mg-other", "tenant-root")
    for subscription, group in ((SUB_A, "mg-prod"), (SUB_B, "mg-dev"), (SUB_C, "mg-sandbox"), (SUB_X, "mg-other")):
        groups.place(subscription, group)


P, F, NA = "PASS", "FAIL", "NOT_APPLICABLE"
_WS_RULES = ("public_network_access_disabled", "cmk_encryption", "managed_network_isolation", "private_link")
_DEPLOYMENT_RULES = ("egress_public_network_disabled", "data_collection_enabled", "no_plaintext_secrets")
_SERVERLESS_RULES = ("auth_mode", "content_safety_enabled")
_V1_RULES = ("auth_enabled", "token_auth", "retired")
_ENDPOINT_RULES = ("auth_mode", "public_network_access_disabled", "identity_least_privilege")


def _table(resource_type: str, rules: tuple[str, ...], rows: dict[str, str]) -> dict[tuple[str, str], str]:
    words = {"P": P, "F": F, "N": NA}
    return {(f"azure.ml.{resource_type}.{rule}", name): words[code]
            for name, codes in rows.items() for rule, code in zip(rules, codes.split(), strict=True)}


# (rule id, resource name) -> status, for every azure.ml.* rule and every seeded resource of its type.
EXPECTED: dict[tuple[str, str], str] = {
    **_table("workspace", _WS_RULES, {"ws-secure": "P P P P", "ws-open": "F F F F", "ws-pending": "F F F F",
                                      "ws-b1": "F F F F", "ws-b2": "F F F F", "ws-b3": "P P P P"}),
    **_table("compute", ("local_auth_disabled",), {"ci-secure": "P", "ci-open": "F", "cluster": "F", "aks": "N",
                                                   "ci-dev": "P"}),
    **_table("online_endpoint", _ENDPOINT_RULES, {"ep-aad": "P P F", "ep-owner": "P F F", "ep-key": "F F P",
                                                  "ep-none": "F P N", "ep-b": "P P F"}),
    **_table("online_deployment", _DEPLOYMENT_RULES, {"blue": "P P P", "green": "F F F", "k8s": "N F P",
                                                      "main": "P F P"}),
    **_table("serverless_endpoint", _SERVERLESS_RULES, {"sl-aad": "P P", "sl-key": "F F", "sl-both": "F F",
                                                        "sl-open": "F F"}),
    **_table("legacy_service", _V1_RULES, {"svc-aks-token": "P P F", "svc-aks-key": "P F F",
                                           "svc-aci-open": "F F F"}),
}
