"""Amazon Bedrock in an AWS demo estate: invocation logging per region, custom models and guardrails.

A :class:`BedrockSpec` is part of an :class:`~auditor.demo.aws_spec.EstateSpec`; :func:`seed_bedrock`
creates it through boto3 (the estate's keys and buckets exist by then) and :func:`expected` gives the
verdict each Bedrock rule, and each KMS and S3 rule on what Bedrock reaches, should come to. moto lacks
guardrails and misreports custom models' keys: :mod:`auditor.demo.moto_bedrock` makes it answer as Bedrock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

LOGGING_RESOURCE = "model-invocation-logging"
BASE_MODEL = "amazon.titan-text-express-v1"


@dataclass(frozen=True)
class LoggingSpec:
    """A region's model invocation logging: S3 bucket and/or log group (with a key alias), text on or off."""

    region: str
    bucket: str | None = None
    log_group: str | None = None
    log_group_key: str | None = None  # alias of an estate key in the region
    text: bool = True


@dataclass(frozen=True)
class CustomModelSpec:
    name: str
    region: str
    key: str | None = None  # alias of an estate key in the region: a customer-managed key


@dataclass(frozen=True)
class GuardrailSpec:
    name: str
    region: str
    key: str | None = None


@dataclass(frozen=True)
class BedrockSpec:
    logging: tuple[LoggingSpec, ...] = ()
    models: tuple[CustomModelSpec, ...] = ()
    guardrails: tuple[GuardrailSpec, ...] = ()
    role: str = "nw-bedrock-logging"  # the role Bedrock writes to CloudWatch Logs and runs customization as


@dataclass(frozen=True)
class BedrockSeeded:
    logging: Mapping[str, str]  # region -> settings ARN
    models: Mapping[str, str]  # name -> ARN
    guardrails: Mapping[str, str]  # name -> ARN


Client = Callable[[str, str], Any]  # (service, region) -> boto3 client


def seed_bedrock(client: Client, spec: BedrockSpec, account: str, keys: Mapping[tuple[str, str], str],
                 tags: Mapping[str, str]) -> BedrockSeeded:
    """Create ``spec``: log groups, logging settings, custom models and guardrails (``keys``: (region, alias)
    -> key ARN of the estate; ``tags``: on every custom model and guardrail)."""
    role = f"arn:aws:iam::{account}:role/{spec.role}"
    pairs = [{"key": k, "value": v} for k, v in tags.items()]
    logging: dict[str, str] = {}
    for settings in spec.logging:
        config: dict[str, Any] = {"textDataDeliveryEnabled": settings.text, "imageDataDeliveryEnabled": False,
                                  "embeddingDataDeliveryEnabled": False}
        if settings.bucket:
            config["s3Config"] = {"bucketName": settings.bucket, "keyPrefix": "bedrock/"}
        if settings.log_group:
            group: dict[str, Any] = {"logGroupName": settings.log_group}
            if settings.log_group_key:
                group["kmsKeyId"] = keys[settings.region, settings.log_group_key]
            client("logs", settings.region).create_log_group(**group)
            config["cloudWatchConfig"] = {"logGroupName": settings.log_group, "roleArn": role}
        client("bedrock", settings.region).put_model_invocation_logging_configuration(loggingConfig=config)
        logging[settings.region] = f"arn:aws:bedrock:{settings.region}:{account}:{LOGGING_RESOURCE}"
    models: dict[str, str] = {}
    for model in spec.models:
        bedrock = client("bedrock", model.region)
        request: dict[str, Any] = {
            "jobName": f"{model.name}-job", "customModelName": model.name, "roleArn": role,
            "baseModelIdentifier": BASE_MODEL, "customModelTags": pairs, "hyperParameters": {"epochCount": "2"},
            "trainingDataConfig": {"s3Uri": f"s3://northwind-ds-model-artifacts-{model.region}/{model.name}/train/"},
            "outputDataConfig": {"s3Uri": f"s3://northwind-ds-model-artifacts-{model.region}/{model.name}/out/"}}
        if model.key:
            request["customModelKmsKeyId"] = keys[model.region, model.key]
        bedrock.create_model_customization_job(**request)
        models[model.name] = str(bedrock.get_custom_model(modelIdentifier=model.name)["modelArn"])
    guardrails: dict[str, str] = {}
    for guardrail in spec.guardrails:
        request = {"name": guardrail.name, "blockedInputMessaging": "Sorry, I can't help with that.",
                   "blockedOutputsMessaging": "Sorry, I can't answer that.", "tags": pairs,
                   "contentPolicyConfig": {"filtersConfig": [
                       {"type": "PROMPT_ATTACK", "inputStrength": "HIGH", "outputStrength": "NONE"}]}}
        if guardrail.key:
            request["kmsKeyId"] = keys[guardrail.region, guardrail.key]
        guardrails[guardrail.name] = str(client("bedrock", guardrail.region).create_guardrail(**request)
                                         ["guardrailArn"])
    return BedrockSeeded(logging, models, guardrails)


def unset_logging(account: str, regions: Iterable[str]) -> dict[tuple[str, str], str]:
    """(rule id, resource ARN) -> verdict of the logging rules in ``regions`` of ``account`` that have no invocation
    logging settings: the scan still reads each region's settings, finds logging off (FAIL) and nothing to
    encrypt (NOT_APPLICABLE)."""
    out: dict[tuple[str, str], str] = {}
    for region in regions:
        arn = f"arn:aws:bedrock:{region}:{account}:{LOGGING_RESOURCE}"
        out["aws.bedrock.invocation_logging_enabled", arn] = "FAIL"
        out["aws.bedrock.invocation_logs_encrypted", arn] = "NOT_APPLICABLE"
    return out


def expected(spec: BedrockSpec, seeded: BedrockSeeded, keys: Mapping[tuple[str, str], str],
             key_rotation: Callable[[str, str], str], bucket_verdicts: Callable[[str], Mapping[str, str]]
             ) -> dict[tuple[str, str], str]:
    """(rule id, resource ARN) -> verdict of every Bedrock rule, and of the KMS rotation and S3 rules on the keys
    and buckets Bedrock reaches (``key_rotation(region, alias)``, ``bucket_verdicts(name)``: rule -> verdict)."""
    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    out: dict[tuple[str, str], str] = {}
    for settings in spec.logging:
        arn = seeded.logging[settings.region]
        destination = bool(settings.bucket or settings.log_group)
        out["aws.bedrock.invocation_logging_enabled", arn] = verdict(settings.text and destination)
        encrypted = [bucket_verdicts(settings.bucket)["aws.s3.bucket.kms_default_encryption"] == "PASS"
                     ] if settings.bucket else []
        encrypted += [bool(settings.log_group_key)] if settings.log_group else []
        out["aws.bedrock.invocation_logs_encrypted", arn] = (
            verdict(all(encrypted)) if destination else "NOT_APPLICABLE")
        if settings.bucket:
            for rule, status in bucket_verdicts(settings.bucket).items():
                out[rule, f"arn:aws:s3:::{settings.bucket}"] = status
        if settings.log_group and settings.log_group_key:
            out["aws.kms.key.rotation_enabled", keys[settings.region, settings.log_group_key]] = key_rotation(
                settings.region, settings.log_group_key)
    for rule, items in (("aws.bedrock.custom_model.cmk_encryption", spec.models),
                        ("aws.bedrock.guardrail.cmk_encryption", spec.guardrails)):
        arns = seeded.models if rule.endswith("custom_model.cmk_encryption") else seeded.guardrails
        for item in items:
            out[rule, arns[item.name]] = verdict(bool(item.key))
            if item.key:
                out["aws.kms.key.rotation_enabled", keys[item.region, item.key]] = key_rotation(item.region, item.key)
    return out
