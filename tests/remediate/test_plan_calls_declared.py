"""A plan names only calls its remediator declares: what the reviewer reads is what the permissions come from.

The remediators' ``calls`` are the one declaration their permissions are derived from (and that the meta-test
of ``tests/call_audit.py`` holds apply and rollback to); each planned step's ``api_calls`` and undo calls must
be among them. AWS steps name calls as the declarations do (``s3control:GetPublicAccessBlock``); Azure steps
name ``METHOD URL``, whose resource type gives the call (``ASSIGNMENT_ID``: a role assignment found at apply).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.demo.arm_model import parse_path
from auditor.demo.arm_server import ArmServer
from auditor.demo.aws_estate import DemoEstate
from auditor.remediate import load

from .conftest import FixedCredential
from .helpers import run_cli, write_findings
from .test_aws_remediation import key_params
from .test_aws_remediation import scan as scan_aws


def _steps_calls(plan: Path) -> list[tuple[str, str]]:
    """(remediator, call) of every automatic or plan-only step's calls and undo calls."""
    found: list[tuple[str, str]] = []
    for step in json.loads(plan.read_text(encoding="utf-8"))["steps"]:
        if step["mode"] == "manual":
            continue
        calls: list[dict[str, Any]] = [*step["api_calls"], *step["undo"]["api_calls"]]
        found.extend((str(step["remediator"]), str(c["call"])) for c in calls)
    return found


def _azure_call(text: str) -> str:
    method, _, target = text.partition(" ")
    path = target.split("?", 1)[0]
    if path == "ASSIGNMENT_ID":
        return f"{method} Microsoft.Authorization/roleAssignments"
    return f"{method} {parse_path(path).resource_type}"


def test_aws_plan_calls_are_declared(aws_estate: DemoEstate, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    findings = scan_aws(tmp_path / "findings.json")
    plan = tmp_path / "plan.json"
    run = run_cli(capsys, ["remediate", "plan", str(findings), "--out", str(plan), *key_params(aws_estate)])
    assert run.code == 0, run.err
    calls = _steps_calls(plan)
    assert {name for name, _ in calls} == {"kms_key_rotation", "s3_default_kms_encryption", "s3_public_access_block",
                                           "sagemaker_capture_kms", "sagemaker_endpoint_config_kms"}
    undeclared = [(name, call) for name, call in calls if call not in load(name).calls]
    assert undeclared == []


def test_azure_plan_calls_are_declared(arm: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from auditor.providers.azure.collect import AzureOptions, collect_azure

    from .azure_estate import SUB

    inventory = collect_azure(AzureOptions(subscriptions=(SUB,), arm_endpoint=arm.url),
                              credential=FixedCredential())
    findings = write_findings(inventory, tmp_path / "findings.json")
    plan = tmp_path / "plan.json"
    run = run_cli(capsys, ["remediate", "plan", str(findings), "--out", str(plan), "--credential", "cli",
                           "--arm-endpoint", arm.url])
    assert run.code == 0, run.err
    calls = _steps_calls(plan)
    assert {name for name, _ in calls} >= {"azure_online_endpoint_auth_mode", "azure_workspace_public_access",
                                           "azure_endpoint_role_assignments", "azure_apim_api_https_only"}
    undeclared = [(name, call) for name, call in calls if _azure_call(call) not in load(name).calls]
    assert undeclared == []
