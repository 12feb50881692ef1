"""The audit pipeline as library functions: collect -> evaluate -> waive -> ScanResult.

The CLI only composes these. Inputs users write (waivers, policy) are validated before any
API call is made, so a typo never costs a scan.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from auditor import __version__
from auditor.engine import evaluate
from auditor.model import CoverageRow, Inventory, Resource, Rule, ScanResult, Severity, Waiver
from auditor.policy import Policy, base_policy, load_policy
from auditor.selection import RuleFilter, narrow
from auditor.waivers import DEFAULT_MAX_WAIVER_DAYS, apply_waivers, load_waivers

Collector = Callable[[], Inventory]


@dataclass(frozen=True)
class ScanInputs:
    rules: Mapping[str, Rule]
    waivers: tuple[Waiver, ...] = ()
    fail_on: Severity = Severity.HIGH
    policy: Policy | None = None  # None: the rules as given, the shipped frameworks, no scope


def prepare_policy(policy_file: Path | None, waivers_file: Path | None, fail_on: Severity,
                   rule_filter: RuleFilter | None = None, max_waiver_days: int = DEFAULT_MAX_WAIVER_DAYS) -> ScanInputs:
    """The policy (the shipped catalog, plugins and the file's changes), narrowed by the command line's rule
    filters, and the waivers, all validated."""
    policy = load_policy(policy_file)
    if rule_filter is not None:
        policy = narrow(policy, rule_filter)
    return from_policy(policy, waivers_file, fail_on, max_waiver_days)


def from_policy(policy: Policy, waivers_file: Path | None, fail_on: Severity,
                max_waiver_days: int = DEFAULT_MAX_WAIVER_DAYS) -> ScanInputs:
    waivers = load_waivers(waivers_file, policy.all_rules.keys(), max_days=max_waiver_days) if waivers_file else ()
    return ScanInputs(rules=policy.rules, waivers=waivers, fail_on=fail_on, policy=policy)


def merge(inventories: Sequence[Inventory]) -> Inventory:
    resources: dict[str, Resource] = {}
    coverage: list[CoverageRow] = []
    scopes: list[str] = []
    for inv in inventories:
        for r in inv.resources:
            resources.setdefault(f"{r.type}\n{r.id}", r)
        coverage.extend(inv.coverage)
        scopes.extend(inv.scopes)
    return Inventory(
        resources=tuple(sorted(resources.values(), key=lambda r: (r.type, r.id))),
        coverage=tuple(coverage),
        scopes=tuple(scopes),
    )


def run(inputs: ScanInputs, collectors: Sequence[Collector], today: datetime | None = None) -> ScanResult:
    started = datetime.now(UTC)
    inventory = merge([collect() for collect in collectors])
    return evaluate_inventory(inputs, inventory, started, today)


def evaluate_inventory(inputs: ScanInputs, inventory: Inventory, started: datetime,
                       today: datetime | None = None) -> ScanResult:
    """Evaluate the selected rules of the scanned providers, keep the findings in scope, apply waivers."""
    policy = inputs.policy or base_policy(inputs.rules)
    providers = {c.provider for c in inventory.coverage} | {r.provider for r in inventory.resources}
    rules = {rid: r for rid, r in inputs.rules.items() if r.provider in providers}
    findings, left_out = policy.apply_scope(evaluate(inventory, rules.values(), policy.check_loader()), inventory)
    outcome = apply_waivers(findings, inputs.waivers, (today or datetime.now(UTC)).date())
    return ScanResult(
        tool_version=__version__,
        started_at=started,
        finished_at=datetime.now(UTC),
        scopes=inventory.scopes,
        findings=outcome.findings,
        coverage=inventory.coverage,
        rules=rules,
        fail_on=inputs.fail_on,
        expired_waivers=outcome.expired,
        unused_waivers=outcome.unused,
        resources=inventory.resources,
        frameworks=policy.frameworks,
        excluded_rules=policy.excluded,
        policy_scope=left_out if policy.source else None,
    )
