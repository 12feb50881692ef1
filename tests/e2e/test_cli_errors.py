"""Exit code 3 for usage and configuration errors, with file, line and field; no traceback."""

from __future__ import annotations

import json

from .helpers import run_auditor


def test_unknown_command_is_exit_3_not_clicks_2(tmp_path):
    r = run_auditor(["scan", "gcp"], tmp_path)
    assert r.code == 3
    assert "Traceback" not in r.stderr


def test_bad_option_value_is_exit_3(tmp_path):
    r = run_auditor(["scan", "aws", "--fail-on", "urgent"], tmp_path)
    assert r.code == 3
    assert "urgent" in r.stderr


def test_malformed_waivers_rejected_before_any_api_call(tmp_path):
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - rules: [aws.sagemaker.model.vpc]\n    resources: ['*']\n"
                       "    owner: me\n    expires: 2027-01-01\n")
    # No endpoint and no credentials: if the scan started it would fail differently (exit 2).
    r = run_auditor(["scan", "aws", "--region", "eu-west-1", "--waivers", str(waivers), "--out",
                     str(tmp_path / "o")], tmp_path)
    assert r.code == 3, r.stderr
    assert f"{waivers}:2" in r.stderr and "waivers[0].reason" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()


def test_bad_findings_file_for_report_is_exit_3_naming_the_file(tmp_path):
    bad = tmp_path / "findings.json"
    bad.write_text("{not json")
    r = run_auditor(["report", str(bad), "--format", "html", "--out", str(tmp_path / "o")], tmp_path)
    assert r.code == 3 and str(bad) in r.stderr
    bad.write_text(json.dumps({"schema_version": "1.0", "findings": "nope"}))
    r = run_auditor(["report", str(bad), "--format", "html", "--out", str(tmp_path / "o")], tmp_path)
    assert r.code == 3 and str(bad) in r.stderr and "Traceback" not in r.stderr


def test_rules_show_unknown_is_exit_3(tmp_path):
    r = run_auditor(["rules", "show", "aws.nope"], tmp_path)
    assert r.code == 3 and "unknown rule id" in r.stderr


def test_rules_list_json_lists_the_catalog(tmp_path):
    r = run_auditor(["rules", "list", "--format", "json"], tmp_path)
    assert r.code == 0
    rules = json.loads(r.stdout)
    assert len(rules) >= 10 and all(rule["remediation"]["guidance"] for rule in rules)


def test_permissions_aws_is_a_read_only_policy(tmp_path):
    r = run_auditor(["permissions", "aws"], tmp_path)
    assert r.code == 0
    policy = json.loads(r.stdout)
    actions = policy["Statement"][0]["Action"]
    assert "sagemaker:DescribeEndpoint" in actions
    assert "s3:ListBucket" not in actions, "moto-only names stay out of the AWS policy"
    writes = ("Create", "Update", "Delete", "Put", "Attach", "Enable", "Tag", "Untag")
    assert not [a for a in actions if a.split(":")[1].startswith(writes)]
