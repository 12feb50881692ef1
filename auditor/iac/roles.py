"""Planned role assignments, linked to the planned endpoint whose managed identity they grant.

At run time the Azure collector fills an online endpoint's ``related.role_assignments`` with every role
assignment of its identity (:mod:`auditor.providers.azure.roles`), which ``identity_least_privilege`` judges.
At plan time the assignments are those of the plan whose principal references the endpoint
(``azurerm_role_assignment.principal_id = azapi_resource.endpoint.identity[0].principal_id``; Pulumi's
``propertyDependencies.principalId``), summarised in the collector's shape, the scope classified by the
same function.

The plan shows every assignment such an identity will hold only when the endpoint is created with a
system-assigned identity alone (its principal does not exist before). Otherwise (an update, a user-assigned
identity) assignments made outside the plan may exist: the assignments are marked unreadable ("not known at
plan time"), an ERROR, never a PASS on half the picture.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from auditor.iac.read import Plan, Planned
from auditor.model import Inventory, Resource
from auditor.planned import AfterApply
from auditor.providers.azure.roles import scope_level

ENDPOINT_TYPES = frozenset({"azure.ml.online_endpoint"})
# (format, type) -> (principal, role name, role definition id, scope) attribute names
ASSIGNMENT_TYPES: Mapping[tuple[str, str], tuple[str, str, str, str]] = {
    ("terraform", "azurerm_role_assignment"): ("principal_id", "role_definition_name", "role_definition_id", "scope"),
    ("pulumi", "azure-native:authorization:RoleAssignment"): ("principalId", "", "roleDefinitionId", "scope"),
}
# Built-in role definitions by their GUID (the same in every tenant): Azure built-in roles documentation.
BUILT_IN_ROLES: Mapping[str, str] = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-492d-a4d1-0f2a0c8f5c9b": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c4a72b9d": "User Access Administrator",
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Storage Blob Data Reader",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "f6c7c914-8db3-469d-8ca1-694a8f32e121": "AzureML Data Scientist",
    "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd": "Cognitive Services OpenAI User",
}
# Planned resource types whose id, as a scope, is at a known level (their id is known only after apply).
SCOPE_TYPES: Mapping[str, str] = {
    "azurerm_resource_group": "resource_group",
    "azure-native:resources:ResourceGroup": "resource_group",
    "azurerm_subscription": "subscription",
    "azure-native:subscription:Alias": "subscription",
}
_INDEX = re.compile(r"\[[^\]]*\]$")
NOT_KNOWN = "role assignments made outside this plan are not known at plan time; scan the estate to judge them"


def link_role_assignments(inventory: Inventory, plans: Sequence[Plan]) -> Inventory:
    """``inventory`` with each planned endpoint's ``related.role_assignments`` (and ``principal_ids``)."""
    endpoints = {r.id: r for r in inventory.resources if r.type in ENDPOINT_TYPES}
    if not endpoints:
        return inventory
    granted: dict[str, list[dict[str, Any]]] = {address: [] for address in endpoints}
    by_base: dict[str, list[str]] = {}  # aws_x.y[0] and aws_x.y["a"] under aws_x.y: what a reference names
    for address in endpoints:
        by_base.setdefault(_INDEX.sub("", address), []).append(address)
    for plan in plans:
        by_address = {p.address: p for p in plan.changes}
        for planned in plan.changes:
            attributes = ASSIGNMENT_TYPES.get((plan.format, planned.source_type))
            if attributes is None or planned.action not in ("create", "update", "replace", "no-op"):
                continue
            for target in planned.references.get(attributes[0], ()):
                for address in ([target] if target in endpoints else by_base.get(target, [])):
                    granted[address].append(_summary(planned, attributes, by_address))
    out = []
    for resource in inventory.resources:
        if resource.id in granted:
            resource = _with_assignments(resource, granted[resource.id])
        out.append(resource)
    return replace(inventory, resources=tuple(out))


def _known(value: Any) -> str | None:
    return value if isinstance(value, str) and not isinstance(value, AfterApply) and value else None


def _summary(planned: Planned, attributes: tuple[str, str, str, str],
             by_address: Mapping[str, Planned]) -> dict[str, Any]:
    _, name_attr, id_attr, scope_attr = attributes
    definition = _known(planned.values.get(id_attr))
    role = _known(planned.values.get(name_attr)) if name_attr else None
    if role is None and definition is not None:
        role = BUILT_IN_ROLES.get(definition.rstrip("/").rsplit("/", 1)[-1].lower())
    scope = _known(planned.values.get(scope_attr))
    if scope is not None:
        level: str | None = scope_level(scope)
    else:
        referenced = [by_address[a].source_type for a in planned.references.get(scope_attr, ()) if a in by_address]
        level = SCOPE_TYPES.get(referenced[0], "resource") if referenced else None
        scope = f"(the id of {planned.references[scope_attr][0]}, known after apply)" if referenced else None
    return {"id": planned.address, "roleDefinitionId": definition, "roleName": role, "scope": scope,
            "scope_level": level}


def _with_assignments(resource: Resource, assignments: list[dict[str, Any]]) -> Resource:
    identity = resource.document.get("identity")
    kind = str(identity.get("type", "")) if isinstance(identity, Mapping) else ""
    action = resource.related.get("plan", {}).get("action")
    complete = action == "create" and kind.replace(" ", "").lower() == "systemassigned"
    unresolved = [a for a in assignments if a["roleName"] is None or a["scope_level"] is None]
    related = {**resource.related, "role_assignments": [a for a in assignments if a not in unresolved],
               "principal_ids": []}
    unreadable = dict(resource.unreadable)
    if unresolved:
        unreadable["related.role_assignments"] = (
            "the role or scope of planned assignment " + ", ".join(str(a["id"]) for a in unresolved)
            + " is known only after apply")
    elif not complete:
        unreadable["related.role_assignments"] = NOT_KNOWN
    return replace(resource, related=related, unreadable=unreadable)

