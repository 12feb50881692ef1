"""The printed policies are enough: scan, apply and rollback as IAM users holding only what ``permissions`` prints.

moto enforces IAM (``/moto-api/reset-auth``) and, through ``tests.aws.iam_actions``, checks the actions AWS checks
rather than moto's own spelling. Two users, each holding exactly one printed document: the scanner the scan's
(``auditor permissions aws``), the remediator the fixes' (``auditor permissions aws --remediate``), which says it
covers every call apply and rollback make, the live reads they repeat included. Each policy is so proven on its
own, which is stricter than one user holding both: the remediation job needs no scan permission.
"""

from __future__ import annotations

import copy
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws import iam_actions  # tests/ is the import root of the test packages (pytest prepend mode)

from auditor.demo.aws_estate import DemoEstate

from .aws_estate import REGION
from .helpers import changed, events, run_cli, verdicts
from .test_aws_remediation import CONFIG_RULE, assert_original_state, fixed_pairs, make_plan


@pytest.fixture(scope="module")
def aws_actions(moto_url: str) -> Iterator[None]:
    """Enforcement checks AWS's action names (this module's server runs in this process)."""
    restore = iam_actions.install()
    try:
        yield
    finally:
        restore()


@pytest.fixture
def enforce(aws_actions: None, moto_url: str) -> Iterator[Any]:
    """Call to enforce IAM from then on; relaxed again when the test ends."""

    def post(body: bytes) -> None:
        request = urllib.request.Request(f"{moto_url}/moto-api/reset-auth", data=body, method="POST",
                                         headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    try:
        yield lambda on=True: post(b"0" if on else b"inf")
    finally:
        post(b"inf")


def printed(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    run = run_cli(capsys, ["permissions", "aws", *args])
    assert run.code == 0, run.err
    document: dict[str, Any] = json.loads(run.out)
    return document


def user(name: str, document: dict[str, Any]) -> dict[str, str]:
    """An IAM user whose only policy is ``document``; its credentials as environment variables."""
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="only", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def without(document: dict[str, Any], action: str) -> dict[str, Any]:
    smaller = copy.deepcopy(document)
    statement = smaller["Statement"][0]
    assert action in statement["Action"], f"{action} is not in the printed policy"
    statement["Action"] = [a for a in statement["Action"] if a != action]
    return smaller


def act_as(monkeypatch: pytest.MonkeyPatch, credentials: dict[str, str]) -> None:
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)  # the user's long-term keys have none
    for name, value in credentials.items():
        monkeypatch.setenv(name, value)


def scan(capsys: pytest.CaptureFixture[str], out: Path) -> Path:
    """``auditor scan aws`` through the CLI; its coverage must be complete (nothing denied)."""
    run = run_cli(capsys, ["scan", "aws", "--region", REGION, "--out", str(out), "--format", "json", "--quiet"])
    assert run.code in (0, 1), run.out + run.err  # 1: failing findings (--fail-on high), not an error
    findings = out / "findings.json"
    document = json.loads(findings.read_text(encoding="utf-8"))
    assert [c for c in document["coverage"] if c.get("error")] == []
    assert "AccessDenied" not in run.out + run.err
    return findings


def test_scan_apply_rollback_as_users_holding_only_the_printed_policies(
        aws_estate: DemoEstate, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, enforce: Any) -> None:
    scanner = user("auditor-scan", printed(capsys))
    remediator = user("auditor-remediate", printed(capsys, "--remediate"))
    enforce()

    act_as(monkeypatch, scanner)
    before_file = scan(capsys, tmp_path / "before")
    before = verdicts(before_file)
    plan_file = tmp_path / "plan.json"
    plan = make_plan(capsys, aws_estate, before_file, plan_file)
    automatic = {s["finding"]["rule_id"] for s in plan["steps"] if s["mode"] == "automatic"}

    act_as(monkeypatch, remediator)
    applied = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes"])
    assert applied.code == 0, applied.out + applied.err
    journal = tmp_path / "journal.jsonl"
    results = [(r["rule_id"], r["result"]) for r in events(journal, "step-result")]
    assert {result for rule, result in results if rule in automatic} == {"applied"}  # 6 steps, 5 rules
    assert {result for rule, result in results if rule not in automatic} == {"not-applied"}  # manual ones

    act_as(monkeypatch, scanner)
    after = verdicts(scan(capsys, tmp_path / "after"))
    assert changed(before, after) == dict.fromkeys(fixed_pairs(aws_estate), ("FAIL", "PASS"))
    created = {str(r["created"]) for r in events(journal, "resource-created")}
    assert len(created) == 2 and {after[CONFIG_RULE, arn][0] for arn in created} == {"PASS"}

    act_as(monkeypatch, remediator)
    rolled = run_cli(capsys, ["remediate", "rollback", str(journal), "--yes"])
    assert rolled.code == 0, rolled.out + rolled.err
    assert "kept what apply created" not in rolled.err

    act_as(monkeypatch, scanner)
    assert_original_state(before, verdicts(scan(capsys, tmp_path / "rolled")))
    for run in (applied, rolled):
        assert "AccessDenied" not in run.out + run.err and "403" not in run.out


# One action per remediator and kind of call: a write of each service, the config copy and the endpoint move
# (whose failure must also remove the copy it made), and a live read the stale check repeats.
# S3 answers a denial without naming the action (as AWS does): the line names the call that was denied.
@pytest.mark.parametrize(("action", "rule", "denied_call"), [
    ("s3:PutBucketPublicAccessBlock", "aws.s3.bucket.public_access_blocked", "PutPublicAccessBlock"),
    ("kms:EnableKeyRotation", "aws.kms.key.rotation_enabled", "EnableKeyRotation"),
    ("sagemaker:UpdateEndpoint", CONFIG_RULE, "UpdateEndpoint"),
    ("s3:GetEncryptionConfiguration", "aws.s3.bucket.kms_default_encryption", "GetBucketEncryption"),
])
def test_apply_without_one_printed_action_fails_that_step_as_access_denied(
        aws_estate: DemoEstate, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, enforce: Any, action: str, rule: str, denied_call: str) -> None:
    findings = tmp_path / "before"
    before = verdicts(scan(capsys, findings))
    plan_file = tmp_path / "plan.json"
    make_plan(capsys, aws_estate, findings / "findings.json", plan_file, "--rule", rule)
    act_as(monkeypatch, user("auditor-remediate", without(printed(capsys, "--remediate"), action)))
    enforce()

    applied = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes"])

    assert applied.code == 1, applied.out
    lines = [line for line in applied.out.splitlines() if rule in line]
    assert lines and all(line.startswith("failed") for line in lines), applied.out
    assert all(f"access denied: {denied_call} returned AccessDenied" in line for line in lines), applied.out
    assert {r["result"] for r in events(tmp_path / "journal.jsonl", "step-result") if r["rule_id"] == rule
            } == {"failed"}
    enforce(False)  # unrestricted again: the failed step changed nothing and left nothing behind
    assert_original_state(before, verdicts(scan(capsys, tmp_path / "after")))


def test_rollback_that_cannot_delete_what_apply_created_exits_1(
        aws_estate: DemoEstate, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, enforce: Any) -> None:
    """The undo of every change succeeds, but the config copy apply made cannot be deleted: rollback says what it
    kept and why, and does not exit 0 (the estate is not back where it was)."""
    findings = tmp_path / "before"
    scan(capsys, findings)
    plan_file = tmp_path / "plan.json"
    make_plan(capsys, aws_estate, findings / "findings.json", plan_file, "--rule", CONFIG_RULE)
    remediate = printed(capsys, "--remediate")
    remediator = user("auditor-remediate", remediate)
    no_delete = user("auditor-no-delete", without(remediate, "sagemaker:DeleteEndpointConfig"))
    act_as(monkeypatch, remediator)
    enforce()
    applied = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes"])
    assert applied.code == 0, applied.out + applied.err
    journal = tmp_path / "journal.jsonl"
    assert events(journal, "resource-created")
    act_as(monkeypatch, no_delete)

    rolled = run_cli(capsys, ["remediate", "rollback", str(journal), "--yes"])

    assert rolled.code == 1, rolled.out + rolled.err
    assert "kept what apply created" in rolled.err and "the deletion failed" in rolled.err
    assert {r["result"] for r in events(journal, "resource-removed")} == {"kept"}
