"""The estate the API Management tests serve: edited copies of the official APIM and Machine Learning examples.

Subscription A: a workspace with two online endpoints (fraud-scorer, churn-scorer) and the gateway
``gw-prod`` (8 APIs, 5 backends, 3 products: every list pages at page size 2) whose service-level
policy validates Microsoft Entra tokens. Subscription B: the gateway ``gw-edge`` whose service-level
policy routes every API that keeps ``<base />`` in its backend section to fraud-scorer.
``EXPECTED`` is what the six azure.apim.* rules decide per resource.
"""

from __future__ import annotations

from typing import Any

from auditor.demo.arm_examples import as_resource, example_body, example_items

SUB_A = "aaaaaaaa-1111-4111-8111-111111111111"
SUB_B = "bbbbbbbb-2222-4222-8222-222222222222"
TENANT = "72f988bf-0000-4000-8000-00000000d3e0"

WS = f"/subscriptions/{SUB_A}/resourceGroups/rg-ml/providers/Microsoft.MachineLearningServices/workspaces/ws-ml"
EP_FRAUD = f"{WS}/onlineEndpoints/fraud-scorer"
EP_CHURN = f"{WS}/onlineEndpoints/churn-scorer"
FRAUD_HOST = "fraud-scorer.westeurope.inference.ml.azure.com"
CHURN_HOST = "churn-scorer.westeurope.inference.ml.azure.com"
SAGEMAKER_HOST = "runtime.sagemaker.eu-west-1.amazonaws.com"

GW_PROD = f"/subscriptions/{SUB_A}/resourceGroups/rg-gw/providers/Microsoft.ApiManagement/service/gw-prod"
GW_EDGE = f"/subscriptions/{SUB_B}/resourceGroups/rg-edge/providers/Microsoft.ApiManagement/service/gw-edge"

# Secret values seeded into backend credentials and policies: none may appear anywhere in the inventory.
HEADER_KEY = "x7Fq2mZp9LwR4tYv8NcB3hJk6DsA1eGu"
QUERY_CODE = "Qm9ndXNRdWVyeUNvZGVWYWx1ZTEyMzQ1Ng"
BASIC_PARAMETER = "ZnJhdWQtZ2F0ZXdheTpTM2NyZXQtUGFzcw"
PROXY_PASSWORD = "Pr0xy-P@ssw0rd-for-the-gateway"
ML_KEY = "mlEndpointPrimaryKey0123456789abcdefABCDEF"
BASE_URL_CODE = "c2VjcmV0LWJhc2UtdXJsLWNvZGU"
SECRETS = (HEADER_KEY, QUERY_CODE, BASIC_PARAMETER, PROXY_PASSWORD, ML_KEY, BASE_URL_CODE)

SERVICE_POLICY_PROD = f"""<policies>
  <inbound>
    <validate-azure-ad-token tenant-id="{TENANT}">
      <client-application-ids><application-id>c0c0c0c0-0000-4000-8000-000000000001</application-id>
      </client-application-ids>
    </validate-azure-ad-token>
  </inbound>
  <backend><forward-request /></backend>
  <outbound />
  <on-error />
</policies>"""

SERVICE_POLICY_EDGE = f"""<policies>
  <inbound />
  <backend>
    <set-backend-service base-url="https://{FRAUD_HOST}/score?code={BASE_URL_CODE}" />
    <forward-request />
  </backend>
  <outbound />
  <on-error />
</policies>"""

RATE_LIMIT_ONLY = """<policies>
  <inbound><rate-limit calls="100" renewal-period="60" /></inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>"""

JWT_TO_BACKEND = f"""<policies>
  <inbound>
    <validate-jwt header-name="Authorization" failed-validation-httpcode="401">
      <openid-config url="https://login.microsoftonline.com/{TENANT}/v2.0/.well-known/openid-configuration" />
      <audiences><audience>api://fraud-scoring</audience></audiences>
    </validate-jwt>
    <set-backend-service backend-id="ml-fraud" />
    <set-header name="Authorization" exists-action="override"><value>Bearer {ML_KEY}</value></set-header>
  </inbound>
  <backend><forward-request /></backend>
  <outbound />
  <on-error />
</policies>"""

QUOTA_ONLY = """<policies>
  <inbound>
    <rate-limit-by-key calls="10" renewal-period="60" counter-key="@(context.Request.IpAddress)" />
    <quota calls="1000" renewal-period="86400" />
  </inbound>
  <backend><forward-request /></backend>
  <outbound />
  <on-error />
</policies>"""

MALFORMED = """<policies>
  <inbound>
    <validate-jwt header-name="Authorization">
  </inbound>
</policies>"""

HOSTILE = """<?xml version="1.0"?>
<!DOCTYPE policies [
  <!ENTITY lol "lollollollollollollollollollol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY xxe SYSTEM "file:///etc/passwd">
]>
<policies><inbound><validate-jwt header-name="&xxe;&lol2;" /></inbound></policies>"""

EDGE_KEEPS_BASE = """<policies>
  <inbound><base /></inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>"""

EDGE_OWN_BACKEND = """<policies>
  <inbound><base /></inbound>
  <backend><forward-request /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>"""


def _policy(owner: str, xml: str) -> dict[str, Any]:
    body = example_body("ApiManagementGetApiPolicy.json")
    return as_resource(body, f"{owner}/policies/policy", properties={"format": "xml", "value": xml})


def _ml() -> list[dict[str, Any]]:
    workspace = as_resource(example_body("Workspace/get.json"), WS, location="westeurope")
    endpoint = example_body("Workspace/OnlineEndpoint/get.json")
    out = [workspace]
    for rid, host in ((EP_FRAUD, FRAUD_HOST), (EP_CHURN, CHURN_HOST)):
        out.append(as_resource(endpoint, rid, location="westeurope", kind="Managed", identity={"type": "None"},
                               properties={"authMode": "AADToken", "provisioningState": "Succeeded",
                                           "scoringUri": f"https://{host}/score", "traffic": {"blue": 100},
                                           "swaggerUri": f"https://{host}/swagger.json", "compute": None}))
    return out


def _api(service: str, name: str, *, base: dict[str, Any] | None = None, **properties: Any) -> dict[str, Any]:
    body = base if base is not None else example_items("ApiManagementListApis.json")[2]
    return as_resource(body, f"{service}/apis/{name}", properties={
        "displayName": name, "path": name, "protocols": ["https"], "apiVersionSetId": None, **properties})


def _apis() -> list[dict[str, Any]]:
    soap = example_body("ApiManagementGetApiContract.json")
    return [
        _api(GW_PROD, "fraud-sub", serviceUrl=f"https://{FRAUD_HOST}/score", subscriptionRequired=True),
        _api(GW_PROD, "fraud-jwt", serviceUrl=None, subscriptionRequired=False),
        _api(GW_PROD, "churn-inherit", serviceUrl="https://CHURN-Scorer.WestEurope.inference.ml.azure.com/score",
             subscriptionRequired=False),
        _api(GW_PROD, "sagemaker-open", serviceUrl=f"https://{SAGEMAKER_HOST}/endpoints/churn-xgb/invocations",
             subscriptionRequired=False),
        _api(GW_PROD, "echo", base=example_items("ApiManagementListApis.json")[2], protocols=["http", "https"]),
        _api(GW_PROD, "scorer-broken", serviceUrl=f"https://{FRAUD_HOST}/score", subscriptionRequired=False),
        _api(GW_PROD, "scorer-xxe", serviceUrl=f"https://{FRAUD_HOST}/score", subscriptionRequired=False),
        _api(GW_PROD, "legacy-soap", base=soap),
        _api(GW_EDGE, "edge-inherit", serviceUrl="https://api.contoso.com/v1", subscriptionRequired=True),
        _api(GW_EDGE, "edge-own", serviceUrl="https://api.contoso.com/v1", subscriptionRequired=False),
        _api(GW_EDGE, "edge-none", serviceUrl="https://api.contoso.com/v1", subscriptionRequired=True),
    ]


def _policies() -> list[dict[str, Any]]:
    return [
        _policy(GW_PROD, SERVICE_POLICY_PROD),
        _policy(GW_EDGE, SERVICE_POLICY_EDGE),
        _policy(f"{GW_PROD}/apis/fraud-sub", RATE_LIMIT_ONLY),
        _policy(f"{GW_PROD}/apis/fraud-jwt", JWT_TO_BACKEND),
        _policy(f"{GW_PROD}/apis/sagemaker-open", QUOTA_ONLY),
        _policy(f"{GW_PROD}/apis/echo", example_body("ApiManagementGetApiPolicy.json")["properties"]["value"]),
        _policy(f"{GW_PROD}/apis/scorer-broken", MALFORMED),
        _policy(f"{GW_PROD}/apis/scorer-xxe", HOSTILE),
        _policy(f"{GW_EDGE}/apis/edge-inherit", EDGE_KEEPS_BASE),
        _policy(f"{GW_EDGE}/apis/edge-own", EDGE_OWN_BACKEND),
    ]  # churn-inherit, legacy-soap and edge-none have no policy of their own


def _backends() -> list[dict[str, Any]]:
    proxy, fabric = example_items("ApiManagementListBackends.json")
    credentials = {"header": {"x-functions-key": [HEADER_KEY]}, "query": {"code": [QUERY_CODE, QUERY_CODE]},
                   "authorization": {"scheme": "Basic", "parameter": BASIC_PARAMETER}, "certificateIds": []}
    return [
        as_resource(proxy, f"{GW_PROD}/backends/ml-fraud", properties={
            "url": "https://FRAUD-SCORER.westeurope.inference.ml.azure.com/score", "credentials": None, "proxy": None,
            "tls": None, "description": "fraud scorer"}),
        as_resource(proxy, f"{GW_PROD}/backends/proxybackend", properties={
            "credentials": credentials, "proxy": {**proxy["properties"]["proxy"], "password": PROXY_PASSWORD}}),
        as_resource(fabric, f"{GW_PROD}/backends/sfbackend"),
        as_resource(proxy, f"{GW_PROD}/backends/plain", properties={
            "url": "http://10.0.0.4:5001/score", "credentials": None, "proxy": None,
            "tls": {"validateCertificateChain": True}}),
        as_resource(proxy, f"{GW_PROD}/backends/ml-pool", properties={
            "url": None, "credentials": None, "proxy": None, "tls": None, "type": "Pool",
            "pool": {"services": [{"id": f"{GW_PROD}/backends/ml-fraud"}]}}),
    ]


def _products() -> list[dict[str, Any]]:
    dev, starter, unlimited = example_items("ApiManagementListProducts.json")
    apis = {api["name"]: api for api in _apis()}
    members = {f"{GW_PROD}/products/kjoshiarmtemplateCert1": ["echo"],
               f"{GW_PROD}/products/starter": ["fraud-sub", "churn-inherit", "sagemaker-open"],
               f"{GW_PROD}/products/unlimited": ["fraud-sub"],
               f"{GW_EDGE}/products/edge-open": ["edge-inherit"]}
    out = [as_resource(dev, f"{GW_PROD}/products/kjoshiarmtemplateCert1"),
           as_resource(starter, f"{GW_PROD}/products/starter"),
           as_resource(unlimited, f"{GW_PROD}/products/unlimited"),
           as_resource(dev, f"{GW_EDGE}/products/edge-open", properties={"displayName": "Edge (open)"})]
    for product, names in members.items():
        out += [as_resource(apis[name], f"{product}/apis/{name}") for name in names]
    return out


def _services() -> list[dict[str, Any]]:
    service = example_body("ApiManagementServiceGetService.json")
    return [as_resource(service, GW_PROD, location="West Europe", tags={"env": "prod"}),
            as_resource(service, GW_EDGE, location="East US", tags={})]


def build_estate() -> list[dict[str, Any]]:
    return [*_ml(), *_services(), *_apis(), *_policies(), *_backends(), *_products()]


P, F, NA, E = "PASS", "FAIL", "NOT_APPLICABLE", "ERROR"
_API_RULES = ("https_only", "subscription_required", "model_endpoint_protected")
_API_ROWS = {
    "fraud-sub": (P, P, P), "fraud-jwt": (P, F, P), "churn-inherit": (P, F, P), "sagemaker-open": (P, F, F),
    "echo": (F, E, NA), "scorer-broken": (P, F, E), "scorer-xxe": (P, F, E), "legacy-soap": (P, E, NA),
    "edge-inherit": (P, P, P), "edge-own": (P, F, NA), "edge-none": (P, P, P),
}
_BACKEND_ROWS = {"ml-fraud": (P, P), "proxybackend": (P, F), "sfbackend": (NA, P), "plain": (F, P), "ml-pool": (NA, P)}
_PRODUCT_ROWS = {"kjoshiarmtemplateCert1": F, "starter": P, "unlimited": P, "edge-open": F}

# (rule id, resource name) -> status, for every azure.apim.* rule and every seeded resource of its type.
EXPECTED: dict[tuple[str, str], str] = {
    **{(f"azure.apim.api.{rule}", name): status
       for name, row in _API_ROWS.items() for rule, status in zip(_API_RULES, row, strict=True)},
    **{(f"azure.apim.backend.{rule}", name): status
       for name, row in _BACKEND_ROWS.items() for rule, status in zip(("https_url", "tls_validation"), row,
                                                                       strict=True)},
    **{("azure.apim.product.subscription_required", name): status for name, status in _PRODUCT_ROWS.items()},
}
