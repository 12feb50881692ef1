"""S3 buckets that receive SageMaker data capture, and the account's public access block.

Each bucket named by some config's ``DataCaptureConfig.DestinationS3Uri`` is read once:
GetBucketLocation, then GetBucketEncryption, GetPublicAccessBlock and GetBucketTagging in the
bucket's region (no cross-region redirects). The account-level S3 Control GetPublicAccessBlock is read once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from auditor.model import Resource
from auditor.providers.aws import resource_types as declared
from auditor.providers.aws.session import AwsCallError, AwsClients, Failure, call
from auditor.providers.declared import ids
from auditor.providers.pool import TaskPool
from auditor.redaction import redact_document, redact_tags

# The calls made here and the actions AWS authorizes them with are declared in resource_types.
BUCKET = declared.BUCKET.id
RESOURCE_TYPES: tuple[str, ...] = ids(declared.TYPES, "s3")

NO_ENCRYPTION = "ServerSideEncryptionConfigurationNotFoundError"
NO_PUBLIC_ACCESS_BLOCK = "NoSuchPublicAccessBlockConfiguration"
NO_TAGS = "NoSuchTagSet"


@dataclass
class _Read:
    """One sub-read: its value (None when AWS says it is not configured) or its failure."""

    value: Any = None
    failure: Failure | None = None


@dataclass
class _Bucket:
    name: str
    configs: set[str] = field(default_factory=set)
    location: _Read | None = None
    region: str | None = None
    missing: bool = False
    encryption: _Read | None = None
    public_access_block: _Read | None = None
    tags: _Read | None = None


def bucket_document(name: str, location: Any, encryption: Any, public_access_block: Any) -> dict[str, Any]:
    """A bucket's document: its name and the three settings read one call each (None: not configured or not
    read; not yet redacted)."""
    return {"Name": name, "LocationConstraint": location, "ServerSideEncryptionConfiguration": encryption,
            "PublicAccessBlockConfiguration": public_access_block}


def bucket_of(uri: str) -> str | None:
    """The bucket of ``s3://bucket/prefix`` (or an https S3 URL), None when there is none."""
    parts = urlsplit(uri)
    host = (parts.hostname or "").lower()
    if parts.scheme == "s3":
        return parts.netloc or None
    if parts.scheme == "https" and host:
        if host.startswith(("s3.", "s3-")):  # path style: https://s3.region.amazonaws.com/bucket/key
            return parts.path.lstrip("/").split("/", 1)[0] or None
        if ".s3." in host or ".s3-" in host:  # virtual host: https://bucket.s3.region.amazonaws.com/key
            return host.split(".s3", 1)[0]
    return None


def region_of_location(constraint: Any) -> str:
    if not constraint:
        return "us-east-1"
    return "eu-west-1" if constraint == "EU" else str(constraint)


class S3Collector:
    def __init__(self, clients: AwsClients, pool: TaskPool, account: str, region: str,
                 partition: str = "aws") -> None:
        self._clients = clients
        self._pool = pool
        self._account = account
        self._region = region  # where GetBucketLocation and S3 Control are called
        self._partition = partition
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._by_config: dict[str, tuple[str | None, str | None]] = {}
        self._account_block: _Read | None = None

    def arn(self, bucket: str) -> str:
        return f"arn:{self._partition}:s3:::{bucket}"

    def request_bucket(self, uri: str, config_arn: str) -> None:
        name = bucket_of(uri)
        with self._lock:
            if name is None:
                self._by_config[config_arn] = (None, f"cannot parse DestinationS3Uri '{uri}'")
                return
            self._by_config[config_arn] = (name, None)
            bucket = self._buckets.get(name)
            if bucket is not None:
                bucket.configs.add(config_arn)
                return
            bucket = self._buckets[name] = _Bucket(name=name, configs={config_arn})
            first = self._account_block is None
            if first:
                self._account_block = _Read()
        if first:
            self._pool.submit(("s3control", self._region), self._read_account_block)
        self._pool.submit(("s3", "global"), partial(self._locate, bucket))

    def _read_account_block(self) -> None:
        assert self._account_block is not None
        self._account_block.value, self._account_block.failure = self._read(
            ("s3control", self._region), "get_public_access_block", "PublicAccessBlockConfiguration",
            NO_PUBLIC_ACCESS_BLOCK, AccountId=self._account)

    def _locate(self, bucket: _Bucket) -> None:
        try:
            client = self._clients.get("s3", self._region)
            response = call(client, "get_bucket_location", Bucket=bucket.name)
        except AwsCallError as exc:
            if exc.failure.kind == "not_found":
                bucket.missing = True
                return
            bucket.location = _Read(failure=exc.failure)
            region = self._region  # unknown: read the rest through the home region (S3 redirects)
        else:
            constraint = response.get("LocationConstraint")
            bucket.location = _Read(value=constraint)
            region = bucket.region = region_of_location(constraint)
        self._pool.submit_many(("s3", region), [partial(self._encryption, bucket, region),
                                                partial(self._public_access_block, bucket, region),
                                                partial(self._tags, bucket, region)])

    def _encryption(self, bucket: _Bucket, region: str) -> None:
        value, failure = self._read(("s3", region), "get_bucket_encryption",
                                    "ServerSideEncryptionConfiguration", NO_ENCRYPTION, Bucket=bucket.name)
        bucket.encryption = _Read(value, failure)

    def _public_access_block(self, bucket: _Bucket, region: str) -> None:
        value, failure = self._read(("s3", region), "get_public_access_block",
                                    "PublicAccessBlockConfiguration",
                                    NO_PUBLIC_ACCESS_BLOCK, Bucket=bucket.name)
        bucket.public_access_block = _Read(value, failure)

    def _tags(self, bucket: _Bucket, region: str) -> None:
        value, failure = self._read(("s3", region), "get_bucket_tagging", "TagSet", NO_TAGS,
                                    Bucket=bucket.name)
        bucket.tags = _Read({str(t["Key"]): str(t.get("Value", "")) for t in value or []}, failure)

    # --- results (after the pool has drained) --------------------------------------------------

    def link(self, config_arn: str) -> tuple[str | None, str | None]:
        """A config's ``related.capture_bucket``: the bucket ARN, or None (no capture, or the
        bucket no longer exists), and the reason when it could not be known."""
        name, reason = self._by_config.get(config_arn, (None, None))
        if name is None:
            return None, reason
        return (None, None) if self._buckets[name].missing else (self.arn(name), None)

    def resources(self) -> list[Resource]:
        return [self._resource(b) for b in self._buckets.values() if not b.missing]

    def _resource(self, bucket: _Bucket) -> Resource:
        unreadable: dict[str, str] = {}
        reads = (("LocationConstraint", bucket.location), ("ServerSideEncryptionConfiguration", bucket.encryption),
                 ("PublicAccessBlockConfiguration", bucket.public_access_block))
        document = bucket_document(bucket.name, *(read.value if read else None for _key, read in reads))
        for key, read in reads:
            if read is None or read.failure:
                unreadable[key] = read.failure.reason if read and read.failure else "not read"
        account_block = self._account_block or _Read()
        related: dict[str, Any] = {"account_public_access_block": account_block.value,
                                   "capture_for": sorted(bucket.configs)}
        if account_block.failure:
            unreadable["related.account_public_access_block"] = account_block.failure.reason
        if bucket.tags and bucket.tags.failure:
            unreadable["tags"] = bucket.tags.failure.reason
        return Resource(id=self.arn(bucket.name), type=BUCKET, provider="aws", account=self._account,
                        region=bucket.region or "unknown", name=bucket.name, document=redact_document(document),
                        related=related, unreadable=unreadable,
                        tags=redact_tags(bucket.tags.value if bucket.tags and bucket.tags.value else {}))

    def _read(self, where: tuple[str, str], method: str, result_key: str, absent_code: str,
              **kwargs: Any) -> tuple[Any, Failure | None]:
        """(configuration or None when ``absent_code`` says there is none, failure)."""
        try:
            return call(self._clients.get(*where), method, **kwargs).get(result_key), None
        except AwsCallError as exc:
            if exc.failure.code == absent_code:
                return None, None
            return None, exc.failure

