"""AWS demo estates as data: the declarative ``EstateSpec`` of SageMaker endpoints and what they use.

An ``EstateSpec`` names the IAM roles, KMS keys, S3 buckets, models, endpoint configs, endpoints, inference
components and Bedrock settings of an estate; :func:`auditor.demo.aws_estate.seed_estate` creates one through
boto3 (Northwind Retail's is :mod:`auditor.demo.aws_northwind`; the benchmarks build large ones).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from auditor.demo import aws_bedrock_estate as bedrock
from auditor.demo.aws_serving import AsyncOutput, ComponentSpec

Statement = tuple[tuple[str, ...], str]  # (actions, resource) of one Allow statement
BROAD_MANAGED = frozenset({"AmazonSageMakerFullAccess", "AdministratorAccess", "PowerUserAccess"})
BROAD_ACTIONS = frozenset({"*", "sagemaker:*"})


@dataclass(frozen=True)
class KeySpec:
    alias: str  # without "alias/"; one key per (region, alias)
    region: str
    rotation: bool = True
    imported: bool = False  # Origin EXTERNAL (bring your own key material): rotation does not apply
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BucketSpec:
    name: str
    region: str
    sse_kms_key: str | None = None  # alias of a key in the bucket's region: default SSE-KMS; else SSE-S3
    block: tuple[bool, bool, bool, bool] | None = None  # the four public access block settings, or none


@dataclass(frozen=True)
class RoleSpec:
    name: str
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    managed: tuple[str, ...] = ()  # AWS managed policies attached, by name
    inline: Mapping[str, tuple[Statement, ...]] = field(default_factory=dict)
    customer: Mapping[str, tuple[Statement, ...]] = field(default_factory=dict)  # customer managed, attached

    @property
    def broad(self) -> bool:
        statements = [s for group in (*self.inline.values(), *self.customer.values()) for s in group]
        return bool(BROAD_MANAGED & set(self.managed)) or any(
            resource == "*" and BROAD_ACTIONS & set(actions) for actions, resource in statements)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    region: str
    role: str
    image: str  # may use {account} and {region}
    isolated: bool = False
    vpc: bool = False
    environment: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Variant:
    model: str
    instances: int = 2
    instance_type: str = "ml.m5.xlarge"
    serverless_mb: int = 0  # > 0: a serverless variant with this memory size
    name: str = "AllTraffic"
    weight: float = 1.0


@dataclass(frozen=True)
class Capture:
    bucket: str
    key: str | None = None  # key reference, see ConfigSpec.volume_key
    sampling: int = 20


@dataclass(frozen=True)
class ConfigSpec:
    """``volume_key`` and ``Capture.key`` name a KeySpec alias of the config's region: "nw-x" is
    passed as the key ARN, "alias/nw-x" as the alias name (both are valid KmsKeyId spellings)."""

    name: str
    region: str
    variants: tuple[Variant, ...]
    volume_key: str | None = None
    capture: Capture | None = None
    shadow: tuple[Variant, ...] = ()  # ShadowProductionVariants
    async_output: AsyncOutput | None = None

    @property
    def serverless(self) -> bool:
        return all(v.serverless_mb for v in self.variants)


@dataclass(frozen=True)
class EndpointSpec:
    name: str
    region: str
    config: str
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EstateSpec:
    regions: tuple[str, ...]
    roles: tuple[RoleSpec, ...]
    keys: tuple[KeySpec, ...]
    buckets: tuple[BucketSpec, ...]
    models: tuple[ModelSpec, ...]
    configs: tuple[ConfigSpec, ...]
    endpoints: tuple[EndpointSpec, ...]
    tags: Mapping[str, str] = field(default_factory=dict)  # on every resource that takes tags
    components: tuple[ComponentSpec, ...] = ()  # inference components, on endpoints of this spec
    bedrock: bedrock.BedrockSpec | None = None  # logging settings, custom models and guardrails
