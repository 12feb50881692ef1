"""aws.bedrock.invocation_logs_encrypted: every destination of the region's invocation logs has a KMS key.

NOT_APPLICABLE when the logging settings name no destination (logging is off).

The S3 destination passes when its bucket (``related.s3_bucket``, judged from the bucket's own resource in
the inventory) encrypts by default with SSE-KMS (``aws:kms`` or ``aws:kms:dsse``); the CloudWatch Logs
destination when its log group (``related.log_group``) has a ``kmsKeyId``. A destination that does not exist
(the bucket or the log group is gone) fails: nothing there is encrypted. What could not be read is
MissingData (ERROR), never PASS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.errors import MissingData
from auditor.model import Inventory, Resource
from auditor.rule_parts import Verdict

KMS_ALGORITHMS = frozenset({"aws:kms", "aws:kms:dsse"})


def _unreadable(resource: Resource, key: str, what: str) -> None:
    if key in resource.unreadable:
        raise MissingData(f"{what} could not be read: {resource.unreadable[key]}")


def _bucket_algorithms(bucket: Resource) -> list[str]:
    _unreadable(bucket, "*", f"bucket {bucket.name}")
    _unreadable(bucket, "ServerSideEncryptionConfiguration", f"the default encryption of bucket {bucket.name}")
    config = bucket.document.get("ServerSideEncryptionConfiguration") or {}
    return [str((rule.get("ApplyServerSideEncryptionByDefault") or {}).get("SSEAlgorithm"))
            for rule in config.get("Rules") or []]


def check(resource: Resource, inventory: Inventory, params: Mapping[str, Any]) -> Verdict:
    _unreadable(resource, "*", "the invocation logging settings")
    logging = resource.document.get("loggingConfig") or {}
    evidence: dict[str, Any] = {}
    problems: list[str] = []
    bucket_name = (logging.get("s3Config") or {}).get("bucketName")
    group_name = (logging.get("cloudWatchConfig") or {}).get("logGroupName")
    if not bucket_name and not group_name:
        return Verdict(False, "Invocation logging names no destination.", {"loggingConfig": logging},
                       applicable=False)
    if bucket_name:
        _unreadable(resource, "related.s3_bucket", f"the destination bucket {bucket_name}")
        if "s3_bucket" not in resource.related:
            raise MissingData(f"the destination bucket {bucket_name} was not collected")
        arn = resource.related["s3_bucket"]
        bucket = inventory.by_id().get(str(arn)) if arn else None
        if arn and bucket is None:
            raise MissingData(f"the destination bucket {bucket_name} ({arn}) is not in the inventory")
        if bucket is None:
            evidence["s3_bucket"] = {"name": bucket_name, "exists": False}
            problems.append(f"S3 bucket {bucket_name} does not exist")
        else:
            algorithms = _bucket_algorithms(bucket)
            evidence["s3_bucket"] = {"name": bucket_name, "default_encryption": algorithms}
            if not KMS_ALGORITHMS.intersection(algorithms):
                problems.append(f"S3 bucket {bucket_name} does not default to SSE-KMS")
    if group_name:
        _unreadable(resource, "related.log_group", f"the destination log group {group_name}")
        if "log_group" not in resource.related:
            raise MissingData(f"the destination log group {group_name} was not collected")
        group = resource.related["log_group"]
        evidence["log_group"] = {"name": group_name, "exists": group is not None,
                                 "kmsKeyId": group.get("kmsKeyId") if group else None}
        if group is None:
            problems.append(f"log group {group_name} does not exist")
        elif not group.get("kmsKeyId"):
            problems.append(f"log group {group_name} has no KMS key")
    if problems:
        return Verdict(False, "; ".join(problems) + ".", evidence)
    return Verdict(True, "", evidence)


CHECK = check
