from __future__ import annotations

from dataclasses import replace

from auditor.catalog import load_catalog
from auditor.engine import evaluate
from auditor.model import CoverageRow, Inventory, Resource, ScanResult, Severity, Status
from auditor.rule_parts import Verdict

CATALOG = load_catalog()
VPC = CATALOG["aws.sagemaker.model.vpc"]
ISOLATION = CATALOG["aws.sagemaker.model.network_isolation"]


def model(name, **doc):
    return Resource(id=f"arn:aws:sagemaker:eu-west-1:1:model/{name}", type="aws.sagemaker.model",
                    provider="aws", account="1", region="eu-west-1", name=name, document=doc)


def row(error=None, region="eu-west-1"):
    return CoverageRow("aws", "1", region, "sagemaker", f"arn:aws:sagemaker:{region}:1:*",
                       ("aws.sagemaker.endpoint", "aws.sagemaker.endpoint_config", "aws.sagemaker.model",
                        "aws.sagemaker.inference_component"),
                       0, error)


def test_exactly_one_finding_per_rule_and_resource_of_its_type():
    inv = Inventory((model("a", VpcConfig={"Subnets": ["s"]}), model("b")), (row(),))
    findings = evaluate(inv, [VPC, ISOLATION, CATALOG["aws.kms.key.rotation_enabled"]])
    pairs = [(f.rule_id, f.resource_id) for f in findings]
    assert len(pairs) == len(set(pairs)) == 4
    assert {f.status for f in findings if f.rule_id == VPC.id} == {Status.PASS, Status.FAIL}


def test_failed_scope_gives_error_findings_for_every_rule_of_its_types_never_silence():
    inv = Inventory((), (row("AccessDeniedException: not authorized"),))
    findings = evaluate(inv, CATALOG.values())
    errors = {f.rule_id for f in findings if f.status is Status.ERROR}
    sagemaker_rules = {r.id for r in CATALOG.values() if r.resource_type.startswith("aws.sagemaker.")}
    assert errors == sagemaker_rules
    assert all(f.resource_id == "arn:aws:sagemaker:eu-west-1:1:*" for f in findings)
    assert all("AccessDenied" in f.message for f in findings)


def test_a_crashing_check_is_error_with_the_reason_not_a_crash():
    def boom(resource, inventory, params):
        raise RuntimeError("kaboom")

    rule = replace(VPC, expect=None, check="boom")
    inv = Inventory((model("a"),), (row(),))
    [finding] = evaluate(inv, [rule], load_check=lambda name: boom)
    assert finding.status is Status.ERROR
    assert "RuntimeError: kaboom" in finding.message


def test_check_verdict_and_messages():
    def ok(resource, inventory, params):
        return Verdict(False, "because X.", {"x": 1})

    rule = replace(VPC, expect=None, check="ok")
    [finding] = evaluate(Inventory((model("a"),), (row(),)), [rule], load_check=lambda n: ok)
    assert finding.status is Status.FAIL
    assert finding.message.endswith("because X.") and "a" in finding.message
    assert finding.evidence == {"x": 1}


def test_findings_are_sorted_for_stable_diffs():
    inv = Inventory((model("z"), model("a")), (row(),))
    findings = evaluate(inv, [VPC, ISOLATION])
    assert [(f.rule_id, f.resource_id) for f in findings] == sorted((f.rule_id, f.resource_id) for f in findings)


def _result(findings, coverage=(), fail_on=Severity.HIGH):
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    return ScanResult("t", now, now, (), tuple(findings), tuple(coverage), CATALOG, fail_on)


def test_exit_codes():
    inv = Inventory((model("a"),), (row(),))
    [vpc_fail] = evaluate(inv, [VPC])  # medium
    assert _result([vpc_fail]).exit_code() == 0
    assert _result([vpc_fail], fail_on=Severity.MEDIUM).exit_code() == 1
    assert _result([vpc_fail], coverage=[row("denied")], fail_on=Severity.MEDIUM).exit_code() == 2
    error = replace(vpc_fail, status=Status.ERROR)
    assert _result([error]).exit_code() == 2
    muted = replace(vpc_fail, status=Status.MUTED)
    assert _result([muted], fail_on=Severity.LOW).exit_code() == 0


def test_finding_ids_are_stable_and_azure_ids_case_insensitive():
    inv = Inventory((model("a"),), (row(),))
    [f1] = evaluate(inv, [VPC])
    [f2] = evaluate(inv, [VPC])
    assert f1.id == f2.id
    az1 = replace(f1, provider="azure", resource_id="/subscriptions/S/resourceGroups/RG")
    az2 = replace(f1, provider="azure", resource_id="/subscriptions/s/resourcegroups/rg")
    assert az1.id == az2.id
    assert replace(f1, resource_id=f1.resource_id.upper()).id != f1.id  # ARNs are case-sensitive


def test_a_lone_surrogate_in_a_resource_id_hashes_instead_of_crashing():
    from auditor.identity import finding_id

    assert len(finding_id("r", "aws", "arn:aws:sagemaker:eu-west-1:1:model/\ud800")) == 32
