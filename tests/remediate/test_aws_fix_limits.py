"""No automatic fix AWS would reject, and apply/rollback of part of a plan: end to end through the CLI, against moto.

* A config whose variants all run on instance types with local NVMe storage (ml.m5d) is NOT_APPLICABLE
  for the volume-key rule and gets no plan step; a config mixing such a variant with an EBS-backed one is
  judged (FAIL) on its EBS variant and gets a manual procedure, never a copy with a key.
* A disabled key, and one scheduled for deletion, get a manual step saying why, not a rotation fix.
* ``apply --step N`` / ``--rule ID`` apply only those steps; ``rollback --run ID`` undoes that run only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from auditor.demo.aws_estate import DemoEstate

from .aws_estate import BUCKET, REGION
from .helpers import events, journal_records, run_cli

CONFIG_RULE = "aws.sagemaker.endpoint_config.kms_volume_encryption"
ROTATION_RULE = "aws.kms.key.rotation_enabled"
PAB_RULE = "aws.s3.bucket.public_access_blocked"


def cli_scan(capsys: pytest.CaptureFixture[str], out: Path) -> dict[str, Any]:
    """``auditor scan aws`` through the CLI: findings.json of the estate, by (rule, resource name)."""
    run = run_cli(capsys, ["scan", "aws", "--region", REGION, "--out", str(out), "--format", "json", "--quiet"])
    assert run.code == 1, run.err  # complete, with failures
    document: dict[str, Any] = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return document


def by_name(document: dict[str, Any], rule_id: str) -> dict[str, dict[str, Any]]:
    return {f["resource_id"].rsplit("/", 1)[-1]: f for f in document["findings"] if f["rule_id"] == rule_id}


def plan(capsys: pytest.CaptureFixture[str], estate: DemoEstate, findings: Path, out: Path,
         *extra: str) -> dict[str, Any]:
    run = run_cli(capsys, ["remediate", "plan", str(findings), "--out", str(out), "--param",
                           f"volume_kms_key_id={estate.keys[REGION, 'volumes']}", *extra])
    assert run.code == 0, run.err
    loaded: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return loaded


def serve(name: str, variants: list[tuple[str, str]]) -> None:
    """A config with ``variants`` (name, instance type) and an endpoint running it."""
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.create_endpoint_config(EndpointConfigName=f"{name}-cfg", ProductionVariants=[
        {"VariantName": variant, "ModelName": "scorer-model", "InitialInstanceCount": 2, "InstanceType": kind}
        for variant, kind in variants])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-cfg")


def test_an_nvme_config_is_not_applicable_and_a_mixed_one_gets_a_manual_step(
        aws_estate: DemoEstate, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    serve("nvme", [("main", "ml.m5d.large")])
    serve("mixed", [("ebs", "ml.m5.large"), ("nvme", "ml.m5d.xlarge")])
    document = cli_scan(capsys, tmp_path / "scan")
    verdicts = by_name(document, CONFIG_RULE)

    nvme = verdicts["nvme-cfg"]
    assert nvme["status"] == "NOT_APPLICABLE"
    assert "local NVMe instance storage" in nvme["message"] and "cannot take a KmsKeyId" in nvme["message"]
    assert nvme["evidence"]["instance_storage_variants"] == {"main": "ml.m5d.large"}
    mixed = verdicts["mixed-cfg"]
    assert mixed["status"] == "FAIL" and "Judged on its EBS-backed variants ebs (ml.m5.large)" in mixed["message"]
    assert mixed["evidence"]["ebs_variants"] == {"ebs": "ml.m5.large"}
    assert mixed["evidence"]["instance_storage_variants"] == {"nvme": "ml.m5d.xlarge"}
    assert verdicts["scorer-cfg"]["status"] == "FAIL" and verdicts["embedder-cfg"]["status"] == "PASS"

    plan_file = tmp_path / "plan.json"
    steps = plan(capsys, aws_estate, tmp_path / "scan" / "findings.json", plan_file, "--rule", CONFIG_RULE)["steps"]
    by_config = {s["finding"]["resource_id"].rsplit("/", 1)[-1]: s for s in steps}
    assert set(by_config) == {"scorer-cfg", "mixed-cfg"}  # nothing for the NVMe config
    assert by_config["scorer-cfg"]["mode"] == "automatic"
    manual = by_config["mixed-cfg"]
    assert manual["mode"] == "manual" and not manual["api_calls"] and not manual["inputs"]
    assert "local NVMe instance storage" in manual["notes"][0] and "nvme (ml.m5d.xlarge)" in manual["notes"][0]

    applied = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes"])
    assert applied.code == 0, applied.out + applied.err
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    assert sagemaker.describe_endpoint(EndpointName="mixed")["EndpointConfigName"] == "mixed-cfg"
    assert sagemaker.describe_endpoint(EndpointName="nvme")["EndpointConfigName"] == "nvme-cfg"
    created = [str(r["created"]) for r in events(tmp_path / "journal.jsonl", "resource-created")]
    assert [c.rsplit("/", 1)[-1].split("-kms-")[0] for c in created] == ["scorer-cfg"]


def test_a_disabled_or_pending_deletion_key_gets_a_manual_step_not_a_fix(
        aws_estate: DemoEstate, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kms = boto3.client("kms", region_name=REGION)
    legacy, volumes = aws_estate.keys[REGION, "legacy"], aws_estate.keys[REGION, "volumes"]
    kms.disable_key(KeyId=legacy.rsplit("/", 1)[-1])  # rotation off (moto takes the key id here, not the ARN)
    kms.schedule_key_deletion(KeyId=volumes.rsplit("/", 1)[-1], PendingWindowInDays=7)  # rotation on until then
    document = cli_scan(capsys, tmp_path / "scan")
    keys = {f["resource_id"]: f for f in document["findings"] if f["rule_id"] == ROTATION_RULE}
    assert keys[legacy]["status"] == "FAIL" and keys[legacy]["evidence"]["KeyMetadata.KeyState"] == "Disabled"
    assert keys[volumes]["status"] == "FAIL" and keys[volumes]["evidence"]["KeyMetadata.KeyState"] == "PendingDeletion"

    plan_file = tmp_path / "plan.json"
    steps = plan(capsys, aws_estate, tmp_path / "scan" / "findings.json", plan_file, "--rule", ROTATION_RULE)["steps"]
    by_key = {s["finding"]["resource_id"]: s for s in steps}
    assert {s["mode"] for s in steps} == {"manual"} and set(by_key) == {legacy, volumes}
    assert "Disabled" in by_key[legacy]["notes"][0] and "EnableKeyRotation" in by_key[legacy]["notes"][0]
    assert "scheduled for deletion" in by_key[volumes]["notes"][0]
    assert any("cancel-key-deletion" in line for line in by_key[volumes]["manual_procedure"])

    applied = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes"])
    assert applied.code == 0 and applied.out.count("not-applied") == 2, applied.out
    assert not events(tmp_path / "journal.jsonl", "change-started")
    assert kms.describe_key(KeyId=legacy)["KeyMetadata"]["KeyState"] == "Disabled"


def test_apply_runs_only_the_selected_steps_and_rollback_undoes_one_run(
        aws_estate: DemoEstate, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = cli_scan(capsys, tmp_path / "scan")
    assert {f["status"] for f in document["findings"]
            if (f["rule_id"], f["resource_id"]) == (PAB_RULE, f"arn:aws:s3:::{BUCKET}")} == {"FAIL"}
    plan_file = tmp_path / "plan.json"
    steps = plan(capsys, aws_estate, tmp_path / "scan" / "findings.json", plan_file)["steps"]
    number = next(i for i, s in enumerate(steps, start=1) if s["finding"]["rule_id"] == PAB_RULE)
    journal = tmp_path / "journal.jsonl"
    s3, kms = boto3.client("s3", region_name=REGION), boto3.client("kms", region_name=REGION)
    legacy = aws_estate.keys[REGION, "legacy"]

    def restricted() -> bool:
        block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
        return bool(block["RestrictPublicBuckets"])

    one = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes", "--step", str(number)])
    assert one.code == 0, one.out + one.err
    assert f"selected step {number} of {len(steps)}" in one.err
    assert [r["finding"]["rule_id"] for r in events(journal, "step-planned")] == [PAB_RULE]
    assert restricted() and not kms.get_key_rotation_status(KeyId=legacy)["KeyRotationEnabled"]
    first_run = journal_records(journal)[-1]["run"]
    started = events(journal, "run-started")
    assert started[-1]["selection"] == {"steps": [str(number)], "rules": []}  # what the operator narrowed it to

    rotation = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes", "--rule", ROTATION_RULE])
    assert rotation.code == 0 and rotation.out.startswith("applied"), rotation.out
    assert kms.get_key_rotation_status(KeyId=legacy)["KeyRotationEnabled"]
    assert {r["finding"]["rule_id"] for r in events(journal, "step-planned")} == {PAB_RULE, ROTATION_RULE}
    assert events(journal, "run-started")[-1]["selection"] == {"steps": [], "rules": [ROTATION_RULE]}

    undone = run_cli(capsys, ["remediate", "rollback", str(journal), "--yes", "--run", first_run])
    assert undone.code == 0, undone.out + undone.err
    assert not restricted() and kms.get_key_rotation_status(KeyId=legacy)["KeyRotationEnabled"]
