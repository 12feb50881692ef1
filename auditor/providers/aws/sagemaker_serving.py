"""What a SageMaker endpoint serves beyond its production variants' models: joins added after collection.

* **Container environments.** A model's containers (``PrimaryContainer``, ``Containers[]``) and an inference
  component's (``Specification.Container``, ``Specifications[].Container``) carry environment variables.
  :func:`container_environment` keeps, per variable, its container, name, whether it has a value and the kinds
  of secret the value looks like (:func:`auditor.secrets.secret_kinds`), never the value; the SageMaker
  collector calls it on the document as it is read and redacts the document at once
  (``related.environment_variables``).
* **Async inference output.** ``AsyncInferenceConfig.OutputConfig`` names a KMS key and the S3 output and
  failure paths. :func:`request_async_output` hands the key to the KMS collector (so the key rotation rule
  judges it, and it is one of the config's ``related.kms_keys``) and the buckets to the S3 collector (so the
  S3 rules judge them); :func:`join` links them as the config's ``related.async_output_buckets`` and, on the
  bucket, ``related.async_output_for`` (the S3 collector files every bucket user under ``capture_for``).
* **Inference components.** Listed and described as their declaration says (``resource_types``);
  :func:`join` links each to its endpoint (``related.endpoint``) and to the models it runs
  (``related.models``: null for a model that does not exist, unreadable when the models could not be
  listed), and each endpoint to its components (``related.inference_components``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from auditor.model import Resource
from auditor.providers.aws import resource_types as declared
from auditor.providers.aws.s3 import bucket_of
from auditor.providers.aws.session import Failure
from auditor.secrets import secret_kinds

MODEL = declared.MODEL.id
ENDPOINT = declared.ENDPOINT.id
ENDPOINT_CONFIG = declared.ENDPOINT_CONFIG.id
INFERENCE_COMPONENT = declared.INFERENCE_COMPONENT.id
BUCKET = declared.BUCKET.id

ASYNC_OUTPUT = "AsyncInferenceConfig.OutputConfig"
ASYNC_PATHS: tuple[str, ...] = ("S3OutputPath", "S3FailurePath")
_USER_MARK = "#" + ASYNC_OUTPUT + "."  # the S3 collector's user of an async output bucket: CONFIG_ARN#...Path

Link = tuple[Any, str | None]


class KeyRequests(Protocol):
    def request_key(self, reference: str, config_region: str, config_arn: str) -> None: ...


class BucketRequests(Protocol):
    def request_bucket(self, uri: str, config_arn: str) -> None: ...


class Scanned(Protocol):
    """What :func:`join` reads of a region's SageMaker scan."""

    @property
    def region(self) -> str: ...

    @property
    def list_failures(self) -> list[Failure]: ...


# --- container environments ---------------------------------------------------------------------------


def containers(resource_type: str, document: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A model's (or an inference component's) containers, each as ``(where, container)``: ``PrimaryContainer``,
    ``Containers[1]``, ... (the ``container`` of :func:`container_environment`'s variables)."""
    if resource_type == MODEL:
        found = [("PrimaryContainer", document.get("PrimaryContainer"))]
        listed = document.get("Containers")
        found += [(f"Containers[{i}]", c) for i, c in enumerate(listed if isinstance(listed, list) else [])]
        return found
    specification = document.get("Specification")
    found = [("Specification.Container",
              specification.get("Container") if isinstance(specification, Mapping) else None)]
    specifications = document.get("Specifications")
    for i, spec in enumerate(specifications if isinstance(specifications, list) else []):
        found.append((f"Specifications[{i}].Container", spec.get("Container") if isinstance(spec, Mapping) else None))
    return found


def container_environment(resource_type: str, document: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The environment variables of a model's or an inference component's containers, each
    ``{"container", "name", "has_value", "secret_kinds"}``: never the value. None for any other type."""
    if resource_type not in (MODEL, INFERENCE_COMPONENT):
        return None
    out: list[dict[str, Any]] = []
    for where, container in containers(resource_type, document):
        environment = container.get("Environment") if isinstance(container, Mapping) else None
        if not isinstance(environment, Mapping):
            continue
        for name, value in sorted(environment.items(), key=lambda kv: str(kv[0])):
            out.append({"container": where, "name": str(name), "has_value": value is not None and value != "",
                        "secret_kinds": list(secret_kinds(value))})
    return out


# --- async inference output ---------------------------------------------------------------------------


def _output_config(document: Mapping[str, Any]) -> Mapping[str, Any]:
    config = document.get("AsyncInferenceConfig")
    output = config.get("OutputConfig") if isinstance(config, Mapping) else None
    return output if isinstance(output, Mapping) else {}


def bucket_user(config_arn: str, path: str) -> str:
    """How the S3 collector knows one async output path of a config (it keeps one bucket a user)."""
    return f"{config_arn}{_USER_MARK}{path}"


def request_async_output(region: str, arn: str, document: Mapping[str, Any], kms: KeyRequests,
                         s3: BucketRequests) -> None:
    """Hand a config's async inference output key and buckets to the KMS and S3 collectors."""
    output = _output_config(document)
    if output.get("KmsKeyId"):
        kms.request_key(str(output["KmsKeyId"]), region, arn)
    for path in ASYNC_PATHS:
        uri = output.get(path)
        if uri and bucket_of(str(uri)) is not None:
            s3.request_bucket(str(uri), bucket_user(arn, path))


def _async_buckets(config: Resource, bucket_link: Callable[[str], Link]) -> tuple[list[str | None], str | None]:
    output = _output_config(config.document)
    arns: list[str | None] = []
    reasons: list[str] = []
    for path in ASYNC_PATHS:
        uri = output.get(path)
        if not uri:
            continue
        if bucket_of(str(uri)) is None:
            reasons.append(f"cannot parse {ASYNC_OUTPUT}.{path} '{uri}'")
            continue
        arn, reason = bucket_link(bucket_user(config.id, path))
        if reason:
            reasons.append(reason)
        elif arn not in arns:
            arns.append(arn)
    return arns, "; ".join(reasons) or None


# --- joins ----------------------------------------------------------------------------------------------


def _failed(scanners: Iterable[Scanned]) -> dict[tuple[str, str], str]:
    """(region, list operation) -> why that listing failed."""
    out: dict[tuple[str, str], str] = {}
    for scanner in scanners:
        for failure in scanner.list_failures:
            out.setdefault((scanner.region, failure.operation), failure.reason)
    return out


def _model_names(document: Mapping[str, Any]) -> list[str]:
    specs = [document.get("Specification"), *(document.get("Specifications") or [])]
    names = [str(s["ModelName"]) for s in specs if isinstance(s, Mapping) and s.get("ModelName")]
    return list(dict.fromkeys(names))


def join(resources: Sequence[Resource], scanners: Iterable[Scanned],
         bucket_link: Callable[[str], Link]) -> list[Resource]:
    """``resources`` with the links this module adds (see the module); every other resource as it was."""
    failed = _failed(scanners)
    by_name: dict[tuple[str, str, str], Resource] = {(r.type, r.region, r.name): r for r in resources}
    components: dict[tuple[str, str], list[str]] = {}  # (region, endpoint name) -> component ARNs
    undescribed: dict[str, list[str]] = {}  # region -> components whose endpoint is unknown
    out: list[Resource] = []
    for r in resources:
        if r.type == INFERENCE_COMPONENT:
            if "*" in r.unreadable:
                undescribed.setdefault(r.region, []).append(r.id)
                out.append(r)
                continue
            endpoint_name = str(r.document.get("EndpointName") or "")
            components.setdefault((r.region, endpoint_name), []).append(r.id)
            related, unreadable = dict(r.related), dict(r.unreadable)
            endpoint = by_name.get((ENDPOINT, r.region, endpoint_name))
            related["endpoint"] = endpoint.id if endpoint else None
            if endpoint is None and (r.region, "ListEndpoints") in failed:
                unreadable["related.endpoint"] = failed[r.region, "ListEndpoints"]
            models: list[str | None] = []
            for name in _model_names(r.document):
                model = by_name.get((MODEL, r.region, name))
                models.append(model.id if model else None)
                if model is None and (r.region, "ListModels") in failed:
                    unreadable["related.models"] = failed[r.region, "ListModels"]
            related["models"] = models
            out.append(replace(r, related=related, unreadable=unreadable))
        elif r.type == ENDPOINT_CONFIG and "*" not in r.unreadable:
            related, unreadable = dict(r.related), dict(r.unreadable)
            related["async_output_buckets"], reason = _async_buckets(r, bucket_link)
            if reason:
                unreadable["related.async_output_buckets"] = reason
            out.append(replace(r, related=related, unreadable=unreadable))
        elif r.type == BUCKET:
            users = r.related.get("capture_for") or []
            if any(_USER_MARK in u for u in users):
                related = {**r.related, "capture_for": [u for u in users if _USER_MARK not in u],
                           "async_output_for": sorted({u.split(_USER_MARK, 1)[0] for u in users if _USER_MARK in u})}
                out.append(replace(r, related=related))
            else:
                out.append(r)
        else:
            out.append(r)
    return [_with_components(r, components, undescribed, failed) if r.type == ENDPOINT else r for r in out]


def _with_components(endpoint: Resource, components: Mapping[tuple[str, str], list[str]],
                     undescribed: Mapping[str, list[str]], failed: Mapping[tuple[str, str], str]) -> Resource:
    related = {**endpoint.related, "inference_components": sorted(components.get((endpoint.region, endpoint.name), []))}
    unreadable = dict(endpoint.unreadable)
    if (endpoint.region, "ListInferenceComponents") in failed:
        unreadable["related.inference_components"] = failed[endpoint.region, "ListInferenceComponents"]
    elif undescribed.get(endpoint.region):
        first = undescribed[endpoint.region]
        more = f" and {len(first) - 1} more" if len(first) > 1 else ""
        unreadable["related.inference_components"] = (
            f"DescribeInferenceComponent failed for {first[0]}{more}: which endpoint they serve is unknown")
    return replace(endpoint, related=related, unreadable=unreadable)
