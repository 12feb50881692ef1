"""What the per-subscription collectors (Machine Learning, API Management, AI Services) share.

Each of :class:`~auditor.providers.azure.ml.MlSubscription`, :class:`~auditor.providers.azure.apim.ApimSubscription`
and :class:`~auditor.providers.azure.ai.AiSubscription` holds a :class:`SubscriptionScan`: the subscription's lane
on the scan's pool, the lock guarding what the workers add, the top-level list (workspaces, services, accounts)
read as raw Resource Manager JSON page by page with its errors kept as data, the :class:`Resource` a document
becomes, and the coverage rows: the subscription's row and one children row per listed parent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from auditor.identity import resource_key
from auditor.model import CoverageRow, Resource
from auditor.providers.azure.arm import MAX_ROW_ERROR, add_first_seen, one_line, read_pages, resource_name
from auditor.providers.pool import TaskPool
from auditor.regions import canonical_azure_location

Page = list[dict[str, Any]]
Pages = Callable[[str, str], Iterator[Page]]  # (collection path, operation) -> the pages of the list


@dataclass
class Parent:
    """A listed top-level resource (a workspace, a service, an account) and why its child lists failed."""

    id: str
    name: str
    location: str
    document: dict[str, Any]
    failures: list[str] = field(default_factory=list)


P = TypeVar("P", bound=Parent)


@dataclass(frozen=True)
class Listing:
    """What a collector lists at the top of a subscription, and how its coverage rows read."""

    lane: str  # the pool lane's name, e.g. "azure-ml"
    collection: str  # the list below /subscriptions/{id}/providers/, e.g. "Microsoft.X/workspaces"
    what: str  # named in the list's operation and failure, e.g. "workspaces"
    parent_type: str
    service: str  # the subscription row's service
    resource_types: tuple[str, ...]  # the subscription row's types when the top-level list failed
    unknown: str  # what else the failure hides, e.g. "the children of its workspaces are not known either"
    children_service: str  # the children row's service, one row per parent
    child_types: tuple[str, ...]
    parent_of: Callable[[Resource], str | None]  # a child resource's parent id; None: not a counted child


def join_reasons(messages: Iterable[str]) -> str | None:
    """The distinct reasons, joined on one bounded line; None when there are none."""
    text = "; ".join(dict.fromkeys(m for m in messages if m))
    return one_line(text, MAX_ROW_ERROR) if text else None


class SubscriptionScan(Generic[P]):
    """One subscription's lane, lock, top-level list and coverage, for a collector to use."""

    def __init__(self, subscription: str, pool: TaskPool, listing: Listing, pages: Pages,
                 make: Callable[[str, str, str, dict[str, Any]], P]) -> None:
        self.subscription = subscription
        self.pool = pool
        self.listing = listing
        self.lane = (listing.lane, subscription.lower())
        self.failure: str | None = None
        self.lock = threading.Lock()
        self.parents: dict[str, P] = {}
        self._pages = pages
        self._make = make

    def start(self, tasks_of: Callable[[P], list[Callable[[], None]]]) -> None:
        """List the parents; as each page arrives, queue ``tasks_of`` each newly seen one."""
        self.pool.submit(self.lane, lambda: self._list_parents(tasks_of))

    def read_list(self, path: str, operation: str, on_page: Callable[[Page], None]) -> str | None:
        """Read every page of a list into ``on_page``; why it failed, or None."""
        return read_pages(self._pages(path, operation), on_page)

    def _list_parents(self, tasks_of: Callable[[P], list[Callable[[], None]]]) -> None:
        path = f"/subscriptions/{self.subscription}/providers/{self.listing.collection}"

        def on_page(page: Page) -> None:
            with self.lock:
                new = add_first_seen(self.parents, page, path, lambda rid, doc: self._make(
                    rid, resource_name(doc, rid), canonical_azure_location(str(doc.get("location") or "")), doc))
            self.pool.submit_many(self.lane, [task for _, parent in new for task in tasks_of(parent)])

        what = self.listing.what
        reason = self.read_list(path, f"list {what} of subscription {self.subscription}", on_page)
        if reason:
            self.failure = f"{what} list failed: {reason}"

    def resource(self, resource_type: str, document: dict[str, Any], region: str,
                 related: Mapping[str, Any] | None = None, unreadable: Mapping[str, str] | None = None) -> Resource:
        """The resource a (redacted) document is, in ``region`` unless it names its own location."""
        rid = str(document["id"])
        tags = document.get("tags")
        return Resource(
            id=rid, type=resource_type, provider="azure", account=self.subscription,
            region=canonical_azure_location(str(document.get("location") or region)),
            name=resource_name(document, rid), document=document,
            related=dict(related or {}), unreadable=dict(unreadable or {}),
            tags={str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {},
        )

    def coverage(self, resources: Iterable[Resource], rows_for: Callable[[P], bool] = lambda parent: True
                 ) -> list[CoverageRow]:
        """The subscription's row and one children row per parent ``rows_for`` accepts."""
        listing = self.listing
        children: dict[str, int] = {}
        parents = 0
        for resource in resources:
            if resource.type == listing.parent_type:
                parents += 1
            elif (parent := listing.parent_of(resource)) is not None:
                key = resource_key("azure", parent)
                children[key] = children.get(key, 0) + 1
        error = one_line(f"{self.failure}; {listing.unknown}", MAX_ROW_ERROR) if self.failure else None
        rows = [CoverageRow(
            provider="azure", account=self.subscription, region="*", service=listing.service,
            scope_id=f"/subscriptions/{self.subscription}",
            resource_types=listing.resource_types if error else (listing.parent_type,), resources=parents,
            error=error)]
        rows += [CoverageRow(
            provider="azure", account=self.subscription, region=parent.location or "*",
            service=listing.children_service, scope_id=parent.id, resource_types=listing.child_types,
            resources=children.get(key, 0), error=join_reasons(parent.failures))
            for key, parent in self.parents.items() if rows_for(parent)]
        return rows
