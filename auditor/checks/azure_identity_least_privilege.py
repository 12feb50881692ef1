"""azure.ml.online_endpoint.identity_least_privilege and azure.ai.account.identity_least_privilege.

Reads ``related.role_assignments``, which the collectors fill with every role assignment of the
online endpoint's (or AI Services account's) managed identities (system- and user-assigned) at
subscription, resource-group and resource scope, each with its role name resolved and ``scope_level`` classified.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.checks import related
from auditor.errors import MissingData
from auditor.model import Inventory, Resource, Verdict


def check(resource: Resource, inventory: Inventory, params: Mapping[str, Any]) -> Verdict:
    assignments = related(resource, "role_assignments", "the identity's role assignments")
    forbidden = {str(r).lower() for r in params["forbidden_roles"]}
    levels = set(params["forbidden_scope_levels"])
    broad = []
    for a in assignments:
        role = a.get("roleName")
        if role is None:
            raise MissingData(f"role definition {a.get('roleDefinitionId')} could not be resolved to a name")
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
    return Verdict(True, "", evidence)


CHECK = check
