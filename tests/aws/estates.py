"""Reusable seeded estates (each built with the Seeder factories through real boto3 calls)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .seeding import ACCOUNT, Seeder, policy


@dataclass
class TwoRegions:
    """us-east-1 and eu-west-1, exercising every relation the collector joins."""

    shared_policy: str = ""
    role_a: str = ""
    role_b: str = ""
    volume_key: str = ""  # us-east-1, rotation on; referenced as alias and (from eu-west-1) as ARN
    capture_key: str = ""  # us-east-1, rotation off; referenced by key ARN
    west_key: str = ""  # eu-west-1; referenced by bare key id
    west_key_id: str = ""
    models: dict[str, str] = field(default_factory=dict)
    configs: dict[str, str] = field(default_factory=dict)
    endpoints: dict[str, str] = field(default_factory=dict)


def two_regions(seed: Seeder) -> TwoRegions:
    east, west = seed, seed.in_region("eu-west-1")
    e = TwoRegions()
    e.shared_policy = seed.managed_policy("SharedModelRead")
    e.role_a = seed.role("RoleA", managed=[e.shared_policy],
                         inline={"inline-a": policy(["sagemaker:InvokeEndpoint"], "*")})
    e.role_b = seed.role("RoleB", managed=[e.shared_policy], path="/service-role/")
    seed.account_public_access_block()

    volume = east.key(alias="alias/sm-volume", rotation=True, tags={"notes": "<img src=x onerror=alert(1)>"})
    capture = east.key()
    e.volume_key, e.capture_key = volume["Arn"], capture["Arn"]
    encrypted = east.bucket("capture-encrypted", kms_key_arn=capture["Arn"], block_public=True,
                            tags={"data": "pii"})
    e.models["m-east-1"] = east.model("m-east-1", e.role_a, tags={"owner": "<script>x</script>"})
    e.models["m-east-2"] = east.model("m-east-2", e.role_b)
    e.configs["cfg-east"] = east.config("cfg-east", ["m-east-1"], kms_key="alias/sm-volume",
                                        capture_uri=encrypted, capture_kms=capture["Arn"],
                                        tags={"team": "ml", "cost-center": "42"})
    e.configs["cfg-unused"] = east.config("cfg-unused", ["m-east-2"], serverless=True)
    e.endpoints["ep-east"] = east.endpoint("ep-east", "cfg-east", tags={"team": "ml"})

    west_key = west.key(alias="alias/west")
    e.west_key, e.west_key_id = west_key["Arn"], west_key["KeyId"]
    plain = west.bucket("capture-plain")
    e.models["m-west"] = west.model("m-west", e.role_a)
    e.configs["cfg-west"] = west.config("cfg-west", ["m-west"], kms_key=west_key["KeyId"], capture_uri=plain)
    e.configs["cfg-west-xregion"] = west.config("cfg-west-xregion", ["m-west"], kms_key=volume["Arn"],
                                                capture_uri=encrypted)
    e.endpoints["ep-west"] = west.endpoint("ep-west", "cfg-west")
    e.endpoints["ep-west-2"] = west.endpoint("ep-west-2", "cfg-west")
    return e


GONE_KEY = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000"


@dataclass
class Dangling:
    """References to things deleted since: a model, an endpoint config, a role, a key, a bucket."""

    configs: dict[str, str] = field(default_factory=dict)
    endpoints: dict[str, str] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    gone_role: str = ""


def dangling(seed: Seeder) -> Dangling:
    d = Dangling()
    sm, s3 = seed.client("sagemaker"), seed.client("s3")
    role = seed.role("Live")
    d.gone_role = seed.role("Gone")
    seed.client("iam").delete_role(RoleName="Gone")
    d.models["m-live"] = seed.model("m-live", role)
    d.models["m-orphan"] = seed.model("m-orphan", d.gone_role)
    seed.model("m-deleted", role)
    uri = seed.bucket("deleted-bucket")
    d.configs["cfg-dangling"] = seed.config("cfg-dangling", ["m-live", "m-deleted"], kms_key=GONE_KEY,
                                            capture_uri=uri)
    sm.delete_model(ModelName="m-deleted")
    s3.delete_bucket(Bucket="deleted-bucket")
    d.configs["cfg-temp"] = seed.config("cfg-temp", ["m-live"])
    d.endpoints["ep-orphan"] = seed.endpoint("ep-orphan", "cfg-temp")
    sm.delete_endpoint_config(EndpointConfigName="cfg-temp")
    return d


SECRET_VALUE = "sk-live-4f9c2a7e1b8d3f6a0c5e9b2d7f1a4c8e"  # an OpenAI-style key: must never be written anywhere
PASSWORD_VALUE = "Tr0ub4dor&3-not-for-logs"  # a value that looks like nothing: only its name gives it away


@dataclass
class Serving:
    """us-west-2: async inference, a shadow variant, inference components and container secrets."""

    region: str = "us-west-2"
    role: str = ""
    async_key: str = ""
    models: dict[str, str] = field(default_factory=dict)
    configs: dict[str, str] = field(default_factory=dict)
    endpoints: dict[str, str] = field(default_factory=dict)
    components: dict[str, str] = field(default_factory=dict)


def serving(seed: Seeder) -> Serving:
    west = seed.in_region("us-west-2")
    s = Serving()
    s.role = seed.role("ServingRole")
    key = west.key(alias="alias/async-results", rotation=True)
    s.async_key = key["Arn"]
    west.bucket("async-results", kms_key_arn=key["Arn"], block_public=True)
    west.bucket("async-failures")
    s.models["m-clean"] = west.model("m-clean", s.role, environment={"MAX_TOTAL_TOKENS": "4096"})
    s.models["m-leaky"] = west.model("m-leaky", s.role, environment={"MODEL_ID": "llm"},
                                     containers=[{"OPENAI_KEY": SECRET_VALUE, "DB_PASSWORD": PASSWORD_VALUE}])
    s.models["m-doomed"] = west.model("m-doomed", s.role)
    s.configs["cfg-async"] = west.config(
        "cfg-async", ["m-clean"], shadow={"ModelName": "m-leaky", "InstanceType": "ml.m5.large",
                                          "InitialInstanceCount": 1},
        async_output={"KmsKeyId": "alias/async-results", "S3OutputPath": "s3://async-results/out",
                      "S3FailurePath": "s3://async-failures/failed"})
    s.configs["cfg-async-plain"] = west.config("cfg-async-plain", ["m-clean"],
                                               async_output={"S3OutputPath": "s3://async-results/plain"})
    s.endpoints["ep-async"] = west.endpoint("ep-async", "cfg-async")
    s.configs["cfg-ic"] = west.config("cfg-ic", ["m-clean"])
    s.endpoints["ep-ic"] = west.endpoint("ep-ic", "cfg-ic")
    s.components["ic-model"] = west.component("ic-model", "ep-ic", model="m-leaky", tags={"team": "llm"})
    s.components["ic-own"] = west.component("ic-own", "ep-ic", environment={"HF_TOKEN": SECRET_VALUE})
    s.components["ic-orphan"] = west.component("ic-orphan", "ep-ic", model="m-doomed")
    west.client("sagemaker").delete_model(ModelName="m-doomed")
    del s.models["m-doomed"]
    return s


@dataclass
class Bedrock:
    """Bedrock in us-east-1 (logging to an SSE-KMS bucket and a log group with a key, a custom model and a
    guardrail with that key) and in eu-west-1 (logging off, a custom model without a key)."""

    key: str = ""  # us-east-1, rotation on: the log group's, the model's and the guardrail's
    bucket_key: str = ""
    logging: dict[str, str] = field(default_factory=dict)  # region -> settings ARN
    models: dict[str, str] = field(default_factory=dict)
    guardrails: dict[str, str] = field(default_factory=dict)


LOG_GROUP = "/bedrock/invocations"


def custom_model(seed: Seeder, name: str, key: str | None = None) -> str:
    bedrock = seed.client("bedrock")
    request = {"jobName": f"{name}-job", "customModelName": name, "roleArn": f"arn:aws:iam::{ACCOUNT}:role/br",
               "baseModelIdentifier": "amazon.titan-text-express-v1", "hyperParameters": {},
               "trainingDataConfig": {"s3Uri": "s3://data/train"}, "outputDataConfig": {"s3Uri": "s3://data/out"},
               "customModelTags": [{"key": "team", "value": "genai"}]}
    bedrock.create_model_customization_job(**request, **({"customModelKmsKeyId": key} if key else {}))
    return str(bedrock.get_custom_model(modelIdentifier=name)["modelArn"])


def bedrock(seed: Seeder) -> Bedrock:
    east, west = seed, seed.in_region("eu-west-1")
    b = Bedrock()
    b.key = east.key(alias="alias/genai", rotation=True)["Arn"]
    b.bucket_key = east.key()["Arn"]
    east.bucket("bedrock-logs", kms_key_arn=b.bucket_key, block_public=True)
    east.client("logs").create_log_group(logGroupName=LOG_GROUP, kmsKeyId=b.key)
    east.client("bedrock").put_model_invocation_logging_configuration(loggingConfig={
        "s3Config": {"bucketName": "bedrock-logs", "keyPrefix": "inv/"}, "textDataDeliveryEnabled": True,
        "cloudWatchConfig": {"logGroupName": LOG_GROUP, "roleArn": f"arn:aws:iam::{ACCOUNT}:role/br"}})
    for region in ("us-east-1", "eu-west-1"):
        b.logging[region] = f"arn:aws:bedrock:{region}:{ACCOUNT}:model-invocation-logging"
    b.models["tuned"] = custom_model(east, "tuned", b.key)
    b.models["plain"] = custom_model(west, "plain")
    b.guardrails["guard"] = str(east.client("bedrock").create_guardrail(
        name="guard", blockedInputMessaging="no", blockedOutputsMessaging="no", kmsKeyId=b.key,
        tags=[{"key": "team", "value": "genai"}])["guardrailArn"])
    return b
