"""Planned private endpoints, linked to the planned workspace they connect to.

At run time a workspace's document lists its ``privateEndpointConnections``, each with the approval state
of its connection; ``azure.ml.workspace.private_link`` wants an approved one. At plan time they are the
plan's private endpoints whose service connection references the workspace
(``azurerm_private_endpoint.private_service_connection.private_connection_resource_id``; Pulumi's
``privateLinkServiceConnections``): an automatic connection (not ``is_manual_connection``, not in
``manualPrivateLinkServiceConnections``) is approved when it is made, a manual one is Pending until its owner
approves it, as Resource Manager reports them.

A workspace the plan creates has no connection but these. One it updates may have connections made outside
the plan: without an approved planned one, its connections stay "not decided by this plan" (ERROR).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from auditor.iac.read import Plan, Planned
from auditor.model import Inventory, Resource
from auditor.planned import NotInPlan

WORKSPACE = "azure.ml.workspace"
OUTSIDE = ("the workspace exists before this plan and may have private endpoint connections made outside it; "
           "scan the estate to judge them")
# (format, type) -> (the connection list attribute, its target attribute, its manual flag, manual list attribute)
ENDPOINT_TYPES: Mapping[tuple[str, str], tuple[str, str, str, str]] = {
    ("terraform", "azurerm_private_endpoint"):
        ("private_service_connection", "private_connection_resource_id", "is_manual_connection", ""),
    ("pulumi", "azure-native:network:PrivateEndpoint"):
        ("privateLinkServiceConnections", "privateLinkServiceId", "", "manualPrivateLinkServiceConnections"),
}


def link_private_endpoints(inventory: Inventory, plans: Sequence[Plan]) -> Inventory:
    """``inventory`` with each planned workspace's ``properties.privateEndpointConnections`` from the plan."""
    workspaces = {r.id for r in inventory.resources if r.type == WORKSPACE}
    if not workspaces:
        return inventory
    found: dict[str, list[dict[str, Any]]] = {address: [] for address in workspaces}
    for plan in plans:
        for planned in plan.changes:
            spec = ENDPOINT_TYPES.get((plan.format, planned.source_type))
            if spec is not None and planned.action in ("create", "update", "replace", "no-op"):
                for address, connection in _connections(planned, spec, workspaces):
                    found[address].append(connection)
    return replace(inventory, resources=tuple(
        _with_connections(r, found[r.id]) if r.id in found else r for r in inventory.resources))


def _connections(planned: Planned, spec: tuple[str, str, str, str],
                 workspaces: set[str]) -> list[tuple[str, dict[str, Any]]]:
    listing, target, manual_flag, manual_listing = spec
    out = []
    for attribute, manual_list in ((listing, False), (manual_listing, True)):
        if not attribute:
            continue
        targets = [t for key, refs in planned.references.items()
                   if key == attribute or key.startswith(f"{attribute}.") for t in refs]
        items = planned.values.get(attribute)
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, Mapping):
                continue
            literal = item.get(target)
            linked = [t for t in targets if t in workspaces] or ([literal] if literal in workspaces else [])
            manual = manual_list or (bool(item.get(manual_flag)) if manual_flag else False)
            for address in linked:
                out.append((address, {"name": str(item.get("name") or planned.name), "id": planned.address,
                                      "properties": {"privateLinkServiceConnectionState": {
                                          "status": "Pending" if manual else "Approved"}}}))
    return out


def _with_connections(resource: Resource, connections: list[dict[str, Any]]) -> Resource:
    properties = resource.document.get("properties")
    if not isinstance(properties, Mapping):
        return resource
    action = resource.related.get("plan", {}).get("action")
    approved = any(c["properties"]["privateLinkServiceConnectionState"]["status"] == "Approved" for c in connections)
    value: Any = connections
    if action != "create" and not approved:  # connections made outside the plan may exist
        value = NotInPlan(OUTSIDE)
    return replace(resource, document={**resource.document,
                                       "properties": {**properties, "privateEndpointConnections": value}})
