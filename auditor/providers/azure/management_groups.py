"""A management group's tree: its subscriptions (nested groups included), its groups and the groups above it.

``read_group(clients, group)`` makes two reads (api-version 2023-04-01, the newest stable one):

* ``GET /providers/Microsoft.Management/managementGroups/{group}?$expand=ancestors``: the group exists and can
  be read (403/404 raise :class:`~auditor.providers.azure.arm.AzureCallError`, which the caller turns into a
  failed coverage row), and ``properties.details.managementGroupAncestorsChain`` names the groups above it,
  parent first (``GetManagementGroupWithAncestors.json``);
* ``GET .../managementGroups/{group}/descendants``, followed through every ``nextLink``: every group and
  subscription under it at any depth, each with ``properties.parent.id`` (``GetDescendants.json``).

From the parents, :meth:`GroupTree.ancestors` gives the management groups above any subscription of the tree,
nearest first, up to the tenant's root: the scopes whose role assignments a resource of that subscription
inherits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor.providers.azure.arm import get_json_through
from auditor.providers.azure.session import AzureClients

API_VERSION = "2023-04-01"
NAMESPACE = "Microsoft.Management"
GROUPS_PATH = f"/providers/{NAMESPACE}/managementGroups"
SUBSCRIPTION_TYPE = f"{NAMESPACE}/managementGroups/subscriptions"
GROUP_TYPE = f"{NAMESPACE}/managementGroups"


def group_scope(group: str) -> str:
    """The Resource Manager scope of management group ``group``."""
    return f"{GROUPS_PATH}/{group}"


@dataclass(frozen=True)
class GroupTree:
    """Management group ``group``: the subscriptions under it and the groups they sit in."""

    group: str
    subscriptions: tuple[str, ...]  # in the order the descendants list gave them
    groups: tuple[str, ...]  # ``group`` and every group under it
    above: tuple[str, ...]  # the groups above ``group``, parent first
    parents: Mapping[str, str]  # lower-cased subscription id or group name -> its parent group's name

    def ancestors(self, subscription: str) -> tuple[str, ...]:
        """The management groups above ``subscription``, nearest first, ``group`` and the groups above it last."""
        chain: list[str] = []
        node = self.parents.get(subscription.lower())
        while node is not None and node.lower() not in {c.lower() for c in chain}:
            chain.append(node)
            if node.lower() == self.group.lower():
                break
            node = self.parents.get(node.lower())
        if not chain or chain[-1].lower() != self.group.lower():
            return tuple(chain)
        return (*chain, *self.above)

    def scopes(self) -> tuple[str, ...]:
        """The scopes of every group of the tree, whose role assignments the scan reads with ``atScope()``.

        The groups above ``group`` are not listed: ``atScope()`` at ``group`` returns the assignments at it and
        above it, with the permission the scanner holds at ``group`` (it may hold none higher up)."""
        return tuple(group_scope(g) for g in self.groups)


def _name_of(parent: Any) -> str | None:
    if not isinstance(parent, Mapping):
        return None
    rid = str(parent.get("id") or "")
    return rid.rstrip("/").rsplit("/", 1)[-1] or None


def read_group(clients: AzureClients, group: str) -> GroupTree:
    """Read management group ``group`` and everything under it; AzureCallError when it cannot be read."""
    scope = group_scope(group)
    operation = f"read management group {group}"
    body = get_json_through(clients.ml, clients.url(scope, API_VERSION) + "&$expand=ancestors", operation)
    properties = body.get("properties")
    details = properties.get("details") if isinstance(properties, Mapping) else None
    chain = details.get("managementGroupAncestorsChain") if isinstance(details, Mapping) else None
    above = tuple(str(a["name"]) for a in chain or () if isinstance(a, Mapping) and a.get("name"))
    name = str(body.get("name") or group)

    subscriptions: list[str] = []
    groups: list[str] = [name]
    parents: dict[str, str] = {}
    operation = f"list the descendants of management group {group}"
    for page in clients.list_pages(f"{scope}/descendants", API_VERSION, operation):
        for item in page:
            kind = str(item.get("type") or "").lower()
            child = str(item.get("name") or "")
            parent = _name_of((item.get("properties") or {}).get("parent")
                              if isinstance(item.get("properties"), Mapping) else None)
            if not child or kind not in (SUBSCRIPTION_TYPE.lower(), GROUP_TYPE.lower()):
                continue
            if parent is not None:
                parents[child.lower()] = parent
            (subscriptions if kind == SUBSCRIPTION_TYPE.lower() else groups).append(child)
    return GroupTree(group=name, subscriptions=tuple(dict.fromkeys(subscriptions)),
                     groups=tuple(dict.fromkeys(groups)), above=above, parents=parents)
