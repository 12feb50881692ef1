"""Online endpoints and deployments: identities, role-assignment join, environment variables; redaction.

Split from :mod:`auditor.providers.azure.ml` (which lists everything): what an online endpoint's and
a deployment's ``related`` hold, and :func:`redact`, which every Machine Learning document passes
through before it becomes a :class:`~auditor.model.Resource`.

``related`` of an online endpoint::

    {"workspace": WORKSPACE_ID,
     "principal_ids": [SYSTEM_PRINCIPAL_ID, USER_ASSIGNED_PRINCIPAL_ID, ...],
     "role_assignments": [{"id", "roleDefinitionId", "roleName", "scope", "scope_level", "principalId"}],
     "deployments": [DEPLOYMENT_ID, ...]}

``related`` of an online deployment::

    {"endpoint": ENDPOINT_ID,
     "environment_variables": [{"name": NAME, "has_value": bool, "secret_kinds": [KIND, ...]}]}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from auditor.identity import resource_key
from auditor.providers.azure import resource_types as declared
from auditor.providers.azure.arm import one_line
from auditor.providers.azure.roles import sorted_assignments
from auditor.redaction import REDACTED as REDACTED  # re-exported: the marker every collector writes
from auditor.redaction import redact_document
from auditor.secrets import secret_kinds

NAMESPACE = declared.ML
ONLINE_ENDPOINT = declared.ONLINE_ENDPOINT.id
ONLINE_DEPLOYMENT = declared.ONLINE_DEPLOYMENT.id

AssignmentsOf = Callable[[str], tuple[list[dict[str, Any]], str | None]]


# --- redaction: the shared policy of auditor.redaction ----------------------------------------------


def redact(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``document`` without secret values (the policy of :mod:`auditor.redaction`)."""
    return redact_document(document)


# --- online endpoints -----------------------------------------------------------------------------


def endpoint_principals(document: Mapping[str, Any]) -> tuple[list[str], str | None]:
    """The principal ids of the endpoint's identities (system-assigned first), and what is missing."""
    identity = document.get("identity")
    if not isinstance(identity, Mapping):
        return [], None
    kind = str(identity.get("type") or "").lower()
    principals: list[str] = []
    missing: list[str] = []
    if identity.get("principalId"):
        principals.append(str(identity["principalId"]))
    elif "systemassigned" in kind:
        missing.append("the system-assigned identity has no principalId in the endpoint document")
    assigned = identity.get("userAssignedIdentities")
    if isinstance(assigned, Mapping):
        for key, value in sorted(assigned.items(), key=lambda kv: str(kv[0]).lower()):
            principal = value.get("principalId") if isinstance(value, Mapping) else None
            if principal:
                principals.append(str(principal))
            else:
                missing.append(f"user-assigned identity {key} has no principalId in the endpoint document")
    elif "userassigned" in kind:
        missing.append("the user-assigned identities are not in the endpoint document")
    return list(dict.fromkeys(principals)), "; ".join(missing) or None


def identity_assignments(document: Mapping[str, Any], assignments_of: AssignmentsOf
                         ) -> tuple[list[str], list[dict[str, Any]], str | None]:
    """The principals of a resource's managed identities (an online endpoint's, an AI Services account's), their
    role assignments (each once, in ``related.role_assignments`` order) and why some could not be known."""
    principals, missing = endpoint_principals(document)
    reasons = [missing] if missing else []
    assignments: dict[str, dict[str, Any]] = {}
    for principal in principals:
        found, reason = assignments_of(principal)
        if reason:
            reasons.append(reason)
        for assignment in found:
            assignments.setdefault(resource_key("azure", str(assignment["id"])), assignment)
    unread = one_line("; ".join(dict.fromkeys(reasons))) if reasons else None
    return principals, sorted_assignments(assignments.values()), unread


def endpoint_related(document: Mapping[str, Any], workspace_id: str, deployment_ids: list[str],
                     deployments_failure: str | None,
                     assignments_of: AssignmentsOf) -> tuple[dict[str, Any], dict[str, str]]:
    """``related`` and ``unreadable`` of an online endpoint."""
    principals, assignments, unread = identity_assignments(document, assignments_of)
    related = {
        "workspace": workspace_id,
        "principal_ids": principals,
        "role_assignments": assignments,
        "deployments": deployment_ids,
    }
    unreadable: dict[str, str] = {}
    if unread:
        unreadable["related.role_assignments"] = unread
    if deployments_failure:
        unreadable["related.deployments"] = deployments_failure
    return related, unreadable


# --- online deployments ---------------------------------------------------------------------------


def environment_variables(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Name, presence and secret kinds of each environment variable; never the value."""
    properties = document.get("properties")
    variables = properties.get("environmentVariables") if isinstance(properties, Mapping) else None
    if not isinstance(variables, Mapping):
        return []
    return [{"name": str(name), "has_value": value is not None and value != "",
             "secret_kinds": list(secret_kinds(value))}
            for name, value in sorted(variables.items(), key=lambda kv: str(kv[0]))]
