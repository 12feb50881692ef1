"""The AWS demo estate: Northwind Retail's data-science team.

``seed_demo_estate(url)`` seeds ``demo_spec()`` into the moto server at ``url``: two regions, 35
SageMaker endpoints with their configs and models, orphaned and serverless configs, shadow variants,
asynchronous inference, inference components, execution roles, KMS keys and data-capture and async
output buckets, and Bedrock's invocation logging, custom models and guardrails in both regions, in a mix
where every AWS rule has PASS, FAIL and (where the rule
has an applicability condition) NOT_APPLICABLE findings.
"""

from __future__ import annotations

from collections.abc import Mapping

from auditor.demo.aws_bedrock_estate import BedrockSpec, CustomModelSpec, GuardrailSpec, LoggingSpec
from auditor.demo.aws_estate import DemoEstate, seed_estate
from auditor.demo.aws_serving import AsyncOutput, ComponentSpec
from auditor.demo.aws_spec import (
    BucketSpec,
    Capture,
    ConfigSpec,
    EndpointSpec,
    EstateSpec,
    KeySpec,
    ModelSpec,
    RoleSpec,
    Statement,
    Variant,
)


def seed_demo_estate(endpoint_url: str) -> DemoEstate:
    """Seed Northwind Retail's estate (``demo_spec()``) into the moto server at ``endpoint_url``."""
    return seed_estate(endpoint_url, demo_spec())


# Northwind Retail's data-science estate ------------------------------------------------------------
EU, US = "eu-west-1", "us-east-1"
_ECR = "{account}.dkr.ecr.{region}.amazonaws.com/northwind/"
XGB, TORCH, TGI = f"{_ECR}xgb-serving:1.7-1-cpu", f"{_ECR}torch-serving:2.1.0-gpu", f"{_ECR}tgi:1.4.0"
HF, SKL = f"{_ECR}hf-inference:4.37-cpu", f"{_ECR}sklearn-serving:1.2-1-cpu"
CHURN, FRAUD, RECSYS = "nw-sm-exec-churn", "nw-sm-exec-fraud", "nw-sm-exec-recsys"
FCST, NOTEBOOK = "nw-sm-exec-forecast", "nw-ds-notebook-legacy"
_ARTIFACTS = "arn:aws:s3:::northwind-ds-model-artifacts-*"
_RUNTIME: tuple[Statement, ...] = (
    (("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"), "arn:aws:ecr:*:*:repository/northwind/*"),
    (("ecr:GetAuthorizationToken", "cloudwatch:PutMetricData"), "*"),
    (("logs:CreateLogStream", "logs:PutLogEvents"), "arn:aws:logs:*:*:log-group:/aws/sagemaker/Endpoints/*"),
)
_ROLES = (
    RoleSpec(CHURN, "SageMaker execution role: churn and LTV models",
             inline={"churn-runtime": (*_RUNTIME, (("s3:GetObject",), f"{_ARTIFACTS}/*churn*"))}),
    RoleSpec(FRAUD, "SageMaker execution role: fraud scoring (PCI scope)", customer={"nw-fraud-runtime": (
        *_RUNTIME, (("s3:GetObject",), f"{_ARTIFACTS}/fraud-*"), (("kms:Decrypt",), "arn:aws:kms:*:*:key/*"),
    )}),
    RoleSpec(RECSYS, "SageMaker execution role: recommendations", managed=("AmazonSageMakerFullAccess",),
             inline={"recsys-artifacts": ((("s3:GetObject", "s3:ListBucket"), _ARTIFACTS),)}),
    RoleSpec(FCST, "SageMaker execution role: forecasting and pricing",
             inline={"forecast-runtime": (*_RUNTIME, (("s3:GetObject",), f"{_ARTIFACTS}/*forecast*"))}),
    RoleSpec(NOTEBOOK, "Shared notebook role, see wiki <img src=x onerror=alert(1)>",
             inline={"notebook-everything": ((("sagemaker:*",), "*"), (("s3:*",), _ARTIFACTS))}),
    RoleSpec("nw-github-deploy", "CI deploys (no SageMaker model uses it)", managed=("AdministratorAccess",)),
)
_KEYS = (
    KeySpec("nw-ml-volumes", EU, description="SageMaker ML storage volumes"),
    KeySpec("nw-ml-capture", EU, description="SageMaker data capture"),
    KeySpec("nw-legacy-ml", EU, rotation=False, description="Legacy DS key <script>alert('kms')</script>",
            tags={"notes": "<img src=x onerror=alert(1)>"}),
    KeySpec("nw-risk-byok", EU, imported=True, description="Fraud team key, imported material (PCI)"),
    KeySpec("nw-feature-store", EU, rotation=False, description="Feature store tables (no SageMaker use)"),
    KeySpec("nw-ml-volumes", US, description="SageMaker ML storage volumes"),
    KeySpec("nw-ml-capture", US, description="SageMaker data capture"),
    KeySpec("nw-genai", EU, rotation=False, description="Bedrock invocation logs, custom models, guardrails"),
)
_ON = (True, True, True, True)
_BUCKETS = (
    BucketSpec("northwind-ds-capture-eu-west-1", EU, sse_kms_key="nw-ml-capture", block=_ON),
    BucketSpec("northwind-ds-capture-us-east-1", US, block=(True, True, True, False)),
    BucketSpec("northwind-llm-transcripts-eu", EU, sse_kms_key="nw-legacy-ml"),
    BucketSpec("northwind-ds-model-artifacts-eu-west-1", EU, block=_ON),
    BucketSpec("northwind-ds-model-artifacts-us-east-1", US, block=_ON),
    BucketSpec("northwind-ds-async-eu-west-1", EU, sse_kms_key="nw-ml-capture", block=_ON),
    BucketSpec("northwind-ds-async-us-east-1", US),
    BucketSpec("northwind-genai-invocation-logs-eu-west-1", EU, sse_kms_key="nw-genai", block=_ON),
    BucketSpec("northwind-genai-invocation-logs-us-east-1", US, block=(True, True, False, False)),
)
# Bedrock: Europe logs text to an SSE-KMS bucket and a log group with a key (both rules PASS); the US logs to
# an SSE-S3 bucket with text delivery off (both FAIL). One custom model and one guardrail each way.
_BEDROCK = BedrockSpec(
    logging=(LoggingSpec(EU, "northwind-genai-invocation-logs-eu-west-1", "/northwind/bedrock/invocations", "nw-genai"),
             LoggingSpec(US, "northwind-genai-invocation-logs-us-east-1", text=False)),
    models=(CustomModelSpec("nw-support-tone-titan", EU, "nw-genai"), CustomModelSpec("nw-catalog-titan-us", US)),
    guardrails=(GuardrailSpec("nw-support-assistant", EU, "nw-genai"), GuardrailSpec("nw-shopping-assistant-us", US)),
)
_SUMMARIZER_ENV = {"HF_MODEL_ID": "/opt/ml/model", "SM_NUM_GPUS": "4", "MAX_INPUT_LENGTH": "3072",
                   "PROMPT_SUFFIX": "</textarea><img src=x onerror=alert(document.domain)>"}


def _serve(region: str, name: str, release: str, image: str, role: str, count: int = 2,
           instance: str = "ml.m5.xlarge", *, mb: int = 0, key: str | None = None,
           capture: Capture | None = None, vpc: bool = False, iso: bool = False,
           env: Mapping[str, str] | None = None, extra: tuple[Variant, ...] = (),
           endpoint: bool = True, shadow: tuple[Variant, ...] = (),
           async_output: AsyncOutput | None = None) -> list[ModelSpec | ConfigSpec | EndpointSpec]:
    """A model, the config that serves it and (unless ``endpoint`` is False) the endpoint using it."""
    model = ModelSpec(f"{name}-{release}", region, role, image, iso, vpc, env or {})
    first = Variant(model.name, count, instance, mb, *(("primary", 0.9) if extra else ()))
    config = ConfigSpec(f"{name}-cfg-{release}", region, (first, *extra), volume_key=key, capture=capture,
                        shadow=shadow, async_output=async_output)
    stage = next((t for t in ("staging", "canary", "shadow", "dev") if t in name), "prod")
    tags = {"env": stage, **({} if stage == "prod" else {"owner": "ds-team"})}
    return [model, config, *([EndpointSpec(name, region, config.name, tags)] if endpoint else [])]


_CHAT_ENV = {"HF_MODEL_ID": "/opt/ml/model", "MAX_TOTAL_TOKENS": "4096",
             "HF_TOKEN": "hf_NorthwindDemoFakeTokenNotReal000000"}  # a fake, shaped like a Hugging Face token
_COMPONENTS = (
    ComponentSpec("llm-assistant-chat", US, "llm-assistant-platform", model="llm-assistant-chat-20240801"),
    ComponentSpec("llm-assistant-summarize", US, "llm-assistant-platform", image=TGI,
                  environment={"HF_MODEL_ID": "/opt/ml/model", "MAX_TOTAL_TOKENS": "8192"}),
    ComponentSpec("llm-assistant-moderation", US, "llm-assistant-platform", image=TGI,
                  environment={"MODERATION_API_KEY": "sk-northwind-demo-not-a-real-key-0000000000"}),  # a fake
)


def demo_spec() -> EstateSpec:
    """Northwind Retail's data-science estate: 35 endpoints in two regions, 3 orphaned configs."""
    ce, cu = Capture(_BUCKETS[0].name), Capture(_BUCKETS[1].name)
    llm = Capture(_BUCKETS[2].name, sampling=100)
    ce_kms, cu_kms = Capture(ce.bucket, "alias/nw-ml-capture"), Capture(cu.bucket, "nw-ml-capture")
    g4, g12, m5l, m52 = "ml.g4dn.2xlarge", "ml.g4dn.12xlarge", "ml.m5.large", "ml.m5.2xlarge"
    vol, legacy = "nw-ml-volumes", "nw-legacy-ml"
    items = [
        *_serve(EU, "churn-predictor-prod", "20240514", XGB, CHURN, key=vol, capture=ce_kms, vpc=True,
                iso=True, shadow=(Variant("churn-predictor-prod-20240201", 1, name="shadow-20240201"),)),
        *_serve(EU, "churn-predictor-prod", "20240201", XGB, CHURN, key=vol, endpoint=False),
        *_serve(EU, "churn-predictor-staging", "20240514", XGB, CHURN, 1, m5l, vpc=True),
        *_serve(EU, "fraud-scoring-v3", "20240602", XGB, FRAUD, 3, "ml.c5.2xlarge", key="nw-risk-byok",
                capture=Capture(ce.bucket, "nw-risk-byok"), vpc=True, iso=True),
        *_serve(EU, "fraud-scoring-v3-shadow", "20240602", XGB, FRAUD, 1, "ml.c5.xlarge", key="nw-risk-byok",
                capture=ce, vpc=True, iso=True),
        *_serve(EU, "fraud-scoring-v2", "20231117", XGB, FRAUD, 2, "ml.c5.xlarge", vpc=True),
        *_serve(EU, "fraud-scoring-v2", "20230905", XGB, FRAUD, 1, "ml.c5.xlarge", endpoint=False),
        *_serve(EU, "recsys-ranker-canary", "20240612", TORCH, RECSYS, 1, g4, key=vol),
        *_serve(EU, "recsys-ranker-prod", "20240610", TORCH, RECSYS, 4, g4, key=vol, capture=ce_kms,
                extra=(Variant("recsys-ranker-canary-20240612", 1, g4, name="canary", weight=0.1),)),
        *_serve(EU, "recsys-candidate-gen", "20240415", TORCH, RECSYS, 2, m52, key=legacy),
        *_serve(EU, "demand-forecast-prod", "20240501", XGB, FCST, key="alias/nw-ml-volumes", capture=ce_kms,
                vpc=True, iso=True),
        *_serve(EU, "demand-forecast-staging", "20240501", XGB, FCST, mb=3072),
        *_serve(EU, "llm-support-summarizer", "20240620", TGI, NOTEBOOK, 2, g12, key=legacy, capture=llm,
                env=_SUMMARIZER_ENV),
        *_serve(EU, "llm-support-summarizer-canary", "20240701", TGI, NOTEBOOK, 1, g12, key=legacy,
                capture=Capture(llm.bucket, legacy, 100)),
        *_serve(EU, "search-query-embedder", "20240522", HF, NOTEBOOK, mb=6144),
        *_serve(EU, "price-elasticity-api", "20240318", SKL, FCST, 1, "ml.c5.large", capture=ce_kms),
        *_serve(EU, "image-moderation-prod", "20240405", TORCH, NOTEBOOK, 2, "ml.g4dn.xlarge", key=vol,
                capture=ce),
        *_serve(EU, "customer-ltv-scorer", "20240228", XGB, CHURN, 2, m5l, vpc=True),
        *_serve(EU, "sentiment-classifier-dev", "20240611", HF, NOTEBOOK, mb=2048),
        *_serve(EU, "returns-propensity-prod", "20240509", XGB, CHURN, key=vol, capture=ce_kms, vpc=True,
                iso=True),
        *_serve(EU, "address-normaliser", "20240130", SKL, FCST, mb=1024),
        *_serve(US, "churn-predictor-prod-us", "20240514", XGB, CHURN, key=vol, capture=cu_kms, vpc=True,
                iso=True),
        *_serve(US, "fraud-scoring-v3-us", "20240602", XGB, FRAUD, 3, "ml.c5.2xlarge", key=vol,
                capture=cu_kms, vpc=True, iso=True),
        *_serve(US, "recsys-ranker-canary-us", "20240612", TORCH, RECSYS, 1, g4),
        *_serve(US, "recsys-ranker-prod-us", "20240610", TORCH, RECSYS, 2, g4, capture=cu),
        *_serve(US, "recsys-ranker-ab-test", "20240320", TORCH, RECSYS, 2, g4, key=vol, endpoint=False,
                extra=(Variant("recsys-ranker-canary-us-20240612", 1, g4, name="challenger", weight=0.2),)),
        *_serve(US, "demand-forecast-prod-us", "20240501", XGB, FCST, key=vol, vpc=True,
                shadow=(Variant("demand-forecast-staging-us-20240501", 2, name="shadow"),)),
        *_serve(US, "demand-forecast-staging-us", "20240501", XGB, FCST, mb=3072),
        *_serve(US, "llm-support-summarizer-us", "20240620", TGI, NOTEBOOK, 1, g12, capture=cu),
        *_serve(US, "search-query-embedder-us", "20240522", HF, NOTEBOOK, mb=6144,
                shadow=(Variant("search-query-embedder-us-20240522", 2, m5l, name="shadow-instances"),)),
        *_serve(US, "store-traffic-forecast", "20240212", XGB, FCST, 2, m5l),
        *_serve(US, "basket-completion-prod", "20240520", TORCH, RECSYS, 2, m52, key=vol, vpc=True,
                capture=Capture(cu.bucket, "alias/nw-ml-capture")),
        *_serve(US, "basket-completion-staging", "20240520", TORCH, RECSYS, 1, m5l),
        *_serve(US, "delivery-eta-predictor", "20240425", XGB, FCST, 2, "ml.c5.xlarge", key=vol,
                capture=cu_kms, vpc=True, iso=True),
        *_serve(US, "price-elasticity-api-us", "20240318", SKL, FCST, 1, "ml.c5.large"),
        # Asynchronous inference: results and failures in S3, with and without a KMS key.
        *_serve(EU, "contract-summarizer-async", "20240805", HF, FCST, 2, m52, key=vol, vpc=True,
                async_output=AsyncOutput(_BUCKETS[5].name, _BUCKETS[5].name, "alias/nw-ml-capture")),
        *_serve(US, "invoice-extractor-async", "20240812", HF, FCST, 2, m52, key=vol,
                async_output=AsyncOutput(_BUCKETS[6].name, _BUCKETS[6].name)),
        # An endpoint serving models through inference components; one model keeps a token in its environment.
        *_serve(US, "llm-assistant-platform", "20240801", TGI, FCST, 2, "ml.m5.4xlarge", key=vol),
        ModelSpec("llm-assistant-chat-20240801", US, FCST, TGI, environment=_CHAT_ENV),
    ]
    return EstateSpec(
        regions=(EU, US), roles=_ROLES, keys=_KEYS, buckets=_BUCKETS,
        models=tuple(i for i in items if isinstance(i, ModelSpec)),
        configs=tuple(i for i in items if isinstance(i, ConfigSpec)),
        endpoints=tuple(i for i in items if isinstance(i, EndpointSpec)), components=_COMPONENTS,
        bedrock=_BEDROCK,
        tags={"team": "data-science", "cost-center": "CC-4410", "managed-by": "terraform",
              "owner": "@ds-platform-oncall"})  # "@..." is valid in AWS tags, and a CSV formula trigger
