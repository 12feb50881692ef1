"""Errors are data: denied API Management lists and policies become coverage errors or unreadable keys, never PASS."""

from __future__ import annotations

import dataclasses

from auditor.demo.arm_server import ArmServer
from auditor.engine import evaluate
from auditor.model import CoverageRow, Inventory, Status
from auditor.providers.azure import apim as azure_apim

from .conftest import Scan
from .estate import EXPECTED, GW_PROD, SUB_B
from .test_apim_inventory import apim_rules, by_name, decided

EDGE_NAMES = {"edge-inherit", "edge-own", "edge-none", "edge-open"}


def row(inventory: Inventory, service: str, scope_id: str) -> CoverageRow:
    return next(c for c in inventory.coverage if c.service == service and c.scope_id == scope_id)


def test_a_denied_apim_list_errors_its_subscription_and_the_other_is_fully_audited(scan: Scan,
                                                                                     arm: ArmServer) -> None:
    arm.deny(f"/subscriptions/{SUB_B}/providers/Microsoft.ApiManagement")

    inventory = scan()

    denied = row(inventory, "apim-services", f"/subscriptions/{SUB_B}")
    assert denied.error is not None and denied.error.startswith("API Management services list failed: access denied")
    assert "AuthorizationFailed" in denied.error and denied.resource_types == azure_apim.RESOURCE_TYPES
    assert [c for c in inventory.coverage if c.error] == [denied]
    assert not any(r.account == SUB_B and r.type.startswith("azure.apim") for r in inventory.resources)
    findings = evaluate(inventory, apim_rules())
    errors = {f.rule_id for f in findings if f.resource_id == f"/subscriptions/{SUB_B}"}
    assert len(errors) == 6 and all(f.status is Status.ERROR for f in findings if f.resource_id.endswith(SUB_B))
    expected = {k: v for k, v in EXPECTED.items() if k[1] not in EDGE_NAMES}
    assert {k: v for k, v in decided(inventory).items() if k[1] != f"/subscriptions/{SUB_B}"} == expected


def test_a_denied_backends_list_errors_the_service_row_and_leaves_backend_routing_unknown(scan: Scan,
                                                                                           arm: ArmServer) -> None:
    arm.deny(f"{GW_PROD}/backends")

    inventory = scan()

    children = row(inventory, "apim-service-children", GW_PROD)
    assert children.error is not None and children.error.startswith("backends list failed: access denied")
    assert not inventory.of_type("azure.apim.backend")
    jwt = by_name(inventory, "azure.apim.api")["fraud-jwt"]
    assert jwt.related["fronts"] == [] and "backends were not listed" in jwt.unreadable["related.fronts"]
    verdicts = decided(inventory)
    assert verdicts[("azure.apim.api.model_endpoint_protected", "fraud-jwt")] == "ERROR"
    # the service is the scope whose children could not all be listed: every child rule has an ERROR for it
    assert {rule for rule, name in verdicts if name == "gw-prod"} == {rule for rule, _ in EXPECTED}
    assert {verdicts[rule, "gw-prod"] for rule, _ in EXPECTED} == {"ERROR"}
    unchanged = {k: v for k, v in EXPECTED.items()
                 if not k[0].startswith("azure.apim.backend") and k[1] != "fraud-jwt"}
    assert {k: verdicts[k] for k in unchanged} == unchanged


def test_a_denied_product_api_list_marks_the_product_and_the_subscription_protection_undecided(
        scan: Scan, arm: ArmServer) -> None:
    arm.deny(f"{GW_PROD}/products/unlimited/apis")

    inventory = scan()

    assert "products/unlimited/apis list failed: access denied" in str(row(
        inventory, "apim-service-children", GW_PROD).error)
    unlimited = by_name(inventory, azure_apim.PRODUCT)["unlimited"]
    assert unlimited.related["apis"] == [] and "access denied" in unlimited.unreadable["related.apis"]
    verdicts = decided(inventory)
    # By default a required subscription key protects, whatever the products: decided.
    assert verdicts[("azure.apim.api.model_endpoint_protected", "fraud-sub")] == "PASS"
    # With open_product_bypasses_subscription, fraud-sub relies on its subscription key and an unlisted
    # product could be open, so it is not decided; token validation does not depend on products.
    strict = [dataclasses.replace(r, params={**r.params, "open_product_bypasses_subscription": True})
              for r in apim_rules() if r.id == "azure.apim.api.model_endpoint_protected"]
    strict_verdicts = {f.resource_name: f.status.value for f in evaluate(inventory, strict)}
    assert strict_verdicts["fraud-sub"] == "ERROR"
    assert strict_verdicts["fraud-jwt"] == "PASS"


def test_a_denied_api_policy_is_unreadable_not_no_policy(scan: Scan, arm: ArmServer) -> None:
    arm.deny(f"{GW_PROD}/apis/sagemaker-open/policies")
    arm.deny(f"{GW_PROD}/policies")

    inventory = scan()

    apis = by_name(inventory, "azure.apim.api")
    assert "access denied" in apis["sagemaker-open"].unreadable["related.policy"]
    # the service-level policy is denied: every API that inherits from it is undecided, the others are not
    assert apis["churn-inherit"].unreadable["related.policy"].startswith("service-level policy (inherited)")
    assert "related.policy" not in apis["fraud-jwt"].unreadable  # keeps no <base />
    assert "related.policy" in by_name(inventory, azure_apim.SERVICE)["gw-prod"].unreadable
    verdicts = decided(inventory)
    assert verdicts[("azure.apim.api.model_endpoint_protected", "sagemaker-open")] == "ERROR"
    assert verdicts[("azure.apim.api.model_endpoint_protected", "churn-inherit")] == "ERROR"
    assert verdicts[("azure.apim.api.model_endpoint_protected", "fraud-jwt")] == "PASS"
    assert verdicts[("azure.apim.api.model_endpoint_protected", "fraud-sub")] == "PASS"  # subscription key
    assert all(c.error is None for c in inventory.coverage if c.service.startswith("apim"))
