"""Remediation that is safe to run unattended (issue 13, safety items 1, 2, 3 and 5), end to end through the CLI.

Real boto3 against moto (with the test-only UpdateEndpoint) and the real Azure SDK pipeline against the
Resource Manager stand-in. Failures are injected into moto's backend classes (the in-process server
shares them) with ``monkeypatch``, which puts them back after each test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.kms.exceptions import AccessDeniedException
from moto.kms.models import KmsBackend
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import SageMakerModelBackend

from auditor.demo.arm_server import ArmServer
from auditor.demo.aws_estate import DemoEstate

from .aws_estate import REGION
from .helpers import changed, events, run_cli, verdicts
from .test_aws_remediation import CAPTURE_RULE, CONFIG_RULE, ROTATION_RULE, make_plan, scan
from .test_azure_remediation import AUTH
from .test_azure_remediation import scan as azure_scan


def sagemaker() -> Any:
    return boto3.client("sagemaker", region_name=REGION)


def config_names() -> set[str]:
    return {c["EndpointConfigName"] for c in sagemaker().list_endpoint_configs(MaxResults=100)["EndpointConfigs"]}


# --- 1. stale plans are refused ------------------------------------------------------------------------------


def test_a_colleagues_retag_of_the_endpoint_refuses_its_step_and_the_others_go_on(
        aws_estate: DemoEstate, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    findings = scan(tmp_path / "findings.json")
    document = json.loads(findings.read_text(encoding="utf-8"))
    prints = {f["resource_id"]: f["resource_fingerprint"] for f in document["findings"]}
    assert set(prints[aws_estate.endpoints["scorer"]]) == {"sha256", "keys"} and "tags" in prints[
        aws_estate.endpoints["scorer"]]["keys"]  # digests only: never the document
    plan_file = tmp_path / "plan.json"
    plan = make_plan(capsys, aws_estate, findings, plan_file, "--rule", CAPTURE_RULE)
    assert all("resource_fingerprint" in s["finding"] for s in plan["steps"])
    scorer, scorer_b = aws_estate.endpoints["scorer"], aws_estate.endpoints["scorer-b"]
    sagemaker().add_tags(ResourceArn=scorer, Tags=[{"Key": "owner", "Value": "someone-else"}])  # unrelated field

    run = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes"])
    assert run.code == 1
    refused = next(line for line in run.out.splitlines() if line.endswith("--allow-drift") and scorer in line)
    assert refused.startswith("refused") and "changed since the scan (top-level keys: tags)" in refused
    assert sagemaker().describe_endpoint(EndpointName="scorer")["EndpointConfigName"] == "scorer-cfg"
    journal = tmp_path / "journal.jsonl"
    assert {r["resource_id"] for r in events(journal, "change-started")} == {scorer_b}  # nothing written for scorer
    assert {r["resource_id"]: r["result"] for r in events(journal, "step-result")} == {scorer: "refused",
                                                                                      scorer_b: "applied"}

    again = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes", "--allow-drift"])
    assert again.code == 0, again.out
    assert sagemaker().describe_endpoint(EndpointName="scorer")["EndpointConfigName"] != "scorer-cfg"


def test_an_azure_resource_whose_etag_changed_is_refused(arm: ArmServer, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from .azure_estate import EP_KEY

    findings = azure_scan(arm, tmp_path / "findings.json")
    plan_file = tmp_path / "plan.json"
    assert run_cli(capsys, ["remediate", "plan", str(findings), "--out", str(plan_file), "--rule", AUTH]).code == 0
    document = arm.get_resource(EP_KEY)
    assert document is not None and document.get("etag")
    arm.add_resources([{**document, "tags": {**document.get("tags", {}), "owner": "someone-else"},
                        "etag": "\"retagged\""}])  # a colleague's retag: a new ETag

    run = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes", "--credential", "cli", "--arm-endpoint",
                           arm.url])
    assert run.code == 1
    line = next(line for line in run.out.splitlines() if EP_KEY in line)
    assert line.startswith("refused") and "top-level keys: tags" in line
    stored = arm.get_resource(EP_KEY)
    assert stored is not None and stored["properties"]["authMode"] == document["properties"]["authMode"]


# --- 2. --max-changes caps attempts ----------------------------------------------------------------------------


def test_max_changes_counts_failed_attempts(aws_estate: DemoEstate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    kms = boto3.client("kms", region_name=REGION)
    variants = sagemaker().describe_endpoint_config(EndpointConfigName="scorer-cfg")["ProductionVariants"]
    for index in range(7):  # seven more keys with rotation off, each used by a config so the scan reads it
        key = kms.create_key(Description=f"team key {index}")["KeyMetadata"]["Arn"]
        sagemaker().create_endpoint_config(EndpointConfigName=f"team-{index}", KmsKeyId=key,
                                           ProductionVariants=variants)
    findings = scan(tmp_path / "findings.json")
    plan_file = tmp_path / "plan.json"
    plan = make_plan(capsys, aws_estate, findings, plan_file, "--rule", ROTATION_RULE)
    assert len(plan["steps"]) == 8

    def refuse(self: KmsBackend, key_id: str) -> None:
        raise AccessDeniedException(f"not allowed to enable rotation of {key_id}")

    monkeypatch.setattr(KmsBackend, "enable_key_rotation", refuse)
    run = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes", "--max-changes", "5"])
    assert run.code == 1
    journal = tmp_path / "journal.jsonl"
    assert len({r["changed_resource"] for r in events(journal, "change-started")}) == 5
    results = [r["result"] for r in events(journal, "step-result")]
    assert results == ["failed"] * 5 + ["refused"] * 3
    assert sum("--max-changes 5 reached" in line for line in run.out.splitlines()) == 3


# --- 3. a failed step undoes its own creation -------------------------------------------------------------------


def test_a_failure_after_the_config_is_created_leaves_no_config_and_no_finding(
        aws_estate: DemoEstate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    before_file = scan(tmp_path / "before.json")
    plan_file = tmp_path / "plan.json"
    make_plan(capsys, aws_estate, before_file, plan_file, "--rule", CONFIG_RULE, "--rule", CAPTURE_RULE)
    configs = config_names()

    def fail(self: SageMakerModelBackend, endpoint_name: str, endpoint_config_name: str,
             retain_all_variant_properties: bool = False) -> Any:
        raise ValidationError(message=f"injected: cannot update {endpoint_name}")

    monkeypatch.setattr(SageMakerModelBackend, "update_endpoint", fail)
    run = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes"])
    assert run.code == 1
    assert [line.split()[0] for line in run.out.splitlines()] == ["failed"] * 3
    assert "deleted what it created, which nothing uses" in run.out and "created and kept" not in run.err
    journal = tmp_path / "journal.jsonl"
    created = [r["created"] for r in events(journal, "resource-created")]
    assert len(created) == 3  # the config's KMS copy and one capture copy per endpoint
    assert sorted(r["created"] for r in events(journal, "resource-removed") if r["result"] == "deleted") == sorted(
        created)
    assert config_names() == configs
    after = verdicts(scan(tmp_path / "after.json"))
    assert changed(verdicts(before_file), after) == {} and set(after) == set(verdicts(before_file))


def test_a_copy_an_endpoint_already_runs_is_kept_and_listed(
        aws_estate: DemoEstate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    findings = scan(tmp_path / "findings.json")
    plan_file = tmp_path / "plan.json"
    make_plan(capsys, aws_estate, findings, plan_file, "--rule", CONFIG_RULE)
    original = SageMakerModelBackend.update_endpoint

    def second_fails(self: SageMakerModelBackend, endpoint_name: str, endpoint_config_name: str,
                     retain_all_variant_properties: bool = False) -> Any:
        if endpoint_name == "scorer-b":
            raise ValidationError(message="injected: cannot update scorer-b")
        return original(self, endpoint_name, endpoint_config_name, retain_all_variant_properties)

    monkeypatch.setattr(SageMakerModelBackend, "update_endpoint", second_fails)
    run = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes"])
    assert run.code == 1
    copy = sagemaker().describe_endpoint(EndpointName="scorer")["EndpointConfigName"]
    assert copy.startswith("scorer-cfg-kms-") and copy in config_names()
    assert f"created and kept: {aws_estate.endpoint_configs['scorer-cfg'].rsplit('/', 1)[0]}/{copy}" in run.err
    kept = events(tmp_path / "journal.jsonl", "resource-removed")
    assert [(r["result"], r["detail"]) for r in kept] == [("kept", "in use: scorer")]


# --- 5. plans carry where they apply ---------------------------------------------------------------------------


def test_a_plan_made_against_another_aws_endpoint_is_refused_unless_named(
        aws_estate: DemoEstate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    findings = scan(tmp_path / "findings.json")
    plan_file = tmp_path / "plan.json"
    plan = make_plan(capsys, aws_estate, findings, plan_file, "--rule", ROTATION_RULE)
    assert plan["target"] == {"aws": {"endpoint_url": aws_estate.endpoint_url.rstrip("/"), "partitions": ["aws"]}}
    elsewhere = aws_estate.endpoint_url.replace("127.0.0.1", "localhost")  # the same server, another endpoint
    monkeypatch.setenv("AWS_ENDPOINT_URL", elsewhere)

    refused = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes"])
    assert refused.code == 3
    assert f"made against {aws_estate.endpoint_url.rstrip('/')}" in refused.err
    assert f"--allow-endpoint {elsewhere.rstrip('/')}" in refused.err
    assert not (tmp_path / "journal.jsonl").exists()
    legacy = aws_estate.keys[REGION, "legacy"]
    assert boto3.client("kms", region_name=REGION).get_key_rotation_status(KeyId=legacy)["KeyRotationEnabled"] is False

    allowed = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes", "--allow-endpoint", elsewhere])
    assert allowed.code == 0, allowed.out + allowed.err


def test_a_plan_made_against_another_resource_manager_is_refused(arm: ArmServer, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    findings = azure_scan(arm, tmp_path / "findings.json")
    plan_file = tmp_path / "plan.json"
    assert run_cli(capsys, ["remediate", "plan", str(findings), "--out", str(plan_file), "--rule", AUTH]).code == 0
    other = "https://management.usgovcloudapi.net"
    run = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes", "--credential", "cli",
                           "--arm-endpoint", other])
    assert run.code == 3
    assert f"made against {arm.url}" in run.err and f"--allow-endpoint {other}" in run.err
    assert not (tmp_path / "journal.jsonl").exists()
