"""Amazon Bedrock's joins: what invocation logging, custom models and guardrails reference.

The generic regional collector (:mod:`auditor.providers.aws.regional`) reads each region's model invocation
logging settings, custom models and guardrails as declared in :mod:`auditor.providers.aws.resource_types`.
This module, as each document arrives:

* invocation logging: requests the S3 destination bucket from the S3 collector, and reads the CloudWatch
  Logs destination log group (``logs:DescribeLogGroups`` in the region) and requests its KMS key from the KMS
  collector, so the bucket and the key are judged by the S3 and KMS rules as SageMaker's are;
* custom models (``modelKmsKeyArn``) and guardrails (``kmsKeyArn``): requests their KMS key.

and, once every read has finished, joins them into ``related``: ``s3_bucket`` (the bucket's ARN, None when
logging has no S3 destination or the bucket no longer exists), ``log_group`` (``logGroupName``, ``arn``,
``kmsKeyId`` of the destination log group, None when there is none or it does not exist) and ``kms_keys``
(the resolved key ARNs). A link that could not be read is named in ``unreadable`` with its reason.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from auditor.providers.aws import resource_types as declared
from auditor.providers.aws.kms import KmsCollector
from auditor.providers.aws.regional import Item
from auditor.providers.aws.s3 import S3Collector
from auditor.providers.aws.session import AwsCallError, AwsClients, Failure, pages
from auditor.providers.pool import TaskPool

SERVICE = "bedrock"
INVOCATION_LOGGING = declared.INVOCATION_LOGGING.id
CUSTOM_MODEL = declared.CUSTOM_MODEL.id
GUARDRAIL = declared.GUARDRAIL.id

# The KMS key field of each type's document.
KEY_FIELDS: dict[str, str] = {CUSTOM_MODEL: "modelKmsKeyArn", GUARDRAIL: "kmsKeyArn"}


def s3_destination(document: Mapping[str, Any]) -> str | None:
    """``s3://bucket/prefix`` of a logging configuration's S3 destination, or None."""
    s3 = (document.get("loggingConfig") or {}).get("s3Config") or {}
    bucket = s3.get("bucketName")
    return f"s3://{bucket}/{s3.get('keyPrefix') or ''}" if bucket else None


def log_group_name(document: Mapping[str, Any]) -> str | None:
    """The CloudWatch Logs destination's log group name, or None."""
    name = ((document.get("loggingConfig") or {}).get("cloudWatchConfig") or {}).get("logGroupName")
    return str(name) if name else None


@dataclass
class _LogGroup:
    name: str
    found: dict[str, Any] | None = None
    failure: Failure | None = None


class BedrockJoins:
    """The :class:`~auditor.providers.aws.services.Joins` of the ``bedrock`` service."""

    def __init__(self, clients: AwsClients, pool: TaskPool, kms: KmsCollector, s3: S3Collector) -> None:
        self._clients = clients
        self._pool = pool
        self._kms = kms
        self._s3 = s3
        self._lock = threading.Lock()
        self._log_groups: dict[str, _LogGroup] = {}  # by logging settings ARN

    def on_document(self, resource_type: str, region: str, arn: str, document: Mapping[str, Any]) -> None:
        """Request what ``document`` references; the document itself is kept as read (None)."""
        if resource_type == INVOCATION_LOGGING:
            uri = s3_destination(document)
            if uri:
                self._s3.request_bucket(uri, arn)
            name = log_group_name(document)
            if name:
                group = _LogGroup(name)
                with self._lock:
                    self._log_groups[arn] = group
                self._pool.submit(("logs", region), partial(self._read_log_group, group, region, arn))
        elif resource_type in KEY_FIELDS and document.get(KEY_FIELDS[resource_type]):
            self._kms.request_key(str(document[KEY_FIELDS[resource_type]]), region, arn)

    def _read_log_group(self, group: _LogGroup, region: str, arn: str) -> None:
        try:
            client = self._clients.get("logs", region)
            for page in pages(client, "describe_log_groups", logGroupNamePrefix=group.name):
                for entry in page.get("logGroups", []):
                    if entry.get("logGroupName") == group.name:
                        group.found = {"logGroupName": group.name, "arn": entry.get("arn"),
                                       "kmsKeyId": entry.get("kmsKeyId")}
        except AwsCallError as exc:
            group.failure = exc.failure
            return
        if group.found and group.found["kmsKeyId"]:
            self._kms.request_key(str(group.found["kmsKeyId"]), region, arn)

    # --- results (after the pool has drained) --------------------------------------------------

    def related(self, resource_type: str, item: Item) -> tuple[dict[str, Any], dict[str, str]]:
        related: dict[str, Any] = {}
        unreadable: dict[str, str] = {}
        if resource_type == INVOCATION_LOGGING:
            bucket, reason = self._s3.link(item.arn)
            related["s3_bucket"] = bucket
            if reason:
                unreadable["related.s3_bucket"] = reason
            group = self._log_groups.get(item.arn)
            related["log_group"] = group.found if group else None
            if group and group.failure:
                unreadable["related.log_group"] = group.failure.reason
        elif resource_type not in KEY_FIELDS:
            return related, unreadable
        keys, reason = self._kms.link(item.arn)
        related["kms_keys"] = keys
        if reason:
            unreadable["related.kms_keys"] = reason
        return related, unreadable

    def failures(self) -> dict[str, str]:
        """Per region, why a log group some logging settings name could not be read (its key is unknown)."""
        out: dict[str, list[str]] = {}
        for arn, group in self._log_groups.items():
            if group.failure:
                region = arn.split(":")[3]
                out.setdefault(region, []).append(f"log group '{group.name}' of {arn}: {group.failure.reason}")
        return {region: "not collected: logs:DescribeLogGroups failed for " + "; ".join(sorted(msgs))
                for region, msgs in out.items()}
