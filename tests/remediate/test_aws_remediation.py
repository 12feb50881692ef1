"""End to end on AWS: scan -> findings.json -> plan -> apply -> re-scan -> rollback -> re-scan, against moto.

moto runs in server mode in this process; moto lacks UpdateEndpoint, so the demo's extension of moto's
SageMaker backend (``auditor.demo.moto_sagemaker``, installed by ``running_moto``) adds it. Everything
else is the real thing: the collectors and the remediation code talk to the server through boto3, and the CLI
runs through ``auditor.cli.main``.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import boto3
import pytest

from auditor.demo.aws_estate import DemoEstate
from auditor.providers import ProviderOptions
from auditor.providers.aws.collect import AwsOptions, collect_aws
from auditor.remediate.apply import ApplyOptions, apply_plan
from auditor.remediate.planfile import read_plan
from auditor.remediate.rollback import rollback_journal

from .aws_estate import BUCKET, REGION, SECRET_ENV
from .helpers import Verdicts, assert_absent, changed, events, run_cli, verdicts, write_findings

CONFIG_RULE = "aws.sagemaker.endpoint_config.kms_volume_encryption"
CAPTURE_RULE = "aws.sagemaker.endpoint.data_capture_encrypted"
ROTATION_RULE = "aws.kms.key.rotation_enabled"
PAB_RULE = "aws.s3.bucket.public_access_blocked"
SSE_RULE = "aws.s3.bucket.kms_default_encryption"


class Crash(BaseException):
    """What a process killed mid-run looks like to the code above it: nothing catches it."""


def scan(path: Path) -> Path:
    return write_findings(collect_aws(AwsOptions(regions=(REGION,))), path)


def key_params(estate: DemoEstate) -> list[str]:
    volumes, capture = estate.keys[REGION, "volumes"], estate.keys[REGION, "capture"]
    return ["--param", f"volume_kms_key_id={volumes}", "--param", f"capture_kms_key_id={capture}",
            "--param", f"bucket_kms_key_id={capture}"]


def make_plan(capsys: pytest.CaptureFixture[str], estate: DemoEstate, findings: Path, plan: Path,
              *extra: str) -> dict[str, Any]:
    run = run_cli(capsys, ["remediate", "plan", str(findings), "--out", str(plan), *key_params(estate), *extra])
    assert run.code == 0, run.err
    loaded: dict[str, Any] = json.loads(plan.read_text(encoding="utf-8"))
    return loaded


def fixed_pairs(estate: DemoEstate) -> set[tuple[str, str]]:
    return {(CAPTURE_RULE, estate.endpoints["scorer"]), (CAPTURE_RULE, estate.endpoints["scorer-b"]),
            (ROTATION_RULE, estate.keys[REGION, "legacy"]), (PAB_RULE, f"arn:aws:s3:::{BUCKET}"),
            (SSE_RULE, f"arn:aws:s3:::{BUCKET}")}


def endpoint_config(name: str) -> str:
    return str(boto3.client("sagemaker", region_name=REGION).describe_endpoint(EndpointName=name)["EndpointConfigName"])


def assert_original_state(before: Verdicts, now: Verdicts) -> None:
    """Every verdict as before, and nothing new: rollback deleted the configs apply created."""
    assert changed(before, now) == {}
    assert set(now) == set(before)


def test_scan_plan_apply_rescan_rollback_rescan(aws_estate: DemoEstate, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    before_file = scan(tmp_path / "before" / "findings.json")
    before = verdicts(before_file)
    plan_file = tmp_path / "plan.json"
    plan = make_plan(capsys, aws_estate, before_file, plan_file)
    automatic = {(s["finding"]["rule_id"], s["finding"]["resource_id"]) for s in plan["steps"]
                 if s["mode"] == "automatic"}
    assert automatic == fixed_pairs(aws_estate) | {(CONFIG_RULE, aws_estate.endpoint_configs["scorer-cfg"])}
    manual = {s["finding"]["rule_id"] for s in plan["steps"] if s["mode"] == "manual"}
    assert manual == {"aws.sagemaker.model.network_isolation", "aws.sagemaker.model.vpc",
                      "aws.sagemaker.endpoint.data_capture_enabled", "aws.sagemaker.model.no_plaintext_secrets",
                      "aws.bedrock.invocation_logging_enabled"}  # the region's Bedrock logging is off in moto
    assert all(not s["api_calls"] and s["manual_procedure"] for s in plan["steps"] if s["mode"] == "manual")
    config_step = next(s for s in plan["steps"] if s["finding"]["rule_id"] == CONFIG_RULE)
    assert config_step["disruption"]["class"] == "rolling"
    assert "sagemaker:UpdateEndpoint" in config_step["permissions"]

    applied = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes"])
    assert applied.code == 0, applied.out + applied.err
    journal = tmp_path / "journal.jsonl"  # beside the plan
    created = {str(r["created"]) for r in events(journal, "resource-created")}
    assert len(created) == 2  # the KMS copy of scorer-cfg, then its capture copy (both endpoints run it)

    after_file = scan(tmp_path / "after" / "findings.json")
    after = verdicts(after_file)
    assert changed(before, after) == dict.fromkeys(fixed_pairs(aws_estate), ("FAIL", "PASS"))
    assert {resource for _, resource in set(after) - set(before)} == created
    # The config finding itself stays FAIL (the old config is kept for rollback); the endpoints moved on
    # to configs that pass it.
    assert after[CONFIG_RULE, aws_estate.endpoint_configs["scorer-cfg"]][0] == "FAIL"
    for endpoint in ("scorer", "scorer-b"):
        running = endpoint_config(endpoint)
        assert running.startswith("scorer-cfg-kms-") and "-cap-" in running
        arn = aws_estate.endpoint_configs["scorer-cfg"].rsplit("/", 1)[0] + "/" + running
        assert after[CONFIG_RULE, arn][0] == "PASS"

    started = len(events(journal, "change-started"))
    again = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes"])  # idempotent
    assert again.code == 0, again.out
    assert again.out.count("already-applied") == 6 and not again.out.startswith("applied")
    assert len(events(journal, "change-started")) == started and len(events(journal, "run-finished")) == 2

    rolled = run_cli(capsys, ["remediate", "rollback", str(journal), "--yes"])
    assert rolled.code == 0, rolled.out + rolled.err
    made = [str(r["created"]) for r in events(journal, "resource-created")]
    assert f"deleted what apply created, which nothing uses: {', '.join(made)}" in rolled.err
    assert "kept what apply created" not in rolled.err
    assert_original_state(before, verdicts(scan(tmp_path / "rolled" / "findings.json")))
    assert {endpoint_config("scorer"), endpoint_config("scorer-b")} == {"scorer-cfg"}

    texts = [(p.name, p.read_text(encoding="utf-8")) for p in tmp_path.rglob("*") if p.is_file()]
    assert_absent([*texts, ("stdout", applied.out + rolled.out)], [SECRET_ENV])


def test_a_resource_changed_between_plan_and_apply_is_skipped(aws_estate: DemoEstate, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    findings = scan(tmp_path / "findings.json")
    plan_file = tmp_path / "plan.json"
    make_plan(capsys, aws_estate, findings, plan_file, "--rule", PAB_RULE, "--rule", ROTATION_RULE)
    someone_else: Any = {"BlockPublicAcls": False, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": False}
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration=someone_else)

    run = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes"])
    assert run.code == 1
    refused = next(line for line in run.out.splitlines() if PAB_RULE in line)
    assert refused.startswith("refused") and "changed since the scan" in refused and "re-plan" in refused
    assert s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"] == someone_else
    rotation = next(line for line in run.out.splitlines() if ROTATION_RULE in line)
    assert rotation.startswith("applied")  # the other step still ran
    results = {r["rule_id"]: r["result"] for r in events(tmp_path / "journal.jsonl", "step-result")}
    assert results == {PAB_RULE: "refused", ROTATION_RULE: "applied"}


@pytest.mark.parametrize("crash_kind", ["any", "aws.sagemaker.endpoint.config"])
def test_a_crash_mid_apply_leaves_a_journal_rollback_restores_from(aws_estate: DemoEstate, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str],
                                                                   fast: ProviderOptions, crash_kind: str) -> None:
    before_file = scan(tmp_path / "before.json")
    plan_file = tmp_path / "plan.json"
    make_plan(capsys, aws_estate, before_file, plan_file)
    plan, digest = read_plan(plan_file)
    journal = tmp_path / "journal.jsonl"

    def crash(record: Any) -> None:
        if record["event"] == "change-applied" and crash_kind in ("any", journal_kind(journal, record["change"])):
            raise Crash

    with pytest.raises(Crash):
        apply_plan(plan, plan_file, digest, ApplyOptions(journal=journal, hook=crash), fast)
    applied = events(journal, "change-applied")
    assert not events(journal, "run-finished")
    if crash_kind == "any":
        assert len(applied) == 1
    else:  # mid-step: scorer moved to the KMS copy, scorer-b not yet
        assert journal_kind(journal, applied[-1]["change"]) == crash_kind
        assert sorted([endpoint_config("scorer"), endpoint_config("scorer-b")])[0] == "scorer-cfg"
        assert sorted([endpoint_config("scorer"), endpoint_config("scorer-b")])[1].startswith("scorer-cfg-kms-")
    block = boto3.client("s3", region_name=REGION).get_public_access_block(Bucket=BUCKET)
    assert block["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True  # the plan's first change happened

    report = rollback_journal(journal, fast)
    assert report.exit_code == 0 and [r.outcome.value for r in report.results] == ["applied"] * len(applied)
    assert [r.step_id for r in report.results] == [a["change"] for a in reversed(applied)]  # newest first
    created = [str(r["created"]) for r in events(journal, "resource-created")]
    assert report.removed == created and report.kept == {}
    assert_original_state(verdicts(before_file), verdicts(scan(tmp_path / "rolled.json")))


def journal_kind(journal: Path, change: str) -> str:
    return next(str(r["kind"]) for r in events(journal, "change-started") if r["change"] == change)


def test_max_changes_caps_the_resources_one_run_changes(aws_estate: DemoEstate, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    findings = scan(tmp_path / "findings.json")
    plan_file = tmp_path / "plan.json"
    make_plan(capsys, aws_estate, findings, plan_file)
    first = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes", "--max-changes", "2"])
    assert first.code == 1
    journal = tmp_path / "journal.jsonl"
    # Steps run by severity: the bucket's public access block first (one resource), then the volume key, which
    # would change two more (a new config and the endpoint) with one left: the run stops before it.
    assert {r["changed_resource"] for r in events(journal, "change-started")} == {"arn:aws:s3:::remediation-capture-eu"}
    refusals = [line for line in first.out.splitlines() if line.startswith("refused")]
    assert len(refusals) == 5 and all("--max-changes 2 reached" in line for line in refusals)
    assert "this step changes 2 more resource(s), 1 left in this run" in refusals[0]
    second = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes"])
    assert second.code == 0, second.out
    assert second.out.count("already-applied") == 1  # the public access block of the first run


def test_a_config_no_endpoint_runs_is_refused_and_a_missing_key_changes_nothing(
        aws_estate: DemoEstate, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.create_endpoint_config(EndpointConfigName="orphan-cfg", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "scorer-model", "InitialInstanceCount": 2,
        "InstanceType": "ml.m5.large"}])
    findings = scan(tmp_path / "findings.json")
    plan_file = tmp_path / "plan.json"
    run = run_cli(capsys, ["remediate", "plan", str(findings), "--out", str(plan_file), "--rule", CONFIG_RULE,
                           "--param", "volume_kms_key_id=alias/no-such-key"])
    assert run.code == 0
    applied = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes"])
    assert applied.code == 1
    lines = {line.split()[2].rstrip(":").rsplit("/", 1)[-1]: line for line in applied.out.splitlines()}
    assert lines["orphan-cfg"].startswith("refused") and "no endpoint runs orphan-cfg" in lines["orphan-cfg"]
    assert lines["scorer-cfg"].startswith("refused") and "does not exist" in lines["scorer-cfg"]
    assert not events(tmp_path / "journal.jsonl", "change-started", "resource-created")
    assert endpoint_config("scorer") == "scorer-cfg"


def test_plan_makes_no_network_call_and_without_a_key_plans_a_manual_step(
        aws_estate: DemoEstate, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    findings = scan(tmp_path / "findings.json")

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("plan opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    plan_file = tmp_path / "plan.json"
    run = run_cli(capsys, ["remediate", "plan", str(findings), "--out", str(plan_file)])
    assert run.code == 0, run.err
    steps = json.loads(plan_file.read_text(encoding="utf-8"))["steps"]
    needs_key = (CONFIG_RULE, CAPTURE_RULE, SSE_RULE)
    kms = {s["finding"]["rule_id"]: s for s in steps if s["finding"]["rule_id"] in needs_key}
    assert {s["mode"] for s in kms.values()} == {"manual"}
    assert all("--param" in s["notes"][0] for s in kms.values())  # says which key to pass
    assert {s["mode"] for s in steps if s["finding"]["rule_id"] in (PAB_RULE, ROTATION_RULE)} == {"automatic"}
