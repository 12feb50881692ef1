from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from auditor import checks
from auditor.catalog import load_catalog
from auditor.errors import ConfigError
from auditor.paths import rules_dir

SPEC_AWS_RULES = {
    "aws.sagemaker.endpoint_config.kms_volume_encryption",
    "aws.sagemaker.endpoint_config.multi_instance",
    "aws.sagemaker.endpoint.data_capture_enabled",
    "aws.sagemaker.endpoint.data_capture_encrypted",
    "aws.sagemaker.model.network_isolation",
    "aws.sagemaker.model.vpc",
    "aws.iam.role.sagemaker_least_privilege",
    "aws.kms.key.rotation_enabled",
    "aws.s3.bucket.kms_default_encryption",
    "aws.s3.bucket.public_access_blocked",
}


def test_the_required_aws_catalog_is_shipped():
    catalog = load_catalog(providers=("aws",))
    assert set(catalog) >= SPEC_AWS_RULES


def test_every_rule_carries_its_metadata():
    for rule in load_catalog().values():
        assert rule.title and rule.rationale and rule.remediation.guidance
        assert rule.messages["pass"] and rule.messages["fail"]
        assert (rule.expect is None) != (rule.check is None)
        if rule.check:
            assert rule.check in checks.available()


def test_every_check_module_is_used_by_a_rule():
    used = {r.check for r in load_catalog().values() if r.check}
    assert used == set(checks.available())


def test_framework_mappings_are_attached():
    catalog = load_catalog()
    refs = {(f.framework, f.control) for f in catalog["aws.sagemaker.endpoint_config.multi_instance"].frameworks}
    assert ("aws-fsbp", "SageMaker.4") in refs


def _copy_catalog(tmp_path: Path) -> Path:
    dest = tmp_path / "rules"
    shutil.copytree(rules_dir(), dest)
    return dest


@pytest.mark.parametrize(
    ("edit", "line", "field", "message"),
    [
        (lambda t: t.replace("severity: medium", "severity: urgent"), 3, "severity", "urgent"),
        (lambda t: t.replace("  op: not_empty", "  op: nonempty"), 10, "expect.op", "op"),
        (lambda t: t.replace("  path: VpcConfig.Subnets", "  path: VpcConfig.[Subnets"), 9, "expect.path",
         "JMESPath"),
        (lambda t: t.replace("id: aws.sagemaker.model.vpc", "id: aws.sagemaker.model.vpc2"), 1, "id", "file name"),
        (lambda t: t + "unexpected: 1\n", 1, None, "unexpected"),
        (lambda t: t.replace("expect:\n", "expect: [\n"), None, None, "YAML syntax error"),
    ],
)
def test_a_broken_rule_file_is_rejected_with_file_line_and_field(tmp_path, edit, line, field, message):
    base = _copy_catalog(tmp_path)
    path = base / "aws" / "aws.sagemaker.model.vpc.yaml"
    path.write_text(edit(path.read_text()))
    with pytest.raises(ConfigError) as e:
        load_catalog(base)
    assert e.value.file == str(path)
    if line is not None:
        assert e.value.line == line
    if field is not None:
        assert e.value.field == field
    assert message in str(e.value)


def test_unknown_check_and_undeclared_param_are_rejected(tmp_path):
    base = _copy_catalog(tmp_path)
    path = base / "aws" / "aws.s3.bucket.public_access_blocked.yaml"
    path.write_text(path.read_text().replace("check: s3_public_access_blocked", "check: no_such_check"))
    with pytest.raises(ConfigError, match="no Python check named 'no_such_check'"):
        load_catalog(base)
    base2 = _copy_catalog(tmp_path / "b")
    path = base2 / "aws" / "aws.sagemaker.endpoint_config.multi_instance.yaml"
    path.write_text(path.read_text().replace("  min_instances: 2\n", "  other: 2\n"))
    with pytest.raises(ConfigError, match="parameter 'min_instances'"):
        load_catalog(base2)


def test_framework_naming_an_unknown_rule_is_rejected(tmp_path):
    base = _copy_catalog(tmp_path)
    path = base / "frameworks" / "aws-fsbp.yaml"
    path.write_text(path.read_text().replace("[aws.sagemaker.model.network_isolation]", "[aws.nope]"))
    with pytest.raises(ConfigError) as e:
        load_catalog(base)
    assert e.value.field == "controls[1].rules[0]" and e.value.line is not None
