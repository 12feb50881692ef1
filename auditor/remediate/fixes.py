"""Building blocks remediators share: the automatic step they plan, and the single-resource fix flow.

Most fixes set one or two values of the resource the finding is about (a key's rotation flag, a
bucket setting, an ARM property). :func:`apply_value_fix` is their whole apply: re-read, check the
precondition, stop as ``already-applied`` when the after-state holds, reserve the budget, change
each value through the journal, re-read and verify with the rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditor.model import Finding, Resource, Status
from auditor.remediate.changes import handler
from auditor.remediate.context import StepContext, precondition, refuse_changed_but_passing, result, verify
from auditor.remediate.model import (
    Disruption,
    Mode,
    Outcome,
    PlanStep,
    RecordedChange,
    StepFinding,
    StepResult,
    same_json,
    step_id,
)

if TYPE_CHECKING:
    from auditor.remediate import Remediator


@dataclass(frozen=True)
class ValueChange:
    kind: str
    target: Mapping[str, Any]
    after: Any
    resource: str  # the resource the change counts against in --max-changes


def automatic_step(fix: Remediator, finding: Finding, inputs: Mapping[str, Any], *, title: str,
                   changes: Sequence[Mapping[str, Any]], api_calls: Sequence[Mapping[str, Any]],
                   undo: str, undo_calls: Sequence[Mapping[str, Any]], disruption_detail: str,
                   precondition_text: str = "", verification: str = "", notes: Sequence[str] = (),
                   mode: Mode = Mode.AUTOMATIC, disruption: Disruption | None = None) -> PlanStep:
    return PlanStep(
        id=step_id(finding.id, fix.name), finding=StepFinding.of(finding), mode=mode, remediator=fix.name,
        title=title, disruption=disruption or fix.disruption, disruption_detail=disruption_detail,
        inputs=dict(inputs), changes=tuple(changes), api_calls=tuple(api_calls), permissions=fix.permissions,
        precondition=precondition_text or (
            f"re-read {finding.resource_id}: {finding.rule_id} must still fail with the evidence of the scan "
            f"({_short(finding.evidence)}); a resource that changed since is skipped"),
        verification=verification or f"re-read {finding.resource_id} and re-run {finding.rule_id}: it must pass",
        undo={"description": undo, "api_calls": list(undo_calls)}, notes=tuple(notes),
    )


def change_row(resource: str, field: str, before: Any, after: Any, *, from_evidence: bool = True) -> dict[str, Any]:
    return {"resource": resource, "field": field, "before": before,
            "before_source": "evidence" if from_evidence else "read at apply", "after": after}


def call(name: str, target: str = "", note: str = "", **params: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"call": name}
    if target:
        out["target"] = target
    if params:
        out["params"] = params
    if note:
        out["note"] = note
    return out


def apply_value_fix(step: PlanStep, ctx: StepContext, read: Callable[[], Resource | None],
                    changes: Callable[[Resource], Sequence[ValueChange]], done: str) -> StepResult:
    """The whole apply of a fix that sets values of the finding's own resource."""
    live = read()
    decided = precondition(ctx, step, live)
    assert live is not None  # precondition refuses a missing resource
    planned = changes(live)
    if decided.status is Status.PASS:
        providers = ctx.providers
        if all(handler(c.kind).same(handler(c.kind).read(providers, c.target).value, c.after) for c in planned):
            return result(step, Outcome.ALREADY_APPLIED, "the rule passes and the planned values already hold: "
                                                          "nothing changed")
        raise refuse_changed_but_passing(step, decided)
    ctx.reserve(sorted({c.resource for c in planned}))
    made = [ctx.change(c.kind, c.target, c.after, c.resource) for c in planned]
    return verify(ctx, step, read(), done if any(made) else "nothing needed changing")


def value_change_problem(change: RecordedChange, expected: ValueChange) -> str | None:
    """Why ``change`` (read from a journal) is not ``expected``: another kind, target or value set; or None."""
    if change.kind != expected.kind:
        return f"a change of kind {change.kind}, where the step changes {expected.kind}"
    if not same_json(change.target, expected.target):
        return f"a change of {_short(change.target)}, where the step changes {_short(expected.target)}"
    if not handler(expected.kind).same(change.after, expected.after):
        return f"a change to {_short(change.after)}, where the step sets {_short(expected.after)}"
    return None


def _short(value: Any) -> str:
    import json

    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 160 else text[:157] + "..."
