"""Azure change kinds (see :mod:`auditor.remediate.changes`).

``azure.arm.property``: one property of a Resource Manager resource. Target
``{"resource", "api_version", "path", "method", "label"}``; ``method`` is ``PUT`` (a full PUT of the
document as read, with only ``path`` changed: online and serverless endpoints, whose PATCH carries
only tags and identity) or ``PATCH`` (a body with ``path`` alone: workspaces). Both send ``If-Match``
with the ETag of the read the change follows. When the service refuses the change in place, the
step stops: the fix then needs the resource to be recreated, which this tool never attempts.

``azure.role_assignment``: whether a role assignment exists. Target ``{"assignment"}`` (its id);
value ``{"roleDefinitionId", "principalId", "principalType", "scope", ...}`` or None. Writing None
removes the assignment (the only removal this tool makes, and only with --allow-access-removal);
writing the value back recreates the same assignment: same id, role definition, scope and principal.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from auditor.providers.azure.live import AUTHORIZATION_API_VERSION, AUTHZ, ServiceRefused, connected
from auditor.remediate.changes import ChangeHandler, Observed
from auditor.remediate.model import StepFailed, StepRefused

if TYPE_CHECKING:
    from auditor.remediate.providers import Providers

# Not sent back in a PUT: Resource Manager sets them. Other read-only properties (scoring URIs, endpoint
# state) are sent back as read; Resource Manager's contract is that a PUT ignores read-only values.
_TOP_LEVEL_READ_ONLY = frozenset({"id", "name", "type", "etag", "systemData"})
_PROPERTIES_READ_ONLY = frozenset({"provisioningState"})
_ASSIGNMENT_FIELDS = ("roleDefinitionId", "principalId", "principalType", "scope", "condition", "conditionVersion",
                      "description", "delegatedManagedIdentityResourceId")


def get_path(document: Mapping[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def set_path(document: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = document
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    if value is None:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value


def put_body(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document as read, without what Resource Manager sets (ids, ETag, provisioning state, principal ids)."""
    body = {k: copy.deepcopy(v) for k, v in document.items() if k not in _TOP_LEVEL_READ_ONLY}
    properties = body.get("properties")
    if isinstance(properties, dict):
        body["properties"] = {k: v for k, v in properties.items() if k not in _PROPERTIES_READ_ONLY}
    identity = body.get("identity")
    if isinstance(identity, dict):
        identity = {k: v for k, v in identity.items() if k not in ("principalId", "tenantId")}
        if isinstance(identity.get("userAssignedIdentities"), dict):
            identity["userAssignedIdentities"] = {key: {} for key in identity["userAssignedIdentities"]}
        body["identity"] = identity
    return body


class ArmProperty:
    kind: ClassVar[str] = "azure.arm.property"
    undo_grants_access: ClassVar[bool] = False

    def read(self, providers: Providers, target: Mapping[str, Any]) -> Observed:
        found = connected(providers).get(target["resource"], target["api_version"])
        if found is None:
            raise StepFailed(f"{target['resource']} no longer exists")
        document, etag = found
        return Observed(get_path(document, target["path"]), etag)

    def write(self, providers: Providers, target: Mapping[str, Any], value: Any, observed: Observed) -> None:
        azure, resource, path = connected(providers), target["resource"], target["path"]
        label = target.get("label") or "resource"
        if target["method"] == "PATCH":
            body: dict[str, Any] = {}
            node = body
            parts = path.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = value  # an explicit null clears the property
            azure.write("PATCH", resource, target["api_version"], body, observed.version)
            return
        found = azure.get(resource, target["api_version"])
        if found is None:
            raise StepFailed(f"{resource} no longer exists")
        document, etag = found
        if observed.version and etag != observed.version:
            raise StepRefused(f"{resource} changed after it was read (ETag {observed.version} is now {etag})")
        body = put_body(document)
        set_path(body, path, value)
        try:
            azure.write("PUT", resource, target["api_version"], body, etag)
        except ServiceRefused as exc:
            raise StepRefused(f"the service refused to set {path} to {value!r} in place ({exc}): the fix needs the "
                              f"{label} to be recreated with that setting; the auditor does not recreate resources, "
                              "so nothing was changed") from exc

    def same(self, a: Any, b: Any) -> bool:
        if isinstance(a, str) and isinstance(b, str):
            return a.casefold() == b.casefold()
        return bool(a == b)


class RoleAssignment:
    kind: ClassVar[str] = "azure.role_assignment"
    undo_grants_access: ClassVar[bool] = True

    def read(self, providers: Providers, target: Mapping[str, Any]) -> Observed:
        found = connected(providers).get(target["assignment"], AUTHORIZATION_API_VERSION)
        if found is None:
            return Observed(None)
        properties = found[0].get("properties") or {}
        return Observed({k: properties[k] for k in _ASSIGNMENT_FIELDS if properties.get(k) is not None})

    def write(self, providers: Providers, target: Mapping[str, Any], value: Any, observed: Observed) -> None:
        azure, assignment = connected(providers), target["assignment"]
        if f"/providers/{AUTHZ}/roleAssignments/".lower() not in assignment.lower():
            raise StepFailed(f"'{assignment}' is not a role assignment id")
        if value is None:
            azure.delete(assignment, AUTHORIZATION_API_VERSION)
            return
        properties = {k: value[k] for k in _ASSIGNMENT_FIELDS if k != "scope" and value.get(k) is not None}
        azure.write("PUT", assignment, AUTHORIZATION_API_VERSION, {"properties": properties}, None)

    def same(self, a: Any, b: Any) -> bool:
        if a is None or b is None:
            return a is None and b is None
        def key(value: Mapping[str, Any]) -> tuple[str, str, str]:
            role = str(value.get("roleDefinitionId", "")).rstrip("/").rsplit("/", 1)[-1]
            return role.lower(), str(value.get("principalId", "")).lower(), str(value.get("scope", "")).rstrip(
                "/").lower()

        return key(a) == key(b)


HANDLERS: Mapping[str, ChangeHandler] = {h.kind: h for h in (ArmProperty(), RoleAssignment())}
