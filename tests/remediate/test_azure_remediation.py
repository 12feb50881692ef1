"""End to end on Azure: scan -> findings.json -> plan -> apply -> re-scan -> rollback -> re-scan, against the stand-in.

The scans run the real collector (credential injected); the remediate commands run through
``auditor.cli.main`` with ``--credential cli`` (azure-identity starts the fake ``az`` first on PATH)
and ``--arm-endpoint``, over HTTPS trusted with REQUESTS_CA_BUNDLE, as a user would run them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.demo.arm_server import ArmServer
from auditor.providers import ProviderOptions
from auditor.providers.azure.collect import AzureOptions, collect_azure
from auditor.remediate.apply import ApplyOptions, apply_plan
from auditor.remediate.planfile import read_plan

from .azure_estate import (
    API_OPEN,
    API_WS,
    EP_KEY,
    EP_OK,
    OWNER_ASSIGNMENT,
    READER_ASSIGNMENT,
    SECRETS,
    SL_KEY,
    SUB,
    WS,
)
from .conftest import FixedCredential
from .helpers import Verdicts, assert_absent, changed, events, run_cli, verdicts, write_findings

AUTH = "azure.ml.online_endpoint.auth_mode"
ENDPOINT_PUBLIC = "azure.ml.online_endpoint.public_network_access_disabled"
WORKSPACE_PUBLIC = "azure.ml.workspace.public_network_access_disabled"
SERVERLESS_AUTH = "azure.ml.serverless_endpoint.auth_mode"
IDENTITY = "azure.ml.online_endpoint.identity_least_privilege"
HTTPS_ONLY = "azure.apim.api.https_only"
SUBSCRIPTION = "azure.apim.api.subscription_required"
VOLATILE = ("etag", "systemData")  # what any write changes


def scan(arm: ArmServer, path: Path) -> Path:
    inventory = collect_azure(AzureOptions(subscriptions=(SUB,), arm_endpoint=arm.url), credential=FixedCredential())
    return write_findings(inventory, path)


def cli(arm: ArmServer, *args: str) -> list[str]:
    return [*args, "--credential", "cli", "--arm-endpoint", arm.url]


def stored(arm: ArmServer, resource_id: str) -> dict[str, Any]:
    document = arm.get_resource(resource_id)
    assert document is not None, resource_id
    properties = {k: v for k, v in document.get("properties", {}).items() if k != "provisioningState"}
    return {**{k: v for k, v in document.items() if k not in VOLATILE}, "properties": properties}


def fixed(*pairs: tuple[str, str]) -> dict[tuple[str, str], tuple[str, str]]:
    return dict.fromkeys(pairs, ("FAIL", "PASS"))


def test_scan_plan_apply_rescan_rollback_rescan(arm: ArmServer, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    before_file = scan(arm, tmp_path / "before.json")
    before: Verdicts = verdicts(before_file)
    documents = {rid: stored(arm, rid) for rid in (EP_KEY, EP_OK, WS, SL_KEY, API_OPEN, API_WS)}
    plan_file = tmp_path / "plan.json"
    planned = run_cli(capsys, cli(arm, "remediate", "plan", str(before_file), "--out", str(plan_file)))
    assert planned.code == 0, planned.err
    steps = {s["finding"]["rule_id"]: s for s in json.loads(plan_file.read_text())["steps"]
             if s["finding"]["resource_id"] in (EP_KEY, WS, SL_KEY)}
    assert {r: s["mode"] for r, s in steps.items() if s["mode"] != "manual"} == {
        AUTH: "automatic", ENDPOINT_PUBLIC: "automatic", WORKSPACE_PUBLIC: "automatic", SERVERLESS_AUTH: "automatic",
        IDENTITY: "plan-only"}
    assert steps[AUTH]["disruption"]["class"] == "breaking-clients"
    assert steps[AUTH]["changes"] == [{"resource": EP_KEY, "field": "properties.authMode", "before": "Key",
                                       "before_source": "evidence", "after": "AADToken"}]
    assert any(c["call"].startswith("PUT ") and "If-Match" in c["note"] for c in steps[AUTH]["api_calls"])
    assert any(c["call"].startswith("PATCH ") for c in steps[WORKSPACE_PUBLIC]["api_calls"])
    gateway = {(s["finding"]["rule_id"], s["finding"]["resource_id"]): s["changes"][0]["after"]
               for s in json.loads(plan_file.read_text())["steps"] if s["finding"]["rule_id"].startswith("azure.apim.")}
    assert gateway == {(HTTPS_ONLY, API_OPEN): ["https"], (HTTPS_ONLY, API_WS): ["wss"],
                       (SUBSCRIPTION, API_OPEN): True}

    applied = run_cli(capsys, cli(arm, "remediate", "apply", str(plan_file), "--yes"))
    assert applied.code == 0, applied.out + applied.err
    after = verdicts(scan(arm, tmp_path / "after.json"))
    assert changed(before, after) == fixed((AUTH, EP_KEY), (ENDPOINT_PUBLIC, EP_KEY), (WORKSPACE_PUBLIC, WS),
                                           (SERVERLESS_AUTH, SL_KEY), (HTTPS_ONLY, API_OPEN), (HTTPS_ONLY, API_WS),
                                           (SUBSCRIPTION, API_OPEN))
    assert set(after) == set(before)
    endpoint = stored(arm, EP_KEY)
    assert endpoint["properties"]["description"] == documents[EP_KEY]["properties"]["description"]  # not redacted
    assert (endpoint["properties"]["authMode"], endpoint["properties"]["publicNetworkAccess"]) == ("AADToken",
                                                                                                  "Disabled")
    assert stored(arm, EP_OK) == documents[EP_OK]
    assert OWNER_ASSIGNMENT["id"] in {a["id"] for a in _assignments(arm)}  # plan-only: no access removed

    again = run_cli(capsys, cli(arm, "remediate", "apply", str(plan_file), "--yes"))
    assert again.code == 0 and again.out.count("already-applied") == 7, again.out
    journal = tmp_path / "journal.jsonl"
    assert len(events(journal, "change-applied")) == 7

    rolled = run_cli(capsys, cli(arm, "remediate", "rollback", str(journal), "--yes"))
    assert rolled.code == 0, rolled.out + rolled.err
    assert changed(before, verdicts(scan(arm, tmp_path / "rolled.json"))) == {}
    assert {rid: stored(arm, rid) for rid in documents} == documents
    assert run_cli(capsys, cli(arm, "remediate", "rollback", str(journal), "--yes")).code == 0  # nothing left

    outputs = [(p.name, p.read_text(encoding="utf-8")) for p in tmp_path.glob("*.json*")]
    assert_absent([*outputs, ("stdout", applied.out + rolled.out + planned.out)], SECRETS)


def _assignments(arm: ArmServer) -> list[dict[str, Any]]:
    return [d for d in (arm.get_resource(a["id"]) for a in (OWNER_ASSIGNMENT, READER_ASSIGNMENT)) if d is not None]


def test_access_removal_needs_the_rule_named_and_the_flag_and_rollback_recreates_it(
        arm: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before_file = scan(arm, tmp_path / "before.json")
    before = verdicts(before_file)
    plan_file = tmp_path / "plan.json"
    planned = run_cli(capsys, ["remediate", "plan", str(before_file), "--out", str(plan_file), "--rule", IDENTITY])
    assert planned.code == 0
    step = json.loads(plan_file.read_text())["steps"][0]
    assert step["mode"] == "automatic-access-removal" and step["finding"]["resource_id"] == EP_KEY
    assert [c["resource"].split(" of ")[0] for c in step["changes"]] == [
        f"role assignment Owner at /subscriptions/{SUB}"]

    refused = run_cli(capsys, cli(arm, "remediate", "apply", str(plan_file), "--yes"))
    assert refused.code == 1 and "--allow-access-removal" in refused.out
    assert arm.get_resource(OWNER_ASSIGNMENT["id"]) is not None

    applied = run_cli(capsys, cli(arm, "remediate", "apply", str(plan_file), "--yes", "--allow-access-removal"))
    assert applied.code == 0, applied.out
    assert arm.get_resource(OWNER_ASSIGNMENT["id"]) is None
    assert arm.get_resource(READER_ASSIGNMENT["id"]) is not None  # a scoped role stays
    assert changed(before, verdicts(scan(arm, tmp_path / "after.json"))) == fixed((IDENTITY, EP_KEY))

    rolled = run_cli(capsys, cli(arm, "remediate", "rollback", str(tmp_path / "journal.jsonl"), "--yes"))
    assert rolled.code == 0, rolled.out
    recreated = arm.get_resource(OWNER_ASSIGNMENT["id"])
    assert recreated is not None
    keys = ("roleDefinitionId", "principalId", "scope")
    assert {k: recreated["properties"][k] for k in keys} == {k: OWNER_ASSIGNMENT["properties"][k] for k in keys}
    assert changed(before, verdicts(scan(arm, tmp_path / "rolled.json"))) == {}


def test_a_service_refusing_the_change_in_place_is_reported_not_recreated(
        arm: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    findings = scan(arm, tmp_path / "findings.json")
    plan_file = tmp_path / "plan.json"
    assert run_cli(capsys, ["remediate", "plan", str(findings), "--out", str(plan_file), "--rule", AUTH]).code == 0
    document = stored(arm, EP_KEY)
    arm.fail(EP_KEY, status=400, times=10, methods=["PUT"])
    run = run_cli(capsys, cli(arm, "remediate", "apply", str(plan_file), "--yes"))
    assert run.code == 1
    assert run.out.startswith("refused") and "needs the online endpoint to be recreated" in run.out
    assert "nothing was changed" in run.out
    assert stored(arm, EP_KEY) == document
    assert [r["result"] for r in events(tmp_path / "journal.jsonl", "change-failed")] == ["refused"]
    rolled = run_cli(capsys, cli(arm, "remediate", "rollback", str(tmp_path / "journal.jsonl"), "--yes"))
    assert rolled.code == 0 and rolled.out.startswith("not-applied")  # nothing had changed: the change failed


def test_changes_between_plan_and_apply_and_between_read_and_write_are_refused(
        arm: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], azure_options: ProviderOptions) -> None:
    findings = scan(arm, tmp_path / "findings.json")
    plan_file = tmp_path / "plan.json"
    run = run_cli(capsys, ["remediate", "plan", str(findings), "--out", str(plan_file), "--rule", AUTH,
                           "--rule", WORKSPACE_PUBLIC, "--rule", SERVERLESS_AUTH])
    assert run.code == 0
    serverless = arm.get_resource(SL_KEY)
    assert serverless is not None
    arm.add_resources([{**serverless, "properties": {**serverless["properties"], "authMode": "KeyAndAAD"}}])

    def touch_workspace(record: Any) -> None:  # someone tags the workspace after apply read it
        if record["event"] == "change-started" and record["resource_id"] == WS:
            workspace = arm.get_resource(WS)
            assert workspace is not None
            arm.add_resources([{**workspace, "tags": {"touched": "yes"}, "etag": '"someone-else"'}])

    plan, digest = read_plan(plan_file)
    report = apply_plan(plan, plan_file, digest, ApplyOptions(tmp_path / "journal.jsonl", hook=touch_workspace),
                        azure_options)
    outcomes = {r.rule_id: (r.outcome.value, r.detail) for r in report.results}
    assert report.exit_code == 1
    assert outcomes[AUTH][0] == "applied"
    assert outcomes[SERVERLESS_AUTH][0] == "refused" and "changed since the scan" in outcomes[SERVERLESS_AUTH][1]
    assert outcomes[WORKSPACE_PUBLIC][0] == "refused" and "ETag" in outcomes[WORKSPACE_PUBLIC][1]
    workspace = arm.get_resource(WS)
    assert workspace is not None and workspace["properties"]["publicNetworkAccess"] == "Enabled"
