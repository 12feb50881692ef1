"""Amazon Bedrock through the generic regional collector: what is read, joined, and what is never PASS."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from auditor.catalog import load_catalog
from auditor.model import Inventory, Status
from auditor.pipeline import ScanInputs, evaluate_inventory
from auditor.providers.aws import bedrock as aws_bedrock
from auditor.providers.aws import kms as aws_kms

from .conftest import CallLog, Moto
from .estates import bedrock
from .seeding import Seeder
from .test_aws_errors import least_privilege_session

Scan = Callable[..., tuple[Inventory, CallLog]]
EAST, WEST = "us-east-1", "eu-west-1"


def _verdicts(inventory: Inventory) -> dict[tuple[str, str], Status]:
    rules = {k: v for k, v in load_catalog(providers=("aws",)).items() if k.startswith("aws.bedrock.")}
    result = evaluate_inventory(ScanInputs(rules=rules), inventory, datetime.now(UTC))
    return {(f.rule_id, f.resource_id): f.status for f in result.findings}


def test_bedrock_is_read_joined_and_judged(seed: Seeder, scan: Scan) -> None:
    b = bedrock(seed)
    inventory, log = scan(regions=(EAST, WEST))

    assert inventory.complete, [c for c in inventory.coverage if c.error]
    rows = {(c.service, c.region): c for c in inventory.coverage}
    assert rows["bedrock", EAST].resources == 3 and rows["bedrock", WEST].resources == 2  # settings + model (+ guard)
    assert rows["bedrock", EAST].scope_id == "arn:aws:bedrock:us-east-1:123456789012:*"
    assert "arn:aws:bedrock:*:123456789012:*" in rows["kms", EAST].found_through
    model = inventory.by_id()[b.models["tuned"]]
    assert model.tags == {"team": "genai"} and model.related["kms_keys"] == [b.key]
    key = inventory.by_id()[b.key]
    assert sorted(key.related["referenced_by"]) == sorted([b.logging[EAST], b.models["tuned"], b.guardrails["guard"]])
    assert log.count("GetModelInvocationLoggingConfiguration") == 2 and log.count("DescribeLogGroups") == 1

    verdicts = _verdicts(inventory)
    assert verdicts["aws.bedrock.invocation_logging_enabled", b.logging[EAST]] == Status.PASS
    assert verdicts["aws.bedrock.invocation_logging_enabled", b.logging[WEST]] == Status.FAIL
    assert verdicts["aws.bedrock.invocation_logs_encrypted", b.logging[EAST]] == Status.PASS
    assert verdicts["aws.bedrock.invocation_logs_encrypted", b.logging[WEST]] == Status.NOT_APPLICABLE
    assert verdicts["aws.bedrock.custom_model.cmk_encryption", b.models["tuned"]] == Status.PASS
    assert verdicts["aws.bedrock.custom_model.cmk_encryption", b.models["plain"]] == Status.FAIL
    assert verdicts["aws.bedrock.guardrail.cmk_encryption", b.guardrails["guard"]] == Status.PASS


def test_a_log_group_without_a_key_fails_and_a_deleted_one_too(seed: Seeder, scan: Scan) -> None:
    b = bedrock(seed)
    logs = seed.client("logs")
    logs.create_log_group(logGroupName="/bedrock/plain")
    seed.client("bedrock").put_model_invocation_logging_configuration(loggingConfig={
        "textDataDeliveryEnabled": True, "cloudWatchConfig": {"logGroupName": "/bedrock/plain", "roleArn": "r"}})
    inventory, _ = scan(regions=(EAST,))
    assert _verdicts(inventory)["aws.bedrock.invocation_logs_encrypted", b.logging[EAST]] == Status.FAIL

    logs.delete_log_group(logGroupName="/bedrock/plain")
    inventory, _ = scan(regions=(EAST,))
    settings = inventory.by_id()[b.logging[EAST]]
    assert settings.related["log_group"] is None
    assert _verdicts(inventory)["aws.bedrock.invocation_logs_encrypted", b.logging[EAST]] == Status.FAIL


def test_denied_logging_settings_are_an_error_never_a_pass(moto: Moto, seed: Seeder, scan: Scan) -> None:
    b = bedrock(seed)
    session = least_privilege_session(moto, seed, without=("bedrock:GetModelInvocationLoggingConfiguration",))
    inventory, _ = scan(regions=(EAST,), session=session)

    row = next(c for c in inventory.coverage if c.service == "bedrock")
    assert row.error and "GetModelInvocationLoggingConfiguration" in row.error and "access denied" in row.error
    assert not inventory.of_type(aws_bedrock.INVOCATION_LOGGING)  # unknown settings are no resource
    kms_row = next(c for c in inventory.coverage if c.service == "kms" and c.region == EAST)
    assert kms_row.error and "bedrock inventory of us-east-1 failed" in kms_row.error
    verdicts = _verdicts(inventory)
    scope = "arn:aws:bedrock:us-east-1:123456789012:*"
    for rule in ("aws.bedrock.invocation_logging_enabled", "aws.bedrock.invocation_logs_encrypted"):
        assert verdicts[rule, scope] == Status.ERROR
    assert Status.PASS not in {s for (rule, _), s in verdicts.items() if rule.startswith("aws.bedrock.invocation")}
    assert b.logging[EAST] not in {resource for _, resource in verdicts}


def test_a_denied_log_group_read_leaves_the_encryption_unknown(moto: Moto, seed: Seeder, scan: Scan) -> None:
    b = bedrock(seed)
    session = least_privilege_session(moto, seed, without=("logs:DescribeLogGroups",))
    inventory, _ = scan(regions=(EAST,), session=session)

    settings = inventory.by_id()[b.logging[EAST]]
    assert "access denied" in settings.unreadable["related.log_group"]
    kms_row = next(c for c in inventory.coverage if c.service == "kms" and c.region == EAST)
    assert kms_row.error and "DescribeLogGroups" in kms_row.error  # the log group's key is unknown
    verdicts = _verdicts(inventory)
    assert verdicts["aws.bedrock.invocation_logs_encrypted", b.logging[EAST]] == Status.ERROR
    assert verdicts["aws.bedrock.invocation_logging_enabled", b.logging[EAST]] == Status.PASS


def test_a_region_botocore_does_not_offer_bedrock_in_is_not_read_and_says_so(seed: Seeder, scan: Scan) -> None:
    inventory, log = scan(regions=("ap-east-1",))  # SageMaker is offered there, Bedrock is not

    row = next(c for c in inventory.coverage if c.service == "bedrock")
    assert row.region == "ap-east-1" and row.resources == 0
    assert row.error and "bedrock is not offered in ap-east-1" in row.error and "endpoint data" in row.error
    assert not any(service == "bedrock" for service, _op, _region in log.calls)
    assert next(c for c in inventory.coverage if c.service == "sagemaker").error is None
    assert len(inventory.of_type(aws_kms.KEY)) == 0
