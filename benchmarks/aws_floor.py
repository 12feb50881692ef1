"""The read-once floor of the AWS scan benchmarks: what any scanner must at least read in an account, read once.

For each account and region: list (paginated) and describe every endpoint, endpoint config, model and inference
component, and every Bedrock custom model and guardrail, and read the region's Bedrock invocation logging settings;
then read once each thing those documents name: each execution role (``GetRole``), each KMS key (``DescribeKey``:
volume, data capture and async output keys of the configs, custom models' and guardrails' keys) and each S3 bucket
(``GetBucketEncryption``: data capture and async output buckets, the logging settings' bucket).

``scan_aws.py`` runs it for the caller's account, ``scan_aws_org.py`` for every account of the organisation (the
members through the assumed role): the same reads in every account, phased over all accounts at once (all lists
and settings, then all describes, then all references), on one pool of threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

Clients = Callable[[str, str], Any]  # (service, region) -> a boto3 client of one account; region "" = its home

# (service, list method) -> (page key, name field, describe method, describe parameter)
LISTS: dict[tuple[str, str], tuple[str, str, str, str]] = {
    ("sagemaker", "list_endpoints"): ("Endpoints", "EndpointName", "describe_endpoint", "EndpointName"),
    ("sagemaker", "list_endpoint_configs"): ("EndpointConfigs", "EndpointConfigName", "describe_endpoint_config",
                                             "EndpointConfigName"),
    ("sagemaker", "list_models"): ("Models", "ModelName", "describe_model", "ModelName"),
    ("sagemaker", "list_inference_components"): ("InferenceComponents", "InferenceComponentName",
                                                 "describe_inference_component", "InferenceComponentName"),
    ("bedrock", "list_custom_models"): ("modelSummaries", "modelName", "get_custom_model", "modelIdentifier"),
    ("bedrock", "list_guardrails"): ("guardrails", "id", "get_guardrail", "guardrailIdentifier"),
}
SETTINGS = ("bedrock", "get_model_invocation_logging_configuration")  # one document per region, no list


@dataclass(frozen=True)
class Read:
    """One call of the floor: ``method`` of ``service`` in ``region`` ("" for IAM and S3) of ``account``."""

    account: str
    service: str
    region: str
    method: str
    param: str = ""
    value: str = ""

    def call(self, reach: Mapping[str, Clients]) -> dict[str, Any]:
        client = reach[self.account](self.service, self.region)
        answer: dict[str, Any] = getattr(client, self.method)(**({self.param: self.value} if self.param else {}))
        return answer


def client_factory(session: Any, config: Any, home: str, credentials: Mapping[str, str] | None = None,
                   lock: threading.Lock | None = None) -> Clients:
    """Clients of ``session`` (with ``credentials``: acting as them), made on first use and kept. A boto3 session
    is not safe to make clients from on several threads at once: factories of one session share its ``lock``."""
    made: dict[tuple[str, str], Any] = {}
    lock = lock or threading.Lock()

    def client(service: str, region: str) -> Any:
        with lock:
            if (service, region) not in made:
                made[service, region] = session.client(service, region_name=region or home, config=config,
                                                       **(credentials or {}))
            return made[service, region]

    return client


def _listing(reach: Mapping[str, Clients], account: str, region: str, kind: tuple[str, str]) -> list[Read]:
    key, field, describe, param = LISTS[kind]
    pages = reach[account](kind[0], region).get_paginator(kind[1]).paginate()
    return [Read(account, kind[0], region, describe, param, item[field]) for page in pages for item in page[key]]


def references(read: Read, document: Mapping[str, Any]) -> set[Read]:
    """The role, key and bucket reads a described ``document`` (or logging settings) names."""
    capture = document.get("DataCaptureConfig") or {}
    output = (document.get("AsyncInferenceConfig") or {}).get("OutputConfig") or {}
    logging = (document.get("loggingConfig") or {}).get("s3Config") or {}
    keys = (document.get("KmsKeyId"), capture.get("KmsKeyId"), output.get("KmsKeyId"),
            document.get("modelKmsKeyArn"), document.get("kmsKeyArn"))
    buckets = [uri.split("/")[2] for uri in (capture.get("DestinationS3Uri"), output.get("S3OutputPath"),
                                             output.get("S3FailurePath")) if uri]
    found = {Read(read.account, "kms", read.region, "describe_key", "KeyId", key) for key in keys if key}
    found |= {Read(read.account, "s3", "", "get_bucket_encryption", "Bucket", bucket)
              for bucket in [*buckets, logging.get("bucketName")] if bucket}
    if document.get("ExecutionRoleArn"):
        found.add(Read(read.account, "iam", "", "get_role", "RoleName", document["ExecutionRoleArn"].rsplit("/")[-1]))
    return found


def read_once(pool: ThreadPoolExecutor, reach: Mapping[str, Clients], regions: Sequence[str]) -> dict[str, int]:
    """The floor's reads in every account of ``reach`` (account -> its clients) and each of ``regions``."""
    accounts = sorted(reach)
    lists = pool.map(lambda job: _listing(reach, *job), [(a, r, k) for a in accounts for r in regions for k in LISTS])
    settings = [Read(a, SETTINGS[0], r, SETTINGS[1]) for a in accounts for r in regions]
    documents = [read for found in lists for read in found] + settings

    def named(read: Read) -> set[Read]:
        return references(read, read.call(reach))

    referenced: set[Read] = set().union(*pool.map(named, documents))
    list(pool.map(lambda read: read.call(reach), sorted(referenced, key=_order)))
    return {"accounts": len(accounts), "described": len(documents), "referenced": len(referenced)}


def _order(read: Read) -> tuple[str, ...]:
    return read.account, read.service, read.region, read.value

