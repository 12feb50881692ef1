"""Management groups in the local Resource Manager stand-in: the tree, its reads, and role-assignment inheritance.

A :class:`ManagementGroups` holds groups and the subscriptions placed in them (``add_group``, ``place``) and
answers, as Resource Manager does (documents shaped like the official examples ``GetManagementGroupWithAncestors``
and ``GetDescendants``, api-version 2023-04-01):

* ``GET /providers/Microsoft.Management/managementGroups/{g}`` (``$expand=ancestors`` adds
  ``details.managementGroupAncestorsChain``, parent first; ``details.parent`` always);
* ``GET .../managementGroups/{g}/descendants``: every group and subscription under ``g`` at any depth, parents
  before children, each with ``properties.parent.id``, paged with ``nextLink`` like every other list.

:meth:`ManagementGroups.above` gives the group scopes above a subscription or group, which the store's
role-assignment lists treat as "above the scope" (an assignment on a group is inherited by everything under it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from auditor.demo.arm_examples import as_resource, example_body, example_items
from auditor.demo.arm_model import DEMO_TENANT, Json, PathInfo, Reply, error

NAMESPACE = "Microsoft.Management"
GROUPS = f"/providers/{NAMESPACE}/managementGroups"
_ANCESTORS_EXAMPLE = "GetManagementGroupWithAncestors.json"
_DESCENDANTS_EXAMPLE = "GetDescendants.json"

Pager = Callable[[list[str], PathInfo, Mapping[str, str], Mapping[str, Json]], Reply]


def group_id(name: str) -> str:
    return f"{GROUPS}/{name}"


class ManagementGroups:
    """A tenant's management-group tree: group name -> (display name, parent), subscription -> parent group."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[str, tuple[str, str, str | None]] = {}  # lower name -> (name, display name, parent)
        self._subscriptions: dict[str, tuple[str, str]] = {}  # lower id -> (id, parent group)

    def add_group(self, name: str, parent: str | None = None, display_name: str | None = None) -> None:
        """Add (or move) group ``name`` under ``parent`` (None: a root group)."""
        with self._lock:
            self._groups[name.lower()] = (name, display_name or name, parent)

    def place(self, subscription: str, group: str) -> None:
        """Put ``subscription`` under ``group``."""
        with self._lock:
            self._subscriptions[subscription.lower()] = (subscription, group)

    def exists(self, name: str) -> bool:
        """Whether group ``name`` is in the tree (a role assignment can be written at its scope)."""
        with self._lock:
            return name.lower() in self._groups

    def above(self, scope: str) -> set[str]:
        """Lower-cased scopes of the groups above ``scope`` (a subscription or something in it, or a group)."""
        parts = [p for p in scope.strip("/").split("/") if p]
        with self._lock:
            if len(parts) >= 2 and parts[0].lower() == "subscriptions":
                placed = self._subscriptions.get(parts[1].lower())
                node = placed[1] if placed else None
            elif len(parts) >= 4 and "/".join(parts[:3]).lower() == GROUPS.strip("/").lower():
                found = self._groups.get(parts[3].lower())
                node = found[2] if found else None
            else:
                return set()
            out: set[str] = set()
            while node is not None and group_id(node).lower() not in out:
                out.add(group_id(node).lower())
                found = self._groups.get(node.lower())
                node = found[2] if found else None
        return out

    # -- reads ----------------------------------------------------------------------------------------
    def get(self, info: PathInfo, query: Mapping[str, str], page: Pager) -> Reply:
        """Answer a GET under ``/providers/Microsoft.Management/managementGroups``."""
        segs = info.segments
        if len(segs) < 4:
            return error(400, "UnsupportedOperation", "Listing every management group is not supported here.")
        with self._lock:
            found = self._groups.get(segs[3].lower())
            if found is None:
                return error(404, "NotFound", f"'{segs[3]}' not found")
            if len(segs) == 4:
                return Reply(200, self._document(found, "ancestors" in query.get("$expand", "").lower()))
            if len(segs) == 5 and segs[4].lower() == "descendants":
                docs = self._descendants(found[0])
                return page(list(docs), info, query, docs)
        return error(404, "NotFound", f"'{'/'.join(segs[4:])}' is not a management group collection here")

    def _chain(self, parent: str | None) -> list[tuple[str, str, str | None]]:
        chain: list[tuple[str, str, str | None]] = []
        while parent is not None and (found := self._groups.get(parent.lower())) is not None and found not in chain:
            chain.append(found)
            parent = found[2]
        return chain

    def _document(self, group: tuple[str, str, str | None], ancestors: bool) -> Json:
        name, display, parent = group
        body = example_body(_ANCESTORS_EXAMPLE)
        details = dict(body["properties"]["details"])
        chain = self._chain(parent)
        details["parent"] = {"id": group_id(chain[0][0]), "name": chain[0][0], "displayName": chain[0][1]} \
            if chain else None
        if ancestors:
            details["managementGroupAncestorsChain"] = [{"name": n, "displayName": d} for n, d, _ in chain]
        else:
            details.pop("managementGroupAncestorsChain", None)
        return as_resource(body, group_id(name), properties={"tenantId": DEMO_TENANT, "displayName": display,
                                                             "details": details})

    def _descendants(self, root: str) -> dict[str, Json]:
        """Every group and subscription under ``root``, keyed so that the store's pager keeps parents first."""
        group_item, subscription_item = example_items(_DESCENDANTS_EXAMPLE)
        out: dict[str, Json] = {}
        level = [root]
        depth = 0
        while level:
            depth += 1
            names = {x.lower() for x in level}
            below = [g for g in self._groups.values() if g[2] is not None and g[2].lower() in names]
            subs = [s for s in self._subscriptions.values() if s[1].lower() in names]
            for name, display, parent in sorted(below, key=lambda g: g[0].lower()):
                out[f"{depth:04d}/g/{name.lower()}"] = as_resource(
                    group_item, group_id(name), properties={"displayName": display, "parent": {"id": group_id(
                        str(parent))}})
            for sid, parent in sorted(subs, key=lambda s: s[0].lower()):
                doc = as_resource(subscription_item, f"/subscriptions/{sid}", type=subscription_item["type"],
                                  properties={"displayName": f"Subscription {sid[:8]}",
                                              "parent": {"id": group_id(parent)}})
                out[f"{depth:04d}/s/{sid.lower()}"] = doc
            level = [g[0] for g in below]
        return dict(sorted(out.items()))
