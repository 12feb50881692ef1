"""SageMaker endpoints, endpoint configs and models of one region.

One listing per SageMaker type declared with ``paging`` in :mod:`auditor.providers.aws.resource_types`
(endpoints, endpoint configs, models) runs in parallel; each page's items are described as soon as the page
arrives. A declared type this module joins nothing to becomes a resource of its own document and tags.
Every described config and model is handed to a callback so the KMS, S3 and IAM collectors can
start on what it references while the rest of the region is still being read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Any

from auditor.model import Resource
from auditor.providers.aws import resource_types as declared
from auditor.providers.aws.sagemaker_serving import container_environment
from auditor.providers.aws.session import AwsCallError, AwsClients, Failure, call, pages
from auditor.providers.declared import ids
from auditor.providers.pool import TaskPool
from auditor.redaction import redact_document, redact_tags

SERVICE = "sagemaker"  # the coverage row of every type declared under it
ENDPOINT = declared.ENDPOINT.id
ENDPOINT_CONFIG = declared.ENDPOINT_CONFIG.id
MODEL = declared.MODEL.id
RESOURCE_TYPES: tuple[str, ...] = ids(declared.TYPES, SERVICE)

PAGE_SIZE = 100  # the maximum these List APIs accept; AWS defaults to 10

# A link: (value, unreadable reason). The reason is set when the value could not be known.
Link = tuple[Any, str | None]
DocumentCallback = Callable[[str, str, Mapping[str, Any]], None]  # (region, resource ARN, document)


@dataclass
class _Item:
    name: str
    arn: str
    document: dict[str, Any] | None = None
    failure: Failure | None = None
    gone: bool = False  # listed, then deleted before it could be described
    environment: list[dict[str, Any]] | None = None  # names and secret kinds of container variables, no values


@dataclass(frozen=True)
class _Kind:
    type: str
    list_method: str
    list_key: str
    name_key: str
    arn_key: str
    describe_method: str
    name_param: str


def _method(call: str) -> str:
    """The boto3 client method of ``sagemaker:ListEndpointConfigs``: ``list_endpoint_configs``."""
    from botocore import xform_name

    return str(xform_name(call.split(":", 1)[1]))


@cache
def _kinds() -> tuple[_Kind, ...]:
    """One kind per SageMaker type declared with paging, from its declaration (see ``resource_types``)."""
    return tuple(
        _Kind(t.id, _method(t.list[0]), t.paging.result_key, t.paging.name_key, t.paging.id_key,
              _method(t.describe[0]), t.paging.name_param)
        for t in declared.TYPES if t.coverage == SERVICE and t.paging is not None)


@dataclass
class SageMakerRegion:
    region: str
    account: str
    clients: AwsClients
    pool: TaskPool
    on_config: DocumentCallback
    on_model: DocumentCallback
    items: dict[str, dict[str, _Item]] = field(default_factory=lambda: {t: {} for t in RESOURCE_TYPES})
    list_failures: list[Failure] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    _tags_failure: str | None = None

    @property
    def lane(self) -> tuple[str, str]:
        return ("sagemaker", self.region)

    def start(self) -> None:
        self.pool.submit_many(self.lane, [partial(self._list, kind) for kind in _kinds()])

    # --- collection ----------------------------------------------------------------------------

    def _list(self, kind: _Kind) -> None:
        store = self.items[kind.type]
        try:
            client = self.clients.get("sagemaker", self.region)
            for page in pages(client, kind.list_method, PaginationConfig={"PageSize": PAGE_SIZE}):
                new: list[_Item] = []
                with self._lock:
                    for entry in page.get(kind.list_key, []):
                        name = str(entry[kind.name_key])
                        if name not in store:
                            store[name] = item = _Item(name=name, arn=str(entry[kind.arn_key]))
                            new.append(item)
                self.pool.submit_many(self.lane, [partial(self._describe, kind, item) for item in new])
        except AwsCallError as exc:
            with self._lock:
                self.list_failures.append(exc.failure)

    def _describe(self, kind: _Kind, item: _Item) -> None:
        try:
            client = self.clients.get("sagemaker", self.region)
            document = call(client, kind.describe_method, **{kind.name_param: item.name})
        except AwsCallError as exc:
            if exc.failure.kind == "not_found":
                item.gone = True
            else:
                item.failure = exc.failure
            return
        environment = container_environment(kind.type, document)
        if environment is not None:  # container variables: their names and secret kinds, then the values go
            item.environment = environment
            document = redact_document(document)
        item.document = document
        if kind.type == ENDPOINT_CONFIG:
            self.on_config(self.region, item.arn, document)
        elif kind.type == MODEL:
            self.on_model(self.region, item.arn, document)

    # --- results (after the pool has drained) --------------------------------------------------

    @property
    def failed(self) -> str | None:
        """Why this region's inventory is incomplete, or None."""
        if not self.list_failures:
            return None
        return "; ".join(dict.fromkeys(f.reason for f in self.list_failures))

    def unreadable(self, resource_type: str) -> list[tuple[str, str]]:
        """(ARN, reason) of listed resources of this type whose describe failed."""
        return sorted((i.arn, i.failure.reason) for i in self.items[resource_type].values() if i.failure)

    def resources(self, kms_keys: Callable[[str], Link], capture_bucket: Callable[[str], Link],
                  execution_role: Callable[[str], Link], tags: Mapping[str, Mapping[str, str]],
                  tags_failure: str | None = None) -> list[Resource]:
        """Build resources, with ``related`` joined from this region and the other collectors.

        ``kms_keys(config_arn)``, ``capture_bucket(config_arn)`` and ``execution_role(role_arn)``
        give each link and, when it could not be known, the reason. ``tags`` maps ARNs to tags
        (untagged resources are absent); ``tags_failure`` says why the region's tags are unknown.
        """
        self._tags, self._tags_failure = tags, tags_failure
        endpoints = {n: i for n, i in self.items[ENDPOINT].items() if not i.gone}
        configs = {n: i for n, i in self.items[ENDPOINT_CONFIG].items() if not i.gone}
        models = {n: i for n, i in self.items[MODEL].items() if not i.gone}
        failed: dict[str, str] = {}
        for failure in self.list_failures:
            failed.setdefault(failure.operation, failure.reason)

        users: dict[str, list[str]] = {}
        out: list[Resource] = []
        for item in endpoints.values():
            related: dict[str, Any] = {}
            unreadable: dict[str, str] = {}
            if item.document is None:
                unreadable["*"] = item.failure.reason if item.failure else "not described"
            else:
                config_name = str(item.document.get("EndpointConfigName", ""))
                config = configs.get(config_name)
                related["endpoint_config"] = config.arn if config else None
                if config:
                    users.setdefault(config_name, []).append(item.arn)
                elif "ListEndpointConfigs" in failed:
                    unreadable["related.endpoint_config"] = failed["ListEndpointConfigs"]
            out.append(self._resource(ENDPOINT, item, related, unreadable))

        for item in configs.values():
            related = {"endpoints": sorted(users.get(item.name, []))}
            unreadable = {}
            if "ListEndpoints" in failed:
                unreadable["related.endpoints"] = failed["ListEndpoints"]
            if item.document is None:
                unreadable["*"] = item.failure.reason if item.failure else "not described"
            else:
                variants = [*(item.document.get("ProductionVariants") or []),
                            *(item.document.get("ShadowProductionVariants") or [])]
                model_links: list[str | None] = []
                for variant in variants:
                    if not variant.get("ModelName"):  # a variant inference components run on names no model
                        continue
                    model = models.get(str(variant.get("ModelName", "")))
                    model_links.append(model.arn if model else None)
                    if model is None and "ListModels" in failed:
                        unreadable["related.models"] = failed["ListModels"]
                related["models"] = model_links
                links = (("kms_keys", kms_keys(item.arn)), ("capture_bucket", capture_bucket(item.arn)))
                for key, link in links:
                    related[key] = link[0]
                    if link[1]:
                        unreadable[f"related.{key}"] = link[1]
            out.append(self._resource(ENDPOINT_CONFIG, item, related, unreadable))

        for item in models.values():
            related = {}
            unreadable = {}
            if item.document is None:
                unreadable["*"] = item.failure.reason if item.failure else "not described"
            else:
                role_arn = item.document.get("ExecutionRoleArn")
                role, reason = execution_role(str(role_arn)) if role_arn else (None, None)
                related["execution_role"] = role
                if reason:
                    unreadable["related.execution_role"] = reason
            out.append(self._resource(MODEL, item, related, unreadable))

        for resource_type in RESOURCE_TYPES:  # a type declared without joins: its document and tags
            if resource_type not in (ENDPOINT, ENDPOINT_CONFIG, MODEL):
                out.extend(self._resource(resource_type, item, {}, {} if item.document is not None else {
                    "*": item.failure.reason if item.failure else "not described"})
                    for item in self.items[resource_type].values() if not item.gone)
        return out

    def _resource(self, resource_type: str, item: _Item, related: dict[str, Any],
                  unreadable: dict[str, str]) -> Resource:
        if self._tags_failure:
            unreadable["tags"] = self._tags_failure
        if item.environment is not None:
            related["environment_variables"] = item.environment
        return Resource(
            id=item.arn, type=resource_type, provider="aws", account=self.account, region=self.region,
            name=item.name, document=redact_document(item.document or {}), related=related, unreadable=unreadable,
            tags=redact_tags(self._tags.get(item.arn, {})),
        )
