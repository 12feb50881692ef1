"""Every catalog rule has PASS, FAIL and NOT_APPLICABLE/ERROR cases, and every case holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.catalog import load_catalog
from auditor.model import Status
from auditor.rulecases import load_cases, run_case

# Rules that by definition never pass (product-spec: "never PASS: v1 web services must migrate").
NEVER_PASS = {"azure.ml.legacy_service.retired"}
CASES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "rule_cases"
CATALOG = load_catalog()
ALL_CASES = [c for p in sorted(CASES_DIR.glob("*.yaml")) for c in load_cases(p, CATALOG)]


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: f"{c.rule_id}:{c.name}")
def test_case(case):
    result = run_case(case, CATALOG)
    assert result.finding.status is case.expect, (
        f"{case.file}:{case.line}: expected {case.expect}, got {result.finding.status}: {result.finding.message}"
    )
    assert result.finding.message.strip()
    if result.finding.status is Status.ERROR:
        assert result.finding.evidence.get("error"), "an ERROR must carry its reason"


@pytest.mark.parametrize("rule_id", sorted(CATALOG))
def test_every_rule_has_pass_fail_and_na_or_error_cases(rule_id):
    statuses = {c.expect for c in ALL_CASES if c.rule_id == rule_id}
    assert Status.FAIL in statuses
    assert (Status.PASS in statuses) != (rule_id in NEVER_PASS)
    assert statuses & {Status.NOT_APPLICABLE, Status.ERROR}
    rule = CATALOG[rule_id]
    if rule.applies_when is not None:
        assert Status.NOT_APPLICABLE in statuses, "a rule with applies_when needs a NOT_APPLICABLE case"
