"""Azure resource ids compare case-insensitively, end to end: scans through the real collector and SDKs
against the Resource Manager stand-in, whose answers spell one resource in different cases (as Resource
Manager does: ``resourceGroups/RG-ML`` in the workspace list, ``resourcegroups/rg-ml`` under it), then the
pipeline's waivers, policy scope and baseline comparison, and the report's endpoint rows.

Every assertion here rests on :func:`auditor.identity.resource_key`: with Azure taken out of
``CASE_INSENSITIVE`` each test fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from auditor.demo.arm_examples import as_resource, example_body, example_items
from auditor.demo.arm_model import subscription_document
from auditor.demo.arm_server import ArmServer
from auditor.model import BaselineState, ScanResult, Severity, Status
from auditor.outputs.findings_json import render
from auditor.outputs.html_endpoints import endpoint_inventory
from auditor.pipeline import open_tracking, scan
from auditor.providers.azure.collect import AzureOptions, collect_azure

from .conftest import RecordingCredential, RecordingProgress

SUB = "dddddddd-4444-4444-8444-444444444444"
AUTH = "azure.ml.online_endpoint.auth_mode"
PUBLIC = "azure.ml.online_endpoint.public_network_access_disabled"
EGRESS = "azure.ml.online_deployment.egress_public_network_disabled"
CMK = "azure.ml.workspace.cmk_encryption"
SERVERLESS_AUTH = "azure.ml.serverless_endpoint.auth_mode"

# How one estate's ids are spelled: the workspace as its list answers, and everything under it as theirs.
Spelling = tuple[str, str]
BEFORE: Spelling = (f"/subscriptions/{SUB}/resourceGroups/RG-ML/providers/Microsoft.MachineLearningServices/"
                    "workspaces/ws-open",
                    f"/subscriptions/{SUB}/resourcegroups/rg-ml/providers/microsoft.machinelearningservices/"
                    "workspaces/WS-OPEN")
NOW: Spelling = (BEFORE[0].lower(), BEFORE[0].upper().replace("/SUBSCRIPTIONS/", "/subscriptions/"))


def _estate(spelling: Spelling, *, green: bool = True) -> list[dict[str, Any]]:
    workspace, under = spelling
    endpoint = f"{under}/onlineEndpoints/ep-key"
    managed = example_body("OnlineDeployment/ManagedOnlineDeployment/get.json")
    docs = [
        as_resource(example_body("Workspace/get.json"), workspace, location="westeurope", tags={"env": "prod"},
                    properties={"publicNetworkAccess": "Enabled", "encryption": {"status": "Disabled"},
                                "managedNetwork": {"isolationMode": "AllowInternetOutbound"},
                                "privateEndpointConnections": []}),
        as_resource(example_body("Workspace/OnlineEndpoint/get.json"), endpoint, location="westeurope",
                    kind="Managed", tags={"env": "prod"}, identity={"type": "None"},
                    properties={"authMode": "Key", "publicNetworkAccess": "Enabled", "compute": None,
                                "provisioningState": "Succeeded", "traffic": {"blue": 100}}),
        as_resource(managed, f"{endpoint}/deployments/blue", location="westeurope",
                    properties={"egressPublicNetworkAccess": "Disabled", "environmentVariables": {}}),
        as_resource(example_items("Workspace/ServerlessEndpoint/list.json")[0], f"{under}/serverlessEndpoints/sl-key",
                    location="westeurope"),
    ]
    if green:
        docs.append(as_resource(managed, f"{endpoint}/deployments/green", location="westeurope",
                                properties={"egressPublicNetworkAccess": "Enabled", "environmentVariables": {}}))
    return docs


@contextmanager
def _serving(docs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> Iterator[ArmServer]:
    with ArmServer(docs, subscriptions=[subscription_document(SUB, "ml")], page_size=2) as server:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_bundle)
        yield server


Scan = Callable[..., ScanResult]


@pytest.fixture
def scan_estate(monkeypatch: pytest.MonkeyPatch, credential: RecordingCredential,
                progress: RecordingProgress, tmp_path: Path) -> Scan:
    """``scan_estate(docs, policy=..., waivers=..., baseline=...)``: the pipeline over one collection of ``docs``."""

    def run(docs: list[dict[str, Any]], *, policy: str | None = None, waivers: str | None = None,
            baseline: Path | None = None) -> ScanResult:
        with _serving(docs, monkeypatch) as arm:
            options = AzureOptions(subscriptions=(SUB,), arm_endpoint=arm.url)
            files = {name: tmp_path / f"{name}.yaml" for name, text in (("policy", policy), ("waivers", waivers))
                     if text is not None}
            for name, text in (("policy", policy), ("waivers", waivers)):
                if text is not None:
                    files[name].write_text(text)
            return scan({"azure": lambda _: collect_azure(options, progress, credential=credential)},
                        fail_on=Severity.HIGH, policy_file=files.get("policy"), waivers_file=files.get("waivers"),
                        tracking=open_tracking(baseline))

    return run


def _ids(result: ScanResult, rule_id: str, status: Status | None = None) -> list[str]:
    return sorted(f.resource_id for f in result.findings
                  if f.rule_id == rule_id and (status is None or f.status is status))


def test_the_stand_in_answers_one_resource_group_in_two_spellings(scan_estate: Scan) -> None:
    """The premise of the tests below: ids as Resource Manager returned them, not normalised by anyone."""
    result = scan_estate(_estate(BEFORE))
    assert _ids(result, CMK) == [BEFORE[0]]
    assert _ids(result, AUTH) == [f"{BEFORE[1]}/onlineEndpoints/ep-key"]


def test_a_waiver_written_in_another_case_mutes_the_finding(scan_estate: Scan) -> None:
    waivers = f"""\
waivers:
  - rules: [{AUTH}]
    resources: ["{BEFORE[0].upper()}/ONLINEENDPOINTS/EP-KEY"]
    reason: Partner clients move to Entra tokens in Q3 (SEC-142)
    owner: ml-platform@example.com
    expires: 2099-12-31
    broad: true
"""
    result = scan_estate(_estate(NOW), waivers=waivers)
    [muted] = [f for f in result.findings if f.rule_id == AUTH]
    assert muted.status is Status.MUTED and muted.resource_id == f"{NOW[1]}/onlineEndpoints/ep-key"
    assert not result.unused_waivers


def test_a_policy_scope_names_the_subscription_in_any_case(scan_estate: Scan) -> None:
    policy = f"""\
version: 1
scope:
  - providers: [azure]
    accounts: ["{SUB.upper()}"]
"""
    result = scan_estate(_estate(NOW), policy=policy)
    assert result.policy_scope is not None and result.policy_scope.out_of_scope == 0
    assert _ids(result, EGRESS, Status.FAIL) == [f"{NOW[1]}/onlineEndpoints/ep-key/deployments/green"]


def test_a_baseline_spelling_every_id_otherwise_matches_and_a_gone_deployment_is_resolved(
        scan_estate: Scan, tmp_path: Path) -> None:
    before = tmp_path / "before.json"
    before.write_text(render(scan_estate(_estate(BEFORE))))
    result = scan_estate(_estate(NOW, green=False), baseline=before)
    comparison = result.baseline
    assert comparison is not None
    states = {comparison.findings[f.id].state for f in result.findings}
    assert BaselineState.NEW not in states and BaselineState.REGRESSED not in states
    assert {comparison.findings[f.id].state for f in result.findings if f.status is Status.FAIL} \
        == {BaselineState.STILL_FAILING}
    # green is gone, and the workspace that held it (spelled otherwise now) was read: resolved, not unverified
    assert {p.resource_id for p in comparison.resolved} == {f"{BEFORE[1]}/onlineEndpoints/ep-key/deployments/green"}
    assert EGRESS in {p.rule_id for p in comparison.resolved}
    assert not comparison.unverified


def test_the_report_rows_link_what_serves_an_endpoint_across_spellings(scan_estate: Scan) -> None:
    doc = json.loads(render(scan_estate(_estate(NOW))))  # findings.json, what report.html is made from
    rows = {row["name"]: row for row in endpoint_inventory(doc)}
    at = {i: (f["rule_id"], f["resource_id"]) for i, f in enumerate(doc["findings"])}
    online = rows["ep-key"]
    assert online["unknown"] == []
    assert {(p["relation"], p["id"]) for p in online["parts"]} == {
        ("workspace", NOW[0]),
        ("deployments", f"{NOW[1]}/onlineEndpoints/ep-key/deployments/blue"),
        ("deployments", f"{NOW[1]}/onlineEndpoints/ep-key/deployments/green")}
    assert (EGRESS, f"{NOW[1]}/onlineEndpoints/ep-key/deployments/green") in {at[i] for i in online["findings"]}
    # a serverless endpoint's workspace is the parent in its id, spelled as the serverless list spelled it
    serverless = {at[i] for i in rows["sl-key"]["findings"]}
    assert {(SERVERLESS_AUTH, f"{NOW[1]}/serverlessEndpoints/sl-key"), (CMK, NOW[0])} <= serverless
    assert rows["sl-key"]["status"] == Status.FAIL.value
