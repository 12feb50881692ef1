"""Plan time agrees with run time: every rule with a plan mapping, judged on a Terraform plan entry and on a
Pulumi preview step of one configuration, gives the status its runtime case (rules/<provider>/<rule>.cases.yaml)
gives the document the cloud returns for that configuration (tests/iac/parity.yaml). An entry whose ``pulumi``
is a sentence says why Pulumi has no such resource."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from auditor.catalog import load_catalog
from auditor.engine import evaluate
from auditor.iac.collect import plan_inventory
from auditor.iac.mapping import shipped_mappings
from auditor.iac.read import parse_plan
from auditor.model import Status
from auditor.paths import rules_dir
from auditor.pipeline import link
from auditor.rulecases import load_cases, run_case
from auditor.yamlio import load_yaml

from .plans import address, pulumi_preview, terraform_plan, text, urn

CATALOG = load_catalog()
PARITY: list[dict[str, Any]] = load_yaml(Path(__file__).with_name("parity.yaml")).data


def runtime_status(rule_id: str, case_name: str) -> Status:
    rule = CATALOG[rule_id]
    cases = [c for c in load_cases(rules_dir() / rule.provider / f"{rule_id}.cases.yaml", CATALOG)
             if c.name == case_name]
    assert len(cases) == 1, f"{rule_id} has no runtime case named {case_name!r}"
    result = run_case(cases[0], CATALOG)
    assert result.ok, f"the runtime case itself does not hold: {result.finding.status}"
    return cases[0].expect


def plan_status(rule_id: str, document: dict[str, Any], resource_id: str) -> tuple[Status, str]:
    plan = parse_plan(text(document), "plan.json")
    inventory = link(plan_inventory([plan], shipped_mappings()))  # the scan's link stage, as auditor scan plan runs it
    findings = [f for f in evaluate(inventory, [CATALOG[rule_id]]) if f.resource_id == resource_id]
    assert len(findings) == 1, f"expected one finding of {rule_id} on {resource_id}, got {findings}"
    return findings[0].status, findings[0].message


def _id(entry: dict[str, Any]) -> str:
    return f"{entry['rule']}:{entry['runtime']}"


@pytest.mark.parametrize("entry", PARITY, ids=_id)
def test_terraform_plan_agrees_with_runtime(entry: dict[str, Any]) -> None:
    expected = runtime_status(entry["rule"], entry["runtime"])
    status, message = plan_status(entry["rule"], terraform_plan(entry["terraform"]), address(entry["terraform"][0]))
    assert status is expected, message


@pytest.mark.parametrize("entry", [e for e in PARITY if isinstance(e["pulumi"], list)], ids=_id)
def test_pulumi_preview_agrees_with_runtime(entry: dict[str, Any]) -> None:
    expected = runtime_status(entry["rule"], entry["runtime"])
    status, message = plan_status(entry["rule"], pulumi_preview(entry["pulumi"]), urn(entry["pulumi"][0]))
    assert status is expected, message


NEVER_PASS = {"azure.ml.legacy_service.retired"}  # as in tests/core/test_rule_cases.py: it fails by definition

# Rules a plan alone can pass but never fail, and why: their ERROR pair stands for the FAIL pair. (None since
# the account's public access block is mapped: a plan holding it can fail a bucket.)
PLAN_CANNOT_FAIL: dict[str, str] = {}


def test_every_rule_of_a_mapped_type_has_a_pass_and_a_fail_pair() -> None:
    mapped = shipped_mappings().resource_types()
    covered = {(e["rule"], runtime_status(e["rule"], e["runtime"])) for e in PARITY}
    for rule_id, rule in CATALOG.items():
        if rule.resource_type in mapped:
            assert rule_id in NEVER_PASS or (rule_id, Status.PASS) in covered, f"{rule_id}: no plan case that passes"
            failing = Status.ERROR if rule_id in PLAN_CANNOT_FAIL else Status.FAIL
            assert (rule_id, failing) in covered, f"{rule_id}: no plan case that fails"
