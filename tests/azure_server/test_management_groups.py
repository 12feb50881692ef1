"""Management groups through the official SDKs: azure-mgmt-managementgroups (api 2023-04-01) and the
role assignments at and inherited from management-group scope through azure-mgmt-authorization (2022-04-01)."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.managementgroups import ManagementGroupsMgmtClient

from auditor.demo.arm_model import BUILTIN_ROLES, role_assignment_document
from auditor.demo.arm_server import ArmServer

from .conftest import StaticToken
from .estate import SUB, SUB_B, SUB_C

MG = "/providers/Microsoft.Management/managementGroups"
PRINCIPAL = "cccccccc-0000-4000-8000-000000000001"


@pytest.fixture
def groups(arm: ArmServer, credential: StaticToken, client_options: dict[str, Any]) -> ManagementGroupsMgmtClient:
    tree = arm.store.groups
    tree.add_group("root", None, "Tenant Root Group")
    tree.add_group("org", "root", "Organisation")
    tree.add_group("prod", "org")
    tree.add_group("dev", "org")
    tree.add_group("sandbox", "dev")
    tree.place(SUB, "prod")
    tree.place(SUB_B, "dev")
    tree.place(SUB_C, "sandbox")
    arm.add_resources([role_assignment_document(f"{MG}/org", PRINCIPAL, "Owner"),
                       role_assignment_document(f"{MG}/dev", PRINCIPAL, "Reader"),
                       role_assignment_document(f"/subscriptions/{SUB_C}", PRINCIPAL, "Contributor")])
    return ManagementGroupsMgmtClient(credential, **client_options)


@pytest.fixture
def authz(credential: StaticToken, client_options: dict[str, Any]) -> AuthorizationManagementClient:
    return AuthorizationManagementClient(credential, SUB, **client_options)


def test_a_group_with_its_ancestors(groups: ManagementGroupsMgmtClient, arm: ArmServer) -> None:
    found = groups.management_groups.get("sandbox", expand="ancestors")
    assert found.id == f"{MG}/sandbox" and found.type == "Microsoft.Management/managementGroups"
    assert found.details.parent.id == f"{MG}/dev" and found.details.parent.display_name == "dev"
    assert [a.name for a in found.details.management_group_ancestors_chain] == ["dev", "org", "root"]
    plain = groups.management_groups.get("org")
    assert plain.display_name == "Organisation" and not plain.details.management_group_ancestors_chain
    assert arm.api_versions[(f"{MG}/{{}}", "2023-04-01")] == 2


def test_descendants_page_through_nested_groups_parents_first(groups: ManagementGroupsMgmtClient,
                                                              arm: ArmServer) -> None:
    found = list(groups.management_groups.get_descendants("org"))
    assert [(d.name, d.type, d.parent.id) for d in found] == [
        ("dev", "Microsoft.Management/managementGroups", f"{MG}/org"),
        ("prod", "Microsoft.Management/managementGroups", f"{MG}/org"),
        ("sandbox", "Microsoft.Management/managementGroups", f"{MG}/dev"),
        (SUB, "Microsoft.Management/managementGroups/subscriptions", f"{MG}/prod"),
        (SUB_B, "Microsoft.Management/managementGroups/subscriptions", f"{MG}/dev"),
        (SUB_C, "Microsoft.Management/managementGroups/subscriptions", f"{MG}/sandbox"),
    ]
    assert arm.requests[("GET", f"{MG}/{{}}/descendants")] == 3  # page size 2: nextLink followed twice
    assert [d.name for d in groups.management_groups.get_descendants("sandbox")] == [SUB_C]


def test_an_unknown_or_denied_group(groups: ManagementGroupsMgmtClient, arm: ArmServer) -> None:
    with pytest.raises(ResourceNotFoundError):
        groups.management_groups.get("nope")
    arm.deny(f"{MG}/org")
    with pytest.raises(HttpResponseError) as caught:
        list(groups.management_groups.get_descendants("org"))
    assert caught.value.status_code == 403 and caught.value.error.code == "AuthorizationFailed"


def test_role_assignments_at_group_scope_and_inherited_below(groups: ManagementGroupsMgmtClient,
                                                             authz: AuthorizationManagementClient) -> None:
    def roles(found: Any) -> list[tuple[str, str]]:
        return sorted((str(a.role_definition_id).rsplit("/", 1)[-1], a.scope) for a in found)

    owner, reader, contributor = BUILTIN_ROLES["Owner"], BUILTIN_ROLES["Reader"], BUILTIN_ROLES["Contributor"]
    # atScope() at a group: its own and its ancestors', nothing below
    assert roles(authz.role_assignments.list_for_scope(f"{MG}/dev", filter="atScope()")) == sorted(
        [(owner, f"{MG}/org"), (reader, f"{MG}/dev")])
    # a subscription's list carries what it inherits from the groups above it, with their scope
    listed = authz.role_assignments.list_for_scope(f"/subscriptions/{SUB_C}", filter=f"principalId eq '{PRINCIPAL}'")
    assert roles(listed) == sorted([(owner, f"{MG}/org"), (reader, f"{MG}/dev"),
                                    (contributor, f"/subscriptions/{SUB_C}")])
    # ... and not what sits on a sibling group
    assert roles(authz.role_assignments.list_for_scope(f"/subscriptions/{SUB}", filter=f"principalId eq '{PRINCIPAL}'")
                 ) == [(owner, f"{MG}/org")]


def test_an_assignment_deleted_and_recreated_at_group_scope(groups: ManagementGroupsMgmtClient, arm: ArmServer,
                                                            authz: AuthorizationManagementClient) -> None:
    from azure.mgmt.authorization.models import RoleAssignmentCreateParameters

    seeded = role_assignment_document(f"{MG}/dev", PRINCIPAL, "Reader")
    assert authz.role_assignments.delete(f"{MG}/dev", seeded["name"]) is not None
    assert arm.get_resource(seeded["id"]) is None
    role = f"/providers/Microsoft.Authorization/roleDefinitions/{BUILTIN_ROLES['Reader']}"
    created = authz.role_assignments.create(f"{MG}/dev", seeded["name"], RoleAssignmentCreateParameters(
        role_definition_id=role, principal_id=PRINCIPAL, principal_type="ServicePrincipal"))
    assert (created.id, created.scope) == (seeded["id"], f"{MG}/dev")
    listed = authz.role_assignments.list_for_scope(f"/subscriptions/{SUB_C}", filter=f"principalId eq '{PRINCIPAL}'")
    assert f"{MG}/dev" in {a.scope for a in listed}  # inherited again below the group
    with pytest.raises(ResourceNotFoundError):  # no such group: nothing to assign at
        authz.role_assignments.create(f"{MG}/typo", seeded["name"], RoleAssignmentCreateParameters(
            role_definition_id=role, principal_id=PRINCIPAL))
