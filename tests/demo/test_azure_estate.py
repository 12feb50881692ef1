"""The Northwind Azure demo estate, served by the Resource Manager stand-in and read by the real collector."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from auditor.catalog import load_catalog
from auditor.demo import azure_northwind as az
from auditor.demo.arm_server import ArmServer
from auditor.demo.azure_estate import AzureDemoEstate, build_estate
from auditor.demo.azure_northwind import northwind_spec, seed_azure_demo
from auditor.demo.fake_az import DEFAULT_TOKEN, recorded_calls, write_fake_az
from auditor.demo.run import applied_environment, demo_azure_environment
from auditor.model import Inventory
from auditor.pipeline import ScanInputs, evaluate_inventory
from auditor.providers.azure.collect import AzureOptions, collect_azure
from auditor.secrets import secret_kinds

_CLEARED = ("AUDITOR_ARM_ENDPOINT", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTPS_PROXY", "https_proxy")


class _Token:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("estate-test-token", int(time.time()) + 3600)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[ArmServer, AzureDemoEstate, Inventory]]:
    """The estate on a stand-in with two items a page, collected once through the SDKs."""
    saved = os.environ.get("REQUESTS_CA_BUNDLE")
    with ArmServer([], page_size=2) as arm:
        estate = seed_azure_demo(arm)
        os.environ["REQUESTS_CA_BUNDLE"] = arm.ca_bundle
        try:
            inventory = collect_azure(AzureOptions(arm_endpoint=arm.url), credential=_Token())
        finally:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
            if saved is not None:
                os.environ["REQUESTS_CA_BUNDLE"] = saved
        yield arm, estate, inventory


def test_shape_of_the_estate() -> None:
    estate = seed_azure_demo()
    assert {k: len(v) for k, v in estate.ids.items()} == {
        "workspace": 4, "compute": 7, "online_endpoint": 12, "online_deployment": 13, "serverless_endpoint": 4,
        "legacy_service": 3}
    assert [d["displayName"] for d in estate.subscription_documents] == ["ml-prod", "ml-dev"]
    assert estate.subscriptions == (az.PROD, az.DEV)
    kinds = Counter(d["type"].rsplit("/", 1)[-1] for d in estate.documents)
    assert kinds["roleAssignments"] == 12 and kinds["roleDefinitions"] == 1  # AcrPull joins the built-ins
    endpoints = {d["name"]: d for d in estate.documents if d["type"].endswith("/onlineEndpoints")}
    assert Counter(d["kind"] for d in endpoints.values()) == {"Managed": 10, "Kubernetes": 2}
    assert Counter(d["properties"]["authMode"] for d in endpoints.values()) == {
        "AADToken": 4, "AMLToken": 4, "Key": 4}
    assert endpoints["fraud-scoring-v3"]["identity"]["type"] == "SystemAssigned,UserAssigned"
    assert endpoints["demand-forecast"]["identity"]["type"] == "UserAssigned"
    assert endpoints["price-elasticity-api"]["properties"]["compute"].endswith("/computes/aks-nw-scoring")
    secure = next(d for d in estate.documents if d["name"] == az.WEU)
    assert secure["properties"]["publicNetworkAccess"] == "Disabled"
    assert secure["properties"]["managedNetwork"]["isolationMode"] == "AllowOnlyApprovedOutbound"
    assert secure["properties"]["encryption"]["keyVaultProperties"]["keyIdentifier"].startswith("https://kv-")
    assert secure["properties"]["privateEndpointConnections"][0]["properties"][
        "privateLinkServiceConnectionState"]["status"] == "Approved"
    # nothing of the examples' placeholders is left where the rules or the report look
    text = json.dumps(estate.documents)
    for placeholder in ('"string"', "00000000-1111-2222-3333-444444444444", "testworkspace", "workspaces123",
                        "contoso"):
        assert placeholder not in text


def test_the_same_spec_builds_the_same_documents() -> None:
    assert build_estate(northwind_spec()) == build_estate(northwind_spec())


def test_every_azure_ml_rule_has_pass_fail_and_na_where_it_applies() -> None:
    expected = seed_azure_demo().expected
    rules = {r.id: r for r in load_catalog(providers=("azure",)).values() if r.id.startswith("azure.ml.")}
    assert len(rules) == 16
    assert {rule for rule, _ in expected} == set(rules)
    for rule_id, rule in rules.items():
        statuses = {s for (r, _), s in expected.items() if r == rule_id}
        wanted = {"FAIL"} if rule_id == "azure.ml.legacy_service.retired" else {"PASS", "FAIL"}
        if rule.applies_when is not None:
            wanted.add("NOT_APPLICABLE")
        assert statuses == wanted, (rule_id, statuses)


def test_secrets_are_correctly_shaped_fakes_where_the_spec_says() -> None:
    estate = seed_azure_demo()
    assert set(estate.secrets) == {az.STORAGE_CONNECTION, az.SAS_URL, az.DB_PASSWORD, az.OPENAI_KEY}
    assert secret_kinds(az.STORAGE_CONNECTION) == ("storage_connection_string",)
    assert secret_kinds(az.SAS_URL) == ("sas_token",)
    assert secret_kinds(az.OPENAI_KEY) == ("openai_style_key",)
    assert len(az.ACCOUNT_KEY) == 88 and az.ACCOUNT_KEY.endswith("==")
    flagged = {rid for (rule, rid), s in estate.expected.items()
               if rule.endswith("no_plaintext_secrets") and s == "FAIL"}
    holding = {d["id"] for d in estate.documents if any(
        v in estate.secrets for v in d.get("properties", {}).get("environmentVariables", {}).values())}
    assert flagged == holding and len(flagged) == 4


def test_the_collector_reaches_exactly_the_expected_verdicts(served: tuple[ArmServer, AzureDemoEstate,
                                                                           Inventory]) -> None:
    arm, estate, inventory = served
    assert inventory.complete, [c.error for c in inventory.coverage if c.error]
    assert {r.id for r in inventory.resources} == {rid for _, rid in estate.expected}
    result = evaluate_inventory(ScanInputs(rules=load_catalog(providers=("azure",))), inventory, datetime.now(UTC))
    got = {(f.rule_id, f.resource_id): f.status.value for f in result.findings if f.rule_id.startswith("azure.ml.")}
    assert got == dict(estate.expected)
    assert arm.requests[("GET", "/subscriptions")] == 1  # both subscriptions, listed by the collector


def test_no_secret_reaches_the_inventory_and_the_hostile_tag_does(served: tuple[ArmServer, AzureDemoEstate,
                                                                                 Inventory]) -> None:
    _, estate, inventory = served
    text = json.dumps(dataclasses.asdict(inventory), default=str)
    for secret in (*estate.secrets, az.ACCOUNT_KEY, az.SAS_SIGNATURE):
        assert secret not in text
    [(rid, where, value)] = estate.hostile
    assert where == "tags.notes" and value == az.HOSTILE_TAG
    assert inventory.by_id()[rid].tags["notes"] == az.HOSTILE_TAG


def test_the_demo_credential_path_ignores_the_real_cloud_and_restores_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What run_demo does for Azure, without moto: the real AzureCliCredential runs the fake az only."""
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    real = tmp_path / "real-cli"
    write_fake_az(real, token="a-real-login-token")  # stands for a signed-in Azure CLI later on PATH
    monkeypatch.setenv("PATH", f"{real}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "would-be-a-real-secret")
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path / "real-config"))
    before = dict(os.environ)
    demo = tmp_path / "demo-az"
    with ArmServer([], page_size=5) as arm:
        estate = seed_azure_demo(arm)
        changes = demo_azure_environment(arm.ca_bundle, str(demo))
        with applied_environment(changes):
            write_fake_az(demo)
            assert "AZURE_CLIENT_SECRET" not in os.environ
            assert os.environ["PATH"].split(os.pathsep)[0] == str(demo)
            assert os.environ["AZURE_CONFIG_DIR"].startswith(str(demo))
            inventory = collect_azure(AzureOptions(subscriptions=estate.subscriptions, credential="cli",
                                                   arm_endpoint=arm.url))
        assert inventory.complete and len(inventory.resources) == len({rid for _, rid in estate.expected})
        assert set(arm.tokens) == {DEFAULT_TOKEN}
    assert len(recorded_calls(demo)) == 1 and recorded_calls(real) == []
    assert dict(os.environ) == before
