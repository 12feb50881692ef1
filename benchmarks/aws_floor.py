"""The read-once floor of the AWS scan benchmarks: what any scanner must at least read in an account, read once.

For each account and region: list (paginated) and describe every endpoint, endpoint config, model and inference
component, and every Bedrock custom model and guardrail, and read the region's Bedrock invocation logging settings
and its resources' tags (one ``tag:GetResources`` a region: the scan reads tags for owners and tag filters). Then
read once each thing those documents name, and what the rules judge of it: each execution role (``GetRole``, its
inline policies listed and each read, its attached policies listed and each managed policy's default version read
once per account), each KMS key (``DescribeKey``, rotation status, tags: the configs' volume, data capture and
async output keys, the custom models' and guardrails' keys), each S3 bucket (location, ``GetBucketEncryption``,
public access block, tags: data capture and async output buckets, the logging settings' bucket; and once, its
account's S3 public access block), and the tags of each Bedrock custom model and guardrail.

That is every read the scan's verdicts and owners need, each once: a floor below which no scanner producing the
same findings can go. Earlier versions read only the documents and the primary read of each named thing (no
policies, rotation, public access blocks or tags); ``--reads documents`` still times that narrower loop.

``scan_aws.py`` runs it for the caller's account, ``scan_aws_org.py`` for every account of the organisation (the
members through the assumed role): the same reads in every account, phased over all accounts at once (a read
whose answer names further reads is followed in the next phase), on one pool of threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

Param = str | int | tuple[str, ...]  # a call's parameter value (a tuple: a list, kept hashable)
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
# Answers that are facts, not failures: no tags, no public access block configured.
ABSENT = ("NoSuchTagSet", "NoSuchPublicAccessBlockConfiguration", "NoSuchPublicAccessConfiguration")
FLOORS = ("verdicts", "documents")  # what the floor reads: everything the verdicts need, or the documents only


@dataclass(frozen=True, order=True)
class Read:
    """One call of the floor: ``method`` of ``service`` in ``region`` ("" for IAM and S3) of ``account``."""

    account: str
    service: str
    region: str
    method: str
    params: tuple[tuple[str, Param], ...] = ()

    def call(self, reach: Mapping[str, Clients]) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        client = reach[self.account](self.service, self.region)
        try:
            kwargs: dict[str, Any] = {name: list(value) if isinstance(value, tuple) else value
                                      for name, value in self.params}
            answer: dict[str, Any] = getattr(client, self.method)(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ABSENT:
                raise
            return {}
        return answer


def _read(account: str, service: str, region: str, method: str, **params: Param) -> Read:
    return Read(account, service, region, method, tuple(sorted(params.items())))


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
                if service == "s3control":  # the scan's own handler: no <account>. host prefix on loopback
                    from auditor.providers.aws.session import drop_account_prefix_for_local_host

                    made[service, region].meta.events.register("before-sign.s3-control",
                                                               drop_account_prefix_for_local_host)
            return made[service, region]

    return client


def _listing(reach: Mapping[str, Clients], account: str, region: str, kind: tuple[str, str]) -> list[Read]:
    key, field, describe, param = LISTS[kind]
    pages = reach[account](kind[0], region).get_paginator(kind[1]).paginate()
    return [_read(account, kind[0], region, describe, **{param: item[field]}) for page in pages for item in page[key]]


def references(read: Read, document: Mapping[str, Any], floor: str = "verdicts",
               ids: Mapping[str, str] | None = None) -> set[Read]:
    """The reads a described ``document`` (or logging settings) names: its role, keys and buckets, and (floor
    ``verdicts``) what the rules judge of each (a bucket's: and its account's public access block), and its own
    tags (a Bedrock resource's). ``ids``: see :func:`read_once`."""
    a, region = read.account, read.region
    capture = document.get("DataCaptureConfig") or {}
    output = (document.get("AsyncInferenceConfig") or {}).get("OutputConfig") or {}
    logging = (document.get("loggingConfig") or {}).get("s3Config") or {}
    keys = [k for k in (document.get("KmsKeyId"), capture.get("KmsKeyId"), output.get("KmsKeyId"),
                        document.get("modelKmsKeyArn"), document.get("kmsKeyArn")) if k]
    buckets = [uri.split("/")[2] for uri in (capture.get("DestinationS3Uri"), output.get("S3OutputPath"),
                                             output.get("S3FailurePath")) if uri] + [logging.get("bucketName")]
    role = (document.get("ExecutionRoleArn") or "").rsplit("/")[-1]
    found = {_read(a, "kms", region, "describe_key", KeyId=key) for key in keys}
    found |= {_read(a, "s3", "", "get_bucket_encryption", Bucket=bucket) for bucket in buckets if bucket}
    if role:
        found.add(_read(a, "iam", "", "get_role", RoleName=role))
    if floor == "documents":
        return found
    for key in keys:
        found |= {_read(a, "kms", region, "get_key_rotation_status", KeyId=key),
                  _read(a, "kms", region, "list_resource_tags", KeyId=key)}
    for bucket in filter(None, buckets):
        found |= {_read(a, "s3", "", method, Bucket=bucket)
                  for method in ("get_bucket_location", "get_public_access_block", "get_bucket_tagging")}
        found.add(_read(a, "s3control", "", "get_public_access_block", AccountId=(ids or {}).get(a, a)))
    if role:
        found |= {_read(a, "iam", "", "list_role_policies", RoleName=role),
                  _read(a, "iam", "", "list_attached_role_policies", RoleName=role)}
    arn = document.get("modelArn") or document.get("guardrailArn")
    if read.service == "bedrock" and arn:
        found.add(_read(a, "bedrock", region, "list_tags_for_resource", resourceARN=arn))
    return found


def follow(read: Read, answer: Mapping[str, Any], floor: str, ids: Mapping[str, str] | None = None) -> set[Read]:
    """The reads ``answer`` to ``read`` names: a document's references, a role's inline policies, an attached
    managed policy, its default version."""
    a = read.account
    if read.method == "get_resources" and answer.get("PaginationToken"):
        return {_read(a, read.service, read.region, read.method, **{**dict(read.params),
                                                                   "PaginationToken": answer["PaginationToken"]})}
    if read.method == "list_role_policies":
        role = str(dict(read.params)["RoleName"])
        return {_read(a, "iam", "", "get_role_policy", RoleName=role, PolicyName=n) for n in answer["PolicyNames"]}
    if read.method == "list_attached_role_policies":
        return {_read(a, "iam", "", "get_policy", PolicyArn=p["PolicyArn"]) for p in answer["AttachedPolicies"]}
    if read.method == "get_policy":
        policy = answer["Policy"]
        return {_read(a, "iam", "", "get_policy_version", PolicyArn=policy["Arn"],
                      VersionId=policy["DefaultVersionId"])}
    if read.service in ("sagemaker", "bedrock") and read.method != "list_tags_for_resource":
        return references(read, answer, floor, ids)
    return set()


def read_once(pool: ThreadPoolExecutor, reach: Mapping[str, Clients], regions: Sequence[str],
              floor: str = "verdicts", ids: Mapping[str, str] | None = None) -> dict[str, int]:
    """The floor's reads in every account of ``reach`` (account -> its clients) and each of ``regions``; ``ids``:
    an account key's account id where the key is not one (the caller's account, keyed "")."""
    accounts = sorted(reach)
    lists = pool.map(lambda job: _listing(reach, *job), [(a, r, k) for a in accounts for r in regions for k in LISTS])
    frontier = {read for found in lists for read in found} | {_read(a, SETTINGS[0], r, SETTINGS[1])
                                                             for a in accounts for r in regions}
    if floor == "verdicts":
        from auditor.providers.aws.tags import RESOURCE_TYPES  # the resource types the scan reads tags of

        frontier |= {_read(a, "resourcegroupstaggingapi", r, "get_resources", ResourceTypeFilters=RESOURCE_TYPES,
                           ResourcesPerPage=100) for a in accounts for r in regions}
    counts = {"accounts": len(accounts), "reads": 0, "phases": 0}
    seen: set[Read] = set()
    while frontier:
        ordered = sorted(frontier)
        seen |= frontier
        answers = pool.map(lambda read: read.call(reach), ordered)
        named: set[Read] = set().union(*(follow(read, answer, floor, ids) for read, answer in zip(ordered, answers,
                                                                                                strict=True)))
        counts["reads"] += len(ordered)
        counts["phases"] += 1
        frontier = named - seen
    return counts

