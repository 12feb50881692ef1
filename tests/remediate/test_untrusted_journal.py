"""A journal read back is untrusted input: rollback undoes only what this tool's own apply did.

Each test runs a real apply against the Resource Manager stand-in, then attacks the journal the way
someone who can write the file would (append, edit, reorder, cut lines), and runs ``auditor
remediate rollback`` through ``auditor.cli.main``. An attacker without the journal key can at best
recompute a plain hash chain; one with the key (the MAC defeated) still meets the checks of what
each line says: the step its run planned, the resource and property that step names, the value
before it captured.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from auditor.demo.arm_model import role_assignment_document
from auditor.demo.arm_server import ArmServer
from auditor.providers.azure.live import ML_API_VERSION

from .azure_estate import EP_KEY, EP_OK, OWNER_ASSIGNMENT, RG, WS
from .helpers import journal_records, run_cli
from .test_azure_remediation import AUTH, IDENTITY, WORKSPACE_PUBLIC, cli, scan

WS_PRIVATE = f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/ws-private"
ATTACKER = "e0e0e0e0-0000-4000-8000-0000000000ee"
FORGED_OWNER = role_assignment_document(OWNER_ASSIGNMENT["properties"]["scope"], ATTACKER, "Owner")


def applied(arm: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], *rules: str,
            access_removal: bool = False) -> Path:
    """Scan, plan the rules, apply: the journal of a real run (beside the plan)."""
    findings = scan(arm, tmp_path / "findings.json")
    plan = tmp_path / "plan.json"
    named = [arg for rule in rules for arg in ("--rule", rule)]
    assert run_cli(capsys, ["remediate", "plan", str(findings), "--out", str(plan), *named]).code == 0
    extra = ["--allow-access-removal"] if access_removal else []
    run = run_cli(capsys, cli(arm, "remediate", "apply", str(plan), "--yes", *extra))
    assert run.code == 0, run.out + run.err
    return tmp_path / "journal.jsonl"


def rollback(arm: ArmServer, journal: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> Any:
    return run_cli(capsys, cli(arm, "remediate", "rollback", str(journal), "--yes", *extra))


def lines(journal: Path) -> list[str]:
    return journal.read_text(encoding="utf-8").splitlines()


def write_lines(journal: Path, texts: list[str]) -> None:
    journal.write_text("".join(f"{t}\n" for t in texts), encoding="utf-8")


def forge(journal: Path, record: dict[str, Any], *, with_key: bool = False) -> int:
    """Add ``record`` as an attacker who can write the file would, in the format of the lines already there.

    Without the key the line is appended, chained with ``prev`` (the last line's ``mac``) and a plain
    SHA-256 as its ``mac``: the hash chain anyone can recompute. ``with_key`` (the MAC defeated), it
    goes inside the run, before its run-finished line, and every line from there on is signed again
    with the journal key. The line number is returned.
    """
    records = [json.loads(t) for t in lines(journal)]
    position = len(records) - 1 if with_key else len(records)
    last = records[position - 1]
    records.insert(position, {"schema_version": last["schema_version"], "time": last["time"], "run": last["run"],
                              **record})
    for index in range(position, len(records)):
        records[index]["seq"] = index + 1
        if "mac" in last:  # a chained journal
            from auditor.remediate.journal import signed_payload
            from auditor.remediate.journal_key import journal_key

            records[index]["prev"] = records[index - 1]["mac"]
            payload = signed_payload(records[index])
            key = journal_key(create=False)
            records[index]["mac"] = key.mac(payload) if with_key else hashlib.sha256(payload).hexdigest()
    write_lines(journal, [json.dumps(r, sort_keys=True) for r in records])
    return position + 1


def change_of(journal: Path, rule_id: str) -> dict[str, Any]:
    return next(r for r in journal_records(journal) if r["event"] == "change-started" and r["rule_id"] == rule_id)


def forged_owner(journal: Path, rule_id: str = AUTH) -> dict[str, Any]:
    """A change-started whose undo creates an Owner assignment of the attacker's principal at subscription scope."""
    real = change_of(journal, rule_id)
    target = {"assignment": FORGED_OWNER["id"]}
    before = {k: FORGED_OWNER["properties"][k] for k in ("roleDefinitionId", "principalId", "principalType", "scope")}
    return {"event": "change-started", "change": f"{real['run']}-90", "step": real["step"], "rule_id": rule_id,
            "resource_id": real["resource_id"], "changed_resource": FORGED_OWNER["id"],
            "kind": "azure.role_assignment", "target": target, "before": before, "after": None,
            "undo": {"kind": "azure.role_assignment", "target": target, "value": before}}


def forged_public(journal: Path) -> dict[str, Any]:
    """A change-started whose undo opens public access on a workspace the plan never named."""
    real = change_of(journal, AUTH)
    target = {"resource": WS_PRIVATE, "api_version": ML_API_VERSION, "path": "properties.publicNetworkAccess",
              "method": "PATCH", "label": "workspace"}
    return {"event": "change-started", "change": f"{real['run']}-91", "step": real["step"], "rule_id": AUTH,
            "resource_id": real["resource_id"], "changed_resource": WS_PRIVATE, "kind": "azure.arm.property",
            "target": target, "before": "Enabled", "after": "Disabled",
            "undo": {"kind": "azure.arm.property", "target": target, "value": "Enabled"}}


def private_workspace(arm: ArmServer) -> None:
    workspace = arm.get_resource(WS)
    assert workspace is not None
    arm.add_resources([{**workspace, "id": WS_PRIVATE, "name": "ws-private",
                        "properties": {**workspace["properties"], "publicNetworkAccess": "Disabled"}}])


def public_access(arm: ArmServer, resource: str) -> str:
    document = arm.get_resource(resource)
    assert document is not None
    return str(document["properties"]["publicNetworkAccess"])


def auth_mode(arm: ArmServer, resource: str) -> str:
    document = arm.get_resource(resource)
    assert document is not None
    return str(document["properties"]["authMode"])


def assert_refused(run: Any, journal: Path, line: int, *words: str) -> None:
    assert run.code == 3, run.out + run.err
    assert f"{journal}:{line}" in run.err and "nothing in this journal is acted on" in run.err, run.err
    for word in words:
        assert word in run.err, run.err
    assert "Traceback" not in run.err and not run.out


@pytest.mark.parametrize("with_key", [False, True], ids=["hash-chain", "mac-defeated"])
@pytest.mark.parametrize("attack", ["owner", "public"])
def test_appended_change_started_lines_are_refused_and_nothing_is_undone(
        arm: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], attack: str, with_key: bool) -> None:
    private_workspace(arm)
    journal = applied(arm, tmp_path, capsys, AUTH)
    assert auth_mode(arm, EP_KEY) == "AADToken"
    line = forge(journal, forged_owner(journal) if attack == "owner" else forged_public(journal), with_key=with_key)

    run = rollback(arm, journal, capsys)
    reason = "no such change" if with_key else "MAC does not verify"
    assert_refused(run, journal, line, reason)
    assert arm.get_resource(FORGED_OWNER["id"]) is None
    assert public_access(arm, WS_PRIVATE) == "Disabled"
    assert auth_mode(arm, EP_KEY) == "AADToken"  # nothing at all was undone


def test_an_edited_line_is_refused(arm: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = applied(arm, tmp_path, capsys, AUTH)
    texts = lines(journal)
    number = next(i for i, t in enumerate(texts) if '"change-started"' in t)
    record = json.loads(texts[number])
    for where in (record["target"], record["undo"]["target"]):  # undo Key auth on the healthy endpoint instead
        where["resource"] = EP_OK
    texts[number] = json.dumps(record, sort_keys=True)
    write_lines(journal, texts)

    run = rollback(arm, journal, capsys)
    assert_refused(run, journal, number + 1, "MAC does not verify", "edited")
    assert (auth_mode(arm, EP_OK), auth_mode(arm, EP_KEY)) == ("AADToken", "AADToken")
    again = run_cli(capsys, cli(arm, "remediate", "apply", str(tmp_path / "plan.json"), "--yes"))
    assert again.code == 3 and "Nothing is added to a journal this auditor cannot verify" in again.err, again.err
    assert lines(journal) == texts  # not chained onto, not blessed


def test_reordered_lines_are_refused(arm: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = applied(arm, tmp_path, capsys, AUTH)
    texts = lines(journal)
    number = next(i for i, t in enumerate(texts) if '"change-applied"' in t)
    texts[number - 1], texts[number] = texts[number], texts[number - 1]
    write_lines(journal, texts)

    run = rollback(arm, journal, capsys)
    assert_refused(run, journal, number, "removed, inserted or reordered")
    assert auth_mode(arm, EP_KEY) == "AADToken"


@pytest.mark.parametrize("cut", ["middle", "head"])
def test_a_chain_with_lines_cut_out_is_refused(arm: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               cut: str) -> None:
    journal = applied(arm, tmp_path, capsys, AUTH)
    texts = lines(journal)
    if cut == "middle":  # the proof the change took effect goes: rollback would read it as "maybe"
        number = next(i for i, t in enumerate(texts) if '"change-applied"' in t)
        write_lines(journal, texts[:number] + texts[number + 1:])
        expected = number + 1
    else:  # the run-started that binds the run to its plan goes
        write_lines(journal, texts[2:])
        expected = 1
    run = rollback(arm, journal, capsys)
    assert_refused(run, journal, expected, "removed, inserted or reordered")
    assert auth_mode(arm, EP_KEY) == "AADToken"


def test_rollback_recreates_only_the_assignment_its_own_step_removed(
        arm: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = applied(arm, tmp_path, capsys, IDENTITY, access_removal=True)
    assert arm.get_resource(OWNER_ASSIGNMENT["id"]) is None
    # With the key, within the very step that removed the identity's Owner: another principal's Owner.
    forged = forged_owner(journal, IDENTITY)
    line = forge(journal, forged, with_key=True)
    forge(journal, {"event": "change-applied", "change": forged["change"], "before": forged["before"], "after": None},
          with_key=True)

    run = rollback(arm, journal, capsys)
    assert_refused(run, journal, line, f"principal '{ATTACKER}' is not the endpoint's identity the scan saw")
    assert arm.get_resource(FORGED_OWNER["id"]) is None
    assert arm.get_resource(OWNER_ASSIGNMENT["id"]) is None  # refused as a whole: nothing recreated


def test_rollback_does_not_recreate_an_assignment_the_journal_does_not_prove_it_removed(
        arm: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from auditor.providers import ProviderOptions
    from auditor.remediate.apply import ApplyOptions, apply_plan
    from auditor.remediate.planfile import read_plan

    from .conftest import FixedCredential

    findings = scan(arm, tmp_path / "findings.json")
    plan_file = tmp_path / "plan.json"
    assert run_cli(capsys, ["remediate", "plan", str(findings), "--out", str(plan_file), "--rule", IDENTITY]).code == 0

    def reread_fails(record: Any) -> None:  # the DELETE goes through, the read that proves it does not
        if record["event"] == "change-started" and record["kind"] == "azure.role_assignment":
            arm.fail(OWNER_ASSIGNMENT["id"], status=400, times=50, methods=["GET"])

    plan, digest = read_plan(plan_file)
    options = ProviderOptions(values={"arm_endpoint": arm.url}, overrides={"azure": FixedCredential()},
                              poll_seconds=0.01, max_poll_seconds=0.05, wait_timeout=30)
    report = apply_plan(plan, plan_file, digest, ApplyOptions(tmp_path / "journal.jsonl", allow_access_removal=True,
                                                              hook=reread_fails), options)
    assert report.exit_code == 1
    arm.clear_faults()
    assert arm.get_resource(OWNER_ASSIGNMENT["id"]) is None
    changes = [r["event"] for r in journal_records(tmp_path / "journal.jsonl") if r["event"].startswith("change-")]
    assert changes == ["change-started"]  # removed, but not proven

    run = rollback(arm, tmp_path / "journal.jsonl", capsys)
    assert run.code == 1 and run.out.startswith("refused") and "does not prove" in run.out, run.out + run.err
    assert arm.get_resource(OWNER_ASSIGNMENT["id"]) is None


def test_rollback_of_one_run_undoes_that_run_only(arm: ArmServer, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    findings = scan(arm, tmp_path / "findings.json")
    journal = tmp_path / "journal.jsonl"
    runs = []
    for rule in (AUTH, WORKSPACE_PUBLIC):
        plan = tmp_path / f"{rule}.json"
        assert run_cli(capsys, ["remediate", "plan", str(findings), "--out", str(plan), "--rule", rule]).code == 0
        run = run_cli(capsys, cli(arm, "remediate", "apply", str(plan), "--yes", "--journal", str(journal)))
        assert run.code == 0, run.err
        runs.append(journal_records(journal)[-1]["run"])
        assert f"--run {runs[-1]}" in run.err  # apply says how to undo it alone
    assert (auth_mode(arm, EP_KEY), public_access(arm, WS)) == ("AADToken", "Disabled")

    unknown = rollback(arm, journal, capsys, "--run", "nosuchrun")
    assert unknown.code == 3 and "no apply run 'nosuchrun'" in unknown.err and runs[0] in unknown.err
    first = rollback(arm, journal, capsys, "--run", runs[0])
    assert first.code == 0, first.out + first.err
    assert (auth_mode(arm, EP_KEY), public_access(arm, WS)) == ("Key", "Disabled")
    rest = rollback(arm, journal, capsys)
    assert rest.code == 0 and rest.out.count("\n") == 1, rest.out  # the other run's one change
    assert public_access(arm, WS) == "Enabled"


def test_rollback_needs_the_key_the_journal_was_signed_with(
        arm: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        journal_key_home: Path) -> None:
    journal = applied(arm, tmp_path, capsys, AUTH)
    key_file = journal_key_home / "auditor" / "journal.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700

    monkeypatch.setenv("AUDITOR_JOURNAL_KEY", "another key, of more than thirty-two characters")
    run = rollback(arm, journal, capsys)
    assert run.code == 3 and f"{journal}:1" in run.err and "signed with the journal key whose id is" in run.err
    monkeypatch.setenv("AUDITOR_JOURNAL_KEY", "short")
    assert rollback(arm, journal, capsys).code == 3
    monkeypatch.delenv("AUDITOR_JOURNAL_KEY")

    os.chmod(key_file, 0o644)
    run = rollback(arm, journal, capsys)
    assert run.code == 3 and "open to other users" in run.err
    os.chmod(key_file, 0o600)
    moved = key_file.with_name("elsewhere")
    key_file.rename(moved)
    run = rollback(arm, journal, capsys)
    assert run.code == 3 and "no journal key" in run.err and not key_file.exists()  # rollback never makes one
    assert auth_mode(arm, EP_KEY) == "AADToken"

    monkeypatch.setenv("AUDITOR_JOURNAL_KEY", moved.read_text().strip())  # the same key, from CI's secret store
    run = rollback(arm, journal, capsys)
    assert run.code == 0 and auth_mode(arm, EP_KEY) == "Key", run.out + run.err


def test_a_journal_of_the_earlier_format_is_refused_by_rollback_and_apply(
        arm: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = tmp_path / "old.jsonl"
    journal.write_text(json.dumps({"schema_version": "1.0", "seq": 1, "time": "t", "run": "r",
                                   "event": "run-started", "action": "apply"}) + "\n", encoding="utf-8")
    run = rollback(arm, journal, capsys)
    assert run.code == 3 and f"{journal}:1" in run.err and "written by an earlier auditor" in run.err, run.err
    findings = scan(arm, tmp_path / "findings.json")
    plan = tmp_path / "plan.json"
    assert run_cli(capsys, ["remediate", "plan", str(findings), "--out", str(plan), "--rule", AUTH]).code == 0
    run = run_cli(capsys, cli(arm, "remediate", "apply", str(plan), "--yes", "--journal", str(journal)))
    assert run.code == 3 and "give apply a new --journal" in run.err, run.err
    assert auth_mode(arm, EP_KEY) == "Key"
