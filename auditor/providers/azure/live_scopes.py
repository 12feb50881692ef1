"""An online endpoint read live with the role assignments of every scope its finding's evidence names.

A scan of several subscriptions or of a management group pools role assignments (:mod:`role_pool`): an
identity's finding may name assignments in a sibling subscription or on a management group that is not above the
endpoint's own subscription. :meth:`AzureContext.read` lists only the own subscription's (at, above and below
it), so apply and its verification read the endpoint through :func:`read_endpoint`, which also reads, with the
calls the scan makes:

* each other subscription the evidence names an assignment in (at it, in one of its resource groups, on one of its
  resources): ``GET /subscriptions/S/providers/Microsoft.Authorization/roleAssignments?$filter=principalId eq
  'P'`` for each principal, keeping the principal's own assignments (the pool matches them the same way);
* each scope outside every subscription that it names (a management group): ``GET
  SCOPE/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()``, keeping the principals' ones;
  skipped when the own subscription's list already shows an assignment of a principal there (the scope is above
  the subscription, and that list carries everything the principals hold there). The root ``/`` is above every
  subscription: the own list always carries it.

A scope that cannot be read is named in ``unreadable["related.role_assignment_scopes"]``, as the scan names one:
the rule then cannot pass (ERROR), and the remediator changes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor.identity import resource_key
from auditor.model import Resource
from auditor.providers.azure.arm import one_line
from auditor.providers.azure.live import AzureContext
from auditor.providers.azure.role_pool import UNREAD_SCOPES
from auditor.providers.azure.roles import sorted_assignments
from auditor.remediate.model import StepFailed


@dataclass(frozen=True)
class AssignmentScopes:
    """The scopes beyond the endpoint's own subscription whose role assignments a finding's evidence names."""

    subscriptions: tuple[str, ...] = ()  # other subscriptions (read per principal)
    at_scopes: tuple[str, ...] = ()  # scopes outside every subscription: management groups (read with atScope())


def evidence_scopes(evidence: Mapping[str, Any], subscription: str) -> AssignmentScopes:
    """The scopes to read besides ``subscription`` (the endpoint's own), in the evidence's order: every assignment's
    scope counts, the narrow ones too, so the live evidence can equal the scan's."""
    subscriptions: dict[str, str] = {}
    at_scopes: dict[str, str] = {}
    for assignment in evidence.get("role_assignments") or []:
        scope = "/" + str(assignment.get("scope") or "").strip().strip("/")
        parts = [p for p in scope.split("/") if p]
        if not parts:
            continue  # the root: above every subscription, in the own subscription's list
        if parts[0].lower() == "subscriptions" and len(parts) >= 2:
            if parts[1].lower() != subscription.lower():
                subscriptions.setdefault(parts[1].lower(), parts[1])
        else:
            at_scopes.setdefault(scope.lower(), scope)
    return AssignmentScopes(tuple(subscriptions.values()), tuple(at_scopes.values()))


def read_endpoint(azure: AzureContext, resource_id: str, subscription: str,
                  scopes: AssignmentScopes) -> Resource | None:
    """The online endpoint as :meth:`AzureContext.read` builds it, its identities' assignments at ``scopes`` added
    (each once); the scopes that could not be read in ``unreadable``."""
    live = azure.endpoint_with_roles(resource_id, subscription)
    if live is None or not (scopes.subscriptions or scopes.at_scopes):
        return live
    principals = [str(p) for p in live.related.get("principal_ids") or []]
    wanted = {p.lower() for p in principals}
    own = live.related.get("role_assignments") or []
    merged = {resource_key("azure", str(a["id"])): a for a in own}
    seen = {"/" + str(a.get("scope") or "").strip("/").lower() for a in own}
    failed: dict[str, str] = {}

    def keep(found: list[dict[str, Any]]) -> None:
        for assignment in found:
            if str(assignment.get("principalId") or "").lower() in wanted and assignment.get("id"):
                merged.setdefault(resource_key("azure", str(assignment["id"])), assignment)

    for other in scopes.subscriptions:
        for principal in principals:
            try:
                keep(azure.assignments_at(f"/subscriptions/{other}", f"principalId eq '{principal}'",
                                          f"list role assignments of principal {principal} at /subscriptions/{other}"))
            except StepFailed as exc:
                failed.setdefault(f"/subscriptions/{other}", str(exc))
    for scope in scopes.at_scopes:
        if scope.lower() in seen:
            continue  # above the own subscription: its list carries the principals' assignments there
        try:
            keep(azure.assignments_at(scope, "atScope()", f"list role assignments at {scope}"))
        except StepFailed as exc:
            failed[scope] = str(exc)
    related = {**live.related, "role_assignments": sorted_assignments(merged.values())}
    unreadable = dict(live.unreadable)
    if failed:
        unreadable[UNREAD_SCOPES] = one_line("the role assignments of these scopes could not be read: " + "; ".join(
            f"{scope}: {reason}" for scope, reason in failed.items()), 1000)
    return dataclasses.replace(live, related=related, unreadable=unreadable)
