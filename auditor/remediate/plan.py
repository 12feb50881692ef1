"""Compute a plan from a findings file: pure, with no cloud call at all.

One step per FAIL finding of the selected rules (all rules when none is named): the remediator the
catalog rule names plans it, or the finding gets a manual procedure. A remediator whose input is
missing (no KMS key given for the region) plans a manual step saying what to pass. Where the fix
needs the resource's current document (a config to copy, an ETag), the step records what the
evidence gives and says it is read again at apply. MUTED, ERROR, PASS and NOT_APPLICABLE findings
get no step.
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
from auditor.remediate.model import Mode, Plan, PlanStep
from auditor.remediate.params import PlanParams
from auditor.untrusted import printable

_MANUAL_ORDER = 1000


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
        order, step = plan_finding(finding, result.rules, params, catalog)
        ordered.append(((order, finding.rule_id, finding.resource_id), step))
    moment = (created or datetime.now(UTC)).astimezone(UTC)
    return Plan(
        created=moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
        tool_version=__version__,
        source={**source, "scan_started": _timestamp(result.started_at), "scan_ended": _timestamp(result.finished_at),
                "scopes": list(result.scopes)},
        selection={"rules": sorted(selected), "params": {k: list(v) for k, v in params.values.items()}},
        steps=tuple(step for _, step in sorted(ordered, key=lambda item: item[0])),
        skipped=skipped,
    )


def plan_finding(finding: Finding, recorded_rules: Mapping[str, Rule], params: PlanParams,
                 catalog: Mapping[str, Rule]) -> tuple[int, PlanStep]:
    """The step for one FAIL finding, and its place in the run order (``apply`` re-derives steps with it).

    ``recorded_rules``: the rules the findings file records (guidance for rules this catalog lacks).
    """
    rule = catalog.get(finding.rule_id) or recorded_rules.get(finding.rule_id)
    guidance = rule.remediation.guidance if rule else ""
    manual = rule.remediation.manual if rule else None
    name = catalog[finding.rule_id].remediation.remediator if finding.rule_id in catalog else None
    if finding.rule_id not in catalog:
        return _MANUAL_ORDER, manual_step(finding, guidance, manual=manual,
                                          reason=f"rule {finding.rule_id} is not in this auditor's catalog")
    if name and name in available() and finding.rule_id in load(name).rule_ids:
        remediator = load(name)
        step = remediator.plan(finding, params)
        return (remediator.order if step.mode is not Mode.MANUAL else _MANUAL_ORDER), step
    reason = f"the rule names remediator '{name}', which this auditor does not have" if name else ""
    return _MANUAL_ORDER, manual_step(finding, guidance, reason=reason, manual=manual)


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
