"""`remediate apply` against a hostile Resource Manager: its answers are untrusted input.

A write's long-running operation is followed only on the endpoint the user named: an ``Azure-AsyncOperation``
or ``Location`` on another host gets no request and no (write-capable) token; the step fails, and the journal
says why. What a service's error says is printed with its escape sequences made inert, and redacted.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from auditor.demo.arm_server import ArmServer
from auditor.providers.azure.collect import AzureOptions, collect_azure

from .azure_estate import ACCOUNT_KEY, CONNECTION, EP_KEY, SUB, WS
from .conftest import FixedCredential
from .helpers import events, run_cli, write_findings

AUTH = "azure.ml.online_endpoint.auth_mode"
WORKSPACE_PUBLIC = "azure.ml.workspace.public_network_access_disabled"
CONTROLS = ("\x1b", "\x07", "\x9b", "\r", "\u202e")


def plan(arm: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], *rules: str) -> Path:
    inventory = collect_azure(AzureOptions(subscriptions=(SUB,), arm_endpoint=arm.url), credential=FixedCredential())
    findings = write_findings(inventory, tmp_path / "findings.json")
    plan_file = tmp_path / "plan.json"
    picked = [arg for rule in rules for arg in ("--rule", rule)]
    planned = run_cli(capsys, ["remediate", "plan", str(findings), *picked, "--out", str(plan_file)])
    assert planned.code == 0, planned.err
    return plan_file


def apply(arm: ArmServer, plan_file: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    run = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes", "--credential", "cli",
                           "--arm-endpoint", arm.url])
    return run.code, run.out, run.err


def test_apply_never_polls_an_operation_on_another_host(arm: ArmServer, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    plan_file = plan(arm, tmp_path, capsys, WORKSPACE_PUBLIC, AUTH)
    with ArmServer([]) as foreign:
        bundle = tmp_path / "both-cas.pem"  # the foreign host is trusted: only the auditor can refuse it
        bundle.write_text(Path(arm.ca_bundle).read_text() + Path(foreign.ca_bundle).read_text())
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
        arm.point_links_at(foreign.url)  # every Location and Azure-AsyncOperation names the other host
        code, out, err = apply(arm, plan_file, capsys)
        assert foreign.requests == Counter() and foreign.tokens == Counter()

    assert code == 1, out + err  # a write whose operation could not be followed is never reported as done
    where = f"https://127.0.0.1:{foreign.server_port}, outside the endpoint {arm.url}: not followed"
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith("failed ")}
    assert set(lines) == {WORKSPACE_PUBLIC, AUTH}, out
    assert f"PATCH {WS}: the answer's Location points at {where}" in lines[WORKSPACE_PUBLIC]
    assert f"PUT {EP_KEY}: the answer's Azure-AsyncOperation points at {where}" in lines[AUTH]
    failed = events(tmp_path / "journal.jsonl", "change-failed")
    assert len(failed) == 2 and all(where in record["detail"] for record in failed)


HOSTILE = (f"Rejected {CONNECTION}.\x1b]0;all clear\x07\x1b[2J\x1b[H\r\nfailed nothing\x1b[8m\x9b2J\u202e")


def test_a_service_error_is_printed_inert_and_redacted(arm: ArmServer, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    plan_file = plan(arm, tmp_path, capsys, AUTH)
    arm.fail(EP_KEY, status=400, code="BadRequest", methods=["PUT"], times=None, message=HOSTILE)
    code, out, err = apply(arm, plan_file, capsys)

    assert code == 1, out + err
    for control in CONTROLS:
        assert control not in out and control not in err, repr(control)
    assert ACCOUNT_KEY not in out + err
    [line] = [line for line in out.splitlines() if AUTH in line]
    assert line.startswith("refused ") or line.startswith("failed "), line
    assert f"PUT {EP_KEY}: HTTP 400 BadRequest: Rejected <redacted>" in line  # the word with the key is gone
    assert "clear\\x07\\x1b[2J\\x1b[H failed nothing\\x1b[8m\\x9b2J\\u202e" in line  # shown, inert
    journal = (tmp_path / "journal.jsonl").read_text(encoding="utf-8")
    assert ACCOUNT_KEY not in journal and "\x1b" not in journal and "\\u001b" not in journal
