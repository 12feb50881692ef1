"""Every AWS service read the generic way: one :class:`~auditor.providers.aws.regional.RegionalCollector` per
(coverage service, region), for each service with types declared with ``paging`` or ``settings`` that has no
collector of its own (SageMaker's joins are :mod:`auditor.providers.aws.sagemaker`).

A service is read in the scan's regions where botocore's endpoint data offers it; in any other region of the
scan nothing is called and its coverage row says why (unknown, not empty). A service may have :class:`Joins`:
what its documents reference (keys, buckets) is requested from the other collectors as soon as a document is
described, and joined into ``related`` once every read has finished.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from auditor.model import CoverageRow, Resource
from auditor.providers.aws.regional import Item, RegionalCollector, generic_services, kinds, offered
from auditor.providers.aws.session import AwsClients
from auditor.providers.declared import ResourceType, ids
from auditor.providers.pool import TaskPool


class Joins(Protocol):
    """What a service's collector adds to the generic reads: requests on each document, links at the end."""

    def on_document(self, resource_type: str, region: str, arn: str,
                    document: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """Called once a resource is described (from a pool thread); a document returned replaces the one read."""

    def related(self, resource_type: str, item: Item) -> tuple[dict[str, Any], dict[str, str]]:
        """(related, unreadable) of a described resource, after the pool has drained."""


def not_offered(service: str, region: str) -> str:
    from botocore import __version__

    return (f"not collected: {service} is not offered in {region} (botocore {__version__}'s endpoint data "
            f"lists no {service} endpoint there), so nothing was read")


class GenericServices:
    def __init__(self, types: tuple[ResourceType, ...], own: Iterable[str], clients: AwsClients, pool: TaskPool,
                 account: str, partition: str, regions: tuple[str, ...],
                 joins: Mapping[str, Joins] | None = None) -> None:
        self._types = types
        self._account = account
        self._partition = partition
        self._regions = regions
        self._joins = dict(joins or {})
        self.collectors: list[RegionalCollector] = []
        self.skipped: dict[str, tuple[str, ...]] = {}  # service -> scan regions where it is not offered
        for service in generic_services(types, own):
            service_kinds = kinds(types, service)
            where = offered(clients, (k.client for k in service_kinds), partition)
            self.skipped[service] = tuple(r for r in regions if r not in where)
            joins_ = self._joins.get(service)
            callback = joins_.on_document if joins_ is not None else None
            self.collectors.extend(RegionalCollector(service, region, account, partition, clients, pool,
                                                     service_kinds, callback)
                                   for region in regions if region in where)

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(self.skipped)

    def start(self) -> None:
        for collector in self.collectors:
            collector.start()

    # --- results (after the pool has drained) --------------------------------------------------

    def resources(self, tags: Mapping[str, Mapping[str, Mapping[str, str]]],
                  tags_failed: Mapping[str, str]) -> list[Resource]:
        """Every resource read, joined when its service has joins (``tags``/``tags_failed``: the tagging
        API's, per region)."""
        out: list[Resource] = []
        for collector in self.collectors:
            region_tags, failed = tags.get(collector.region, {}), tags_failed.get(collector.region)
            joins = self._joins.get(collector.coverage)
            if joins is None:
                out.extend(collector.plain_resources(ids(self._types, collector.coverage), region_tags, failed))
                continue
            for kind in collector.kinds:
                own = kind.tags is not None
                for item in collector.present(kind.type).values():
                    related, unreadable = joins.related(kind.type, item) if item.document is not None else ({}, {})
                    out.append(collector.resource(kind.type, item, related, unreadable,
                                                  None if own else region_tags.get(item.arn, {}),
                                                  None if own else failed))
        return out

    def dependent_errors(self, service: str) -> dict[str, str]:
        """Per region read, why what ``service``'s resources there reference (keys, buckets) is not all known: its
        listing failed, or some of its resources could not be described."""
        out: dict[str, str] = {}
        for c in self.collectors:
            if c.coverage != service:
                continue
            reasons = [f"not collected: {service} inventory of {c.region} failed: {c.failed}"] if c.failed else []
            for kind in c.kinds:
                unread = c.unreadable(kind.type)
                if unread:
                    more = f" and {len(unread) - 1} more" if len(unread) > 1 else ""
                    reasons.append(f"not collected: {service} could not describe {len(unread)} {kind.type} in "
                                   f"{c.region}, so what they reference is unknown: {unread[0][0]}{more}: "
                                   f"{unread[0][1]}")
            if reasons:
                out[c.region] = "; ".join(reasons)
        return out

    def coverage(self, count: Callable[[str, str], int]) -> list[CoverageRow]:
        """One row per service and scan region (``count(resource_type, region)``: resources found)."""
        rows: list[CoverageRow] = []
        for collector in self.collectors:
            rows.append(self._row(collector.coverage, collector.region, count, collector.failed))
        for service, regions in self.skipped.items():
            rows.extend(self._row(service, region, count, not_offered(service, region)) for region in regions)
        return rows

    def _row(self, service: str, region: str, count: Callable[[str, str], int], error: str | None) -> CoverageRow:
        return row(self._types, service, self._account, self._partition, region,
                   sum(count(t, region) for t in ids(self._types, service)), error)


def row(types: tuple[ResourceType, ...], service: str, account: str, partition: str, region: str,
        resources: int, error: str | None) -> CoverageRow:
    """The coverage row of ``service`` in ``region``."""
    return CoverageRow(provider="aws", account=account, region=region, service=service,
                       scope_id=f"arn:{partition}:{service}:{region}:{account}:*",
                       resource_types=ids(types, service), resources=resources, error=error)


def not_collected(types: tuple[ResourceType, ...], own: Iterable[str], account: str, partition: str,
                  regions: Iterable[str], error: str) -> list[CoverageRow]:
    """The rows of a scan that could not start: every generic service in every region, with ``error``."""
    return [row(types, service, account, partition, region, 0, error)
            for service in generic_services(types, own) for region in regions]
