"""SageMaker endpoints, endpoint configs and models of one region, joined to each other and to what they use.

The generic regional collector (:mod:`auditor.providers.aws.regional`) lists and describes every SageMaker
type declared with ``paging`` in :mod:`auditor.providers.aws.resource_types` (endpoints, endpoint configs,
models) in parallel; each page's items are described as soon as the page arrives. This module joins them: a
declared type it joins nothing to becomes a resource of its own document and tags. Every described config
and model is handed to a callback so the KMS, S3 and IAM collectors can start on what it references while
the rest of the region is still being read.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping
from typing import Any

from auditor.model import Resource
from auditor.providers.aws import resource_types as declared
from auditor.providers.aws.regional import Item, RegionalCollector, kinds
from auditor.providers.aws.sagemaker_serving import container_environment
from auditor.providers.aws.session import AwsClients, Failure
from auditor.providers.declared import ids
from auditor.providers.pool import TaskPool
from auditor.redaction import redact_document

SERVICE = "sagemaker"  # the coverage row of every type declared under it
ENDPOINT = declared.ENDPOINT.id
ENDPOINT_CONFIG = declared.ENDPOINT_CONFIG.id
MODEL = declared.MODEL.id
RESOURCE_TYPES: tuple[str, ...] = ids(declared.TYPES, SERVICE)

# A link: (value, unreadable reason). The reason is set when the value could not be known.
Link = tuple[Any, str | None]
DocumentCallback = Callable[[str, str, Mapping[str, Any]], None]  # (region, resource ARN, document)


class SageMakerRegion:
    def __init__(self, region: str, account: str, clients: AwsClients, pool: TaskPool,
                 on_config: DocumentCallback, on_model: DocumentCallback, partition: str = "aws") -> None:
        self.region = region
        self.account = account
        self._on_config = on_config
        self._on_model = on_model
        self._reader = RegionalCollector(SERVICE, region, account, partition, clients, pool,
                                         kinds(declared.TYPES, SERVICE), self._described)
        self._tags: Mapping[str, Mapping[str, str]] = {}
        self._tags_failure: str | None = None
        self._environment: dict[str, list[dict[str, Any]]] = {}  # ARN -> container variables, no values
        self._lock = threading.Lock()

    @property
    def items(self) -> dict[str, dict[str, Item]]:
        return self._reader.items

    @property
    def list_failures(self) -> list[Failure]:
        return self._reader.list_failures

    @property
    def lane(self) -> tuple[str, str]:
        return self._reader.lane

    def start(self) -> None:
        self._reader.start()

    def _described(self, resource_type: str, region: str, arn: str,
                   document: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """Keep the names and secret kinds of a model's container variables, then redact their values (the
        document kept is the redacted one); hand configs and models to the collectors of what they reference."""
        environment = container_environment(resource_type, document)
        if environment is not None:
            with self._lock:
                self._environment[arn] = environment
            document = redact_document(document)
        if resource_type == ENDPOINT_CONFIG:
            self._on_config(region, arn, document)
        elif resource_type == MODEL:
            self._on_model(region, arn, document)
        return document if environment is not None else None

    # --- results (after the pool has drained) --------------------------------------------------

    @property
    def failed(self) -> str | None:
        """Why this region's inventory is incomplete, or None."""
        return self._reader.failed

    def unreadable(self, resource_type: str) -> list[tuple[str, str]]:
        """(ARN, reason) of listed resources of this type whose describe failed."""
        return self._reader.unreadable(resource_type)

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

        joined = (ENDPOINT, ENDPOINT_CONFIG, MODEL)  # any other declared type: its document and tags
        for plain in self._reader.plain_resources([t for t in RESOURCE_TYPES if t not in joined], self._tags,
                                                  self._tags_failure):
            environment = self._environment.get(plain.id)  # an inference component's own containers
            out.append(plain if environment is None else
                       dataclasses.replace(plain, related={**plain.related, "environment_variables": environment}))
        return out

    def _resource(self, resource_type: str, item: Item, related: dict[str, Any],
                  unreadable: dict[str, str]) -> Resource:
        environment = self._environment.get(item.arn)
        if environment is not None:
            related["environment_variables"] = environment
        return self._reader.resource(resource_type, item, related, unreadable, self._tags.get(item.arn, {}),
                                     self._tags_failure)
