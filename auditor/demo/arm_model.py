"""The vocabulary of the local Resource Manager stand-in: paths, replies, and the documents it seeds.

``parse_path`` reads a Resource Manager URL path the way ARM routes it (subscription, resource group,
provider namespace, type/name pairs, a collection or an item); ``Reply`` / ``error`` are HTTP-agnostic
answers in ARM's error shape; ``subscription_document``, ``role_assignment_document`` and the built-in
role definitions are the documents :class:`auditor.demo.arm_store.ArmStore` is seeded with.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

Json = dict[str, Any]

DEMO_TENANT = "72f988bf-0000-4000-8000-00000000d3e0"
AUTHZ = "Microsoft.Authorization"
BUILTIN_ROLES = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-7f38634e95fd",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c2a72d9d",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "AzureML Data Scientist": "f6c7c914-8db3-469d-8ca1-694a8f32e121",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
}


@dataclass
class Reply:
    """One answer: status, a JSON-serialisable body (None for none) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def error(status: int, code: str, message: str) -> Reply:
    """An answer in the ARM error shape ``{"error": {"code", "message"}}``."""
    return Reply(status, {"error": {"code": code, "message": message}})


@dataclass(frozen=True)
class PathInfo:
    """How an ARM path parses: item or collection, its resource type and its shape with names elided."""

    segments: tuple[str, ...]
    is_collection: bool
    namespace: str | None
    namespace_index: int  # index of the last "providers" segment, -1 when none
    types: tuple[str, ...]
    shape: str

    @property
    def key(self) -> str:
        return ("/" + "/".join(self.segments)).lower()

    @property
    def resource_type(self) -> str:
        if self.namespace is not None:
            return "/".join((self.namespace, *self.types))
        return "Microsoft.Resources/" + (self.types[-1] if self.types else "tenants")

    def scope(self) -> str:
        """The path before the last ``/providers/NS/...`` part (the scope of an extension resource)."""
        return "/" + "/".join(self.segments[:max(self.namespace_index, 0)]) if self.namespace_index > 0 else ""


def parse_path(path: str) -> PathInfo:
    """Parse an ARM path: names alternate with types, and ``providers/NS`` opens a namespace."""
    segments = tuple(part for part in path.split("/") if part)
    namespace: str | None = None
    types: list[str] = []
    shape: list[str] = []
    namespace_index, expect_name, i = -1, False, 0
    while i < len(segments):
        part = segments[i]
        if not expect_name and part.lower() == "providers" and i + 1 < len(segments):
            namespace, namespace_index, types = segments[i + 1], i, []
            shape += [part, segments[i + 1]]
            i += 2
            continue
        if not expect_name:
            types.append(part)
        shape.append("{}" if expect_name else part)
        expect_name, i = not expect_name, i + 1
    return PathInfo(segments, expect_name, namespace, namespace_index, tuple(types), "/" + "/".join(shape))


def resource_type_of(resource_id: str) -> str:
    """The ARM resource type an id names, e.g. ``Microsoft.MachineLearningServices/workspaces/onlineEndpoints``."""
    return parse_path(resource_id).resource_type


def subscription_document(subscription_id: str, display_name: str | None = None, *,
                          tenant_id: str = DEMO_TENANT, state: str = "Enabled") -> Json:
    """A subscription in the shape of ``Subscriptions_List`` (GetSubscriptions.json)."""
    return {"authorizationSource": "RoleBased", "displayName": display_name or f"Subscription {subscription_id[:8]}",
            "id": f"/subscriptions/{subscription_id}", "managedByTenants": [], "state": state,
            "subscriptionId": subscription_id,
            "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01",
                                     "spendingLimit": "Off"},
            "tags": {}, "tenantId": tenant_id}


def user_identity_ids(identity_id: str) -> dict[str, str]:
    """The (stable) ``principalId`` and ``clientId`` of the user-assigned identity ``identity_id``: what the demo
    seeds, and what the stand-in gives an identity it holds no ids for."""
    return {"principalId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"principal|{identity_id.lower()}")),
            "clientId": str(uuid.uuid5(uuid.NAMESPACE_URL, identity_id))}


def role_assignment_document(scope: str, principal_id: str, role: str, *, name: str | None = None,
                             principal_type: str = "ServicePrincipal") -> Json:
    """A role assignment at ``scope``; ``role`` is a built-in role name or a role definition GUID.

    Without ``name`` the assignment name is a UUID derived from scope, principal and role, so a seeded
    estate has the same ids on every run.
    """
    role_guid = BUILTIN_ROLES.get(role, role)
    scope = "/" + scope.strip("/")
    name = name or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{scope.lower()}|{principal_id}|{role_guid}"))
    segments = scope.split("/")
    role_scope = f"/subscriptions/{segments[2]}" if len(segments) > 2 and segments[1].lower() == "subscriptions" else ""
    return {"id": f"{scope}/providers/{AUTHZ}/roleAssignments/{name}", "name": name,
            "type": f"{AUTHZ}/roleAssignments",
            "properties": {"roleDefinitionId": f"{role_scope}/providers/{AUTHZ}/roleDefinitions/{role_guid}",
                           "principalId": principal_id, "principalType": principal_type, "scope": scope,
                           "createdOn": "2025-01-01T00:00:00.0000000Z", "updatedOn": "2025-01-01T00:00:00.0000000Z"}}


def builtin_role_definitions() -> list[Json]:
    """The seeded built-in role definitions (tenant-scoped ids), from ``arm_fixtures``."""
    text = resources.files("auditor.demo").joinpath("arm_fixtures/builtin_role_definitions.json").read_text("utf-8")
    return list(json.loads(text)["value"])
