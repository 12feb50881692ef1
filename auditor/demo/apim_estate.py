"""Northwind's API Management gateway in front of its demo models (edited copies of the official examples).

The gateway ``apim-nw-prod`` fronts two Azure ML online endpoints of the Azure demo estate and one
SageMaker endpoint of the AWS demo estate, so the report shows models reachable through a gateway and
how each route is protected:

* ``fraud-scoring``: serviceUrl is fraud-scoring-v3's scoring URI; subscription key and validate-jwt.
* ``churn-partner``: routes with ``set-backend-service backend-id`` to churn-predictor; no subscription
  key and only a rate limit: the gateway exposes the model (it holds the endpoint's credentials).
* ``recsys-sagemaker``: serviceUrl is the SageMaker runtime URL of recsys-ranker-prod; subscription
  key, but plain http is accepted.
* ``status``: fronts no model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.demo.arm_examples import as_resource, example_body, example_items

Json = dict[str, Any]

_TENANT = "8a1f5c3e-0b7d-4e2a-9c6f-3d2e1b0a9f87"

_JWT = f"""<policies>
  <inbound>
    <base />
    <validate-jwt header-name="Authorization" failed-validation-httpcode="401">
      <openid-config url="https://login.microsoftonline.com/{_TENANT}/v2.0/.well-known/openid-configuration" />
      <audiences><audience>api://nw-fraud-scoring</audience></audiences>
    </validate-jwt>
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>"""

_RATE_LIMIT_TO_BACKEND = """<policies>
  <inbound>
    <base />
    <rate-limit calls="600" renewal-period="60" />
    <set-backend-service backend-id="ml-churn-predictor" />
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>"""

_SERVICE_POLICY = """<policies>
  <inbound><cors allow-credentials="false"><allowed-origins><origin>https://portal.northwind.example</origin>
    </allowed-origins></cors></inbound>
  <backend><forward-request /></backend>
  <outbound />
  <on-error />
</policies>"""


def _scoring_uri(documents: list[Json], endpoint_name: str) -> str:
    for doc in documents:
        if doc.get("type", "").lower().endswith("/onlineendpoints") and doc.get("name") == endpoint_name:
            return str(doc["properties"]["scoringUri"])
    raise KeyError(f"the Azure demo estate has no online endpoint {endpoint_name}")


def _policy(owner: str, xml: str) -> Json:
    return as_resource(example_body("ApiManagementGetApiPolicy.json"), f"{owner}/policies/policy",
                       properties={"format": "xml", "value": xml})


def build_gateway(subscription: str, azure_documents: list[Json], sagemaker_region: str,
                  tags: Mapping[str, str]) -> list[Json]:
    """The gateway's documents: service, APIs, policies, backends, products and product memberships."""
    gw = f"/subscriptions/{subscription}/resourceGroups/rg-nw-gateway-prod/providers/Microsoft.ApiManagement/" \
         "service/apim-nw-prod"
    service = as_resource(example_body("ApiManagementServiceGetService.json"), gw, location="West Europe",
                          tags=dict(tags))
    api_template = example_items("ApiManagementListApis.json")[2]

    def api(name: str, **properties: Any) -> Json:
        return as_resource(api_template, f"{gw}/apis/{name}", properties={
            "displayName": name.replace("-", " ").title(), "path": name, "apiVersionSetId": None, **properties})

    apis = [
        api("fraud-scoring", serviceUrl=_scoring_uri(azure_documents, "fraud-scoring-v3"),
            protocols=["https"], subscriptionRequired=True),
        api("churn-partner", serviceUrl=None, protocols=["https"], subscriptionRequired=False),
        api("recsys-sagemaker",
            serviceUrl=f"https://runtime.sagemaker.{sagemaker_region}.amazonaws.com/endpoints/recsys-ranker-prod/"
                       "invocations", protocols=["http", "https"], subscriptionRequired=True),
        api("status", serviceUrl="https://status.northwind.example/api", protocols=["https"],
            subscriptionRequired=False),
    ]
    proxy, _fabric = example_items("ApiManagementListBackends.json")
    backends = [
        as_resource(proxy, f"{gw}/backends/ml-churn-predictor", properties={
            "url": _scoring_uri(azure_documents, "churn-predictor"), "protocol": "http", "credentials": None,
            "proxy": None, "description": "churn predictor (Azure ML)",
            "tls": {"validateCertificateChain": False, "validateCertificateName": False}}),
        as_resource(proxy, f"{gw}/backends/legacy-pricing", properties={
            "url": "http://10.40.2.7:8080/score", "protocol": "http", "credentials": None, "proxy": None,
            "description": "pricing model on a VM", "tls": None}),
    ]
    developer, starter, _unlimited = example_items("ApiManagementListProducts.json")
    products = [
        as_resource(starter, f"{gw}/products/partners", properties={
            "displayName": "Partners", "subscriptionRequired": True, "approvalRequired": True, "state": "published"}),
        as_resource(developer, f"{gw}/products/public-preview", properties={
            "displayName": "Public preview", "subscriptionRequired": False, "state": "published"}),
    ]
    by_name = {a["name"]: a for a in apis}
    members = [as_resource(by_name[n], f"{gw}/products/partners/apis/{n}") for n in ("fraud-scoring", "churn-partner")]
    members.append(as_resource(by_name["status"], f"{gw}/products/public-preview/apis/status"))
    policies = [_policy(gw, _SERVICE_POLICY), _policy(f"{gw}/apis/fraud-scoring", _JWT),
                _policy(f"{gw}/apis/churn-partner", _RATE_LIMIT_TO_BACKEND)]
    return [service, *apis, *policies, *backends, *products, *members]
