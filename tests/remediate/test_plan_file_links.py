"""The plan file is written atomically and never through a link planted at its name (issue 18, item 10)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.model import Inventory, Resource

from .helpers import run_cli, write_findings

KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_a_link_at_the_plan_files_name_is_replaced_and_said_never_written_through(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = Resource(id=KEY, type="aws.kms.key", provider="aws", account="123456789012", region="eu-west-1",
                   name="legacy", document={"KeyMetadata": {"KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT",
                                                            "Origin": "AWS_KMS", "Arn": KEY,
                                                            "KeyState": "Enabled"},
                                            "KeyRotationStatus": {"KeyRotationEnabled": False}})
    findings = write_findings(Inventory(resources=(key,), coverage=()), tmp_path / "findings.json")
    victim = tmp_path / "authorized_keys"
    victim.write_text("ssh-ed25519 AAAA... the user's own key\n", encoding="utf-8")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "plan.json").symlink_to(victim)
    run = run_cli(capsys, ["remediate", "plan", str(findings), "--out", str(shared / "plan.json"), "--quiet"])
    assert run.code == 0, run.err
    assert victim.read_text(encoding="utf-8") == "ssh-ed25519 AAAA... the user's own key\n"
    plan = shared / "plan.json"
    assert plan.is_file() and not plan.is_symlink()
    assert json.loads(plan.read_text(encoding="utf-8"))["kind"] == "auditor.remediation-plan"
    assert f"{plan} was a symbolic link to {victim}: the link was replaced by the plan file" in run.err
    assert sorted(p.name for p in shared.iterdir()) == ["plan.json"]  # no temporary file left behind
