"""``auditor scan plan``: the exit codes and gates of a scan, waivers on addresses and URNs, a baseline, and
every output format rendering a plan scan (SARIF valid against the official schema, findings.json against ours)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from auditor.cli import main
from auditor.findings.read import read_findings
from auditor.outputs import formats

from .plans import pulumi_preview, terraform_plan, text

FIXTURES = Path(__file__).with_name("fixtures")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plans"  # the samples double as fixtures
SARIF_SCHEMA = Path(__file__).parents[1] / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"


def run(*args: str) -> int:
    with pytest.raises(SystemExit) as e:
        main(["scan", "plan", "--quiet", *args])
    return int(e.value.code or 0)


def write(tmp_path: Path, name: str, document: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(text(document))
    return str(path)


def test_a_failing_plan_gates_the_build(tmp_path: Path) -> None:
    assert run(str(EXAMPLES / "sagemaker-kms-capture.terraform.json"), "--out", str(tmp_path / "o")) == 1
    doc = json.loads((tmp_path / "o" / "findings.json").read_text())
    gating = [f for f in doc["findings"] if f["gating"]]
    assert [(f["rule_id"], f["resource_id"], f["plan"]["action"]) for f in gating] == [
        ("aws.sagemaker.endpoint_config.kms_volume_encryption", "aws_sagemaker_endpoint_configuration.batch",
         "replace")]


def test_a_clean_plan_exits_0_and_fail_on_moves_the_gate(tmp_path: Path) -> None:
    plan = write(tmp_path, "p.json", terraform_plan([{"type": "aws_sagemaker_model", "after": {
        "name": "m", "enable_network_isolation": True, "vpc_config": [{"subnets": ["subnet-1"]}]}}]))
    assert run(plan, "--out", str(tmp_path / "o")) == 0
    medium = write(tmp_path, "m.json", terraform_plan([{"type": "aws_sagemaker_model", "after": {
        "name": "m", "enable_network_isolation": True, "vpc_config": []}}]))
    assert run(medium, "--out", str(tmp_path / "o2")) == 0  # the vpc rule is medium: below the default gate
    assert run(medium, "--out", str(tmp_path / "o3"), "--fail-on", "medium") == 1


def test_a_value_known_only_after_apply_is_an_incomplete_scan(tmp_path: Path) -> None:
    plan = write(tmp_path, "p.json", pulumi_preview([{"type": "aws:sagemaker/model:Model", "inputs": {
        "name": "m", "enableNetworkIsolation": "UNKNOWN", "vpcConfig": {"subnets": ["subnet-1"]}}}]))
    assert run(plan, "--out", str(tmp_path / "o")) == 2


@pytest.mark.parametrize("content", ['{"steps": 3}', "not json", '{"resources": []}'])
def test_malformed_or_unknown_input_exits_3(tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert run(str(path), "--out", str(tmp_path / "o")) == 3
    assert "bad.json" in capsys.readouterr().err
    assert not (tmp_path / "o" / "findings.json").exists()


def test_a_missing_file_exits_3(tmp_path: Path) -> None:
    assert run(str(tmp_path / "absent.json"), "--out", str(tmp_path / "o")) == 3


def test_waivers_match_addresses_and_urns_with_globs(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "waivers:\n"
        "  - rules: [aws.sagemaker.endpoint_config.kms_volume_encryption]\n"
        "    resources: ['aws_sagemaker_endpoint_configuration.batch']\n"
        "    reason: batch config is replaced next sprint (SEC-7)\n    owner: ml@example.com\n    expires: 2099-01-01\n"
        "    broad: true\n"
        "  - rules: [aws.sagemaker.endpoint_config.kms_volume_encryption]\n"
        "    resources: ['urn:pulumi:dev::ml-serving::*EndpointConfiguration::batch']\n"
        "    reason: same, in Pulumi\n    owner: ml@example.com\n    expires: 2099-01-01\n    broad: true\n")
    for fixture in ("sagemaker-kms-capture.terraform.json", "sagemaker-kms-capture.pulumi.json"):
        out = tmp_path / fixture
        assert run(str(EXAMPLES / fixture), "--waivers", str(waivers), "--out", str(out)) == 0, fixture
        muted = [f for f in json.loads((out / "findings.json").read_text())["findings"] if f["status"] == "MUTED"]
        assert len(muted) == 1 and muted[0]["resource_id"].endswith("batch")


def test_a_waiver_names_an_indexed_address_as_written(tmp_path: Path) -> None:
    plan = terraform_plan([{"type": "aws_kms_key", "after": {"enable_key_rotation": False}}])
    plan["resource_changes"][0]["address"] = 'aws_kms_key.keys["capture"]'
    plan["resource_changes"][0]["index"] = "capture"
    waivers = tmp_path / "w.yaml"
    waivers.write_text("waivers:\n  - rules: [aws.kms.key.rotation_enabled]\n"
                       "    resources: ['aws_kms_key.keys[\"capture\"]']\n"
                       "    reason: r\n    owner: o@example.com\n    expires: 2099-01-01\n    broad: true\n")
    assert run(write(tmp_path, "p.json", plan), "--waivers", str(waivers), "--out", str(tmp_path / "o")) == 0


def test_a_baseline_marks_what_the_plan_adds(tmp_path: Path) -> None:
    plan = str(EXAMPLES / "sagemaker-kms-capture.terraform.json")
    assert run(plan, "--out", str(tmp_path / "a")) == 1
    assert run(plan, "--baseline", str(tmp_path / "a" / "findings.json"), "--fail-on-new",
               "--out", str(tmp_path / "b")) == 0
    doc = json.loads((tmp_path / "b" / "findings.json").read_text())
    assert {f["baseline"]["state"] for f in doc["findings"] if f["status"] == "FAIL"} == {"still_failing"}


def test_every_output_format_renders_a_plan_scan(tmp_path: Path) -> None:
    out = tmp_path / "o"
    args = [a for f in formats.NAMES for a in ("--format", f)]
    assert run(str(EXAMPLES / "sagemaker-kms-capture.terraform.json"),
               str(EXAMPLES / "sagemaker-kms-capture.pulumi.json"),
               str(FIXTURES / "terraform_azure_ml.json"), *args, "--out", str(out)) == 2
    for f in formats.FORMATS:
        assert (out / f.filename).stat().st_size > 0, f.name
    result = read_findings(out / "findings.json")  # valid against findings.schema.json, plan marks included
    assert any("::" in f.resource_id for f in result.findings) and any(f.resource_id.startswith("aws_")
                                                                          for f in result.findings)
    sarif = json.loads((out / "report.sarif").read_text())
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.Draft7Validator(schema).validate(sarif)
    results = sarif["runs"][0]["results"]
    batch = next(r for r in results if r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
                 == "aws_sagemaker_endpoint_configuration.batch")
    location = batch["locations"][0]
    assert location["logicalLocations"][0]["properties"]["action"] == "replace"
    assert location["physicalLocation"]["artifactLocation"]["uri"].endswith("sagemaker-kms-capture.terraform.json")
    lines = (EXAMPLES / "sagemaker-kms-capture.terraform.json").read_text().splitlines()
    line = location["physicalLocation"]["region"]["startLine"]
    assert '"aws_sagemaker_endpoint_configuration.batch"' in lines[line - 1]


def test_sarif_points_at_the_program_line_pulumi_records(tmp_path: Path) -> None:
    preview = pulumi_preview([{"type": "aws:sagemaker/model:Model", "inputs": {"name": "m"}}])
    preview["steps"][1]["newState"]["sourcePosition"] = "project:///infra/__main__.py#42,5"
    assert run(write(tmp_path, "p.json", preview), "--format", "sarif", "--fail-on", "low",
               "--out", str(tmp_path / "o")) == 1
    result = json.loads((tmp_path / "o" / "report.sarif").read_text())["runs"][0]["results"][0]
    physical = result["locations"][0]["physicalLocation"]
    assert physical == {"artifactLocation": {"uri": "infra/__main__.py"}, "region": {"startLine": 42}}


def test_a_plan_scan_re_rendered_from_its_findings_file_keeps_its_plan_marks(tmp_path: Path) -> None:
    assert run(str(EXAMPLES / "sagemaker-kms-capture.terraform.json"), "--format", "json", "--format", "sarif",
               "--out", str(tmp_path / "scan")) == 1
    with pytest.raises(SystemExit):
        main(["report", str(tmp_path / "scan" / "findings.json"), "--format", "json", "--format", "sarif",
              "--out", str(tmp_path / "again"), "--quiet"])
    for name in ("findings.json", "report.sarif"):
        first = json.loads((tmp_path / "scan" / name).read_text())
        second = json.loads((tmp_path / "again" / name).read_text())
        if name == "report.sarif":
            first, second = first["runs"][0]["results"], second["runs"][0]["results"]
        else:
            first, second = first["findings"], second["findings"]
        assert [r.get("plan") or r["locations"] for r in first] == [r.get("plan") or r["locations"] for r in second]
