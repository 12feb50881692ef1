"""Role assignments pooled across the scan: every scanned subscription's and every management group's.

An endpoint's identity is listed per principal in its own subscription (:mod:`auditor.providers.azure.roles`):
Resource Manager answers that list with the assignments at, above (management groups, the root) and below the
subscription. An Owner assignment of the same identity in *another* subscription is not in that answer, nor one
on a management group that is not above its subscription. So when a scan covers several subscriptions or a
management group, :class:`AssignmentPool` also reads, once each, on the scan's pool:

* the whole role-assignment list of every pooled subscription (no filter: at, above and below it);
* the assignments at each management group of the tree (``$filter=atScope()``: at the group and above it, so
  the named group's list also carries the groups above it and the root).

:meth:`AssignmentPool.apply` then adds to each online endpoint's ``related.role_assignments`` the pooled
assignments of its principals (role names resolved through the same definition cache), and names every pooled
scope that could not be read in ``unreadable["related.role_assignment_scopes"]``: the rule cannot call such an
identity least-privileged (ERROR), though a broad assignment found elsewhere still fails it.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable
from functools import partial
from typing import Any
from urllib.parse import quote

from auditor.identity import resource_key
from auditor.model import Resource
from auditor.progress import Lane
from auditor.providers.azure import resource_types as declared
from auditor.providers.azure.arm import AzureCallError, failure_from, one_line
from auditor.providers.azure.roles import ROLE_ASSIGNMENTS_API, RoleCollector, assignment_summary, sorted_assignments
from auditor.providers.azure.session import AzureClients
from auditor.providers.pool import TaskPool

_HOLDERS = frozenset({declared.ONLINE_ENDPOINT.id, declared.AI_ACCOUNT.id})

UNREAD_SCOPES = "related.role_assignment_scopes"
_LANE: Lane = ("azure-roles", "pool")


class AssignmentPool:
    """Every role assignment of the pooled scopes, by principal, read once per scope."""

    def __init__(self, clients: AzureClients, pool: TaskPool, roles: RoleCollector) -> None:
        self._clients = clients
        self._pool = pool
        self._roles = roles
        self._lock = threading.Lock()
        self._by_principal: dict[str, dict[str, dict[str, Any]]] = {}  # principal (lower) -> id key -> summary
        self._failed: dict[str, str] = {}  # scope -> reason

    def start(self, subscriptions: Iterable[str], group_scopes: Iterable[str]) -> None:
        tasks = [partial(self._read, f"/subscriptions/{s}", "") for s in subscriptions]
        tasks += [partial(self._read, scope, "&$filter=" + quote("atScope()", safe="()")) for scope in group_scopes]
        self._pool.submit_many(_LANE, tasks)

    def _read(self, scope: str, query: str) -> None:
        operation = f"list role assignments at {scope}"
        found: list[dict[str, Any]] = []
        try:
            for page in self._clients.list_pages(f"{scope}/providers/{declared.AUTHORIZATION}/roleAssignments",
                                                 ROLE_ASSIGNMENTS_API, operation, query):
                found.extend(assignment_summary(item, None) for item in page)
        except AzureCallError as exc:
            with self._lock:
                self._failed[scope] = exc.failure.reason
            return
        except Exception as exc:
            failure = failure_from(operation, exc)
            if failure is None:
                raise
            with self._lock:
                self._failed[scope] = failure.reason
            return
        with self._lock:
            for assignment in found:
                principal = str(assignment.get("principalId") or "").lower()
                if principal and assignment.get("id"):
                    self._by_principal.setdefault(principal, {}).setdefault(
                        resource_key("azure", str(assignment["id"])), assignment)
        for role_definition_id in dict.fromkeys(str(a["roleDefinitionId"] or "") for a in found):
            if role_definition_id:
                self._roles.request_definition(role_definition_id, _LANE)

    # --- results (after the pool has drained) --------------------------------------------------------

    def failures(self) -> dict[str, str]:
        """Scope -> why its role assignments could not be read."""
        return dict(sorted(self._failed.items()))

    def apply(self, resources: Iterable[Resource]) -> list[Resource]:
        """The resources, each online endpoint and AI Services account with its principals' pooled assignments
        added (the two types whose identity_least_privilege rules read them)."""
        unread = "; ".join(f"{scope}: {reason}" for scope, reason in self.failures().items())
        out = []
        for resource in resources:
            principals = resource.related.get("principal_ids") if resource.type in _HOLDERS else None
            if not principals:
                out.append(resource)
                continue
            merged = {resource_key("azure", str(a["id"])): a for a in resource.related.get("role_assignments") or []}
            for principal in principals:
                for key, assignment in self._by_principal.get(str(principal).lower(), {}).items():
                    if key not in merged:
                        merged[key] = {**assignment, "roleName": self._roles.role_name(
                            str(assignment["roleDefinitionId"] or ""))}
            related = {**resource.related, "role_assignments": sorted_assignments(merged.values())}
            unreadable = dict(resource.unreadable)
            if unread:
                unreadable[UNREAD_SCOPES] = one_line(f"the role assignments of these scopes could not be read: "
                                                     f"{unread}", 1000)
            out.append(dataclasses.replace(resource, related=related, unreadable=unreadable))
        return out
