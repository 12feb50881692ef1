"""Errors are data: denied, throttled and failing lists become coverage errors or unreadable keys, never PASS."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError

from auditor.catalog import load_catalog
from auditor.demo.arm_server import ArmServer
from auditor.engine import evaluate
from auditor.errors import ConfigError
from auditor.model import CoverageRow, Finding, Inventory, Rule, Status
from auditor.providers.azure import ai as azure_ai
from auditor.providers.azure import apim as azure_apim
from auditor.providers.azure import ml as azure_ml
from auditor.providers.azure.collect import AzureOptions, collect_azure

from .conftest import Scan
from .estate import EP_AAD, EP_KEY, EP_NONE, EP_OWNER, EXPECTED, SUB_A, SUB_B, WS_OPEN, WS_SECURE, build_estate


def ml_rules() -> list[Rule]:
    return [rule for rule in load_catalog(providers=("azure",)).values() if rule.id.startswith("azure.ml.")]


def findings_of(inventory: Inventory) -> list[Finding]:
    return list(evaluate(inventory, ml_rules()))


def seeded_ids(prefix: str) -> set[str]:
    return {d["id"] for d in build_estate()
            if d["type"].startswith("Microsoft.MachineLearningServices") and d["id"].startswith(prefix)}


def row(inventory: Inventory, scope_id: str) -> CoverageRow:
    """The Machine Learning coverage row of a scope (API Management has rows of its own there)."""
    return next(c for c in inventory.coverage if c.scope_id == scope_id and c.service.startswith("ml-"))


def test_an_unregistered_provider_is_an_error_and_the_scan_never_registers_it(scan: Scan, arm: ArmServer) -> None:
    # azure-mgmt-core's default pipeline answers this 409 by POSTing .../providers/NS/register: a write.
    arm.fail(f"/subscriptions/{SUB_B}/providers/Microsoft.MachineLearningServices", status=409, times=1000,
             code="MissingSubscriptionRegistration")

    inventory = scan(subscriptions=(SUB_A, SUB_B))

    error = row(inventory, f"/subscriptions/{SUB_B}").error
    assert error is not None and "HTTP 409 MissingSubscriptionRegistration" in error
    assert {r.id for r in inventory.resources if r.account == SUB_A} == seeded_ids(f"/subscriptions/{SUB_A}/")
    assert {method for method, _ in arm.requests} == {"GET"}


def test_a_denied_subscription_is_an_error_row_and_the_other_is_fully_collected(scan: Scan, arm: ArmServer) -> None:
    arm.deny(f"/subscriptions/{SUB_B}/providers/Microsoft.MachineLearningServices")

    inventory = scan(subscriptions=(SUB_A, SUB_B))

    assert not inventory.complete
    denied = row(inventory, f"/subscriptions/{SUB_B}")
    assert denied.resource_types == azure_ml.RESOURCE_TYPES and denied.resources == 0
    assert denied.error is not None and denied.error.startswith("workspaces list failed: access denied")
    assert "AuthorizationFailed" in denied.error and "Microsoft.MachineLearningServices/workspaces/read" in denied.error
    assert {r.id for r in inventory.resources if r.account == SUB_B} == set()
    assert {r.id for r in inventory.resources} == seeded_ids(f"/subscriptions/{SUB_A}/")
    assert [c for c in inventory.coverage if c.error] == [denied]

    findings = findings_of(inventory)
    errors = [f for f in findings if f.status is Status.ERROR]
    assert {f.resource_id for f in errors} == {f"/subscriptions/{SUB_B}"} and len(errors) == 16
    names = {r.id: r.name for r in inventory.resources}
    decided = {(f.rule_id, names[f.resource_id]): f.status.value for f in findings if f.status is not Status.ERROR}
    assert decided == {k: v for k, v in EXPECTED.items() if k[1] not in ("ws-b1", "ws-b2", "ws-b3", "ep-b", "main")}


def test_throttling_past_the_default_retries_is_retried_after_retry_after(scan: Scan, arm: ArmServer) -> None:
    # four 429s in a row: azure-core's default retry_status (3) would give up; Retry-After: 1 is honoured
    arm.throttle(f"{WS_SECURE}/onlineEndpoints", times=4, retry_after=1)
    arm.fail(f"{WS_SECURE}/computes", status=503, times=1)

    started = time.monotonic()
    inventory = scan(subscriptions=(SUB_A,))

    assert time.monotonic() - started >= 3.9
    assert inventory.complete, [c.error for c in inventory.coverage if c.error]
    assert arm.injected["throttle"] == 4 and arm.injected["fail"] == 1
    assert {r.id for r in inventory.resources} == seeded_ids(f"/subscriptions/{SUB_A}/")


def test_a_denied_serverless_list_errors_its_workspace_only(scan: Scan, arm: ArmServer) -> None:
    arm.deny(f"{WS_OPEN}/serverlessEndpoints")

    inventory = scan(subscriptions=(SUB_A,))

    failed = row(inventory, WS_OPEN)
    assert failed.error is not None and failed.error.startswith("serverlessEndpoints list failed: access denied")
    assert failed.resource_types == azure_ml.CHILD_TYPES
    assert [c.scope_id for c in inventory.coverage if c.error] == [WS_OPEN]
    assert f"{WS_OPEN}/computes/ci-dev" in inventory.by_id()  # the workspace's other lists were read
    assert WS_OPEN in inventory.by_id()
    findings = findings_of(inventory)
    errors = {(f.rule_id, f.resource_id) for f in findings if f.status is Status.ERROR}
    assert ("azure.ml.serverless_endpoint.auth_mode", WS_OPEN) in errors
    assert all(resource_id == WS_OPEN for _, resource_id in errors)
    secure = {f.resource_id.rsplit("/", 1)[-1]: f.status.value for f in findings
              if f.rule_id == "azure.ml.serverless_endpoint.auth_mode" and f.resource_id.startswith(WS_SECURE)}
    assert secure == {"sl-aad": "PASS", "sl-key": "FAIL", "sl-both": "FAIL"}


def test_subscription_listing_failure_is_one_error_row(scan: Scan, arm: ArmServer) -> None:
    arm.fail("/subscriptions", status=403, times=1)  # only the subscription list itself

    inventory = scan()

    assert inventory.resources == () and inventory.scopes == ("azure:*",)
    (only,) = inventory.coverage
    assert (only.provider, only.account, only.region, only.service, only.scope_id) == (
        "azure", "*", "*", "ml-workspaces", "/subscriptions")
    assert only.resource_types == (*azure_ml.RESOURCE_TYPES, *azure_apim.RESOURCE_TYPES, *azure_ai.RESOURCE_TYPES)
    assert only.error is not None and "cannot list subscriptions" in only.error and "HTTP 403" in only.error
    findings = [f for f in findings_of(inventory) if f.rule_id.startswith("azure.ml.")]
    assert len(findings) == 16 and all(f.status is Status.ERROR and f.resource_id == "/subscriptions"
                                       for f in findings)


def test_unreadable_role_assignments_mark_the_endpoints_not_the_scan(scan: Scan, arm: ArmServer) -> None:
    arm.deny(f"/subscriptions/{SUB_A}/providers/Microsoft.Authorization/roleAssignments")

    inventory = scan(subscriptions=(SUB_A,))

    assert inventory.complete
    endpoints = inventory.by_id()
    for endpoint_id in (EP_AAD, EP_OWNER, EP_KEY):
        reason = endpoints[endpoint_id].unreadable["related.role_assignments"]
        assert reason.startswith("access denied: list role assignments of principal")
        assert endpoints[endpoint_id].document["properties"]["authMode"]
    assert endpoints[EP_NONE].unreadable == {}
    identity = {f.resource_id: f.status for f in findings_of(inventory)
                if f.rule_id == "azure.ml.online_endpoint.identity_least_privilege"}
    assert identity == {EP_AAD: Status.ERROR, EP_OWNER: Status.ERROR, EP_KEY: Status.ERROR,
                        EP_NONE: Status.NOT_APPLICABLE}


def test_a_denied_deployments_list_errors_the_workspace_and_marks_the_endpoint(scan: Scan, arm: ArmServer) -> None:
    arm.deny(f"{EP_AAD}/deployments")

    inventory = scan(subscriptions=(SUB_A,))

    error = row(inventory, WS_SECURE).error
    assert error is not None and error.startswith("onlineEndpoints/ep-aad/deployments list failed: access denied")
    endpoint = inventory.by_id()[EP_AAD]
    assert endpoint.related["deployments"] == []
    assert endpoint.unreadable["related.deployments"].startswith("access denied")
    assert not [r for r in inventory.of_type("azure.ml.online_deployment") if r.id.startswith(EP_AAD)]
    errors = {(f.rule_id, f.resource_id) for f in findings_of(inventory) if f.status is Status.ERROR}
    assert ("azure.ml.online_deployment.no_plaintext_secrets", WS_SECURE) in errors


def test_v1_services_answered_with_an_undocumented_400_is_an_error(scan: Scan, arm: ArmServer) -> None:
    arm.fail(f"{WS_SECURE}/services", status=400, times=1)

    inventory = scan(subscriptions=(SUB_A,))

    error = row(inventory, WS_SECURE).error
    assert error is not None and error.startswith("services list failed: error: list services of workspace")
    assert "HTTP 400" in error


class FailingCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise ClientAuthenticationError("AADSTS70043: The refresh token has expired due to inactivity.")


def _only_error(inventory: Any) -> str:
    """The one failed row of a collection that could not start (no subscription asked for)."""
    assert inventory.resources == ()
    [row] = inventory.coverage
    assert row.scope_id == "/subscriptions" and row.error and set(row.resource_types) >= {
        "azure.ml.workspace", "azure.ml.online_endpoint", "azure.apim.api"}
    return str(row.error)


def test_no_token_at_all_fails_every_scope_naming_the_credential(arm: ArmServer) -> None:
    inventory = collect_azure(AzureOptions(arm_endpoint=arm.url), credential=FailingCredential())  # type: ignore[arg-type]
    message = _only_error(inventory)
    assert "'FailingCredential' credential" in message and "AADSTS70043" in message
    assert arm.tokens == {}


def test_no_token_for_the_subscriptions_asked_fails_each_of_them(arm: ArmServer) -> None:
    inventory = collect_azure(AzureOptions(arm_endpoint=arm.url, subscriptions=("s-1", "s-2")),
                              credential=FailingCredential())  # type: ignore[arg-type]
    assert [(r.account, r.scope_id) for r in inventory.coverage] == [("s-1", "/subscriptions/s-1"),
                                                                     ("s-2", "/subscriptions/s-2")]
    assert all("AADSTS70043" in str(r.error) for r in inventory.coverage)
    assert inventory.scopes == ("azure:s-1", "azure:s-2")


def test_a_broken_cli_login_fails_every_scope_naming_the_credential(arm: ArmServer, tmp_path: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "az"
    broken.write_text("#!/bin/sh\necho 'ERROR: Please run az login to setup account.' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert re.search(r"'cli' credential: .*az login", _only_error(collect_azure(AzureOptions(arm_endpoint=arm.url,
                                                                                            credential="cli"))))


def test_missing_configuration_of_a_credential_fails_every_scope(arm: ArmServer) -> None:
    assert "'workload-identity'" in _only_error(collect_azure(AzureOptions(arm_endpoint=arm.url,
                                                                          credential="workload-identity")))
    assert "'environment' credential" in _only_error(collect_azure(AzureOptions(arm_endpoint=arm.url,
                                                                               credential="environment")))


@pytest.mark.parametrize(("options", "field"), [
    (AzureOptions(credential="browser"), "--credential"),
    (AzureOptions(arm_endpoint="http://127.0.0.1:1"), "--arm-endpoint"),
    (AzureOptions(max_workers=0), "max_workers"),
])
def test_bad_options_are_config_errors(options: AzureOptions, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        collect_azure(options)
    assert caught.value.field == field
