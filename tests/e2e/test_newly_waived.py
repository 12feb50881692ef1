"""A waiver that starts muting failures shows as newly accepted risk: `auditor scan aws` twice, in process.

The first scan (no waivers) is the baseline. Then a new model appears and a waivers file mutes the
network-isolation failure of both the old model (FAIL in the baseline) and the new one (not in the
baseline): both are ``newly_waived`` in findings.json, listed in summary.md with the waiver, shown in
report.html, counted on the console, and neither gates ``--fail-on-new``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from auditor.cli import main

from .helpers import fake_aws_env

RULE = "aws.sagemaker.model.network_isolation"
REASON = "Scoring calls a partner API; isolation once SEC-311 ships"
OWNER = "ml-platform@example.com"
EXPIRES = "2099-12-31"
ROLE_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def _model(endpoint: str, name: str) -> str:
    """A model in a VPC without network isolation: its only FAIL is RULE (medium)."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    iam = session.client("iam", region_name="us-east-1", endpoint_url=endpoint)
    try:
        role = iam.get_role(RoleName="scoring")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="scoring", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
    sm = session.client("sagemaker", region_name="eu-west-1", endpoint_url=endpoint)
    arn: str = sm.create_model(
        ModelName=name, ExecutionRoleArn=role,
        PrimaryContainer={"Image": f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{name}:1"},
        VpcConfig={"Subnets": ["subnet-0abc"], "SecurityGroupIds": ["sg-0abc"]},
    )["ModelArn"]
    return arn


def _scan(out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        # SageMaker's and IAM's rules only: the region's Bedrock settings (logging off in moto) would FAIL too.
        main(["scan", "aws", "--region", "eu-west-1", "--service", "sagemaker", "--service", "iam",
              "--out", str(out), "--fail-on", "medium", "--format", "json",
              "--format", "html", "--format", "markdown", "--format", "csv", "--format", "junit", "--format", "sarif",
              *extra])
    return int(info.value.code or 0), capsys.readouterr().err


def test_a_waiver_that_starts_muting_failures_is_newly_waived_in_every_report(
        moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    env = fake_aws_env(moto)
    for name in [k for k in env if k.startswith("AWS_")]:
        monkeypatch.setenv(name, env[name])
    old = _model(moto, "ranker")
    code, err = _scan(tmp_path / "first", capsys)
    assert code == 1, err  # the model's isolation FAIL (medium) gates at --fail-on medium
    baseline = tmp_path / "first" / "findings.json"

    fresh = _model(moto, "fresh")
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(f"waivers:\n  - rules: [{RULE}]\n    resources: ['{old}', '{fresh}']\n"
                       f"    reason: {REASON}\n    owner: {OWNER}\n    expires: {EXPIRES}\n    broad: true\n")
    out = tmp_path / "second"
    code, err = _scan(out, capsys, "--waivers", str(waivers), "--baseline", str(baseline), "--fail-on-new")
    assert code == 0, err  # MUTED never gates, newly waived or not

    doc: dict[str, Any] = json.loads((out / "findings.json").read_text())
    marks = {f["resource_id"]: f["baseline"] for f in doc["findings"] if f["rule_id"] == RULE}
    assert marks == {old: {"state": "newly_waived", "previous_status": "FAIL", "previous_severity": "medium"},
                     fresh: {"state": "newly_waived", "previous_status": None, "previous_severity": None}}
    assert doc["baseline"]["counts"]["newly_waived"] == 2 and doc["summary"]["gating"] == []
    others = {f["baseline"]["state"] for f in doc["findings"] if f["rule_id"] != RULE}
    assert "newly_waived" not in others
    assert "2 newly waived" in err

    summary = (out / "summary.md").read_text()
    assert "**2 newly waived**" in summary
    section = summary.split("### Newly waived since baseline (2)", 1)[1].split("###", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith(f"| medium | `{RULE}` |")]
    assert len(rows) == 2
    assert all(f"| {REASON} | `{OWNER}` | {EXPIRES} |" in row for row in rows)  # an address: code, never a link
    assert {row.split(" | ")[3] for row in rows} == {"FAIL", "not in the baseline"}

    html = (out / "report.html").read_text()
    assert 'id="baseline-newly_waived"' in html and "badge bl-newly_waived" in html and "2 newly waived" in html
    assert REASON in html.split('id="baseline-newly_waived"', 1)[1].split("</details>", 1)[0]

    csv_states = {r["resource_id"]: r["baseline_state"]
                  for r in csv.DictReader(io.StringIO((out / "findings.csv").read_text(), newline=""))
                  if r["rule_id"] == RULE}
    assert csv_states == {old: "newly_waived", fresh: "newly_waived"}
    assert 'name="baseline.newly_waived" value="2"' in (out / "junit.xml").read_text()
    sarif = json.loads((out / "report.sarif").read_text())
    assert {r["properties"]["baseline_state"] for r in sarif["runs"][0]["results"]} == {"newly_waived"}
