"""The serving features of the AWS demo estates: asynchronous inference output, shadow variants and inference
components, with the verdicts the rules that judge them should reach.

:mod:`auditor.demo.aws_estate` seeds them: a config's ``AsyncInferenceConfig`` and ``ShadowProductionVariants``
go into its CreateEndpointConfig request (:func:`config_request`), components are created once their endpoints
exist (:func:`component_request`). moto keeps async inference configs; shadow variants and inference components
come from the demo's moto extension (:mod:`auditor.demo.moto_sagemaker`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

ASYNC_RULE = "aws.sagemaker.endpoint_config.async_output_encrypted"
MODEL_SECRETS_RULE = "aws.sagemaker.model.no_plaintext_secrets"
COMPONENT_SECRETS_RULE = "aws.sagemaker.inference_component.no_plaintext_secrets"
# Variable names the rules' secret_name_patterns flag (token(?!s): MAX_TOTAL_TOKENS is a limit, not a token).
_SECRET_NAME = ("PASSWORD", "PASSWD", "PWD", "SECRET", "API_KEY", "APIKEY", "ACCESS_KEY", "PRIVATE_KEY",
                "CREDENTIAL", "CONNECTION_STRING", "SAS")


@dataclass(frozen=True)
class AsyncOutput:
    """``AsyncInferenceConfig.OutputConfig``: results and failures into buckets of the config's region;
    ``key`` names a KeySpec alias as ``ConfigSpec.volume_key`` does (None: no KmsKeyId)."""

    bucket: str
    failure_bucket: str | None = None
    key: str | None = None


class _Config(Protocol):  # what this module reads of aws_spec's ConfigSpec (which imports this module)
    @property
    def name(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def shadow(self) -> Sequence[Any]: ...
    @property
    def async_output(self) -> AsyncOutput | None: ...


class _Model(Protocol):  # ... and of its ModelSpec
    @property
    def name(self) -> str: ...
    @property
    def environment(self) -> Mapping[str, str]: ...


class _Spec(Protocol):  # ... and of its EstateSpec
    @property
    def configs(self) -> Sequence[_Config]: ...
    @property
    def models(self) -> Sequence[_Model]: ...
    @property
    def components(self) -> Sequence[ComponentSpec]: ...


@dataclass(frozen=True)
class ComponentSpec:
    """An inference component on ``endpoint``: running ``model`` (a ModelSpec name), or, without one, a container
    of its own with ``environment``."""

    name: str
    region: str
    endpoint: str
    model: str | None = None
    image: str = ""  # may use {account} and {region}; for a container of its own
    environment: Mapping[str, str] = field(default_factory=dict)
    copies: int = 1


def secret_like(environment: Mapping[str, str]) -> bool:
    """Whether the demo's environment has a variable the secrets rules flag (by name or by value)."""
    from auditor.secrets import secret_kinds

    for name, value in environment.items():
        upper = name.upper()
        token = "TOKEN" in upper and "TOKENS" not in upper
        if value and (token or any(word in upper for word in _SECRET_NAME) or secret_kinds(value)):
            return True
    return False


def config_request(config: _Config, variant: Callable[[Any], dict[str, Any]],
                   key_ref: Callable[[str, str], str]) -> dict[str, Any]:
    """What a config's shadow variants and async inference add to its CreateEndpointConfig request."""
    out: dict[str, Any] = {}
    if config.shadow:
        out["ShadowProductionVariants"] = [variant(v) for v in config.shadow]
    if config.async_output is not None:
        output: dict[str, Any] = {"S3OutputPath": f"s3://{config.async_output.bucket}/async/{config.name}/out"}
        if config.async_output.failure_bucket:
            output["S3FailurePath"] = f"s3://{config.async_output.failure_bucket}/async/{config.name}/failed"
        if config.async_output.key:
            output["KmsKeyId"] = key_ref(config.region, config.async_output.key)
        out["AsyncInferenceConfig"] = {"OutputConfig": output,
                                       "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4}}
    return out


def component_request(component: ComponentSpec, account: str, variant: str) -> dict[str, Any]:
    """The CreateInferenceComponent request of ``component`` on its endpoint's variant ``variant``."""
    specification: dict[str, Any] = {"ComputeResourceRequirements": {
        "NumberOfAcceleratorDevicesRequired": 1, "MinMemoryRequiredInMb": 8192}}
    if component.model:
        specification["ModelName"] = component.model
    else:
        specification["Container"] = {"Image": component.image.format(account=account, region=component.region),
                                      "Environment": dict(component.environment)}
    return {"InferenceComponentName": component.name, "EndpointName": component.endpoint, "VariantName": variant,
            "Specification": specification, "RuntimeConfig": {"CopyCount": component.copies}}


def expected(spec: _Spec, arns: Callable[[str, str], str]) -> dict[tuple[str, str], str]:
    """The verdicts of the serving rules, and of the KMS and S3 rules on what async inference references;
    ``arns(kind, name)`` gives the ARN seeded for a config, model or component."""

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    out: dict[tuple[str, str], str] = {}
    models: dict[str, _Model] = {m.name: m for m in spec.models}
    for c in spec.configs:
        out[ASYNC_RULE, arns("config", c.name)] = (
            verdict(bool(c.async_output.key)) if c.async_output else "NOT_APPLICABLE")
    for m in spec.models:
        out[MODEL_SECRETS_RULE, arns("model", m.name)] = verdict(not secret_like(m.environment))
    for ic in spec.components:
        environment = models[ic.model].environment if ic.model else ic.environment
        out[COMPONENT_SECRETS_RULE, arns("component", ic.name)] = verdict(not secret_like(environment))
    return out


def async_keys(config: _Config) -> tuple[str, ...]:
    """The key references of a config's async inference output (for the rotation verdicts)."""
    return (config.async_output.key,) if config.async_output and config.async_output.key else ()


def async_buckets(config: _Config) -> tuple[str, ...]:
    """The buckets a config's async inference output writes to (for the S3 verdicts)."""
    if config.async_output is None:
        return ()
    return tuple(b for b in (config.async_output.bucket, config.async_output.failure_bucket) if b)
