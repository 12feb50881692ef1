"""A plan read back is untrusted input: apply acts only on steps derived from the scan the plan names.

Each test plans from a real scan of the Resource Manager stand-in (one subscription), edits the plan
(and sometimes its findings file) the way someone with write access to the artifact store would,
and runs ``auditor remediate apply`` through ``auditor.cli.main``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from auditor.demo.arm_server import ArmServer
from auditor.identity import finding_id
from auditor.remediate import load
from auditor.remediate.model import StepFinding

from .azure_estate import OWNER_ASSIGNMENT, WS
from .helpers import journal_records, run_cli
from .test_azure_remediation import AUTH, IDENTITY, WORKSPACE_PUBLIC, cli, scan

SUB2 = "ffffffff-6666-4666-8666-666666666666"
WS_OTHER = f"/subscriptions/{SUB2}/resourceGroups/rg-other/providers/Microsoft.MachineLearningServices/workspaces/ws"


def plan(capsys: pytest.CaptureFixture[str], findings: Path, out: Path, *rules: str) -> tuple[dict[str, Any], str]:
    """The plan document, and what ``plan`` printed on stderr."""
    run = run_cli(capsys, ["remediate", "plan", str(findings), "--out", str(out), "--quiet",
                           *[arg for rule in rules for arg in ("--rule", rule)]])
    assert run.code == 0, run.err
    return json.loads(out.read_text(encoding="utf-8")), run.err


def save(document: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(document, indent=2, sort_keys=True), encoding="utf-8")


def re_derived(step: dict[str, Any], **finding: str) -> dict[str, Any]:
    """``step`` for another finding, derived by its own remediator (so apply's own re-description agrees)."""
    moved = {**step["finding"], **finding}
    moved["id"] = finding_id(moved["rule_id"], moved["provider"], moved["resource_id"])
    derived: dict[str, Any] = load(step["remediator"]).describe(StepFinding.from_json(moved).to_finding(),
                                                                 step["inputs"]).to_json()
    return derived


def other_subscription_workspace(arm: ArmServer) -> None:
    workspace = arm.get_resource(WS)
    assert workspace is not None
    arm.add_resources([{**workspace, "id": WS_OTHER}])


def public_access(arm: ArmServer, resource: str) -> str:
    document = arm.get_resource(resource)
    assert document is not None
    return str(document["properties"]["publicNetworkAccess"])


def apply(arm: ArmServer, capsys: pytest.CaptureFixture[str], plan_file: Path, *extra: str) -> Any:
    return run_cli(capsys, cli(arm, "remediate", "apply", str(plan_file), "--yes", *extra))


def test_a_step_moved_to_another_subscription_is_refused(arm: ArmServer, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    other_subscription_workspace(arm)
    findings = scan(arm, tmp_path / "findings.json")
    plan_file = tmp_path / "plan.json"
    document, _ = plan(capsys, findings, plan_file, WORKSPACE_PUBLIC)
    document["steps"] = [re_derived(document["steps"][0], resource_id=WS_OTHER, account=SUB2)]
    save(document, plan_file)

    run = apply(arm, capsys, plan_file)
    assert run.code == 3 and "field '$.steps[0].finding.id'" in run.err, run.err
    assert f"is not a FAIL finding of {findings}" in run.err and "nothing was applied" in run.err
    assert (public_access(arm, WS_OTHER), public_access(arm, WS)) == ("Enabled", "Enabled")
    assert not (tmp_path / "journal.jsonl").exists()


def test_a_step_outside_the_scans_scopes_is_refused_even_with_its_findings_file_edited_to_match(
        arm: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other_subscription_workspace(arm)
    findings = scan(arm, tmp_path / "findings.json")
    plan_file = tmp_path / "plan.json"
    document, _ = plan(capsys, findings, plan_file, WORKSPACE_PUBLIC)
    forged = re_derived(document["steps"][0], resource_id=WS_OTHER, account=SUB2)
    scanned = json.loads(findings.read_text(encoding="utf-8"))
    original = next(f for f in scanned["findings"] if f["id"] == document["steps"][0]["finding"]["id"])
    scanned["findings"].append({**original, **{k: forged["finding"][k] for k in ("id", "resource_id", "account")}})
    findings.write_text(json.dumps(scanned), encoding="utf-8")
    document["source"]["sha256"] = hashlib.sha256(findings.read_bytes()).hexdigest()
    document["steps"].append(forged)
    save(document, plan_file)

    run = apply(arm, capsys, plan_file)
    assert run.code == 1, run.out + run.err
    refused = next(line for line in run.out.splitlines() if WS_OTHER in line)
    assert refused.startswith("refused") and f"subscription {SUB2} is not one the scan covered" in refused
    assert (public_access(arm, WS_OTHER), public_access(arm, WS)) == ("Enabled", "Disabled")


def test_a_step_for_a_finding_that_is_not_a_fail_is_refused(arm: ArmServer, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    findings = scan(arm, tmp_path / "findings.json")
    scanned = json.loads(findings.read_text(encoding="utf-8"))
    waived = next(f for f in scanned["findings"] if f["rule_id"] == WORKSPACE_PUBLIC and f["resource_id"] == WS)
    waived["status"], waived["gating"] = "MUTED", False  # the team keeps this workspace public, on record
    waived["waiver"] = {"reason": "studio users on the internet until the VPN lands", "owner": "ml@example.com",
                        "expires": "2099-01-01"}
    findings.write_text(json.dumps(scanned), encoding="utf-8")
    plan_file = tmp_path / "plan.json"
    document, _ = plan(capsys, findings, plan_file, AUTH, WORKSPACE_PUBLIC)
    assert [s["finding"]["rule_id"] for s in document["steps"]] == [AUTH]
    authored = load("azure_workspace_public_access").describe(StepFinding.from_json(waived).to_finding(), {})
    document["steps"].append(authored.to_json())
    save(document, plan_file)

    run = apply(arm, capsys, plan_file)
    assert run.code == 3 and "field '$.steps[1].finding.id'" in run.err and "is not a FAIL finding" in run.err
    assert public_access(arm, WS) == "Enabled"


def test_a_step_the_plans_selection_does_not_give_is_refused(arm: ArmServer, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    findings = scan(arm, tmp_path / "findings.json")
    plan_file = tmp_path / "plan.json"
    document, _ = plan(capsys, findings, plan_file)  # no --rule: the access removal is plan-only
    index, step = next((i, s) for i, s in enumerate(document["steps"]) if s["finding"]["rule_id"] == IDENTITY)
    assert step["mode"] == "plan-only"
    document["steps"][index] = load(step["remediator"]).describe(
        StepFinding.from_json(step["finding"]).to_finding(), {"rule_named": True}).to_json()
    save(document, plan_file)

    run = apply(arm, capsys, plan_file, "--allow-access-removal")
    assert run.code == 3 and f"field '$.steps[{index}].mode'" in run.err and "plan-only" in run.err, run.err
    assert arm.get_resource(OWNER_ASSIGNMENT["id"]) is not None


def test_the_approved_digest_binds_apply_to_the_reviewed_plan(arm: ArmServer, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    findings = scan(arm, tmp_path / "findings.json")
    plan_file = tmp_path / "plan.json"
    _, printed = plan(capsys, findings, plan_file, WORKSPACE_PUBLIC)
    found = re.search(r"plan SHA-256 ([0-9a-f]{64})", printed)
    assert found is not None, printed
    digest = found.group(1)
    assert digest == hashlib.sha256(plan_file.read_bytes()).hexdigest() and f"--plan-sha256 {digest}" in printed

    run = apply(arm, capsys, plan_file, "--plan-sha256", "0" * 64)
    assert run.code == 3 and f"SHA-256 is {digest}, not the approved {'0' * 64}" in run.err, run.err
    assert public_access(arm, WS) == "Enabled" and not (tmp_path / "journal.jsonl").exists()

    run = apply(arm, capsys, plan_file, "--plan-sha256", f"sha256:{digest.upper()}")
    assert run.code == 0, run.out + run.err
    assert f"SHA-256 {digest} (the approved digest)" in run.err and public_access(arm, WS) == "Disabled"
    started, *planned = [r for r in journal_records(tmp_path / "journal.jsonl")
                         if r["event"] in ("run-started", "step-planned")]
    assert started["plan"] == {"file": str(plan_file), "sha256": digest}
    assert started["findings"]["sha256"] == hashlib.sha256(findings.read_bytes()).hexdigest()
    assert started["scopes"] == json.loads(findings.read_text())["scan"]["scopes"]
    assert [(p["finding"]["resource_id"], p["mode"]) for p in planned] == [(WS, "automatic")]


def test_apply_finds_the_plans_findings_file_or_is_told_where_it_is(arm: ArmServer, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    findings = scan(arm, tmp_path / "scan" / "findings.json")
    plan_file = tmp_path / "plan.json"
    plan(capsys, findings, plan_file, WORKSPACE_PUBLIC)
    moved = findings.rename(tmp_path / "moved.json")

    run = apply(arm, capsys, plan_file)
    assert run.code == 3 and "--findings" in run.err and "field '$.source.sha256'" in run.err, run.err
    other = tmp_path / "other.json"  # the same findings, but not the file planned from
    other.write_text(json.dumps(json.loads(moved.read_text(encoding="utf-8")), indent=1), encoding="utf-8")
    run = apply(arm, capsys, plan_file, "--findings", str(other))
    assert run.code == 3 and "no such file was found" in run.err
    assert public_access(arm, WS) == "Enabled"

    run = apply(arm, capsys, plan_file, "--findings", str(moved))
    assert run.code == 0, run.out + run.err
    assert public_access(arm, WS) == "Disabled"
