"""A journal read back is untrusted input, on AWS: with the journal key stolen (the MAC defeated), a line
forged inside a real apply run still meets what the step that run planned allows, against moto."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from auditor.demo.aws_estate import DemoEstate

from .aws_estate import BUCKET, REGION
from .helpers import journal_records, run_cli
from .test_aws_remediation import PAB_RULE, ROTATION_RULE, SSE_RULE, make_plan, scan
from .test_untrusted_journal import assert_refused, forge


def forged(journal: Path, rule_id: str, target: dict[str, Any], before: Any) -> dict[str, Any]:
    real = next(r for r in journal_records(journal) if r["event"] == "change-started" and r["rule_id"] == rule_id)
    target = {**real["target"], **target}
    return {"event": "change-started", "change": f"{real['run']}-90", "step": real["step"], "rule_id": rule_id,
            "resource_id": real["resource_id"], "changed_resource": real["changed_resource"], "kind": real["kind"],
            "target": target, "before": before, "after": real["after"],
            "undo": {"kind": real["kind"], "target": target, "value": before}}


def rotation(key: str) -> bool:
    return bool(boto3.client("kms", region_name=REGION).get_key_rotation_status(KeyId=key)["KeyRotationEnabled"])


def bucket_state() -> tuple[Any, Any]:
    s3 = boto3.client("s3", region_name=REGION)
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    return block, s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]


@pytest.mark.parametrize("attack", ["rotation-of-another-key", "public-access-block-removed", "attackers-kms-key"])
def test_a_forged_undo_inside_a_real_step_is_refused(aws_estate: DemoEstate, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str], attack: str) -> None:
    findings = scan(tmp_path / "findings.json")
    plan_file = tmp_path / "plan.json"
    make_plan(capsys, aws_estate, findings, plan_file, "--rule", ROTATION_RULE, "--rule", PAB_RULE, "--rule", SSE_RULE)
    assert run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes"]).code == 0
    journal = tmp_path / "journal.jsonl"
    other_key = aws_estate.keys[REGION, "volumes"]
    state = (rotation(other_key), bucket_state())
    assert state[0] is True

    if attack == "rotation-of-another-key":  # rollback would turn rotation off on a key the plan never named
        record, reason = forged(journal, ROTATION_RULE, {"key": other_key}, False), "where the step changes"
    elif attack == "public-access-block-removed":  # rollback would delete the bucket's public access block
        record, reason = forged(journal, PAB_RULE, {}, None), "is not the"
    else:  # rollback would encrypt the bucket's new objects under a key of the attacker's choosing
        attacker = {"Rules": [{"ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": aws_estate.keys[REGION, "capture"]}}]}
        record, reason = forged(journal, SSE_RULE, {}, attacker), "SSE-KMS default, which the scan did not see"
    line = forge(journal, record, with_key=True)

    run = run_cli(capsys, ["remediate", "rollback", str(journal), "--yes"])
    assert_refused(run, journal, line, "makes no such change", reason)
    assert (rotation(other_key), bucket_state()) == state
    assert rotation(aws_estate.keys[REGION, "legacy"]) is True  # nothing at all was undone
