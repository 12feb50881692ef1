"""The mapping language's ``derive``: related values derived from a planned resource's document by the
collector's own function (SageMaker models' container environments), and no environment value, however
secret it looks, reaching a finding or any output of ``auditor scan plan``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import auditor
from auditor.cli import main
from auditor.errors import ConfigError
from auditor.iac.collect import plan_inventory
from auditor.iac.derive import DERIVATIONS, environment_variables
from auditor.iac.mapping import load_mappings, shipped_mappings
from auditor.iac.read import parse_plan
from auditor.outputs import formats
from auditor.planned import AFTER_APPLY
from auditor.redaction import REDACTED

from .plans import pulumi_preview, terraform_plan, text

MODEL = "aws.sagemaker.model"
# Values no redaction rule recognises by shape (only the variable's name says secret) and values it does.
PLAIN_SECRET = "hunter2-plain-db-password-7f3a9c"
SECRETS = (PLAIN_SECRET, "AKIAIOSFODNN7EXAMPLE", "ghp_0123456789abcdefghijABCDEFGHIJ012345",
           "postgres://app:s3cr3t-pw-91@db.internal:5432/app")
ENVIRONMENT = {"DB_PASSWORD": SECRETS[0], "UPLOAD_ID": SECRETS[1], "GIT": SECRETS[2], "DSN": SECRETS[3],
               "MODEL_ID": "bert-base"}


def test_the_schema_names_exactly_the_derivations() -> None:
    schema = json.loads((Path(auditor.__file__).parent / "schemas" / "plan-mapping.schema.json").read_text())
    assert set(schema["$defs"]["mapping"]["properties"]["derive"]["additionalProperties"]["enum"]) == set(DERIVATIONS)


def test_an_unknown_derivation_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("format: terraform\nmappings:\n  - source: aws_sagemaker_model\n"
                    "    resource_type: aws.sagemaker.model\n    document: {ModelName: {from: name}}\n"
                    "    derive: {environment_variables: guess}\n")
    with pytest.raises(ConfigError, match="guess"):
        load_mappings([path])


def test_variables_are_named_with_their_container_and_never_keep_a_value() -> None:
    environment = {"API_KEY": "", "K": "AKIAIOSFODNN7EXAMPLE"}
    derived = environment_variables(MODEL, {"PrimaryContainer": {"Environment": environment}})
    assert derived.value == [
        {"container": "PrimaryContainer", "name": "API_KEY", "has_value": False, "secret_kinds": []},
        {"container": "PrimaryContainer", "name": "K", "has_value": True, "secret_kinds": ["aws_access_key_id"]}]


def test_a_value_known_only_after_apply_has_a_value_and_no_secret_kinds() -> None:
    derived = environment_variables(MODEL, {"Containers": [{"Environment": {"X": AFTER_APPLY}}]})
    assert derived.value == [{"container": "Containers[0]", "name": "X", "has_value": True, "secret_kinds": []}]
    assert not derived.unknown


@pytest.mark.parametrize("document", [
    {"PrimaryContainer": {"Environment": AFTER_APPLY}}, {"PrimaryContainer": AFTER_APPLY},
    {"Containers": AFTER_APPLY}, {"Containers": [{"Environment": {}}, AFTER_APPLY]}])
def test_an_environment_known_only_after_apply_is_not_guessed(document: dict[str, Any]) -> None:
    derived = environment_variables(MODEL, document)
    assert derived.value is None and "known only after apply" in derived.unknown


def _plans(tmp_path: Path) -> list[str]:
    tf = terraform_plan([{"type": "aws_sagemaker_model", "name": "m", "after": {
        "name": "m", "execution_role_arn": "arn:aws:iam::123456789012:role/r",
        "container": [{"image": "a:1", "environment": ENVIRONMENT}, {"image": "b:1", "environment": ENVIRONMENT}]}}])
    pulumi = pulumi_preview([{"type": "aws:sagemaker/model:Model", "name": "m", "inputs": {
        "name": "m", "primaryContainer": {"image": "a:1", "environment": ENVIRONMENT}}}])
    paths = []
    for name, document in (("tf.json", tf), ("pulumi.json", pulumi)):
        (tmp_path / name).write_text(text(document))
        paths.append(str(tmp_path / name))
    return paths


def test_the_planned_document_is_redacted_as_a_collectors(tmp_path: Path) -> None:
    plans = [parse_plan(Path(p).read_text(), p) for p in _plans(tmp_path)]
    models = plan_inventory(plans, shipped_mappings()).resources
    assert [r.document.get("PrimaryContainer", r.document.get("Containers", [{}])[0])["Environment"]
            for r in models] == [dict.fromkeys(ENVIRONMENT, REDACTED)] * 2
    assert not any(secret in json.dumps([r.document, r.related], default=str) for r in models for secret in SECRETS)


def test_no_environment_value_reaches_any_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as e:
        main(["scan", "plan", *_plans(tmp_path), "--out", str(out), "--verbose",
              *[a for f in formats.NAMES for a in ("--format", f)]])
    assert e.value.code == 1  # the secrets are found: the high-severity rule fails both models
    findings = json.loads((out / "findings.json").read_text())["findings"]
    secret_findings = [f for f in findings if f["rule_id"] == "aws.sagemaker.model.no_plaintext_secrets"]
    assert [f["status"] for f in secret_findings] == ["FAIL", "FAIL"]
    assert "DB_PASSWORD" in json.dumps(secret_findings)  # the variable is named ...
    written = [p for p in out.rglob("*") if p.is_file()]
    assert {f.filename for f in formats.FORMATS} <= {p.name for p in written}
    captured = capsys.readouterr()
    for secret in SECRETS:  # ... its value is nowhere
        for path in written:
            assert secret.encode() not in path.read_bytes(), f"{secret} in {path.name}"
        assert secret not in captured.out and secret not in captured.err
