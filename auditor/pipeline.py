"""The audit pipeline: the one place the stages of a scan are composed.

    validate -> collect -> link -> evaluate -> scope -> waive -> track

- validate: :func:`prepare_policy` reads the policy (the shipped catalog, plugins and the file's changes),
  narrows it with the command line's rule filters and reads the waivers; :func:`open_tracking` reads the
  baseline and checks the history file. Both run before any API call, so a typo never costs a scan.
- collect: each provider's :data:`Collect`, keyed by provider name, with its own progress; the inventories
  are merged into one (:func:`collect`).
- link: gateways are linked to the endpoints they front, across clouds (an APIM API in front of a
  SageMaker endpoint) (:func:`link`).
- evaluate, scope, waive: the selected rules of the scanned providers are evaluated, the policy scope keeps
  its findings, the waivers mute what they match (:func:`evaluate_inventory`).
- track: the result is compared with the baseline (:func:`compare`), then appended to the history
  (:func:`record_history`) when the run is written (:func:`finish`): a history that fails after the scan
  costs none of the findings.

:func:`scan` runs the stages up to the comparison; :func:`finish` records the history and writes the
outputs. The command line and the demo call these two; ``auditor report`` reads a findings file instead of
scanning (:mod:`auditor.rerender`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from auditor import __version__
from auditor.engine import evaluate
from auditor.errors import ConfigError
from auditor.history import HistoryStore
from auditor.model import CoverageRow, Inventory, Resource, Rule, ScanResult, Severity, Waiver
from auditor.owners import DEFAULT_OWNER_TAG
from auditor.owners import assign as assign_owners
from auditor.policy import Policy, base_policy, load_policy
from auditor.progress import NoProgress, Progress
from auditor.selection import RuleFilter, narrow
from auditor.waivers import DEFAULT_MAX_WAIVER_DAYS, apply_waivers, load_waivers

if TYPE_CHECKING:
    from auditor.console import Console
    from auditor.outputs import Outputs

Collect = Callable[[Progress], Inventory]  # one provider's collection, reporting to the progress it is given


@dataclass(frozen=True)
class ScanInputs:
    rules: Mapping[str, Rule]
    waivers: tuple[Waiver, ...] = ()
    fail_on: Severity = Severity.HIGH
    policy: Policy | None = None  # None: the rules as given, the shipped frameworks, no scope


@dataclass(frozen=True)
class Tracking:
    """Run-to-run comparison: ``--baseline`` (read and validated), ``--fail-on-new``, ``--history`` (checked)."""

    baseline: ScanResult | None = None
    baseline_file: str = ""
    fail_on_new: bool = False
    history: HistoryStore | None = None


# -- validate ------------------------------------------------------------------------------------------------

def prepare_policy(policy_file: Path | None, waivers_file: Path | None, fail_on: Severity,
                   rule_filter: RuleFilter | None = None, max_waiver_days: int = DEFAULT_MAX_WAIVER_DAYS) -> ScanInputs:
    """The policy (the shipped catalog, plugins and the file's changes), narrowed by the command line's rule
    filters, and the waivers, all validated."""
    from auditor.remediate import available

    policy = load_policy(policy_file, remediators=available())
    if rule_filter is not None:
        policy = narrow(policy, rule_filter)
    return from_policy(policy, waivers_file, fail_on, max_waiver_days)


def from_policy(policy: Policy, waivers_file: Path | None, fail_on: Severity,
                max_waiver_days: int = DEFAULT_MAX_WAIVER_DAYS) -> ScanInputs:
    waivers = load_waivers(waivers_file, policy.all_rules.keys(), max_days=max_waiver_days) if waivers_file else ()
    return ScanInputs(rules=policy.rules, waivers=waivers, fail_on=fail_on, policy=policy)


def open_tracking(baseline_file: Path | None = None, fail_on_new: bool = False,
                  history_file: Path | None = None) -> Tracking:
    """Read the baseline and check the history file, so that a bad one fails before any API call."""
    from auditor.findings.read import read_findings

    if fail_on_new and baseline_file is None:
        raise ConfigError("--fail-on-new needs --baseline FILE (the findings.json of the run to compare with)",
                          field="--fail-on-new")
    return Tracking(
        baseline=read_findings(baseline_file) if baseline_file is not None else None,
        baseline_file=str(baseline_file) if baseline_file is not None else "",
        fail_on_new=fail_on_new,
        history=HistoryStore.open(history_file) if history_file is not None else None,
    )


# -- collect and link ----------------------------------------------------------------------------------------

def collect(collectors: Mapping[str, Collect], console: Console | None = None) -> Inventory:
    """Each provider's inventory, collected in turn with its progress on ``console`` (none without one), merged."""
    inventories = []
    for provider, collect_one in collectors.items():
        progress = console.progress(provider) if console is not None else NoProgress()
        try:
            inventories.append(collect_one(progress))
        finally:
            progress.close()
    return merge(inventories)


def merge(inventories: Sequence[Inventory]) -> Inventory:
    """One inventory: the resources of all (the first of any type and id seen twice), sorted; every coverage row
    and scope in order."""
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


def link(inventory: Inventory) -> Inventory:
    """The inventory with every gateway API linked to the endpoints it fronts, whichever cloud they are in."""
    from auditor.providers.azure.apim_links import link_gateways

    return link_gateways(inventory)


# -- evaluate, scope, waive ----------------------------------------------------------------------------------

def evaluate_inventory(inputs: ScanInputs, inventory: Inventory, started: datetime,
                       today: datetime | None = None, owner_tag: str = DEFAULT_OWNER_TAG) -> ScanResult:
    """Evaluate the selected rules of the scanned providers, keep the findings in scope, apply waivers, and
    record each finding's owner (its resource's ``owner_tag`` tag, :mod:`auditor.owners`).

    ``inventory`` is linked already (:func:`link`)."""
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
        findings=assign_owners(outcome.findings, inventory.resources, owner_tag),
        coverage=inventory.coverage,
        rules=rules,
        fail_on=inputs.fail_on,
        expired_waivers=outcome.expired,
        unused_waivers=outcome.unused,
        active_waivers=outcome.active,
        resources=inventory.resources,
        frameworks=policy.frameworks,
        excluded_rules=policy.excluded,
        policy_scope=left_out if policy.source else None,
        owner_tag=owner_tag,
    )


# -- track ---------------------------------------------------------------------------------------------------

def compare(result: ScanResult, tracking: Tracking) -> ScanResult:
    """``result`` compared with the baseline (as it is without one)."""
    from auditor.findings.compare import with_baseline

    if tracking.baseline is not None:
        result = with_baseline(result, tracking.baseline, tracking.baseline_file, tracking.fail_on_new)
    return result


def record_history(result: ScanResult, tracking: Tracking) -> tuple[ScanResult, ConfigError | None]:
    """``result`` appended to the history, carrying its trend; or, when the history fails now (after the
    scan: locked past the timeout, changed under the scan), ``result`` as it is and that error, so that the
    caller still writes the findings before it reports the failure."""
    if tracking.history is None:
        return result, None
    try:
        return replace(result, history=tracking.history.record(result)), None
    except ConfigError as exc:
        return result, exc


def track(result: ScanResult, tracking: Tracking) -> ScanResult:
    """``result`` compared with the baseline, then appended to the history (whose trend it then carries); a
    history failing raises."""
    result = compare(result, tracking)
    if tracking.history is not None:
        result = replace(result, history=tracking.history.record(result))
    return result


# -- the whole run -------------------------------------------------------------------------------------------

def scan(collectors: Mapping[str, Collect], *, fail_on: Severity, waivers_file: Path | None = None,
         policy_file: Path | None = None, rule_filter: RuleFilter | None = None,
         max_waiver_days: int = DEFAULT_MAX_WAIVER_DAYS, tracking: Tracking | None = None,
         console: Console | None = None, owner_tag: str = DEFAULT_OWNER_TAG) -> ScanResult:
    """Validate every user input first (policy, rule filters, waivers; the caller opened ``tracking`` and checked
    the output directory), collect each provider with its progress on ``console``, link, evaluate, scope,
    waive, and compare with the baseline. :func:`finish` then records the run in the history and writes it."""
    inputs = prepare_policy(policy_file, waivers_file, fail_on, rule_filter, max_waiver_days)
    started = datetime.now(UTC)
    inventory = link(collect(collectors, console))
    return compare(evaluate_inventory(inputs, inventory, started, owner_tag=owner_tag), tracking or Tracking())


@dataclass(frozen=True, slots=True)
class Finished:
    result: ScanResult  # as written: carrying its history's trend when it was recorded
    outputs: Outputs  # what was written, and any format that failed
    history_error: ConfigError | None = None  # the history failed after the scan (the findings are written)


def finish(result: ScanResult, tracking: Tracking, formats: Sequence[str], out_dir: Path) -> Finished:
    """Append the run to the history, then write ``formats`` into ``out_dir``: a history failing now is returned,
    after the findings are written; an output failing costs only itself (``Outputs.failed``)."""
    from auditor.outputs import write_outputs

    result, history_error = record_history(result, tracking)
    return Finished(result, write_outputs(result, formats, out_dir), history_error)
