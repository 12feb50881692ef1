"""Every malformed policy is rejected with file, line and field, before anything is collected."""

from __future__ import annotations

import pytest
from e2e.helpers import run_auditor

from auditor.catalog import Plugins
from auditor.errors import ConfigError
from auditor.policy import load_policy

from .helpers import write

CUSTOM_RULE = """\
custom_rules:
  - id: aws.acme.sagemaker.model.tagged
    title: Models carry an owner tag
    severity: low
    resource_type: aws.sagemaker.model
    rationale: Every model needs an owner who answers for it.
    expect: {path: ModelName, op: greater_than, value: 1}
    messages: {pass: "{name} ok", fail: "{name} not ok"}
    remediation: {guidance: Tag the model with its owner.}
"""

CASES = {
    "yaml syntax error": ("rules:\n  include: [aws.*\n", 3, None, "YAML syntax error"),
    "not a mapping": ("- rules\n", 1, None, "a policy file is a mapping"),
    "unknown top-level key": ("rules: {}\nwaivers: []\n", 2, "waivers", "unknown key 'waivers'"),
    "unknown rule id in parameters": (
        "parameters:\n  aws.sagemaker.model.nope:\n    x: 1\n", 2, "parameters.aws.sagemaker.model.nope",
        "unknown rule id"),
    "unknown rule id in severity": (
        "severity:\n  azure.ml.nope.x:\n    severity: low\n    justification: j\n", 2, "severity.azure.ml.nope.x",
        "unknown rule id"),
    "malformed rule id in disable": ("disable:\n  Vpc: off\n", 2, "disable.Vpc", "is not a rule id"),
    "unknown parameter": (
        "parameters:\n  azure.ml.online_endpoint.auth_mode:\n    allowed_modes: [AADToken]\n", 3,
        "parameters.azure.ml.online_endpoint.auth_mode.allowed_modes", "has no parameter 'allowed_modes'"),
    "wrong parameter type": (
        "parameters:\n  aws.sagemaker.endpoint_config.multi_instance:\n    min_instances: two\n", 3,
        "parameters.aws.sagemaker.endpoint_config.multi_instance.min_instances", "must be an integer"),
    "boolean is not an integer": (
        "parameters:\n  aws.sagemaker.endpoint_config.multi_instance:\n    min_instances: true\n", 3,
        "parameters.aws.sagemaker.endpoint_config.multi_instance.min_instances", "must be an integer"),
    "wrong parameter item type": (
        "parameters:\n  azure.ml.online_endpoint.auth_mode:\n    allowed_auth_modes:\n      - AADToken\n      - 3\n",
        5, "parameters.azure.ml.online_endpoint.auth_mode.allowed_auth_modes[1]", "must each be a string"),
    "severity override without justification": (
        "severity:\n  aws.sagemaker.model.vpc:\n    severity: low\n", 2,
        "severity.aws.sagemaker.model.vpc.justification", "'justification' is required"),
    "blank justification": (
        "severity:\n  aws.sagemaker.model.vpc:\n    severity: low\n    justification: '  '\n", 4,
        "severity.aws.sagemaker.model.vpc.justification", "non-empty"),
    "bad severity": (
        "severity:\n  aws.sagemaker.model.vpc:\n    severity: urgent\n    justification: SEC-1\n", 3,
        "severity.aws.sagemaker.model.vpc.severity", "'urgent' is not one of"),
    "disable without reason": ("disable:\n  aws.sagemaker.model.vpc:\n", 2, "disable.aws.sagemaker.model.vpc",
                               "needs a value"),
    "unquoted account id": ("scope:\n  - accounts: [123456789012]\n", 2, "scope[0].accounts[0]",
                            "quote account and subscription ids"),
    "unknown scope key": (
        "scope:\n  - rules: ['aws.*']\n    regions: [eu-west-1]\n    zone: [a]\n", 4, "scope[0].zone",
        "unknown key 'zone'"),
    "bad glob type": ("scope:\n  - rules: 'aws.*'\n    regions: [eu-west-1]\n", 2, "scope[0].rules",
                      "is not of type 'array'"),
    "glob that is not a string": ("rules:\n  include:\n    - 42\n", 3, "rules.include[0]", "is not of type 'string'"),
    "glob matching no rule": ("rules:\n  exclude: [aws.sagemaker.notebook.*]\n", 2, "rules.exclude[0]",
                              "matches no rule id"),
    "scope that restricts nothing": ("scope:\n  - rules: ['aws.*']\n", 2, "scope[0]", "at least one of"),
    "bad tag value type": ("scope:\n  - tags: {env: [prod]}\n", 2, "scope[0].tags.env", "is not of type 'string'"),
    "custom rule with a bad condition": (CUSTOM_RULE, 7, "custom_rules[0].expect.op", "'op' must be one of"),
    "custom rule missing a field": ("custom_rules:\n  - id: aws.acme.x.y\n", 2, "custom_rules[0]",
                                    "is a required property"),
    "missing rule pack": ("rule_dirs: [no-such-dir]\n", 1, "rule_dirs[0]", "no such directory"),
    "custom rule of an unknown provider": (
        CUSTOM_RULE.replace("aws.acme.sagemaker.model.tagged", "gcp.vertex.endpoint.private"), 2,
        "custom_rules[0].id", "'gcp.vertex.endpoint.private' is not a valid rule id: a rule id starts with 'aws.' "
                              "or 'azure.' (the providers this auditor knows), then lowercase words"),
    "custom rule of a malformed resource type": (
        CUSTOM_RULE.replace("resource_type: aws.sagemaker.model", "resource_type: AWS::SageMaker::Model"), 5,
        "custom_rules[0].resource_type", "'AWS::SageMaker::Model' is not a valid resource type: a resource type "
                                         "starts with 'aws.' or 'azure.'"),
    "unknown azure region": ("scope:\n  - providers: [azure]\n    regions: [westeurope, West Erope]\n", 3,
                             "scope[0].regions[1]", "'West Erope' is not a known region (did you mean westeurope?)"),
    "azure region for aws": ("scope:\n  - providers: [aws]\n    regions: [West Europe]\n", 3, "scope[0].regions[0]",
                             "'West Europe' is not a known region"),
    "unknown aws region": ("scope:\n  - regions: [eu-west-1, eu-wst-1]\n", 2, "scope[0].regions[1]",
                           "'eu-wst-1' is not a known region"),
    "region glob matching no region": ("scope:\n  - regions: ['mars-*']\n", 2, "scope[0].regions[0]",
                                       "'mars-*' matches no known region"),
}


@pytest.mark.parametrize(("text", "line", "field", "message"), CASES.values(), ids=CASES.keys())
def test_malformed_policy_is_rejected_with_file_line_and_field(tmp_path, text, line, field, message):
    path = write(tmp_path / "policy.yaml", text)
    with pytest.raises(ConfigError) as e:
        load_policy(path, plugins=Plugins())
    assert e.value.file == str(path)
    assert e.value.line == line, str(e.value)
    assert e.value.field == field, str(e.value)
    assert message in str(e.value)


def test_a_rule_pack_with_a_broken_rule_names_the_rule_file(tmp_path):
    write(tmp_path / "pack" / "aws.acme.sagemaker.model.tagged.yaml", "id: aws.acme.sagemaker.model.tagged\n")
    path = write(tmp_path / "policy.yaml", "rule_dirs: [pack]\n")
    with pytest.raises(ConfigError) as e:
        load_policy(path, plugins=Plugins())
    assert e.value.file == str(tmp_path / "pack" / "aws.acme.sagemaker.model.tagged.yaml")
    assert "required property" in str(e.value)


def test_a_custom_rule_cannot_reuse_a_shipped_id(tmp_path):
    text = CUSTOM_RULE.replace("aws.acme.sagemaker.model.tagged", "aws.sagemaker.model.vpc").replace(
        "op: greater_than, value: 1", "op: present")
    with pytest.raises(ConfigError, match=r"duplicate rule id 'aws\.sagemaker\.model\.vpc'") as e:
        load_policy(write(tmp_path / "policy.yaml", text), plugins=Plugins())
    assert e.value.field == "custom_rules[0].id" and e.value.line == 2


def test_an_empty_policy_is_the_shipped_catalog(tmp_path):
    policy = load_policy(write(tmp_path / "policy.yaml", "# nothing to change\n"), plugins=Plugins())
    base = load_policy(None, plugins=Plugins())
    assert policy.rules.keys() == base.rules.keys() and not policy.excluded and not policy.scope
    assert [f.id for f in policy.frameworks] == [f.id for f in base.frameworks]


def test_every_spelling_of_a_known_region_is_accepted(tmp_path):
    policy = load_policy(write(tmp_path / "policy.yaml", """\
        scope:
          - regions: [West Europe, westeurope, eu-west-1, global, "us-gov-*", US Gov Virginia, "West *", chinanorth3]
          - providers: [azure]
            regions: [eastus2euap, "North  Europe"]
          - providers: [aws]
            regions: [cn-northwest-1, "ap-*"]
        """), plugins=Plugins())
    assert len(policy.scope) == 3


def test_the_cli_rejects_a_malformed_policy_before_any_api_call(tmp_path):
    policy = write(tmp_path / "policy.yaml", CASES["wrong parameter type"][0])
    # No endpoint and no credentials: had the scan started it would end differently (exit 2).
    r = run_auditor(["scan", "aws", "--region", "eu-west-1", "--policy", str(policy), "--out", str(tmp_path / "o")],
                    tmp_path)
    assert r.code == 3, r.stderr
    assert f"{policy}:3" in r.stderr and "min_instances" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()
