"""Endpoint config swaps, shared by the SageMaker remediators.

Endpoint configs are immutable. A fix creates a copy of the config an endpoint runs, with the
missing setting added (a KMS key for the storage volumes or for data capture), then points the
endpoint at the copy with UpdateEndpoint (``RetainAllVariantProperties``: auto-scaled instance
counts and weights stay) and waits until it is InService again. The old config is kept: rollback
points the endpoint back at it, then deletes the copy when nothing uses it. The copy's name is
derived from the source config and the step, so a re-run (after a crash between the create and
the update) finds and reuses it, after checking it holds exactly what the fix would create.

The copy takes every field of DescribeEndpointConfig that CreateEndpointConfig accepts (read from
botocore's service model, so fields SageMaker adds later are carried over too), and the source's
tags (except ``aws:`` ones) plus ``auditor:copy-of`` naming the source.
"""

from __future__ import annotations

import hashlib
from typing import Any

from auditor.providers.aws.live import COPY_TAG, AwsContext
from auditor.remediate.model import StepFailed, StepRefused, same_json

MAX_NAME = 63
_NOT_COPIED = frozenset({"EndpointConfigName", "Tags"})


def derived_name(source: str, purpose: str, seed: str) -> str:
    """``SOURCE-PURPOSE-HASH``, at most 63 characters (SageMaker's limit), stable for the same inputs."""
    tail = f"-{purpose}-{hashlib.sha256(seed.encode()).hexdigest()[:8]}"
    return source[: MAX_NAME - len(tail)].rstrip("-") + tail


def copy_request(aws: AwsContext, region: str, source: str, new_name: str, *, volume_key: str | None = None,
                 capture_key: str | None = None) -> dict[str, Any]:
    """The CreateEndpointConfig arguments of the copy of ``source`` with the key(s) set."""
    described = aws.describe_endpoint_config(region, source)
    if described is None:
        raise StepFailed(f"endpoint config {source} does not exist in {region}")
    client = aws.clients.get("sagemaker", region)
    accepted = set(client.meta.service_model.operation_model("CreateEndpointConfig").input_shape.members)
    request: dict[str, Any] = {k: v for k, v in described.items()
                               if k in accepted and k not in _NOT_COPIED and v not in (None, {}, [])}
    request["EndpointConfigName"] = new_name
    if volume_key is not None:
        request["KmsKeyId"] = volume_key
    if capture_key is not None:
        capture = request.get("DataCaptureConfig")
        if not capture or not capture.get("EnableCapture"):
            raise StepRefused(f"endpoint config {source} does not capture data: there is nothing to encrypt")
        request["DataCaptureConfig"] = {**capture, "KmsKeyId": capture_key}
    tags = aws.call("sagemaker", region, "list_tags", ResourceArn=str(described["EndpointConfigArn"])).get("Tags", [])
    kept = [t for t in tags if not str(t.get("Key", "")).startswith(("aws:", COPY_TAG))]
    request["Tags"] = [*kept, {"Key": COPY_TAG, "Value": source}]
    return request


def create_or_reuse(aws: AwsContext, region: str, request: dict[str, Any]) -> tuple[str, bool]:
    """Create the copy (True) or reuse an identical one left by an earlier run (False); its ARN."""
    name = request["EndpointConfigName"]
    existing = aws.describe_endpoint_config(region, name)
    if existing is None:
        created = aws.call("sagemaker", region, "create_endpoint_config", **request)
        return str(created["EndpointConfigArn"]), True
    wanted = {k: v for k, v in request.items() if k not in _NOT_COPIED}
    found = {k: existing.get(k) for k in wanted}
    if not same_json(found, wanted):
        raise StepRefused(f"an endpoint config named {name} already exists in {region} with other settings: "
                          "not reusing it")
    return str(existing["EndpointConfigArn"]), False
