"""AWS for apply and rollback: the session and shared clients of the scan, and live reads in the scan's shape.

:meth:`AwsContext.read` returns a resource exactly as the collectors build it (the service's own
document, cleaned by :func:`auditor.providers.aws.session.clean`, in the shapes
:func:`auditor.providers.aws.kms.key_document` and :func:`auditor.providers.aws.s3.bucket_document`
give it, secrets redacted by :func:`auditor.redaction.redact_document`), so a rule's condition
re-run on it decides the same way it did in the scan. Errors become :class:`AwsError` (a StepFailed
carrying the classified failure); "not found" is an answer (None), never an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from auditor.model import Resource
from auditor.providers.aws import s3 as aws_s3
from auditor.providers.aws.kms import KEY, key_document
from auditor.providers.aws.s3 import BUCKET, bucket_document
from auditor.providers.aws.sagemaker import ENDPOINT, ENDPOINT_CONFIG
from auditor.providers.aws.session import AwsCallError, AwsClients, Failure, arn_parts, call, home_region
from auditor.redaction import redact_document, redact_tags
from auditor.remediate.model import StepFailed, StepRefused

if TYPE_CHECKING:
    from auditor.providers import ProviderOptions
    from auditor.remediate.providers import Providers

# What apply and rollback do here beyond each remediator's own calls: the reads of the stale check (a
# resource as the scan read it, tags included) and the removal of an endpoint config a failed step created.
PERMISSIONS: tuple[str, ...] = (
    "kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:ListResourceTags",
    "s3:GetBucketLocation", "s3:GetBucketPublicAccessBlock", "s3:GetBucketTagging", "s3:GetEncryptionConfiguration",
    "s3:GetAccountPublicAccessBlock",
    "sagemaker:DeleteEndpointConfig", "sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig",
    "sagemaker:ListEndpoints", "sagemaker:ListTags",
)

# An endpoint in one of these states is between two stable states: wait before reading or writing it.
TRANSITIONAL = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting", "UpdateRollbackFailed"})
STABLE_OK = "InService"


class AwsError(StepFailed):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


def arn_region(arn: str) -> str:
    parts = arn_parts(arn)
    if parts is None or not parts[3]:
        raise StepRefused(f"'{arn}' is not a regional ARN")
    return parts[3]


def arn_name(arn: str) -> str:
    """The name in ``arn:...:endpoint/NAME`` (also ``endpoint-config/NAME``, ``key/ID``)."""
    parts = arn_parts(arn)
    if parts is None or "/" not in parts[5]:
        raise StepRefused(f"'{arn}' does not name a resource")
    return parts[5].split("/", 1)[1]


class AwsContext:
    def __init__(self, options: ProviderOptions) -> None:
        try:
            from botocore.exceptions import BotoCoreError

            from auditor.providers.aws.session import make_session
        except ImportError as exc:
            raise StepFailed(f"the AWS SDK is not installed: {exc}") from exc
        try:
            session = options.override("aws") or make_session(options.value("profile"))
            self.clients = AwsClients(session, 4)
        except BotoCoreError as exc:
            raise StepFailed(f"cannot set up the AWS session: {exc}") from exc
        self.home = home_region(session, ())
        self.options = options

    def close(self) -> None:
        """Nothing to release: boto3's clients hold no open connection worth closing early."""

    def read(self, resource_type: str, resource_id: str, *, account: str = "", region: str = "") -> Resource | None:
        """The resource in the scan's shape (an endpoint once it is out of a transitional state); None when gone."""
        if resource_type == ENDPOINT:
            return self.endpoint_resource(resource_id, account)
        if resource_type == ENDPOINT_CONFIG:
            return self.endpoint_config_resource(resource_id, account)
        if resource_type == KEY:
            return self.key_resource(resource_id, account)
        if resource_type == BUCKET:
            return self.bucket_resource(resource_id, region, account)
        raise StepFailed(f"the AWS provider does not read resources of type {resource_type} at apply")

    # --- calls -------------------------------------------------------------------------------------

    def call(self, service: str, region: str, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return call(self.clients.get(service, region), method, **kwargs)
        except AwsCallError as exc:
            raise AwsError(exc.failure) from exc

    def call_or_none(self, service: str, region: str, method: str, absent: Callable[[Failure], bool],
             **kwargs: Any) -> dict[str, Any] | None:
        """A call whose "does not exist" answer (``absent(failure)``) is None."""
        try:
            return self.call(service, region, method, **kwargs)
        except AwsError as exc:
            if absent(exc.failure):
                return None
            raise

    def sleeps(self) -> Iterator[None]:
        """Sleep between polls (doubling up to the maximum) until the wait timeout; StepFailed after it."""
        delay, deadline = self.options.poll_seconds, time.monotonic() + self.options.wait_timeout
        while True:
            if time.monotonic() + delay > deadline:
                raise StepFailed(f"gave up waiting after {self.options.wait_timeout:.0f} s")
            time.sleep(delay)
            yield
            delay = min(delay * 2, self.options.max_poll_seconds)

    # --- SageMaker -------------------------------------------------------------------------------

    def describe_endpoint(self, region: str, name: str) -> dict[str, Any] | None:
        return self.call_or_none("sagemaker", region, "describe_endpoint", _not_found, EndpointName=name)

    def describe_endpoint_config(self, region: str, name: str) -> dict[str, Any] | None:
        return self.call_or_none("sagemaker", region, "describe_endpoint_config", _not_found, EndpointConfigName=name)

    def stable_endpoint(self, region: str, name: str) -> dict[str, Any] | None:
        """DescribeEndpoint once the endpoint is out of a transitional state (None: it does not exist)."""
        document = self.describe_endpoint(region, name)
        polls = self.sleeps()
        while document is not None and document.get("EndpointStatus") in TRANSITIONAL:
            next(polls)
            document = self.describe_endpoint(region, name)
        return document

    def endpoints_running(self, region: str, config_name: str) -> list[tuple[str, str]]:
        """(name, ARN) of the endpoints whose current config is ``config_name`` (each one described)."""
        names: list[tuple[str, str]] = []
        token: str | None = None
        while True:
            page = self.call("sagemaker", region, "list_endpoints", MaxResults=100,
                             **({"NextToken": token} if token else {}))
            for summary in page.get("Endpoints", []):
                document = self.describe_endpoint(region, str(summary["EndpointName"]))
                if document is not None and document.get("EndpointConfigName") == config_name:
                    names.append((str(summary["EndpointName"]), str(document["EndpointArn"])))
            token = page.get("NextToken")
            if not token:
                return sorted(names)

    def endpoint_resource(self, arn: str, account: str) -> Resource | None:
        document = self.stable_endpoint(arn_region(arn), arn_name(arn))
        return None if document is None else _resource(ENDPOINT, arn, account, arn_region(arn), document,
                                                       tags=self.sagemaker_tags(arn))

    def endpoint_config_resource(self, arn: str, account: str) -> Resource | None:
        document = self.describe_endpoint_config(arn_region(arn), arn_name(arn))
        return None if document is None else _resource(ENDPOINT_CONFIG, arn, account, arn_region(arn), document,
                                                       tags=self.sagemaker_tags(arn))

    def sagemaker_tags(self, arn: str) -> dict[str, str]:
        """The resource's tags (ListTags; the scan reads the same tags through the Resource Groups Tagging API)."""
        tags: dict[str, str] = {}
        token: str | None = None
        while True:
            page = self.call("sagemaker", arn_region(arn), "list_tags", ResourceArn=arn,
                             **({"NextToken": token} if token else {}))
            tags.update({str(t["Key"]): str(t.get("Value", "")) for t in page.get("Tags", [])})
            token = page.get("NextToken")
            if not token:
                return tags

    def delete_unused(self, resource_type: str, arn: str) -> str | None:
        """Delete an endpoint config a failed step created when no endpoint runs it or is being moved to it.

        None when it was deleted (or is already gone); otherwise why it is kept. Nothing else is ever deleted.
        """
        if resource_type != ENDPOINT_CONFIG:
            return f"apply deletes only endpoint configs it created, not a {resource_type}"
        region, name = arn_region(arn), arn_name(arn)
        users: list[str] = []
        token: str | None = None
        while True:
            page = self.call("sagemaker", region, "list_endpoints", MaxResults=100,
                             **({"NextToken": token} if token else {}))
            for summary in page.get("Endpoints", []):
                document = self.describe_endpoint(region, str(summary["EndpointName"])) or {}
                pending = (document.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
                if name in (document.get("EndpointConfigName"), pending):
                    users.append(str(summary["EndpointName"]))
                elif document.get("EndpointStatus") in TRANSITIONAL and pending is None:
                    users.append(f"{summary['EndpointName']} (in transition to a config SageMaker does not name)")
            token = page.get("NextToken")
            if not token:
                break
        if users:
            return f"in use: {', '.join(sorted(users))}"
        self.call_or_none("sagemaker", region, "delete_endpoint_config", _not_found, EndpointConfigName=name)
        return None

    # --- KMS -------------------------------------------------------------------------------------

    def key_resource(self, arn: str, account: str) -> Resource | None:
        region = arn_region(arn)
        described = self.call_or_none("kms", region, "describe_key", _not_found, KeyId=arn)
        if described is None:
            return None
        metadata = described["KeyMetadata"]
        rotation = self.call("kms", region, "get_key_rotation_status", KeyId=arn) \
            if metadata.get("KeyManager") == "CUSTOMER" else None
        tags: dict[str, str] = {}
        marker: str | None = None
        while True:
            page = self.call("kms", region, "list_resource_tags", KeyId=arn, **({"Marker": marker} if marker else {}))
            tags.update({str(t["TagKey"]): str(t.get("TagValue", "")) for t in page.get("Tags", [])})
            marker = page.get("NextMarker") if page.get("Truncated") else None
            if not marker:
                break
        return _resource(KEY, arn, str(metadata.get("AWSAccountId", account)), region, key_document(metadata, rotation),
                         name=str(metadata.get("KeyId", arn)), tags=tags)

    def usable_key(self, reference: str, region: str) -> str:
        """The ARN of the customer managed, enabled, symmetric encryption key ``reference`` names in ``region``.

        StepRefused when it does not exist there or cannot serve (the fix never creates a key).
        """
        parts = arn_parts(reference)
        if parts is not None and parts[3] != region:
            raise StepRefused(f"KMS key {reference} is in {parts[3]}, the resource in {region}")
        described = self.call_or_none("kms", region, "describe_key", _not_found, KeyId=reference)
        if described is None:
            raise StepRefused(f"KMS key {reference} does not exist in {region} (the fix never creates a key)")
        meta = described["KeyMetadata"]
        problems = [text for ok, text in (
            (meta.get("KeyState") == "Enabled", f"its state is {meta.get('KeyState')}"),
            (meta.get("KeyManager") == "CUSTOMER", "it is AWS managed"),
            (meta.get("KeyUsage", "ENCRYPT_DECRYPT") == "ENCRYPT_DECRYPT", f"its usage is {meta.get('KeyUsage')}"),
            ((meta.get("KeySpec") or "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT", f"it is {meta.get('KeySpec')}"),
        ) if not ok]
        if problems:
            raise StepRefused(f"KMS key {reference} cannot be used: {'; '.join(problems)}")
        return str(meta["Arn"])

    # --- S3 --------------------------------------------------------------------------------------

    def bucket_encryption(self, bucket: str, region: str) -> dict[str, Any] | None:
        found = self.call_or_none("s3", region, "get_bucket_encryption", _code(aws_s3.NO_ENCRYPTION), Bucket=bucket)
        return None if found is None else found.get("ServerSideEncryptionConfiguration")

    def bucket_public_access_block(self, bucket: str, region: str) -> dict[str, Any] | None:
        found = self.call_or_none("s3", region, "get_public_access_block", _code(aws_s3.NO_PUBLIC_ACCESS_BLOCK),
                                  Bucket=bucket)
        return None if found is None else found.get("PublicAccessBlockConfiguration")

    def account_public_access_block(self, account: str) -> dict[str, Any] | None:
        found = self.call_or_none("s3control", self.home, "get_public_access_block",
                                  _code(aws_s3.NO_PUBLIC_ACCESS_BLOCK), AccountId=account)
        return None if found is None else found.get("PublicAccessBlockConfiguration")

    def bucket_resource(self, arn: str, region: str, account: str) -> Resource | None:
        bucket = arn.rsplit(":", 1)[-1]
        location = self.call_or_none("s3", region, "get_bucket_location", _not_found, Bucket=bucket)
        if location is None:
            return None
        document = bucket_document(bucket, location.get("LocationConstraint"), self.bucket_encryption(bucket, region),
                                   self.bucket_public_access_block(bucket, region))
        related = {"account_public_access_block": self.account_public_access_block(account)}
        tagging = self.call_or_none("s3", region, "get_bucket_tagging", _code(aws_s3.NO_TAGS), Bucket=bucket)
        tags = {str(t["Key"]): str(t.get("Value", "")) for t in (tagging or {}).get("TagSet", [])}
        return Resource(id=arn, type=BUCKET, provider="aws", account=account, region=region, name=bucket,
                        document=redact_document(document), related=related, tags=redact_tags(tags))


def connected(providers: Providers) -> AwsContext:
    """The run's AWS connection (set up on first use); StepFailed when it cannot be."""
    connection = providers.connection("aws")
    if not isinstance(connection, AwsContext):
        raise TypeError(f"the 'aws' provider connected as {type(connection).__name__}")
    return connection


def _not_found(failure: Failure) -> bool:
    return failure.kind == "not_found"


def _code(code: str) -> Callable[[Failure], bool]:
    return lambda failure: failure.code == code


def _resource(resource_type: str, arn: str, account: str, region: str, document: dict[str, Any], *,
              name: str | None = None, tags: dict[str, str] | None = None) -> Resource:
    return Resource(id=arn, type=resource_type, provider="aws", account=account, region=region,
                    name=name or arn_name(arn), document=redact_document(document), tags=redact_tags(tags or {}))
