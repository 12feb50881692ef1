"""A rule's manual procedure (``remediation.manual``) is data in its file, typed on the Rule, and what a plan gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.catalog import load_catalog
from auditor.errors import ConfigError
from auditor.model import Finding, Severity, Status
from auditor.paths import schemas_dir
from auditor.policy import load_policy
from auditor.remediate import fix_for_rule
from auditor.remediate.manual import manual_step
from auditor.remediate.model import Disruption, Mode
from auditor.remediate.params import parse_params
from auditor.remediate.plan import plan_finding
from auditor.rule_parts import DISRUPTIONS, PROCEDURE_FIELDS, ManualProcedure

CUSTOM_RULE = """\
custom_rules:
  - id: aws.acme.sagemaker.model.tagged
    title: Models carry an owner tag
    severity: low
    resource_type: aws.sagemaker.model
    rationale: Every model needs an owner who answers for it.
    expect: {path: Tags, op: not_empty}
    messages: {pass: "{name} ok", fail: "{name} not ok"}
    remediation:
      guidance: Tag the model with its owner.
      manual:
        disruption: none
        disruption_detail: tags change nothing the model does
        procedure:
          - "aws sagemaker add-tags --resource-arn {id} --region {region} --tags Key=owner,Value=TEAM"
"""


def _fail(rule_id: str, resource_id: str, name: str, region: str = "eu-west-1") -> Finding:
    return Finding(rule_id, resource_id, "aws.sagemaker.model", "aws", "123456789012", region, Status.FAIL,
                   Severity.MEDIUM, "fails", resource_name=name)


def test_every_shipped_rule_without_an_automatic_fix_has_a_manual_procedure():
    catalog = load_catalog()
    missing = [r.id for r in catalog.values() if r.remediation.remediator is None and r.remediation.manual is None]
    assert missing == []
    for rule in catalog.values():
        manual = rule.remediation.manual
        if manual is not None:
            assert manual.disruption in DISRUPTIONS and manual.disruption_detail and manual.steps, rule.id


def test_rule_files_spell_disruptions_as_remediation_does():
    schema = json.loads((schemas_dir() / "rule.schema.json").read_text(encoding="utf-8"))
    manual = schema["properties"]["remediation"]["properties"]["manual"]["properties"]
    assert tuple(manual["disruption"]["enum"]) == DISRUPTIONS
    assert set(DISRUPTIONS) == {d.value for d in Disruption}


def test_a_plan_gives_the_rules_procedure_with_the_findings_values():
    catalog = load_catalog()
    rule = catalog["aws.sagemaker.model.vpc"]
    assert rule.remediation.manual is not None and rule.remediation.manual.disruption == "rolling"
    finding = _fail(rule.id, "arn:aws:sagemaker:us-east-2:123456789012:model/fraud-v3", "fraud-v3", "us-east-2")
    step = plan_finding(finding, {}, parse_params((), ()), catalog)
    assert step.mode is Mode.MANUAL and step.disruption is Disruption.ROLLING
    assert step.disruption_detail == rule.remediation.manual.disruption_detail
    assert len(step.manual_procedure) == len(rule.remediation.manual.steps)
    assert "--model-name fraud-v3 --region us-east-2" in " ".join(step.manual_procedure)
    assert not any("{" in s for s in step.manual_procedure)
    assert fix_for_rule(rule) == {"automatic": False, "remediator": None, "disruption": "rolling", "opt_in": False}


def test_a_custom_rule_carries_its_own_procedure(tmp_path: Path):
    path = tmp_path / "policy.yaml"
    path.write_text(CUSTOM_RULE, encoding="utf-8")
    rule = load_policy(path).rules["aws.acme.sagemaker.model.tagged"]
    assert rule.remediation.manual == ManualProcedure(
        "none", "tags change nothing the model does",
        ("aws sagemaker add-tags --resource-arn {id} --region {region} --tags Key=owner,Value=TEAM",))
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:model/m1"
    step = plan_finding(_fail(rule.id, arn, "m1"), {}, parse_params((), ()), {rule.id: rule})
    assert step.disruption is Disruption.NONE
    assert step.manual_procedure == (f"aws sagemaker add-tags --resource-arn {arn} --region eu-west-1 --tags "
                                     "Key=owner,Value=TEAM",)


def test_a_custom_rule_without_a_procedure_gets_its_guidance_as_breaking_clients(tmp_path: Path):
    path = tmp_path / "policy.yaml"
    path.write_text(CUSTOM_RULE.split("      manual:")[0], encoding="utf-8")
    rule = load_policy(path).rules["aws.acme.sagemaker.model.tagged"]
    assert rule.remediation.manual is None
    step = plan_finding(_fail(rule.id, "arn:x", "m1"), {}, parse_params((), ()), {rule.id: rule})
    assert step.disruption is Disruption.BREAKING_CLIENTS
    assert step.manual_procedure == ("Tag the model with its owner.",)


BROKEN = {
    "unknown disruption": (("disruption: none", "disruption: downtime"), 12,
                           "custom_rules[0].remediation.manual.disruption", "'downtime' is not one of"),
    "unknown placeholder": (("--resource-arn {id}", "--resource-arn {arn}"), 15,
                            "custom_rules[0].remediation.manual.procedure[0]", "unknown placeholder '{arn}'"),
    "unclosed brace": (("--region {region}", "--region {region"), 15,
                       "custom_rules[0].remediation.manual.procedure[0]", "write a literal brace as {{"),
    "no steps": (('          - "aws sagemaker add-tags --resource-arn {id} --region {region} --tags '
                  'Key=owner,Value=TEAM"\n', "          []\n"), 14,
                 "custom_rules[0].remediation.manual.procedure", "should be non-empty"),
    "unknown key": (("disruption: none", "disruption: none\n        downtime: 5m"), 11,
                    "custom_rules[0].remediation.manual", "'downtime' was unexpected"),
    "unclosed brace in a message": (('fail: "{name} not ok"', 'fail: "{name not ok"'), 8,
                                    "custom_rules[0].messages.fail", "write a literal brace as {{"),
}


@pytest.mark.parametrize(("edit", "line", "field", "message"), BROKEN.values(), ids=BROKEN.keys())
def test_a_malformed_procedure_is_exit_3_naming_file_line_and_field(tmp_path: Path, edit, line, field, message):
    assert edit[0] in CUSTOM_RULE
    path = tmp_path / "policy.yaml"
    path.write_text(CUSTOM_RULE.replace(*edit), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_policy(path)
    assert (e.value.file, e.value.line, e.value.field) == (str(path), line, field)
    assert message in str(e.value)


def test_every_placeholder_a_rule_may_write_is_filled_from_the_finding():
    template = " ".join(f"{{{name}}}" for name in sorted(PROCEDURE_FIELDS))
    manual = ManualProcedure("none", "nothing changes", (template,))
    step = manual_step(_fail("aws.x.y", "arn:aws:sagemaker:eu-west-1:123456789012:model/m1", "m1"), "", manual=manual)
    values = dict(zip(sorted(PROCEDURE_FIELDS), step.manual_procedure[0].split(" "), strict=True))
    assert values == {"account": "123456789012", "id": "arn:aws:sagemaker:eu-west-1:123456789012:model/m1",
                      "name": "m1", "region": "eu-west-1"}


def test_rules_show_and_list_give_the_procedure(capsys: pytest.CaptureFixture[str]):
    from auditor.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["rules", "show", "azure.ml.workspace.private_link"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    procedure = out[out.index("Manual procedure"):out.index("Anchors")]
    assert procedure.startswith("Manual procedure (disruption none: adds a private path; nothing is removed):\n  1. ")
    assert "workspace {name}" in procedure
    with pytest.raises(SystemExit):
        main(["rules", "list", "--format", "json"])
    listed = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert listed["azure.ml.workspace.private_link"]["manual"]["disruption"] == "none"
    assert listed["aws.kms.key.rotation_enabled"]["manual"] is None
