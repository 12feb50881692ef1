"""--rule, --severity-min and --service narrow the policy exactly as the equivalent policy file would."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.catalog import load_catalog

from .helpers import Run, fake_aws_env, run_auditor

S3_AND_HTTPS = ("aws.s3.*", "azure.apim.api.https_only")
POLICY = """\
rules: {exclude: ["azure.ml.legacy_service.*"]}
severity:
  azure.ml.workspace.cmk_encryption: {severity: high, justification: "Customer keys are contractual (SEC-9)"}
"""


def _demo(out: Path, *args: str) -> Run:
    return run_auditor(["demo", "--out", str(out), "--format", "json", "--quiet", *args], out, env=fake_aws_env(None))


def _policy(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _verdicts(run: Run) -> list[tuple[str, str, str]]:
    assert run.code == 1, run.stderr  # the demo keeps failing findings of high severity in every run here
    return sorted((f["id"], f["status"], f["severity"]) for f in run.findings()["findings"])


def _excluded(run: Run) -> dict[str, str]:
    return {r["rule_id"]: r["reason"] for fw in run.findings()["frameworks"] for c in fw["controls"]
            for r in c["rules"] if r["state"] == "excluded"}


def test_rule_globs_keep_the_same_findings_as_a_policy_including_them(tmp_path):
    by_option = _demo(tmp_path / "a", *(arg for rule in S3_AND_HTTPS for arg in ("--rule", rule)))
    include = ", ".join(f'"{rule}"' for rule in S3_AND_HTTPS)
    policy = _policy(tmp_path / "p.yaml", f"rules: {{include: [{include}]}}\n")
    by_policy = _demo(tmp_path / "b", "--policy", str(policy))
    assert _verdicts(by_option) == _verdicts(by_policy)
    assert {f["rule_id"] for f in by_option.findings()["findings"]} == {
        "aws.s3.bucket.kms_default_encryption", "aws.s3.bucket.public_access_blocked", "azure.apim.api.https_only"}
    assert "aws.sagemaker.model.vpc" in _excluded(by_option) and "--rule" in _excluded(by_option)[
        "aws.sagemaker.model.vpc"]


def test_service_and_severity_narrow_a_policy_file_after_its_overrides(tmp_path):
    policy = _policy(tmp_path / "p.yaml", POLICY)
    run = _demo(tmp_path / "a", "--policy", str(policy), "--service", "ml", "--severity-min", "high")
    catalog = load_catalog()
    expected = {rid for rid, rule in catalog.items() if rid.startswith("azure.ml.") and rule.severity.rank >= 3
                and not rid.startswith("azure.ml.legacy_service.")} | {"azure.ml.workspace.cmk_encryption"}
    got = {f["rule_id"] for f in run.findings()["findings"]}
    assert got == expected
    assert all(f["severity"] in ("critical", "high") for f in run.findings()["findings"])
    excluded = _excluded(run)
    assert "policy" in excluded["azure.ml.legacy_service.auth_enabled"]  # the policy's reason wins: it left it out
    assert excluded["aws.sagemaker.endpoint_config.kms_volume_encryption"] == (
        "not selected on the command line (--service ml)")
    assert excluded["azure.ml.online_deployment.data_collection_enabled"] == (
        "not selected on the command line (--severity-min high)")
    assert excluded["aws.sagemaker.model.vpc"] == "not selected on the command line (--severity-min high; --service ml)"
    # the same selection written as one policy file gives the same findings
    include = ", ".join(f'"{rid}"' for rid in sorted(expected))
    equivalent = _policy(tmp_path / "q.yaml", POLICY.replace('rules: {exclude: ["azure.ml.legacy_service.*"]}',
                                                              f"rules: {{include: [{include}]}}"))
    assert _verdicts(run) == _verdicts(_demo(tmp_path / "b", "--policy", str(equivalent)))


@pytest.mark.parametrize(("args", "field", "named"), [
    (["--rule", "aws.sagemaker.model.nope"], "--rule", "aws.sagemaker.model.vpc"),
    (["--rule", "aws.s3.*", "--rule", "gcp.*"], "--rule", "azure.apim.api.https_only"),
    (["--service", "sagemakr"], "--service", "known services: ai, apim, bedrock, iam, kms, ml, s3, sagemaker"),
], ids=["unknown rule id", "glob matching nothing", "unknown service"])
def test_an_unknown_filter_is_exit_3_before_any_api_call_naming_the_known_ones(tmp_path, args, field, named):
    out = tmp_path / "o"
    # No endpoint and no credentials: had the scan started it would end differently (exit 2).
    r = run_auditor(["scan", "aws", "--region", "eu-west-1", *args, "--out", str(out)], out)
    assert r.code == 3, r.stderr
    assert f"field '{field}'" in r.stderr and named in r.stderr
    assert "Traceback" not in r.stderr and not out.exists()


@pytest.mark.parametrize("command", [["scan", "aws"], ["scan", "azure"], ["scan", "all"], ["demo"]])
def test_every_scan_command_takes_the_filters(tmp_path, command):
    r = run_auditor([*command, "--help"], tmp_path)
    assert r.code == 0, r.stderr
    assert "--rule ID_OR_GLOB" in r.stdout and "--severity-min" in r.stdout and "--service NAME" in r.stdout
