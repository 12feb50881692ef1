"""azure.ml.online_endpoint.identity_least_privilege and azure.ai.account.identity_least_privilege.

Reads ``related.role_assignments``, which the collectors fill with every role assignment of the online
endpoint's (or AI Services account's) managed identities (system- and user-assigned) they could see, each with
its role name resolved and ``scope_level`` classified: at, above (management groups, the root) and below the
endpoint's own subscription, and, when the scan covers several subscriptions or a management group, those the identities
hold in the other scanned subscriptions and on the group's management groups.

Verdicts: FAIL when a forbidden role sits at a forbidden scope level anywhere in that list (even when some
other scope could not be read: the broad assignment is certain); ERROR when the own subscription's list could
not be read (``unreadable["related.role_assignments"]``), when a role definition could not be resolved to a
name, or when nothing broad was found but the assignments of some scope the scan depends on could not be read
(``unreadable["related.role_assignment_scopes"]``, naming the scopes); PASS otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.checks import related
from auditor.errors import MissingData
from auditor.model import Inventory, Resource
from auditor.rule_parts import Verdict

UNREAD_SCOPES = "related.role_assignment_scopes"


def check(resource: Resource, inventory: Inventory, params: Mapping[str, Any]) -> Verdict:
    assignments = related(resource, "role_assignments", "the identity's role assignments")
    forbidden = {str(r).lower() for r in params["forbidden_roles"]}
    levels = set(params["forbidden_scope_levels"])
    broad = []
    unresolved = None
    for a in assignments:
        role = a.get("roleName")
        if role is None:
            unresolved = unresolved or f"role definition {a.get('roleDefinitionId')} could not be resolved to a name"
            continue
        if role.lower() in forbidden and a.get("scope_level") in levels:
            broad.append(f"{role} at {a.get('scope_level')} scope {a.get('scope')}")
    evidence = {
        "principal_ids": list(resource.related.get("principal_ids", [])),
        "role_assignments": [
            {"role": a.get("roleName"), "scope": a.get("scope"), "scope_level": a.get("scope_level")}
            for a in assignments
        ],
    }
    if broad:
        evidence["broad_assignments"] = broad
        return Verdict(False, "; ".join(broad) + ".", evidence)
    if unresolved:
        raise MissingData(unresolved)
    if UNREAD_SCOPES in resource.unreadable:
        raise MissingData(resource.unreadable[UNREAD_SCOPES])
    return Verdict(True, "", evidence)


CHECK = check
