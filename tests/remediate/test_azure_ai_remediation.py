"""End to end for the AI Services / Azure OpenAI fixes: scan, plan, apply, re-scan PASS, rollback, re-scan FAIL.

The AI accounts of the demo (``auditor.demo.ai_estate``) join the remediation estate on the stand-in; the
remediate commands run through ``auditor.cli.main`` with the fake ``az`` as a user would run them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.demo.ai_estate import build_ai_estate, northwind_ai_spec
from auditor.demo.arm_server import ArmServer
from auditor.providers.azure.collect import AzureOptions, collect_azure

from .azure_estate import SUB
from .conftest import FixedCredential
from .helpers import changed, events, run_cli, verdicts, write_findings

LOCAL_AUTH = "azure.ai.account.local_auth_disabled"
PUBLIC = "azure.ai.account.public_network_access_disabled"
ESTATE = build_ai_estate(northwind_ai_spec(SUB, SUB))
OPEN = ESTATE.ids["account"]["ais-nw-prod-eus"]  # keys on, public network open
DEV = ESTATE.ids["account"]["oai-nw-dev"]  # keys on, public network closed by its ACL
LOCKED = ESTATE.ids["account"]["oai-nw-prod-weu"]


@pytest.fixture
def ai_arm(arm: ArmServer) -> ArmServer:
    arm.add_resources(ESTATE.documents)
    return arm


def scan(arm: ArmServer, path: Path) -> Path:
    inventory = collect_azure(AzureOptions(subscriptions=(SUB,), arm_endpoint=arm.url), credential=FixedCredential())
    return write_findings(inventory, path)


def cli(arm: ArmServer, *args: str) -> list[str]:
    return [*args, "--credential", "cli", "--arm-endpoint", arm.url]


def stored(arm: ArmServer, resource_id: str) -> dict[str, Any]:
    document = arm.get_resource(resource_id)
    assert document is not None, resource_id
    return {k: v for k, v in document.items() if k != "etag"}


def test_keys_and_public_access_are_fixed_with_rollback(ai_arm: ArmServer, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    arm = ai_arm
    before_file = scan(arm, tmp_path / "before.json")
    before = verdicts(before_file)
    assert before[LOCAL_AUTH, OPEN][0] == before[PUBLIC, OPEN][0] == before[LOCAL_AUTH, DEV][0] == "FAIL"
    documents = {rid: stored(arm, rid) for rid in (OPEN, DEV, LOCKED)}
    plan_file = tmp_path / "plan.json"
    planned = run_cli(capsys, cli(arm, "remediate", "plan", str(before_file), "--out", str(plan_file),
                                  "--rule", LOCAL_AUTH, "--rule", PUBLIC))
    assert planned.code == 0, planned.err
    steps = {(s["finding"]["rule_id"], s["finding"]["resource_id"]): s
             for s in json.loads(plan_file.read_text())["steps"]}
    assert set(steps) == {(LOCAL_AUTH, OPEN), (PUBLIC, OPEN), (LOCAL_AUTH, DEV)}
    keys = steps[LOCAL_AUTH, OPEN]
    assert keys["mode"] == "automatic" and keys["disruption"]["class"] == "breaking-clients"
    assert "key" in json.dumps(keys["disruption"]).lower()  # the plan says key callers break
    assert keys["changes"] == [{"resource": OPEN, "field": "properties.disableLocalAuth", "before": False,
                                "before_source": "evidence", "after": True}]
    assert [c["call"].split(" ", 1)[0] for c in keys["api_calls"]] == ["GET", "PATCH"]
    assert all("api-version=2025-06-01" in c["call"] for c in keys["api_calls"])
    assert steps[PUBLIC, OPEN]["changes"][0]["after"] == "Disabled"

    applied = run_cli(capsys, cli(arm, "remediate", "apply", str(plan_file), "--yes"))
    assert applied.code == 0, applied.out + applied.err
    after = verdicts(scan(arm, tmp_path / "after.json"))
    assert changed(before, after) == dict.fromkeys(((LOCAL_AUTH, OPEN), (PUBLIC, OPEN), (LOCAL_AUTH, DEV)),
                                                   ("FAIL", "PASS"))
    account = stored(arm, OPEN)
    assert account["properties"]["disableLocalAuth"] is True
    assert account["properties"]["publicNetworkAccess"] == "Disabled"
    assert account["properties"]["networkAcls"] == documents[OPEN]["properties"]["networkAcls"]  # left as it was
    assert stored(arm, LOCKED) == documents[LOCKED]
    journal = tmp_path / "journal.jsonl"
    assert len(events(journal, "change-applied")) == 3

    rolled = run_cli(capsys, cli(arm, "remediate", "rollback", str(journal), "--yes"))
    assert rolled.code == 0, rolled.out + rolled.err
    again = verdicts(scan(arm, tmp_path / "rolled.json"))
    assert changed(before, again) == {}
    assert again[LOCAL_AUTH, OPEN][0] == again[PUBLIC, OPEN][0] == "FAIL"
    assert {rid: stored(arm, rid) for rid in documents} == documents


def test_a_change_between_scan_and_apply_is_refused(ai_arm: ArmServer, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    arm = ai_arm
    before_file = scan(arm, tmp_path / "before.json")
    plan_file = tmp_path / "plan.json"
    assert run_cli(capsys, cli(arm, "remediate", "plan", str(before_file), "--out", str(plan_file),
                               "--rule", LOCAL_AUTH)).code == 0
    document = arm.get_resource(OPEN)
    assert document is not None
    document["properties"]["disableLocalAuth"] = True  # someone fixed it by hand meanwhile
    arm.add_resources([document])
    applied = run_cli(capsys, cli(arm, "remediate", "apply", str(plan_file), "--yes"))
    assert "already-applied" in applied.out, applied.out + applied.err
    assert not [e for e in events(tmp_path / "journal.jsonl", "change-applied")
                if e.get("resource") == OPEN or OPEN in json.dumps(e)]
