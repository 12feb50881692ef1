"""Online endpoints and deployments: identities, role-assignment join, environment variables; redaction.

Split from :mod:`auditor.collectors.azure_ml` (which lists everything): what an online endpoint's and
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

from auditor.collectors.azure_arm import one_line
from auditor.secrets import secret_kinds

NAMESPACE = "Microsoft.MachineLearningServices"
ONLINE_ENDPOINT = "azure.ml.online_endpoint"
ONLINE_DEPLOYMENT = "azure.ml.online_deployment"

PERMISSIONS: tuple[str, ...] = (
    f"{NAMESPACE}/workspaces/onlineEndpoints/read",
    f"{NAMESPACE}/workspaces/onlineEndpoints/deployments/read",
)

REDACTED = "<redacted>"
# Fields that hold a secret wherever they appear in a Machine Learning document (compared in lower
# case): VM and registry passwords, SSH private keys, endpoint keys, relay/service-bus/storage
# connection strings, Databricks tokens, TLS private keys of v1 services.
_SECRET_FIELDS = frozenset(name.lower() for name in (
    "password", "adminPassword", "adminUserPassword", "privateKeyData", "privateKey", "sslKey", "primaryKey",
    "secondaryKey", "relayConnectionString", "serviceBusConnectionString", "databricksAccessToken",
    "connectionString", "accountKey", "accessKey", "secretKey", "sasToken", "clientSecret", "secret",
))
# (parent field, field): secrets under a name too common to redact everywhere (AKS compute TLS key).
_SECRET_CHILDREN = frozenset({("sslconfiguration", "key")})

AssignmentsOf = Callable[[str], tuple[list[dict[str, Any]], str | None]]


# --- redaction ------------------------------------------------------------------------------------


def redact(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``document`` without secret values (see the module docstring of azure_ml)."""
    redacted = _redact(document, "")
    return redacted if isinstance(redacted, dict) else {}


def _redact(value: Any, parent: str) -> Any:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for raw_key, item in value.items():
            key = str(raw_key)
            lower = key.lower()
            if lower == "environmentvariables" and isinstance(item, Mapping):
                out[key] = {str(name): _redact_variable(entry) for name, entry in item.items()}
            elif (lower in _SECRET_FIELDS or (parent, lower) in _SECRET_CHILDREN) and _has_value(item):
                out[key] = REDACTED
            else:
                out[key] = _redact(item, lower)
        return out
    if isinstance(value, list):
        return [_redact(item, parent) for item in value]
    if isinstance(value, str) and secret_kinds(value):
        return REDACTED
    return value


def _has_value(value: Any) -> bool:
    return value is not None and value != "" and not isinstance(value, bool)


def _redact_variable(entry: Any) -> Any:
    """An environment variable: a plain value (deployments, v1 services) or ``{"type", "value"}`` (computes)."""
    if isinstance(entry, Mapping):
        return {str(k): (REDACTED if str(k).lower() == "value" and v is not None else _redact(v, "environment"))
                for k, v in entry.items()}
    return None if entry is None else REDACTED


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


def endpoint_related(document: Mapping[str, Any], workspace_id: str, deployment_ids: list[str],
                     deployments_failure: str | None,
                     assignments_of: AssignmentsOf) -> tuple[dict[str, Any], dict[str, str]]:
    """``related`` and ``unreadable`` of an online endpoint."""
    principals, missing = endpoint_principals(document)
    reasons = [missing] if missing else []
    assignments: dict[str, dict[str, Any]] = {}
    for principal in principals:
        found, reason = assignments_of(principal)
        if reason:
            reasons.append(reason)
        for assignment in found:
            assignments.setdefault(str(assignment["id"]).lower(), assignment)
    related = {
        "workspace": workspace_id,
        "principal_ids": principals,
        "role_assignments": sorted(assignments.values(), key=lambda a: (
            str(a["scope"]).lower(), str(a["roleName"] or ""), str(a["id"]))),
        "deployments": deployment_ids,
    }
    unreadable: dict[str, str] = {}
    if reasons:
        unreadable["related.role_assignments"] = one_line("; ".join(dict.fromkeys(reasons)))
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
