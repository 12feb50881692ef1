"""AWS change kinds (see :mod:`auditor.remediate.changes`).

=====================================  =====================================  ====================================
kind                                   value                                  write
=====================================  =====================================  ====================================
aws.sagemaker.endpoint.config          the endpoint config an endpoint runs   UpdateEndpoint, wait for InService
aws.kms.key.rotation                   rotation on (bool)                     EnableKeyRotation / DisableKeyRotation
aws.s3.bucket.public_access_block      the bucket's configuration, or None    PutPublicAccessBlock / Delete...
aws.s3.bucket.default_encryption       the bucket's configuration, or None    PutBucketEncryption / Delete...
=====================================  =====================================  ====================================

Restoring "no configuration" on a bucket calls DeletePublicAccessBlock or DeleteBucketEncryption:
they remove a bucket setting (authorized by s3:PutBucketPublicAccessBlock and
s3:PutEncryptionConfiguration), never the bucket or an object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from auditor.providers.aws.live import STABLE_OK, connected
from auditor.remediate.changes import ChangeHandler, Observed
from auditor.remediate.model import StepFailed, StepRefused, same_json

if TYPE_CHECKING:
    from auditor.remediate.providers import Providers

PAB_SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


class EndpointConfigName:
    """Target: ``{"region", "endpoint"}`` (the endpoint's name)."""

    kind: ClassVar[str] = "aws.sagemaker.endpoint.config"
    undo_grants_access: ClassVar[bool] = False

    def read(self, providers: Providers, target: Mapping[str, Any]) -> Observed:
        document = connected(providers).stable_endpoint(target["region"], target["endpoint"])
        if document is None:
            raise StepFailed(f"endpoint {target['endpoint']} no longer exists in {target['region']}")
        return Observed(document.get("EndpointConfigName"))

    def write(self, providers: Providers, target: Mapping[str, Any], value: Any, observed: Observed) -> None:
        aws, region, name = connected(providers), target["region"], target["endpoint"]
        document = aws.stable_endpoint(region, name)
        status = document.get("EndpointStatus") if document else "deleted"
        if status != STABLE_OK:
            raise StepRefused(f"endpoint {name} is {status}, not {STABLE_OK}: SageMaker updates only endpoints in "
                              "service")
        if aws.describe_endpoint_config(region, str(value)) is None:
            raise StepFailed(f"endpoint config {value} does not exist in {region}")
        # Keep the live instance counts and weights (auto scaling may have changed them): only the
        # config's other settings (volume key, data capture) change.
        aws.call("sagemaker", region, "update_endpoint", EndpointName=name, EndpointConfigName=str(value),
                 RetainAllVariantProperties=True)
        document = aws.stable_endpoint(region, name)
        if document is None:
            raise StepFailed(f"endpoint {name} disappeared during its update")
        if document.get("EndpointStatus") != STABLE_OK:
            reason = document.get("FailureReason") or "no reason given"
            raise StepFailed(f"endpoint {name} ended {document.get('EndpointStatus')} after its update: {reason}")
        if document.get("EndpointConfigName") != value:
            reason = document.get("FailureReason") or "SageMaker rolled the update back"
            raise StepFailed(f"endpoint {name} runs {document.get('EndpointConfigName')} after its update to {value}: "
                             f"{reason}")

    def same(self, a: Any, b: Any) -> bool:
        return bool(a == b)


class KeyRotation:
    """Target: ``{"region", "key"}`` (the key ARN)."""

    kind: ClassVar[str] = "aws.kms.key.rotation"
    undo_grants_access: ClassVar[bool] = False

    def read(self, providers: Providers, target: Mapping[str, Any]) -> Observed:
        status = connected(providers).call("kms", target["region"], "get_key_rotation_status", KeyId=target["key"])
        return Observed(bool(status.get("KeyRotationEnabled")))

    def write(self, providers: Providers, target: Mapping[str, Any], value: Any, observed: Observed) -> None:
        method = "enable_key_rotation" if value else "disable_key_rotation"
        connected(providers).call("kms", target["region"], method, KeyId=target["key"])

    def same(self, a: Any, b: Any) -> bool:
        return bool(a) == bool(b)


class PublicAccessBlock:
    """Target: ``{"region", "bucket"}``."""

    kind: ClassVar[str] = "aws.s3.bucket.public_access_block"
    undo_grants_access: ClassVar[bool] = False

    def read(self, providers: Providers, target: Mapping[str, Any]) -> Observed:
        return Observed(connected(providers).bucket_public_access_block(target["bucket"], target["region"]))

    def write(self, providers: Providers, target: Mapping[str, Any], value: Any, observed: Observed) -> None:
        aws, bucket, region = connected(providers), target["bucket"], target["region"]
        if value is None:
            aws.call("s3", region, "delete_public_access_block", Bucket=bucket)
        else:
            aws.call("s3", region, "put_public_access_block", Bucket=bucket,
                     PublicAccessBlockConfiguration={k: bool(value.get(k)) for k in PAB_SETTINGS})

    def same(self, a: Any, b: Any) -> bool:
        if a is None or b is None:
            return a is None and b is None
        return all(bool(a.get(k)) == bool(b.get(k)) for k in PAB_SETTINGS)


class DefaultEncryption:
    """Target: ``{"region", "bucket"}``."""

    kind: ClassVar[str] = "aws.s3.bucket.default_encryption"
    undo_grants_access: ClassVar[bool] = False

    def read(self, providers: Providers, target: Mapping[str, Any]) -> Observed:
        return Observed(connected(providers).bucket_encryption(target["bucket"], target["region"]))

    def write(self, providers: Providers, target: Mapping[str, Any], value: Any, observed: Observed) -> None:
        aws, bucket, region = connected(providers), target["bucket"], target["region"]
        if value is None:
            aws.call("s3", region, "delete_bucket_encryption", Bucket=bucket)
        else:
            aws.call("s3", region, "put_bucket_encryption", Bucket=bucket, ServerSideEncryptionConfiguration=value)

    def same(self, a: Any, b: Any) -> bool:
        return same_json(_encryption_rules(a), _encryption_rules(b))


def _encryption_rules(config: Any) -> list[dict[str, Any]] | None:
    if not isinstance(config, Mapping):
        return None
    rules = []
    for rule in config.get("Rules") or []:
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        rules.append({"SSEAlgorithm": default.get("SSEAlgorithm"), "KMSMasterKeyID": default.get("KMSMasterKeyID"),
                      "BucketKeyEnabled": bool(rule.get("BucketKeyEnabled"))})
    return rules


HANDLERS: Mapping[str, ChangeHandler] = {h.kind: h for h in (
    EndpointConfigName(), KeyRotation(), PublicAccessBlock(), DefaultEncryption())}
