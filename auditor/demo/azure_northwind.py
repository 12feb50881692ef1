"""The Azure demo estate: Northwind Retail's Azure Machine Learning.

``seed_azure_demo(arm)`` builds the estate of ``northwind_spec()`` and adds it to a running
``ArmServer``: two subscriptions (ml-prod, ml-dev), four workspaces (one locked down), computes, 12
online endpoints (managed and Kubernetes; AADToken, AMLToken and Key; identities with role
assignments from Owner at the subscription down to AcrPull on one registry), 13 deployments (some
with plaintext secrets), serverless endpoints and v1 web services, in a mix where every azure.ml.*
rule has PASS, FAIL and (where the rule has an applicability condition) NOT_APPLICABLE findings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditor.demo.azure_estate import (
    BOTH,
    AzureDemoEstate,
    AzureSpec,
    Compute,
    Deployment,
    Endpoint,
    Grant,
    Serverless,
    Service,
    UserIdentity,
    Workspace,
    build_estate,
)

if TYPE_CHECKING:
    from auditor.demo.arm_server import ArmServer


def seed_azure_demo(arm: ArmServer | None = None) -> AzureDemoEstate:
    """Northwind Retail's estate (``northwind_spec()``), added to ``arm`` when one is given."""
    estate = build_estate(northwind_spec())
    if arm is not None:
        arm.add_resources([*estate.subscription_documents, *estate.documents])
    return estate


# Northwind Retail's Azure Machine Learning estate -------------------------------------------------
PROD, DEV = "5d0f3e1a-7c2b-4a9e-9f10-2b6c8d4e0a01", "5d0f3e1a-7c2b-4a9e-9f10-2b6c8d4e0a02"
WEU, EUS, SBX_WS, DEV_WS = "mlw-nw-prod-weu", "mlw-nw-prod-eus", "mlw-nw-sandbox", "mlw-nw-dev-weu"
_DATA = f"/subscriptions/{PROD}/resourceGroups/rg-nw-data-prod/providers"
ARTIFACTS, REGISTRY = f"{_DATA}/Microsoft.Storage/storageAccounts/nwmlartifactsprod", \
    f"{_DATA}/Microsoft.ContainerRegistry/registries/nwmlacrprod"
DEV_ARTIFACTS = f"/subscriptions/{DEV}/resourceGroups/rg-nw-ml-dev/providers/Microsoft.Storage/storageAccounts/" \
    "nwmlartifactsdev"
# Fake but correctly shaped secrets (AccountKey: 64 bytes of base64, like a real storage key).
ACCOUNT_KEY = "bm9ydGh3aW5kLWRlbW8tZmFrZS1zdG9yYWdlLWFjY291bnQta2V5LW5vdC1yZWFsMDAwMDAwMDAwMDAwMDAwMA=="
STORAGE_CONNECTION = (f"DefaultEndpointsProtocol=https;AccountName=nwmlartifactsprod;AccountKey={ACCOUNT_KEY};"
                      "EndpointSuffix=core.windows.net")
SAS_SIGNATURE = "bndEZW1vRmFrZVNhc1NpZ25hdHVyZU5vdFJlYWw%3D"
SAS_URL = ("https://nwmlartifactsprod.blob.core.windows.net/models/churn/model.pkl?sv=2022-11-02&ss=b&srt=o&sp=r"
           f"&se=2027-01-01T00:00:00Z&spr=https&sig={SAS_SIGNATURE}")
DB_PASSWORD = "nw-Demo-Fake-Passw0rd!2024"  # noqa: S105 - a fake, seeded to be found
OPENAI_KEY = "sk-" + "nwDemoFakeKeyNotReal0123456789abcdef"
HOSTILE_TAG = "<img src=x onerror=alert('azure')>"


def _harmless(model: str) -> dict[str, str]:
    return {"MODEL_NAME": model, "LOG_LEVEL": "info", "WORKER_COUNT": "4", "AZUREML_ENTRY_SCRIPT": "score.py"}


def northwind_spec() -> AzureSpec:
    """Two subscriptions, four workspaces, 12 online endpoints, 13 deployments, 4 serverless, 3 v1 services."""
    rg_weu = f"/subscriptions/{PROD}/resourceGroups/rg-nw-ml-prod"
    read, pull = Grant("Storage Blob Data Reader", ARTIFACTS), Grant("AcrPull", REGISTRY)
    scoring = UserIdentity(PROD, "rg-nw-ml-prod", "id-nw-ml-scoring", (read, pull))
    both, inputs_only = BOTH, {"model_inputs": "Enabled"}
    return AzureSpec(
        subscriptions={PROD: "ml-prod", DEV: "ml-dev"},
        workspaces=(
            Workspace(PROD, "rg-nw-ml-prod", WEU, "westeurope", "Disabled", True, "AllowOnlyApprovedOutbound",
                      "Approved"),
            Workspace(PROD, "rg-nw-ml-prod-us", EUS, "eastus", "Enabled", True, "AllowInternetOutbound", "Pending"),
            Workspace(DEV, "rg-nw-ml-dev", DEV_WS, "westeurope", None),
            Workspace(DEV, "rg-nw-ml-sandbox", SBX_WS, "northeurope", "Enabled", False, "Disabled", "Approved"),
        ),
        computes=(
            Compute(WEU, "ci-alice-berg", "ComputeInstance", True),
            Compute(WEU, "cpu-cluster-train", "AmlCompute", True),
            Compute(WEU, "aks-nw-scoring", "Kubernetes"), Compute(EUS, "gpu-cluster-us", "AmlCompute", False),
            Compute(DEV_WS, "ci-bob-okafor", "ComputeInstance"), Compute(DEV_WS, "aks-nw-dev", "Kubernetes"),
            Compute(SBX_WS, "ci-sandbox-shared", "ComputeInstance", False),
        ),
        identities=(scoring,),
        endpoints=(
            Endpoint(WEU, "churn-predictor", "AADToken", False, grants=(read, pull)),
            Endpoint(WEU, "fraud-scoring-v3", "AMLToken", False, user_identity=scoring.name, grants=(read,),
                     tags={"owner": "risk-ml"}),
            Endpoint(WEU, "recsys-ranker", "AMLToken", True, grants=(Grant("Contributor", rg_weu),)),
            Endpoint(WEU, "demand-forecast", "Key", False, system_identity=False, user_identity=scoring.name),
            Endpoint(WEU, "price-elasticity-api", "AADToken", False, system_identity=False,
                     kubernetes="aks-nw-scoring"),
            Endpoint(EUS, "churn-predictor-us", "AADToken", True, grants=(Grant("Owner", f"/subscriptions/{PROD}"),)),
            Endpoint(EUS, "basket-completion", "Key", True, grants=(pull,)),
            Endpoint(EUS, "delivery-eta", "AMLToken", False, grants=(read,)),
            Endpoint(DEV_WS, "llm-support-summarizer-dev", "Key", True, tags={"env": "dev", "notes": HOSTILE_TAG},
                     grants=(Grant("Storage Blob Data Reader", DEV_ARTIFACTS),
                             Grant("AzureML Data Scientist", Workspace(DEV, "rg-nw-ml-dev", DEV_WS, "").id))),
            Endpoint(DEV_WS, "sentiment-classifier-dev", "AMLToken", True, tags={"env": "dev"}),
            Endpoint(DEV_WS, "search-embedder-dev", "Key", False, system_identity=False, kubernetes="aks-nw-dev",
                     tags={"env": "dev"}),
            Endpoint(SBX_WS, "image-moderation-sbx", "AADToken", True, tags={"env": "sandbox"},
                     grants=(Grant("Reader", f"/subscriptions/{DEV}/resourceGroups/rg-nw-ml-sandbox"),)),
        ),
        deployments=(
            Deployment("churn-predictor", "blue", collector=both, env=_harmless("churn-xgb"),
                       tags={"owner": "churn-squad"}),
            Deployment("churn-predictor", "green", collector=inputs_only, env=_harmless("churn-xgb"),
                       tags={"owner": "churn-squad"}),
            Deployment("fraud-scoring-v3", "main", collector=both, env=_harmless("fraud-xgb"),
                       secret_env={"DB_PASSWORD": DB_PASSWORD}, tags={"owner": "risk-ml"}),
            Deployment("recsys-ranker", "blue", egress="Enabled", env=_harmless("recsys-torch"),
                       secret_env={"FEATURE_STORE_CONNECTION": STORAGE_CONNECTION}),
            Deployment("demand-forecast", "main", collector=both, env=_harmless("forecast-lgbm")),
            Deployment("price-elasticity-api", "main", kubernetes=True, collector=both, env=_harmless("elasticity")),
            Deployment("churn-predictor-us", "blue", egress="Enabled", collector=both, env=_harmless("churn-xgb"),
                       secret_env={"MODEL_SAS_URL": SAS_URL}),
            Deployment("basket-completion", "blue", egress=None, env=_harmless("basket-torch")),
            Deployment("delivery-eta", "main", collector=both, env=_harmless("eta-xgb")),
            Deployment("llm-support-summarizer-dev", "main", egress="Enabled",
                       collector={"model_inputs": "Enabled", "model_outputs": "Disabled"},
                       env=_harmless("support-llm"), secret_env={"OPENAI_API_KEY": OPENAI_KEY}),
            Deployment("sentiment-classifier-dev", "blue", egress="Enabled", env=_harmless("sentiment-bert")),
            Deployment("search-embedder-dev", "main", kubernetes=True, env=_harmless("search-e5")),
            Deployment("image-moderation-sbx", "main", collector=both, env=_harmless("moderation-vit")),
        ),
        serverless=(
            Serverless(WEU, "llama-support-chat", "AAD", "Enabled", tags={"Owner": "genai-team"}),  # any case
            Serverless(EUS, "phi3-summarize", "KeyAndAAD", "Enabled", tags={"owner": "genai-team"}),
            Serverless(DEV_WS, "mistral-playground-dev", "Key", "Disabled"),
            Serverless(SBX_WS, "llama-sbx", "AAD"),
        ),
        services=(
            Service(EUS, "churn-legacy-aks", "AKS", auth_enabled=False, token_auth=True),
            Service(DEV_WS, "fraud-legacy-aci", "ACI", auth_enabled=False),
            Service(DEV_WS, "recsys-legacy-aks", "AKS", auth_enabled=True),
        ),
        tags={"team": "data-science", "cost-center": "CC-4410", "managed-by": "terraform",
              "owner": "@ds-platform-oncall"})
