"""Removing an endpoint identity's broad roles when the scan found them at a management group or in a sibling
subscription (issue 15): scan the group, plan, apply, rescan, rollback, rescan, through the command line.

The stand-in serves the nested groups of ``test_azure_management_groups``::

    tenant-root
    ├── mg-org                  (the group scanned)
    │   ├── mg-prod   SUB_A     (ws-secure: ep-aad, ep-owner, ep-key, ep-none)
    │   └── mg-dev    SUB_B     (ws-b1..3: ep-b)
    │       └── mg-sandbox SUB_C  (no Machine Learning)
    └── mg-other  SUB_X         (outside the group)

ep-aad's identity (P_AAD, in SUB_A) holds, besides a narrow Storage Blob Data Reader role in SUB_A, Owner of SUB_B
(a sibling subscription, seeded), and here also Owner at mg-sandbox (a nested group not above SUB_A) and User
Access Administrator on a resource group of SUB_C: none of them is in or above the endpoint's own subscription, so
only the pooled assignments of the group scan show them, and the live re-read of apply must read those scopes too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.demo.arm_model import parse_path, role_assignment_document
from auditor.demo.arm_server import ArmServer
from auditor.demo.fake_az import write_fake_az
from auditor.demo.run import applied_environment
from auditor.demo.sandbox import demo_azure_environment
from auditor.remediate import load
from auditor.remediate.model import RecordedChange
from auditor.remediate.planfile import read_plan

from .estate import EP_AAD, EP_B, EP_OWNER, P_AAD, P_OWNER, STORAGE, SUB_A, SUB_B, SUB_C, build_groups

MG = "/providers/Microsoft.Management/managementGroups"
RULE = "azure.ml.online_endpoint.identity_least_privilege"
ASSIGNMENTS = "/providers/Microsoft.Authorization/roleAssignments"
RG_C = f"/subscriptions/{SUB_C}/resourceGroups/rg-sandbox"
GROUP_OWNER = role_assignment_document(f"{MG}/mg-sandbox", P_AAD, "Owner")
SIBLING_OWNER = role_assignment_document(f"/subscriptions/{SUB_B}", P_AAD, "Owner")  # seeded by the estate
GROUP_UAA = role_assignment_document(RG_C, P_AAD, "User Access Administrator")
READER = role_assignment_document(STORAGE, P_AAD, "Storage Blob Data Reader")  # narrow: stays
BROAD = (GROUP_OWNER, SIBLING_OWNER, GROUP_UAA)
# What a rescan after rollback is compared on (test_sandbox_remediation's list: the fingerprint is left out).
COMPARED = ("id", "rule_id", "status", "severity", "provider", "resource_id", "resource_type", "region", "account",
            "resource_name", "message", "evidence", "remediation", "frameworks")


@pytest.fixture
def group(arm: ArmServer, tmp_path: Path) -> Iterator[ArmServer]:
    """The stand-in with the tree above, ep-aad's extra broad roles, and this process pointed at it as a user's
    shell would be (fake ``az``, the stand-in's CA, a journal key of the test's own)."""
    build_groups(arm.store.groups)
    arm.add_resources([GROUP_OWNER, GROUP_UAA])
    write_fake_az(tmp_path / "az")
    with applied_environment({**demo_azure_environment(arm.ca_bundle, str(tmp_path / "az")),
                              "XDG_CONFIG_HOME": str(tmp_path / "config"), "AUDITOR_JOURNAL_KEY": None,
                              "AUDITOR_ARM_ENDPOINT": arm.url}):
        yield arm


def run_cli(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str]:
    """``auditor ARGS`` in this process; every command reaches Azure as the scan does (``--credential cli``)."""
    from auditor import cli

    if args[0] == "remediate":
        args = [*args, "--credential", "cli"]

    capsys.readouterr()
    try:
        cli.main(args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    else:
        code = 0
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def scan(capsys: pytest.CaptureFixture[str], out: Path) -> dict[str, Any]:
    code, console = run_cli(capsys, ["scan", "azure", "--management-group", "mg-org", "--credential", "cli",
                                     "--format", "json", "--quiet", "--out", str(out)])
    assert code == 1, console  # violations, nothing unread
    document: dict[str, Any] = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return document


def by_key(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["rule_id"], f["resource_id"].lower()): f for f in document["findings"]}


def rule_findings(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["resource_id"]: f for f in document["findings"] if f["rule_id"] == RULE}


def step_results(journal: Path) -> dict[str, tuple[str, str]]:
    return {r["resource_id"]: (r["result"], r["detail"]) for r in map(json.loads, journal.read_text().splitlines())
            if r["event"] == "step-result"}


def declared_call(text: str) -> str:
    """``METHOD Namespace/type`` of a plan's call (``ASSIGNMENT_ID``: a role assignment found at apply)."""
    method, _, target = text.partition(" ")
    path = target.split("?", 1)[0]
    return f"{method} Microsoft.Authorization/roleAssignments" if path == "ASSIGNMENT_ID" else \
        f"{method} {parse_path(path).resource_type}"


def stored(arm: ArmServer, assignment: dict[str, Any]) -> dict[str, Any] | None:
    found = arm.get_resource(assignment["id"])
    if found is None:
        return None
    keys = ("roleDefinitionId", "principalId", "scope")
    return {"id": found["id"], **{k: found["properties"][k] for k in keys}}


def expected(assignment: dict[str, Any]) -> dict[str, Any]:
    keys = ("roleDefinitionId", "principalId", "scope")
    return {"id": assignment["id"], **{k: assignment["properties"][k] for k in keys}}


def test_broad_roles_at_a_group_and_in_sibling_subscriptions_are_removed_and_restored(
        group: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = scan(capsys, tmp_path / "before")
    aad = rule_findings(before)[EP_AAD]
    assert aad["status"] == "FAIL"
    assert aad["evidence"]["broad_assignments"] == [
        f"Owner at management_group scope {MG}/mg-sandbox", f"Owner at subscription scope /subscriptions/{SUB_B}",
        f"User Access Administrator at resource_group scope {RG_C}"]
    failing = {rid for rid, f in rule_findings(before).items() if f["status"] == "FAIL"}
    assert failing == {EP_AAD, EP_OWNER, EP_B}

    plan_file = tmp_path / "plan.json"
    code, console = run_cli(capsys, ["remediate", "plan", str(tmp_path / "before" / "findings.json"), "--rule", RULE,
                                     "--out", str(plan_file)])
    assert code == 0, console
    steps = {s["finding"]["resource_id"]: s for s in json.loads(plan_file.read_text())["steps"]
             if s["finding"]["rule_id"] == RULE}
    assert {rid for rid, s in steps.items() if s["mode"] == "automatic-access-removal"} == failing
    # the plan names every scope apply reads: the endpoint's own subscription, the sibling ones, the group
    reads = [c["call"] for c in steps[EP_AAD]["api_calls"] if c["call"].startswith("GET ") and "roleAssignments" in
             c["call"]]
    assert [r.split("/providers/Microsoft.Authorization/")[0].removeprefix("GET ") for r in reads] == [
        f"/subscriptions/{SUB_A}", f"/subscriptions/{SUB_B}", f"/subscriptions/{SUB_C}", f"{MG}/mg-sandbox"]
    assert "atScope()" in reads[-1]
    calls = load("azure_endpoint_role_assignments").calls
    named = [c["call"] for s in steps.values() for c in [*s["api_calls"], *s["undo"]["api_calls"]]]
    assert [c for c in named if declared_call(c) not in calls] == []

    code, console = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes", "--allow-access-removal"])
    assert code == 0, console
    journal = tmp_path / "journal.jsonl"
    results = step_results(journal)
    assert {rid: r for rid, (r, _) in results.items() if rid in failing} == dict.fromkeys(failing, "applied")
    assert "nothing changed" not in results[EP_AAD][1]
    assert all(stored(group, a) is None for a in BROAD)
    assert stored(group, READER) == expected(READER)  # a scoped role stays

    code, console = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes", "--allow-access-removal"])
    assert code == 0, console  # again: every scope read, nothing broad left, and now that is true
    assert {rid: r for rid, (r, _) in step_results(journal).items() if rid in failing} == dict.fromkeys(
        failing, "already-applied")

    after = scan(capsys, tmp_path / "after")
    assert {rid: f["status"] for rid, f in rule_findings(after).items() if rid in failing} == dict.fromkeys(
        failing, "PASS")

    code, console = run_cli(capsys, ["remediate", "rollback", str(journal), "--yes"])
    assert code == 0, console
    assert [stored(group, a) for a in BROAD] == [expected(a) for a in BROAD]  # each at its own scope

    rolled_back = scan(capsys, tmp_path / "rolled-back")
    first, last = by_key(before), by_key(rolled_back)
    assert set(last) == set(first)
    for key, finding in first.items():
        assert {f: finding.get(f) for f in COMPARED} == {f: last[key].get(f) for f in COMPARED}, key


def planned(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Path:
    scan(capsys, tmp_path / "before")
    plan_file = tmp_path / "plan.json"
    code, console = run_cli(capsys, ["remediate", "plan", str(tmp_path / "before" / "findings.json"), "--rule", RULE,
                                     "--out", str(plan_file)])
    assert code == 0, console
    return plan_file


@pytest.mark.parametrize("unreadable", [f"{MG}/mg-sandbox{ASSIGNMENTS}", f"/subscriptions/{SUB_C}{ASSIGNMENTS}"],
                         ids=["group", "subscription"])
def test_a_scope_apply_cannot_read_fails_the_step_and_changes_nothing(
        group: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], unreadable: str) -> None:
    plan_file = planned(capsys, tmp_path)
    group.deny(unreadable)
    code, console = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes", "--allow-access-removal"])
    assert code == 1, console
    outcome, detail = step_results(tmp_path / "journal.jsonl")[EP_AAD]
    assert outcome == "failed", detail
    scope = unreadable.removesuffix(ASSIGNMENTS)
    assert scope in detail and "HTTP 403" in detail and "nothing was changed" in detail, detail
    assert [stored(group, a) for a in BROAD] == [expected(a) for a in BROAD]  # not part of it either


def test_the_journal_check_accepts_a_removal_at_group_scope_and_nothing_the_scan_did_not_call_broad(
        group: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan, _ = read_plan(planned(capsys, tmp_path))
    [step] = [s for s in plan.steps if s.finding.resource_id == EP_AAD]
    remediator = load("azure_endpoint_role_assignments")

    def removal(assignment: dict[str, Any], **changed: str) -> RecordedChange:
        before = {k: assignment["properties"][k] for k in ("roleDefinitionId", "principalId", "principalType",
                                                           "scope")}
        return RecordedChange("azure.role_assignment", {"assignment": assignment["id"]}, {**before, **changed}, None)

    assert [remediator.change_problem(step, removal(a)) for a in BROAD] == [None, None, None]
    elsewhere = role_assignment_document(f"{MG}/mg-dev", P_AAD, "Owner")  # a group the scan saw nothing broad at
    assert "not a broad assignment the scan saw" in str(remediator.change_problem(step, removal(elsewhere)))
    other = role_assignment_document(f"{MG}/mg-sandbox", "e0e0e0e0-0000-4000-8000-0000000000ee", "Owner")
    assert "not the endpoint's identity" in str(remediator.change_problem(step, removal(other)))
    moved = removal(GROUP_OWNER, scope=f"{MG}/mg-dev")  # the id at one group, the scope another
    assert "is not at its scope" in str(remediator.change_problem(step, moved))
    reader = role_assignment_document(f"{MG}/mg-sandbox", P_AAD, "Reader")
    assert "not one the step removes" in str(remediator.change_problem(step, removal(reader)))


def test_a_group_above_the_endpoints_subscription_is_read_through_the_subscriptions_list(
        group: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # ep-owner's identity is Owner of its own SUB_A and Reader at the tenant root, where neither the scanner nor the
    # remediator may read: SUB_A's list carries what it inherits from there, so apply needs no read of the root group
    inherited = role_assignment_document(f"{MG}/tenant-root", P_OWNER, "Reader")
    group.add_resources([inherited])
    group.deny(f"{MG}/tenant-root")
    plan_file = planned(capsys, tmp_path)
    [step] = [s for s in json.loads(plan_file.read_text())["steps"] if s["finding"]["resource_id"] == EP_OWNER]
    assert any(c.get("target") == f"{MG}/tenant-root" for c in step["api_calls"])  # named, read only if needed
    code, console = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes", "--allow-access-removal"])
    assert code == 0, console
    assert step_results(tmp_path / "journal.jsonl")[EP_OWNER][0] == "applied"  # a read of the root: 403, failed
    assert stored(group, inherited) == expected(inherited)  # narrow: stays


def test_the_remediation_role_covers_a_removal_at_a_group(capsys: pytest.CaptureFixture[str]) -> None:
    code, printed = run_cli(capsys, ["permissions", "azure", "--remediate"])
    assert code == 0, printed
    role = json.loads(printed)
    assert {f"Microsoft.Authorization/roleAssignments/{verb}" for verb in ("read", "delete", "write")} <= set(
        role["Actions"])
    assert any(s.startswith(f"{MG}/") for s in role["AssignableScopes"])  # assignable where the assignment is
