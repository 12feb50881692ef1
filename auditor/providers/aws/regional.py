"""The generic regional collector: every AWS type declared with ``paging`` or ``settings``, of any service.

For one coverage row (a declared ``coverage`` service) and one region, :class:`RegionalCollector` runs one
listing per type declared with ``paging`` (:mod:`auditor.providers.aws.resource_types`); each page's items
are described as soon as the page arrives, and their tags read when the type declares a per-resource tag
call (``Paging.tags``). A type declared with ``settings`` is read once per region by its first describe
call. Every described document is handed to a callback, so other collectors (KMS, S3, IAM) can start on
what it references while the rest of the region is still being read. A type nothing joins anything to
becomes a resource of its document and tags (:meth:`RegionalCollector.plain_resources`); SageMaker's
collector builds its own joined resources on the same items.

Which regions a service is read in is decided from botocore's endpoint data (:func:`offered`): a region
where the service is not offered is not called, and its coverage row says so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from auditor.model import Resource
from auditor.providers.aws.session import AwsCallError, AwsClients, Failure, call, pages
from auditor.providers.declared import ResourceType, Tags
from auditor.providers.pool import TaskPool
from auditor.redaction import redact_document, redact_tags

# (resource type, region, resource ARN, document) of every resource described; a document it returns replaces the
# one read (a collector that must drop values as soon as they are read, e.g. container environment values).
DocumentCallback = Callable[[str, str, str, Mapping[str, Any]], Mapping[str, Any] | None]


@dataclass
class Item:
    name: str
    arn: str
    param: str = ""  # what the describe call is given
    document: dict[str, Any] | None = None
    failure: Failure | None = None
    gone: bool = False  # listed, then deleted before it could be described
    tags: dict[str, str] | None = None
    tags_failure: Failure | None = None


@dataclass(frozen=True)
class Kind:
    """One declared type, as the calls its collector makes (boto3 method names)."""

    type: str
    client: str  # botocore's service name
    list_method: str
    list_key: str
    name_key: str
    arn_key: str
    param_key: str
    describe_method: str
    name_param: str
    page_size: int
    tags: Tags | None = None
    settings: str = ""  # the ARN's resource part of a settings type


def method(call_name: str) -> str:
    """The boto3 client method of ``sagemaker:ListEndpointConfigs``: ``list_endpoint_configs``."""
    from botocore import xform_name

    return str(xform_name(call_name.split(":", 1)[1]))


def service_of(call_name: str) -> str:
    return call_name.split(":", 1)[0]


def kinds(types: Iterable[ResourceType], coverage: str) -> tuple[Kind, ...]:
    """One kind per type counted in ``coverage`` that is declared with ``paging`` or ``settings``."""
    out: list[Kind] = []
    for t in types:
        if t.coverage != coverage:
            continue
        if t.paging is not None:
            p = t.paging
            out.append(Kind(t.id, service_of(t.list[0]), method(t.list[0]), p.result_key, p.name_key, p.id_key,
                            p.param_key or p.name_key, method(t.describe[0]), p.name_param, p.page_size, p.tags))
        elif t.settings is not None:
            out.append(Kind(t.id, service_of(t.describe[0]), "", "", "", "", "", method(t.describe[0]), "", 0,
                            settings=t.settings.resource))
    return tuple(out)


def generic_services(types: Iterable[ResourceType], own: Iterable[str] = ()) -> tuple[str, ...]:
    """The coverage services with a type declared with ``paging`` or ``settings``, but those in ``own`` (read
    by a collector of their own), in declaration order."""
    skip = set(own)
    return tuple(dict.fromkeys(t.coverage for t in types if (t.paging is not None or t.settings is not None)
                               and t.coverage not in skip))


def offered(clients: AwsClients, services: Iterable[str], partition: str) -> frozenset[str]:
    """The regions botocore's endpoint data lists for every one of ``services`` in ``partition``."""
    regions: set[str] | None = None
    for service in dict.fromkeys(services):
        found = set(clients.session.get_available_regions(service, partition_name=partition))
        regions = found if regions is None else regions & found
    return frozenset(regions or ())


class RegionalCollector:
    """The declared types of one coverage service in one region: listed, described, tagged."""

    def __init__(self, coverage: str, region: str, account: str, partition: str, clients: AwsClients,
                 pool: TaskPool, kinds_: tuple[Kind, ...], on_document: DocumentCallback | None = None) -> None:
        self.coverage = coverage
        self.region = region
        self.account = account
        self.partition = partition
        self.kinds = kinds_
        self._clients = clients
        self._pool = pool
        self._on_document = on_document
        self.items: dict[str, dict[str, Item]] = {k.type: {} for k in kinds_}
        self.list_failures: list[Failure] = []
        self._lock = threading.Lock()

    @property
    def lane(self) -> tuple[str, str]:
        return (self.coverage, self.region)

    def start(self) -> None:
        tasks: list[Callable[[], None]] = []
        for kind in self.kinds:
            if kind.settings:
                arn = f"arn:{self.partition}:{kind.client}:{self.region}:{self.account}:{kind.settings}"
                tasks.append(partial(self._describe, kind, Item(name=kind.settings, arn=arn)))
            else:
                tasks.append(partial(self._list, kind))
        self._pool.submit_many(self.lane, tasks)

    # --- collection ----------------------------------------------------------------------------

    def _list(self, kind: Kind) -> None:
        store = self.items[kind.type]
        try:
            client = self._clients.get(kind.client, self.region)
            for page in pages(client, kind.list_method, PaginationConfig={"PageSize": kind.page_size}):
                new: list[Item] = []
                with self._lock:
                    for entry in page.get(kind.list_key, []):
                        name = str(entry[kind.name_key])
                        if name not in store:
                            store[name] = item = Item(name=name, arn=str(entry[kind.arn_key]),
                                                      param=str(entry[kind.param_key]))
                            new.append(item)
                self._pool.submit_many(self.lane, [partial(self._describe, kind, item) for item in new])
        except AwsCallError as exc:
            with self._lock:
                self.list_failures.append(exc.failure)

    def _describe(self, kind: Kind, item: Item) -> None:
        try:
            client = self._clients.get(kind.client, self.region)
            arguments = {kind.name_param: item.param} if kind.name_param else {}
            document = call(client, kind.describe_method, **arguments)
        except AwsCallError as exc:
            if kind.settings:  # the region's settings are unknown: a failure of the scope, as a listing's
                with self._lock:
                    self.list_failures.append(exc.failure)
            elif exc.failure.kind == "not_found":
                item.gone = True
            else:
                item.failure = exc.failure
            return
        if self._on_document is not None:
            replaced = self._on_document(kind.type, self.region, item.arn, document)
            if replaced is not None:
                document = dict(replaced)
        item.document = document
        if kind.settings:  # a settings resource exists once it has been read
            with self._lock:
                self.items[kind.type][item.name] = item
        if kind.tags is not None:
            self._pool.submit(self.lane, partial(self._tags, kind.tags, item))

    def _tags(self, spec: Tags, item: Item) -> None:
        tags: dict[str, str] = {}
        try:
            client = self._clients.get(service_of(spec.call), self.region)
            answer = call(client, method(spec.call), **{spec.arn_param: item.arn}).get(spec.result_key) or {}
        except AwsCallError as exc:
            item.tags_failure = exc.failure
            return
        if isinstance(answer, Mapping):
            tags = {str(k): str(v) for k, v in answer.items()}
        else:
            tags = {str(t[spec.key_field]): str(t.get(spec.value_field, "")) for t in answer}
        item.tags = tags

    # --- results (after the pool has drained) --------------------------------------------------

    @property
    def failed(self) -> str | None:
        """Why this region's inventory is incomplete, or None."""
        if not self.list_failures:
            return None
        return "; ".join(dict.fromkeys(f.reason for f in self.list_failures))

    def present(self, resource_type: str) -> dict[str, Item]:
        """The items of ``resource_type`` still there (not deleted between listing and describing)."""
        return {n: i for n, i in self.items[resource_type].items() if not i.gone}

    def unreadable(self, resource_type: str) -> list[tuple[str, str]]:
        """(ARN, reason) of listed resources of this type whose describe failed."""
        return sorted((i.arn, i.failure.reason) for i in self.items[resource_type].values() if i.failure)

    def resource(self, resource_type: str, item: Item, related: dict[str, Any], unreadable: dict[str, str],
                 tags: Mapping[str, str] | None = None, tags_failure: str | None = None) -> Resource:
        """The resource of ``item``: its redacted document, ``related`` and tags (its own tag read's, else
        ``tags``); ``unreadable`` gains ``*`` when it was not described and ``tags`` when they are unknown."""
        if item.document is None and "*" not in unreadable:
            unreadable["*"] = item.failure.reason if item.failure else "not described"
        if item.tags_failure:
            tags_failure = item.tags_failure.reason
        if tags_failure:
            unreadable["tags"] = tags_failure
        return Resource(
            id=item.arn, type=resource_type, provider="aws", account=self.account, region=self.region,
            name=item.name, document=redact_document(item.document or {}), related=related, unreadable=unreadable,
            tags=redact_tags(item.tags if item.tags is not None else (tags or {})),
        )

    def plain_resources(self, types: Iterable[str], tags: Mapping[str, Mapping[str, str]],
                        tags_failure: str | None = None) -> list[Resource]:
        """The resources of ``types`` as they were read, with nothing joined: document and tags (``tags``
        maps ARNs to the tagging API's tags; ``tags_failure`` says why the region's are unknown)."""
        out: list[Resource] = []
        by_type = {k.type: k for k in self.kinds}
        for resource_type in types:
            own = by_type[resource_type].tags is not None
            for item in self.present(resource_type).values():
                out.append(self.resource(resource_type, item, {}, {}, None if own else tags.get(item.arn, {}),
                                         None if own else tags_failure))
        return out
