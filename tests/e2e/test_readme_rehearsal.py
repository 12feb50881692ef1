"""README.md's "Rehearse remediation" section, run as it is written: its first block serves the estate in one
process, its second block runs in a bash of its own, in the same directory, as a user would paste them."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
from pathlib import Path
from typing import Any

from .helpers import AUDITOR
from .sandbox import stop, user_environment, wait_for

README = Path(__file__).resolve().parents[2] / "README.md"
_EXIT = "::exit "


def section_blocks(title: str) -> list[str]:
    """The ```bash blocks of README's section ``title`` (up to the next heading of the same or a higher level)."""
    text = README.read_text(encoding="utf-8")
    heading = re.search(rf"^(#+) {re.escape(title)}\n", text, re.M)
    assert heading, f"README.md has no section {title!r}"
    rest = text[heading.end():]
    end = re.search(rf"^#{{1,{len(heading.group(1))}}} ", rest, re.M)
    return re.findall(r"^```bash\n(.*?)^```", rest[: end.start() if end else None], re.M | re.S)


def commands(block: str) -> list[str]:
    """The block's commands: continuation lines joined, comments and blank lines left out."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def _run_section(tmp: Path) -> dict[str, Any]:
    serve_block, shell_block = section_blocks("Rehearse remediation")
    [serve] = commands(serve_block)
    env = user_environment(tmp)
    env["PATH"] = os.pathsep.join([str(AUDITOR.parent), env.get("PATH", "")])  # `auditor` as the user has it
    port_file = tmp / shlex.split(serve)[shlex.split(serve).index("--port-file") + 1]
    server = subprocess.Popen(["bash", "-c", f"exec {serve}"], cwd=tmp, env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(port_file, server)
        script = "\n".join(f'{command}\necho "{_EXIT}$?" >&2' for command in commands(shell_block))
        shell = subprocess.run(["bash", "-c", script], cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
    finally:
        stop(server, signal.SIGINT)
    assert server.returncode == 0, server.stderr.read() if server.stderr else ""
    codes = [int(line[len(_EXIT):]) for line in shell.stderr.splitlines() if line.startswith(_EXIT)]
    return {"commands": commands(shell_block), "codes": codes, "stderr": shell.stderr, "dir": tmp}


def _findings(tmp: Path, name: str) -> dict[tuple[str, str], dict[str, Any]]:
    doc = json.loads((tmp / name / "findings.json").read_text())
    return {(f["rule_id"], f["resource_id"].lower()): f for f in doc["findings"]}


def _check_every_command_exits_as_the_section_says(rehearsal: dict[str, Any]) -> None:
    expected = []
    for command in rehearsal["commands"]:
        words = shlex.split(command)
        if words[:2] == ["auditor", "scan"]:
            expected.append(1)  # "The scans exit 1: the demo estate fails high rules on purpose."
        elif words[:3] == ["auditor", "remediate", "apply"]:
            expected.append(1)  # "It exits 1 because one step is refused, on purpose"
        else:
            expected.append(0)
    assert rehearsal["codes"] == expected, rehearsal["stderr"][-3000:]
    assert "Traceback" not in rehearsal["stderr"]


def _check_apply_refuses_only_the_config_no_endpoint_runs(rehearsal: dict[str, Any]) -> None:
    journal = [json.loads(line) for line in (rehearsal["dir"] / "journal.jsonl").read_text().splitlines()]
    results = [(r["resource_id"], r["result"]) for r in journal if r["event"] == "step-result"]
    # (manual procedures are "not-applied": apply changes nothing for them)
    assert {rid.rsplit("/", 1)[-1] for rid, result in results if result not in ("applied", "not-applied")} == {
        "fraud-scoring-v2-cfg-20230905"}
    applied = {rid for rid, result in results if result == "applied"}
    assert any(rid.startswith("arn:aws:") for rid in applied) and any(rid.startswith("/subscriptions/")
                                                                      for rid in applied)


def _check_after_the_fixed_findings_are_resolved(rehearsal: dict[str, Any]) -> None:
    after = json.loads((rehearsal["dir"] / "after" / "findings.json").read_text())
    resolved = [f for f in after["findings"] if f["baseline"]["state"] == "resolved"]
    assert {f["provider"] for f in resolved} == {"aws", "azure"}


def _check_after_rollback_every_finding_has_its_status_again_and_only_the_kept_copies_are_new(
        rehearsal: dict[str, Any]) -> None:
    before, rolled_back = _findings(rehearsal["dir"], "before"), _findings(rehearsal["dir"], "rolled-back")
    assert {k: f["status"] for k, f in before.items()} == {k: rolled_back[k]["status"] for k in before}
    new = {rid for _, rid in set(rolled_back) - set(before)}
    assert new and all(re.search(r"-(kms|cap)-[0-9a-f]{8}$", rid.rsplit("/", 1)[-1]) for rid in new), new
    assert "kept (created by apply, never deleted)" in rehearsal["stderr"]


def test_the_rehearse_remediation_section_runs_as_written(tmp_path: Path) -> None:
    # One test (not one per check over a module fixture): under xdist a module's tests can land on both
    # workers, and each would run the whole section again.
    rehearsal = _run_section(tmp_path)
    _check_every_command_exits_as_the_section_says(rehearsal)
    _check_apply_refuses_only_the_config_no_endpoint_runs(rehearsal)
    _check_after_the_fixed_findings_are_resolved(rehearsal)
    _check_after_rollback_every_finding_has_its_status_again_and_only_the_kept_copies_are_new(rehearsal)
