"""Role assignments and role definitions through azure-mgmt-authorization (api 2022-04-01)."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters

from auditor.demo.arm_model import BUILTIN_ROLES
from auditor.demo.arm_server import ArmServer

from .conftest import StaticToken
from .estate import ENDPOINT_PRINCIPALS, RG, RG_SCOPE, SUB, SUB_B, USER_PRINCIPAL, WS_ID, endpoint_id

SUB_SCOPE = f"/subscriptions/{SUB}"
EP1 = ENDPOINT_PRINCIPALS["ep-1"]


def role_guid(assignment: Any) -> str:
    return str(assignment.role_definition_id).rsplit("/", 1)[-1]


@pytest.fixture
def authz(credential: StaticToken, client_options: dict[str, Any]) -> AuthorizationManagementClient:
    return AuthorizationManagementClient(credential, SUB, **client_options)


def test_list_for_scope_filters_by_principal(arm: ArmServer, authz: AuthorizationManagementClient) -> None:
    found = list(authz.role_assignments.list_for_scope(SUB_SCOPE, filter=f"principalId eq '{EP1}'"))
    # at the subscription and below it: the resource-group Contributor and the workspace data scientist,
    # not the Reader in the other subscription
    assert sorted(role_guid(a) for a in found) == sorted(
        [BUILTIN_ROLES["Contributor"], BUILTIN_ROLES["AzureML Data Scientist"]])
    assert {a.scope for a in found} == {RG_SCOPE, WS_ID}
    assert all(a.principal_id == EP1 and a.principal_type == "ServicePrincipal" for a in found)
    assert arm.api_versions[("/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments",
                             "2022-04-01")] == 1


def test_list_without_filter_pages_and_includes_every_scope_below(
        arm: ArmServer, authz: AuthorizationManagementClient) -> None:
    found = list(authz.role_assignments.list_for_subscription())
    assert len(found) == 4  # page size 2: a nextLink was followed
    assert arm.requests[("GET", "/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments")] == 2
    assert [a.principal_id for a in authz.role_assignments.list_for_subscription(
        filter=f"principalId eq '{USER_PRINCIPAL}'")] == [USER_PRINCIPAL]


def test_at_scope_and_inheritance(authz: AuthorizationManagementClient) -> None:
    # a resource group's list includes what it inherits from the subscription and what lies below it
    in_group = {role_guid(a) for a in authz.role_assignments.list_for_resource_group(RG)}
    assert in_group == {BUILTIN_ROLES[r] for r in ("Owner", "Contributor", "AzureML Data Scientist",
                                                   "Storage Blob Data Reader")}
    # atScope(): the scope itself and above it, nothing below
    at_group = {role_guid(a) for a in authz.role_assignments.list_for_resource_group(RG, filter="atScope()")}
    assert at_group == {BUILTIN_ROLES["Owner"], BUILTIN_ROLES["Contributor"]}
    at_endpoint = list(authz.role_assignments.list_for_scope(
        endpoint_id("ep-0"), filter=f"atScope() and principalId eq '{ENDPOINT_PRINCIPALS['ep-0']}'"))
    assert [role_guid(a) for a in at_endpoint] == [BUILTIN_ROLES["Storage Blob Data Reader"]]
    on_resource = list(authz.role_assignments.list_for_resource(
        RG, "Microsoft.MachineLearningServices", "workspaces", "ws-prod"))
    assert {role_guid(a) for a in on_resource} >= {BUILTIN_ROLES["AzureML Data Scientist"]}
    with pytest.raises(HttpResponseError) as caught:
        list(authz.role_assignments.list_for_scope(SUB_SCOPE, filter="principalName eq 'x'"))
    assert caught.value.status_code == 400


def test_role_definitions(authz: AuthorizationManagementClient) -> None:
    owner_id = f"{SUB_SCOPE}/providers/Microsoft.Authorization/roleDefinitions/{BUILTIN_ROLES['Owner']}"
    owner = authz.role_definitions.get_by_id(owner_id)
    assert owner.role_name == "Owner" and owner.id == owner_id and owner.role_type == "BuiltInRole"
    assert owner.permissions[0].actions == ["*"]
    tenant_level = authz.role_definitions.get_by_id(
        f"/providers/Microsoft.Authorization/roleDefinitions/{BUILTIN_ROLES['Contributor']}")
    assert "Microsoft.Authorization/*/Write" in tenant_level.permissions[0].not_actions
    reader = authz.role_definitions.get(RG_SCOPE, BUILTIN_ROLES["Reader"])
    assert reader.id.startswith(RG_SCOPE + "/providers/") and reader.permissions[0].actions == ["*/read"]
    names = {d.role_name for d in authz.role_definitions.list(SUB_SCOPE)}
    assert names == set(BUILTIN_ROLES)
    assert [d.name for d in authz.role_definitions.list(SUB_SCOPE, filter="roleName eq 'Storage Blob Data Reader'")] \
        == [BUILTIN_ROLES["Storage Blob Data Reader"]]


def test_create_and_delete_assignment(arm: ArmServer, authz: AuthorizationManagementClient) -> None:
    name = "0f0f0f0f-0000-4000-8000-000000000001"
    role_id = f"{SUB_SCOPE}/providers/Microsoft.Authorization/roleDefinitions/{BUILTIN_ROLES['Reader']}"
    created = authz.role_assignments.create(WS_ID, name, RoleAssignmentCreateParameters(
        role_definition_id=role_id, principal_id=EP1, principal_type="ServicePrincipal"))
    assert created.scope == WS_ID and created.name == name
    with pytest.raises(ResourceExistsError):  # the same principal, role and scope under another name
        authz.role_assignments.create(WS_ID, "0f0f0f0f-0000-4000-8000-000000000002", RoleAssignmentCreateParameters(
            role_definition_id=role_id, principal_id=EP1))
    deleted = authz.role_assignments.delete(WS_ID, name)  # answered synchronously with the deleted assignment
    assert deleted is not None and deleted.name == name
    assert arm.get_resource(created.id) is None
    assert authz.role_assignments.delete(WS_ID, name) is None  # 204 when it is already gone
    assert [a for a in authz.role_assignments.list_for_subscription() if a.name == name] == []
    assert all(a.scope != SUB_B for a in authz.role_assignments.list_for_subscription())
