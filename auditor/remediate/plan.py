"""Compute a plan from a findings file: pure, with no cloud call at all.

One step per FAIL finding of the selected rules (all rules when none is named): the remediator the
catalog rule names plans it, or the finding gets a manual procedure. A remediator whose input is
missing (no KMS key given for the region) plans a manual step saying what to pass. Where the fix
needs the resource's current document (a config to copy, an ETag), the step records what the
evidence gives and says it is read again at apply. MUTED, ERROR, PASS and NOT_APPLICABLE findings
get no step.

Steps are ordered by severity (critical first, as the findings file records it, policy overrides
included), then rule id, then resource id; ``apply`` runs them in that order. One exception keeps a
run from undoing its own work: a remediator may name others whose automatic steps must not run before
its own (``runs_before``): the SageMaker volume-key fix copies an endpoint's config, and a data-capture
fix that ran first would move the endpoint to a copy without the volume key, leaving the volume fix
nothing to move. Such steps are moved just ahead of the first step they must precede, in their order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from auditor import __version__
from auditor.errors import ConfigError
from auditor.model import Finding, Rule, ScanResult, Status
from auditor.remediate import available, load
from auditor.remediate.manual import manual_step
from auditor.remediate.model import Plan, PlanStep
from auditor.remediate.params import PlanParams
from auditor.untrusted import printable


def build_plan(result: ScanResult, source: Mapping[str, Any], params: PlanParams, rule_ids: Sequence[str],
               catalog: Mapping[str, Rule], created: datetime | None = None) -> Plan:
    """The plan for ``result``. ``source``: ``file`` and ``sha256`` of the findings file.

    ConfigError (``--rule``) for a rule id neither the catalog nor the findings file knows.
    """
    for rule_id in rule_ids:
        if rule_id not in catalog and rule_id not in result.rules:
            raise ConfigError(f"unknown rule id '{rule_id}' (see 'auditor rules list')", field="--rule")
    selected = set(rule_ids)
    ordered: list[tuple[tuple[int, str, str], PlanStep]] = []
    skipped = {"muted": 0, "error": 0, "not_selected": 0}
    for finding in result.findings:
        if finding.status in (Status.MUTED, Status.ERROR):
            skipped[finding.status.value.lower()] += 1
        if finding.status is not Status.FAIL:
            continue
        if selected and finding.rule_id not in selected:
            skipped["not_selected"] += 1
            continue
        step = plan_finding(finding, result.rules, params, catalog)
        ordered.append(((-finding.severity.rank, finding.rule_id, finding.resource_id), step))
    moment = (created or datetime.now(UTC)).astimezone(UTC)
    return Plan(
        created=moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
        tool_version=__version__,
        source={**source, "scan_started": _timestamp(result.started_at), "scan_ended": _timestamp(result.finished_at),
                "scopes": list(result.scopes)},
        selection={"rules": sorted(selected), "params": {k: list(v) for k, v in params.values.items()}},
        steps=run_order([step for _, step in sorted(ordered, key=lambda item: item[0])]),
        skipped=skipped,
    )


def plan_finding(finding: Finding, recorded_rules: Mapping[str, Rule], params: PlanParams,
                 catalog: Mapping[str, Rule]) -> PlanStep:
    """The step for one FAIL finding (``apply`` re-derives steps with it).

    ``recorded_rules``: the rules the findings file records (guidance for rules this catalog lacks).
    """
    rule = catalog.get(finding.rule_id) or recorded_rules.get(finding.rule_id)
    guidance = rule.remediation.guidance if rule else ""
    manual = rule.remediation.manual if rule else None
    name = catalog[finding.rule_id].remediation.remediator if finding.rule_id in catalog else None
    if finding.rule_id not in catalog:
        return manual_step(finding, guidance, manual=manual,
                           reason=f"rule {finding.rule_id} is not in this auditor's catalog")
    if name and name in available() and finding.rule_id in load(name).rule_ids:
        return load(name).plan(finding, params)
    reason = f"the rule names remediator '{name}', which this auditor does not have" if name else ""
    return manual_step(finding, guidance, reason=reason, manual=manual)


def run_order(steps: Sequence[PlanStep]) -> tuple[PlanStep, ...]:
    """``steps`` (already by severity, rule, resource) with each remediator's automatic steps moved ahead of the
    first automatic step of a remediator it ``runs_before``; nothing else moves."""
    out = list(steps)
    for name in sorted({s.remediator for s in out if s.executable and s.remediator}):
        later = set(getattr(load(name), "runs_before", ()))
        first = next((i for i, s in enumerate(out) if s.executable and s.remediator in later), None)
        if first is None:
            continue
        moved = [s for s in out[first:] if s.executable and s.remediator == name]
        if moved:
            rest = [s for s in out[first:] if not (s.executable and s.remediator == name)]
            out = out[:first] + moved + rest
    return tuple(out)


def _timestamp(moment: datetime) -> str:
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.isoformat(timespec="seconds").replace("+00:00", "Z")


def render_text(plan: Plan) -> str:
    """The plan as a reviewer reads it in a terminal or a pull request."""
    summary = plan.summary()
    modes = ", ".join(f"{n} {m}" for m, n in summary["by_mode"].items() if n) or "no steps"
    lines = [f"Remediation plan from {plan.source.get('file')} (scan of {plan.source.get('scan_started')}): {modes}."]
    if plan.skipped.get("error"):
        lines.append(f"{plan.skipped['error']} ERROR finding(s) could not be decided and get no step: re-scan first.")
    if plan.skipped.get("muted"):
        lines.append(f"{plan.skipped['muted']} MUTED finding(s) are waived and get no step.")
    for index, step in enumerate(plan.steps, start=1):
        f = step.finding
        lines.append("")
        lines.append(f"[{index}] {step.mode.value.upper()}  {f.rule_id}  ({f.severity})")
        lines.append(f"    resource: {f.resource_id}")
        lines.append(f"    {step.title}")
        lines.append(f"    disruption: {step.disruption.value}: {step.disruption_detail}")
        for change in step.changes:
            lines.append(f"    change: {change.get('resource')} {change.get('field')}: {change.get('before')!r} "
                         f"({change.get('before_source')}) -> {change.get('after')!r}")
        for call in step.api_calls:
            lines.append(f"    call: {call.get('call')} {call.get('target', '')}".rstrip())
        if step.permissions:
            lines.append(f"    permissions: {', '.join(step.permissions)}")
        if step.undo:
            lines.append(f"    undo: {step.undo.get('description')}")
        for number, text in enumerate(step.manual_procedure, start=1):
            lines.append(f"    {number}. {text}")
        for note in step.notes:
            lines.append(f"    note: {note}")
    # Findings files are untrusted: a value's control characters and line breaks are shown as escapes.
    return "\n".join(printable(line) for line in lines) + "\n"
