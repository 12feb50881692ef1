"""A custom rule cannot claim an automatic fix the auditor does not have: ``rules list``/``show`` and a scan
under the policy refuse a ``remediation.remediator`` that names none (exit 3, file, line, field)."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.cli import main
from auditor.errors import ConfigError
from auditor.model import Severity
from auditor.pipeline import prepare_policy
from auditor.remediate import available

RULE_ID = "aws.sagemaker.endpoint.acme_owner_tagged"


def _policy(tmp_path: Path, remediator: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(f"""custom_rules:
  - id: {RULE_ID}
    title: Endpoint carries an owner tag
    severity: low
    resource_type: aws.sagemaker.endpoint
    rationale: The owning team is paged when its endpoint fails a rule.
    expect: {{path: EndpointName, op: not_empty}}
    messages: {{pass: "{{name}} has an owner", fail: "{{name}} has no owner"}}
    remediation:
      guidance: Tag the endpoint with its owning team, then scan again.
      remediator: {remediator}
""", encoding="utf-8")
    return path


@pytest.mark.parametrize("command", [["rules", "list"], ["rules", "show", RULE_ID]])
def test_rules_commands_refuse_an_unknown_remediator(tmp_path: Path, command: list[str],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    policy = _policy(tmp_path, "tag_the_endpoint")
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--policy", str(policy)])
    assert exit_.value.code == 3
    err = capsys.readouterr().err
    assert f"{policy}:11: field 'custom_rules[0].remediation.remediator'" in err
    assert "no automatic fix named 'tag_the_endpoint'" in err and "kms_key_rotation" in err


def test_a_scan_refuses_it_before_any_call(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no automatic fix named 'tag_the_endpoint'"):
        prepare_policy(_policy(tmp_path, "tag_the_endpoint"), None, Severity.HIGH)


def test_a_remediator_the_auditor_has_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "sagemaker_capture_kms" in available()
    with pytest.raises(SystemExit) as exit_:
        main(["rules", "show", RULE_ID, "--policy", str(_policy(tmp_path, "sagemaker_capture_kms"))])
    assert exit_.value.code == 0
    assert RULE_ID in capsys.readouterr().out
