"""examples/plans: every sample scans, holds a PASS and a FAIL, and the Terraform and Pulumi samples of one
system get the same verdict on the same resources."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from auditor.catalog import load_catalog
from auditor.engine import evaluate
from auditor.iac.collect import plan_inventory
from auditor.iac.mapping import shipped_mappings
from auditor.iac.read import read_plan
from auditor.model import Status
from auditor.pipeline import link

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plans"
SAMPLES = sorted(EXAMPLES.glob("*.json"))
CATALOG = load_catalog()


def verdicts(path: Path) -> Counter[tuple[str, str, Status]]:
    inventory = link(plan_inventory([read_plan(path)], shipped_mappings()))
    names = {r.id: r.name for r in inventory.resources}
    return Counter((f.rule_id, re.sub(r"[-_]", "", names[f.resource_id]).lower(), f.status)
                   for f in evaluate(inventory, CATALOG.values()))


def test_there_are_samples_of_five_systems() -> None:
    assert len({p.name.split(".")[0] for p in SAMPLES}) == 5


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_a_sample_passes_and_fails_and_decides_everything(sample: Path) -> None:
    statuses = {status for (_, _, status) in verdicts(sample)}
    assert {Status.PASS, Status.FAIL} <= statuses
    assert Status.ERROR not in statuses


@pytest.mark.parametrize("system", sorted({p.name.split(".")[0] for p in SAMPLES if
                                           (EXAMPLES / p.name.replace("terraform", "pulumi")).exists()}))
def test_terraform_and_pulumi_samples_of_a_system_agree(system: str) -> None:
    assert verdicts(EXAMPLES / f"{system}.terraform.json") == verdicts(EXAMPLES / f"{system}.pulumi.json")
