"""Role assignments of managed identities, with their role names resolved (azure-mgmt-authorization).

``RoleCollector.request(subscription, principal)`` lists a principal's role assignments once per
(subscription, principal), however many endpoints share the identity: the role assignments list at
the subscription with ``$filter=principalId eq '...'`` returns the assignments at the subscription,
above it (management groups) and below it (resource groups, resources), including those the principal
holds through an Entra group (the filter is transitive over groups, which is why the listing is per
principal rather than one list of the whole subscription); it is read as raw JSON
(api-version 2022-04-01) through the scan's shared ARM pipeline, following ``nextLink``. Each distinct
role definition is then read once (``get_by_id``, cached by its GUID, which is the same for a built-in role everywhere).
Both run on the scan's pool as soon as an endpoint names its identity.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import quote

from auditor.progress import Lane
from auditor.providers.azure.arm import AzureCallError, Failure, failure_from
from auditor.providers.azure.session import AzureClients
from auditor.providers.pool import TaskPool

ROLE_ASSIGNMENTS_API = "2022-04-01"

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def scope_level(scope: str) -> str:
    """``subscription``, ``resource_group`` or ``resource``; ``management_group`` and ``root`` above them."""
    parts = [p.lower() for p in scope.strip().strip("/").split("/") if p]
    if not parts:
        return "root"
    if parts[0] == "subscriptions":
        if len(parts) == 2:
            return "subscription"
        if len(parts) == 4 and parts[2] == "resourcegroups":
            return "resource_group"
        return "resource"
    if len(parts) >= 4 and parts[:3] == ["providers", "microsoft.management", "managementgroups"]:
        return "management_group"
    return "resource"


def assignment_summary(item: Mapping[str, Any], role_name: str | None) -> dict[str, Any]:
    """What ``related.role_assignments`` keeps of one role assignment as Resource Manager lists it."""
    raw = item.get("properties")
    properties: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
    assignment_scope = str(properties.get("scope") or "")
    return {
        "id": item.get("id"),
        "roleDefinitionId": properties.get("roleDefinitionId"),
        "roleName": role_name,
        "scope": assignment_scope,
        "scope_level": scope_level(assignment_scope),
        "principalId": properties.get("principalId"),
    }


def sorted_assignments(assignments: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Assignments in the order ``related.role_assignments`` lists them: by scope, role name, id."""
    return sorted(assignments, key=lambda a: (str(a["scope"]).lower(), str(a["roleName"] or ""), str(a["id"])))


def _definition_key(role_definition_id: str) -> str:
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


@dataclass
class _Listing:
    assignments: list[dict[str, Any]] = field(default_factory=list)
    failure: Failure | None = None
    done: bool = False


@dataclass
class _Definition:
    name: str | None = None
    failure: Failure | None = None


class RoleCollector:
    """Role assignments per (subscription, principal) and role names per definition, each read once."""

    def __init__(self, clients: AzureClients, pool: TaskPool) -> None:
        self._clients = clients
        self._pool = pool
        self._lock = threading.Lock()
        self._listings: dict[tuple[str, str], _Listing] = {}
        self._definitions: dict[str, _Definition] = {}

    def request(self, subscription: str, principal_id: str, lane: Lane) -> None:
        """List the principal's assignments in ``subscription`` (once) on the pool."""
        key = (subscription.lower(), principal_id.lower())
        with self._lock:
            if key in self._listings:
                return
            listing = self._listings[key] = _Listing()
        if not _GUID.match(principal_id):
            listing.failure = Failure(f"list role assignments of principal '{principal_id}'", None, "",
                                      "the principal id is not a GUID", "error")
            listing.done = True
            return
        self._pool.submit(lane, partial(self._list, subscription, principal_id, listing, lane))

    def _list(self, subscription: str, principal_id: str, listing: _Listing, lane: Lane) -> None:
        scope = f"/subscriptions/{subscription}"
        operation = f"list role assignments of principal {principal_id} at {scope}"
        found: list[dict[str, Any]] = []
        try:
            # Raw JSON through the scan's shared ARM pipeline (the same auth, retries and logging as every
            # other read): the authorization SDK's model deserialization cost a third of the Azure scan's
            # CPU for the four fields kept here. Role definitions still come through the SDK.
            query = "&$filter=" + quote(f"principalId eq '{principal_id}'", safe="'()")
            for page in self._clients.list_pages(f"{scope}/providers/Microsoft.Authorization/roleAssignments",
                                                 ROLE_ASSIGNMENTS_API, operation, query):
                found.extend(assignment_summary(item, None) for item in page)
        except AzureCallError as exc:
            listing.failure = exc.failure
            listing.done = True
            return
        except Exception as exc:
            failure = failure_from(operation, exc)
            if failure is None:
                raise
            listing.failure = failure
            listing.done = True
            return
        listing.assignments = found
        listing.done = True
        for role_definition_id in dict.fromkeys(str(a["roleDefinitionId"] or "") for a in found):
            if role_definition_id:
                self.request_definition(role_definition_id, lane)

    def request_definition(self, role_definition_id: str, lane: Lane) -> None:
        """Read role definition ``role_definition_id`` (once, whoever asks) on the pool."""
        key = _definition_key(role_definition_id)
        with self._lock:
            if key in self._definitions:
                return
            definition = self._definitions[key] = _Definition()
        self._pool.submit(lane, partial(self._resolve, role_definition_id, definition))

    def _resolve(self, role_definition_id: str, definition: _Definition) -> None:
        try:
            found = self._clients.authorization.role_definitions.get_by_id(role_definition_id)
        except Exception as exc:
            failure = failure_from(f"get role definition {role_definition_id}", exc)
            if failure is None:
                raise
            definition.failure = failure
            return
        definition.name = str(found.role_name) if found.role_name else None

    # --- results (after the pool has drained) --------------------------------------------------------

    def assignments(self, subscription: str, principal_id: str) -> tuple[list[dict[str, Any]], str | None]:
        """The principal's assignments with ``roleName`` resolved (None when unresolvable), or why not known."""
        listing = self._listings.get((subscription.lower(), principal_id.lower()))
        if listing is None or not listing.done:
            return [], f"the role assignments of principal {principal_id} were not listed"
        if listing.failure is not None:
            return [], listing.failure.reason
        out = []
        for assignment in listing.assignments:
            definition = self._definitions.get(_definition_key(str(assignment["roleDefinitionId"] or "")))
            out.append({**assignment, "roleName": definition.name if definition else None})
        return sorted_assignments(out), None

    def role_name(self, role_definition_id: str) -> str | None:
        """The name of a role definition read through :meth:`request_definition`; None when not known."""
        definition = self._definitions.get(_definition_key(role_definition_id))
        return definition.name if definition else None

    def unresolved(self) -> list[tuple[str, str]]:
        """(role definition GUID, reason) of every definition that could not be read."""
        return sorted((key, d.failure.reason) for key, d in self._definitions.items() if d.failure is not None)

