"""Microsoft.Authorization in the local Resource Manager stand-in, and the ids Azure gives identities.

Role assignments are listed as Resource Manager lists them (``$filter=principalId eq '...'`` /
``assignedTo('...')``: the principal's at, above and below the scope; ``atScope()``: at or above it; no filter:
at, above and below), where "above" includes the management groups over the scope (``above(scope)``, from
:mod:`auditor.demo.arm_groups`) and the root ``/``. Role definitions are answered at any scope; a role assignment
PUT refuses a duplicate as Azure does. Split out of :mod:`auditor.demo.arm_store`, which calls these with its
indexes under its lock.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from auditor.demo.arm_model import AUTHZ, DEMO_TENANT, Json, PathInfo, Reply, error

Pager = Callable[..., Reply]


def ensure_principal(identity: Any, old: Any, stored_ids: Callable[[str], Mapping[str, Any]]) -> Any:
    """Give an identity the ids Azure gives it: a system-assigned identity a principal id (and tenant), each
    user-assigned identity its principal and client ids. An identity keeps the ids it had: a PUT or PATCH body
    carries each user-assigned identity as ``{}`` (its ids are read-only), and Azure fills them in from the
    identity itself (``stored_ids(identity id)``: those of the stored identity resource, else stable ones)."""
    if not isinstance(identity, dict):
        return identity
    previous = old if isinstance(old, dict) else {}
    new = dict(identity)
    if "systemassigned" in str(identity.get("type", "")).lower():
        new.update(principalId=identity.get("principalId") or previous.get("principalId") or str(uuid.uuid4()),
                   tenantId=identity.get("tenantId") or previous.get("tenantId") or DEMO_TENANT)
    users = identity.get("userAssignedIdentities")
    if isinstance(users, dict):
        before = previous.get("userAssignedIdentities")
        known = {str(k).lower(): v for k, v in before.items() if isinstance(v, dict)} if isinstance(before, dict) \
            else {}
        new["userAssignedIdentities"] = {
            key: {**stored_ids(key), **known.get(key.lower(), {}),
                  **{k: v for k, v in (value if isinstance(value, dict) else {}).items() if v}}
            for key, value in users.items() if value is not None}  # PATCH {id: null} removes an identity
    return new


def list_assignments(assignments: list[str], docs: Mapping[str, Json], info: PathInfo, query: Mapping[str, str],
                     above: Callable[[str], set[str]], page: Pager) -> Reply:
    """A role-assignment list at ``info``'s scope (``assignments``: the sorted keys of every assignment)."""
    scope = info.scope().lower()
    principal, at_scope = None, False
    for term in re.split(r"\s+and\s+", query.get("$filter", "").strip(), flags=re.IGNORECASE):
        if match := re.fullmatch(r"(?:principalId\s+eq\s+'([^']*)'|assignedTo\('([^']*)'\))", term, re.I):
            principal = (match.group(1) or match.group(2) or "").lower()
        elif re.fullmatch(r"atScope\(\)", term, re.IGNORECASE):
            at_scope = True
        elif term:
            return error(400, "UnsupportedQuery", f"The filter '{term}' is not supported.")
    groups = above(scope)
    keys = []
    for key in assignments:
        props = docs[key].get("properties", {})
        own = "/" + str(props.get("scope", "")).strip("/").lower()
        own = own.rstrip("/") or "/"
        related = own == scope or own == "/" or scope.startswith(own + "/") or own in groups or (
            not at_scope and own.startswith(scope + "/"))
        if related and (principal is None or str(props.get("principalId", "")).lower() == principal):
            keys.append(key)
    reply: Reply = page(keys, info, query)
    return reply


def role_definitions(role_defs: Mapping[str, Json], info: PathInfo, query: Mapping[str, str], page: Pager) -> Reply:
    """A role definition GET or list at ``info``'s scope (built-in definitions exist at every scope)."""
    scope = "/".join(info.segments[:info.namespace_index])
    prefix = f"/{scope}" if scope else ""

    def scoped(doc: Json) -> Json:
        return {**doc, "id": f"{prefix}/providers/{AUTHZ}/roleDefinitions/{doc['name']}"}

    if not info.is_collection:
        found = role_defs.get(info.segments[-1].lower())
        if found is None:
            return error(404, "RoleDefinitionDoesNotExist", "The specified role definition does not exist.")
        return Reply(200, scoped(found))
    wanted: dict[str, str] = {}
    for term in re.split(r"\s+and\s+", query.get("$filter", "").strip(), flags=re.IGNORECASE):
        if match := re.fullmatch(r"(roleName|type)\s+eq\s+'([^']*)'", term, re.IGNORECASE):
            wanted[match.group(1).lower()] = match.group(2).lower()
        elif term:
            return error(400, "UnsupportedQuery", f"The filter '{term}' is not supported.")
    docs = {k: scoped(d) for k, d in sorted(role_defs.items()) if all(
        str(d.get("properties", {}).get("roleName" if f == "rolename" else "type", "")).lower() == v
        for f, v in wanted.items())}
    reply: Reply = page(list(docs), info, query, docs)
    return reply


def put_assignment(assignments: list[str], docs: Mapping[str, Json], info: PathInfo, body: Json, old: Json | None,
                   insert: Callable[[Json], None]) -> Reply:
    """A role assignment PUT: 409 for the same principal and role at the same scope under another name."""
    props = body.get("properties")
    if not isinstance(props, dict) or not props.get("roleDefinitionId") or not props.get("principalId"):
        return error(400, "InvalidRoleAssignmentRequest", "properties.roleDefinitionId and principalId are needed.")
    scope = info.scope()
    for key in assignments:
        other = docs[key]["properties"]
        same = all(str(other.get(f, "")).lower() == str(props[f]).lower() for f in ("principalId",
                                                                                     "roleDefinitionId"))
        if key != info.key and same and str(other.get("scope", "")).lower() == scope.lower():
            return error(409, "RoleAssignmentExists", "The role assignment already exists.")
    new = {"id": "/" + "/".join(info.segments), "name": info.segments[-1], "type": f"{AUTHZ}/roleAssignments",
           "properties": {"principalType": "ServicePrincipal", **props, "scope": scope}}
    insert(new)
    return Reply(200 if old else 201, new)
