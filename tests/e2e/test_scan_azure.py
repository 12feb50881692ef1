"""`auditor scan azure|all` in a subprocess against the Resource Manager stand-in in this process.

The command runs with ``--credential cli``: azure-identity's AzureCliCredential starts the fake ``az``
put first on PATH, and the stand-in's CA is trusted through REQUESTS_CA_BUNDLE, exactly as a user
points the auditor at another Resource Manager.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from auditor.catalog import load_catalog
from auditor.demo.arm_server import ArmServer
from auditor.demo.azure_estate import AzureDemoEstate
from auditor.demo.azure_northwind import ACCOUNT_KEY, DEV, PROD, SAS_SIGNATURE, seed_azure_demo
from auditor.demo.fake_az import DEFAULT_TOKEN, recorded_calls, write_fake_az
from auditor.demo.run import demo_azure_environment

from .helpers import Run, fake_aws_env, run_auditor

SHAPE = "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}"
AZURE_ML_RULES = sorted(r for r in load_catalog(providers=("azure",)) if r.startswith("azure.ml."))


@pytest.fixture
def arm() -> Iterator[ArmServer]:
    with ArmServer([], page_size=2) as server:
        yield server


@pytest.fixture
def estate(arm: ArmServer) -> AzureDemoEstate:
    return seed_azure_demo(arm)


def azure_env(arm: ArmServer, az_dir: Path, endpoint: str | None = None) -> dict[str, str]:
    """The AWS test environment plus the stand-in's: fake az first on PATH, its CA, no AZURE_* from here."""
    write_fake_az(az_dir)
    env = fake_aws_env(endpoint)
    for key, value in demo_azure_environment(arm.ca_bundle, str(az_dir)).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def scan_azure(arm: ArmServer, tmp_path: Path, *extra: str) -> Run:
    out = tmp_path / "out"
    return run_auditor(["scan", "azure", "--credential", "cli", "--arm-endpoint", arm.url, "--out", str(out),
                        *extra], out, env=azure_env(arm, tmp_path / "az"))


def verdicts(run: Run, provider: str = "azure") -> dict[tuple[str, str], str]:
    return {(f["rule_id"], f["resource_id"]): f["status"] for f in run.findings()["findings"]
            if f["provider"] == provider}


def assert_no_secret(run: Run, estate: AzureDemoEstate) -> None:
    texts = {"stdout": run.stdout, "stderr": run.stderr}
    texts.update({p.name: p.read_text(encoding="utf-8") for p in run.out.iterdir() if p.is_file()})
    assert {"findings.json", "report.html"} <= set(texts)
    for name, text in texts.items():
        for secret in (*estate.secrets, ACCOUNT_KEY, SAS_SIGNATURE):  # whole values, and the key parts alone
            assert secret not in text, (name, secret[:12])


def test_scan_yields_the_catalog_verdicts_for_every_seeded_resource(arm: ArmServer, estate: AzureDemoEstate,
                                                                    tmp_path: Path) -> None:
    r = scan_azure(arm, tmp_path)
    assert r.code == 1, r.stderr  # high-severity FAILs, complete
    doc = r.findings()
    assert doc["scan"]["complete"] is True
    assert doc["scan"]["scopes"] == [f"azure:{PROD}", f"azure:{DEV}"]  # listed: no --subscription given
    assert verdicts(r) == dict(estate.expected)
    assert {rule for rule, _ in verdicts(r)} == set(AZURE_ML_RULES)
    assert all(row["status"] == "collected" for row in doc["coverage"])
    # every list was followed through its nextLinks, two items a page, and read once
    requests = arm.requests
    endpoints = list(estate.ids["online_endpoint"].values())
    per_workspace = {ws: sum(1 for e in endpoints if e.startswith(ws + "/")) for ws in estate.ids["workspace"].values()}
    assert max(per_workspace.values()) > 2
    assert requests[("GET", SHAPE + "/onlineEndpoints")] == sum(max(1, math.ceil(n / 2))
                                                                for n in per_workspace.values())
    assert requests[("GET", "/subscriptions")] == 1
    assert {method for method, _ in requests} == {"GET"}
    # the CLI credential ran the fake az once, and only its token reached the server
    assert len(recorded_calls(tmp_path / "az")) == 1
    assert set(arm.tokens) == {DEFAULT_TOKEN}
    assert_no_secret(r, estate)
    html = (r.out / "report.html").read_text(encoding="utf-8")
    assert "<img src=x onerror=alert('azure')>" not in html
    assert "\\u003cimg src=x onerror=alert('azure')\\u003e" in html  # in the data block, escaped


def test_a_denied_subscription_is_an_error_not_a_pass_and_the_other_is_fully_audited(
        arm: ArmServer, estate: AzureDemoEstate, tmp_path: Path) -> None:
    arm.deny(f"/subscriptions/{DEV}")
    r = scan_azure(arm, tmp_path)
    assert r.code == 2, r.stderr
    assert "INCOMPLETE" in r.stderr and DEV in r.stderr
    doc = r.findings()
    assert doc["scan"]["complete"] is False
    failed = [row for row in doc["coverage"] if row["status"] != "collected"]
    assert failed and all(row["account"] == DEV and row["scope_id"].startswith(f"/subscriptions/{DEV}")
                          for row in failed)
    [ml] = [row for row in failed if "azure.ml.workspace" in row["resource_types"]]
    assert ml["scope_id"] == f"/subscriptions/{DEV}" and "access denied" in ml["error"]
    assert "AuthorizationFailed" in ml["error"]
    dev = [f for f in doc["findings"] if f["account"] == DEV or DEV in f["resource_id"]]
    assert dev and all(f["status"] == "ERROR" for f in dev)  # never a PASS for what could not be read
    dev_ml = [f for f in dev if f["rule_id"].startswith("azure.ml.")]
    assert sorted(f["rule_id"] for f in dev_ml) == AZURE_ML_RULES  # one ERROR per rule of the subscription
    assert {f["resource_id"] for f in dev_ml} == {f"/subscriptions/{DEV}"}
    # PROD is audited in full, but an identity's role assignments are pooled across the scanned subscriptions:
    # with DEV's unreadable, an identity with nothing broad in PROD is not known to be least-privileged (ERROR
    # naming DEV); one with a broad role in PROD still fails.
    identity = "azure.ml.online_endpoint.identity_least_privilege"
    prod = {k: ("ERROR" if k[0] == identity and v == "PASS" else v) for k, v in estate.expected.items()
            if k[1].startswith(f"/subscriptions/{PROD}/")}
    assert {k: v for k, v in verdicts(r).items() if k[1].startswith(f"/subscriptions/{PROD}/")} == prod
    unknown = [f for f in doc["findings"] if f["rule_id"] == identity and f["account"] == PROD
               and f["status"] == "ERROR"]
    assert unknown and all(f"/subscriptions/{DEV}" in f["message"] and "access denied" in f["message"]
                           for f in unknown)
    assert_no_secret(r, estate)


def test_a_subscription_subset_never_resolves_the_other_subscriptions_failures(
        arm: ArmServer, estate: AzureDemoEstate, tmp_path: Path) -> None:
    full = scan_azure(arm, tmp_path / "full")
    dev_failures = {(f["rule_id"], f["resource_id"]) for f in full.findings()["findings"]
                    if f["status"] == "FAIL" and f["account"] == DEV}
    assert dev_failures

    r = scan_azure(arm, tmp_path / "prod", "--subscription", PROD.upper(), "--baseline",
                   str(full.out / "findings.json"), "--fail-on-new")
    doc = r.findings()
    assert doc["baseline"]["resolved"] == [] and doc["baseline"]["counts"]["resolved"] == 0
    unverified = {(p["rule_id"], p["resource_id"]): p["reason"] for p in doc["baseline"]["unverified"]}
    assert set(unverified) == dev_failures
    assert set(unverified.values()) == {"no scope of this scan holds its resource"}
    # PROD was read again, ids compared case-insensitively: its failures are still failing, nothing is new.
    states = {f["baseline"]["state"] for f in doc["findings"] if f["status"] == "FAIL"}
    assert states == {"still_failing"}
    assert r.code == 0, r.stderr


def _seed_aws(endpoint: str) -> str:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "sagemaker.amazonaws.com"}}]}
    role = session.client("iam", region_name="us-east-1", endpoint_url=endpoint).create_role(
        RoleName="nw-scoring", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    sm = session.client("sagemaker", region_name="eu-west-1", endpoint_url=endpoint)
    sm.create_model(ModelName="churn", ExecutionRoleArn=role,
                    PrimaryContainer={"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:3"})
    sm.create_endpoint_config(EndpointConfigName="churn", ProductionVariants=[
        {"VariantName": "main", "ModelName": "churn", "InitialInstanceCount": 2, "InstanceType": "ml.m5.large"}])
    return str(sm.create_endpoint(EndpointName="churn", EndpointConfigName="churn")["EndpointArn"])


def test_scan_all_writes_one_report_for_both_clouds(moto: str, arm: ArmServer, estate: AzureDemoEstate,
                                                    tmp_path: Path) -> None:
    endpoint_arn = _seed_aws(moto)
    out = tmp_path / "out"
    r = run_auditor(["scan", "all", "--region", "eu-west-1", "--subscription", PROD, "--credential", "cli",
                     "--arm-endpoint", arm.url, "--out", str(out), "--quiet"], out,
                    env=azure_env(arm, tmp_path / "az", moto))
    assert r.code == 1, r.stderr
    assert r.stderr == ""
    doc = r.findings()
    assert doc["scan"]["complete"] is True
    assert {f["provider"] for f in doc["findings"]} == {"aws", "azure"}
    assert doc["scan"]["scopes"] == ["aws:123456789012:eu-west-1", f"azure:{PROD}"]
    assert verdicts(r, "aws")[("aws.sagemaker.endpoint.data_capture_enabled", endpoint_arn)] == "FAIL"
    prod = {k: v for k, v in estate.expected.items() if k[1].startswith(f"/subscriptions/{PROD}/")}
    assert verdicts(r) == prod
    assert {row["provider"] for row in doc["coverage"]} == {"aws", "azure"}
