"""What a remediator sees while applying a step, and the checks every step makes the same way.

``StepContext`` is implemented by the apply engine. Remediators change resources only through
``ctx.change`` (journaled before and after, re-read, budgeted) and record what they create with
``ctx.created``. The helpers here make every remediator decide alike:

* :func:`precondition`: the live resource must still fail the rule with the evidence the findings
  file recorded ("the described state is the plan's before"); a resource that is gone, decided
  otherwise, or shows other values is refused. A resource that now passes is returned as such:
  the remediator decides whether its own after-state holds (``already-applied``) or someone else
  changed it (refused).
* :func:`verify`: the rule's condition from the catalog, re-run on the re-read resource, must pass.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from auditor.model import Finding, Resource, Rule, Status
from auditor.remediate.model import Outcome, PlanStep, StepRefused, StepResult, plain

if TYPE_CHECKING:
    from auditor.remediate.providers import Providers


class StepContext(Protocol):
    @property
    def providers(self) -> Providers: ...

    def rule(self, rule_id: str) -> Rule:
        """The catalog rule (its parameters decide what a fix targets)."""
        ...

    def evaluate(self, rule_id: str, resource: Resource) -> Finding:
        """The rule (from the catalog) decided on ``resource``, exactly as the engine decides it in a scan."""
        ...

    def reserve(self, resources: Sequence[str]) -> None:
        """StepRefused when changing ``resources`` would exceed --max-changes for the run."""
        ...

    def change(self, kind: str, target: Mapping[str, Any], after: Any, resource: str) -> bool:
        """Set a value (see auditor.remediate.changes); False when it already held. Raises StepRefused/StepFailed."""
        ...

    def created(self, kind: str, resource: str, detail: Mapping[str, Any]) -> None:
        """Journal a resource the step created (kept on rollback; deleted when the step fails and nothing uses it)."""
        ...


def result(step: PlanStep, outcome: Outcome, detail: str) -> StepResult:
    return StepResult(step.id, step.finding.rule_id, step.finding.resource_id, outcome, detail)


def canonical(evidence: Mapping[str, Any]) -> str:
    return json.dumps(plain(evidence), sort_keys=True)


def precondition(ctx: StepContext, step: PlanStep, live: Resource | None) -> Finding:
    """The rule decided on the live resource: FAIL with the planned evidence, or PASS; else StepRefused."""
    finding = step.finding
    if live is None:
        raise StepRefused(f"{finding.resource_id} no longer exists")
    decided = ctx.evaluate(finding.rule_id, live)
    if decided.status is Status.PASS:
        return decided
    if decided.status is not Status.FAIL:
        raise StepRefused(f"the rule now decides {decided.status.value} on the live resource: {decided.message}")
    if canonical(decided.evidence) != canonical(finding.evidence):
        raise StepRefused(
            f"{finding.resource_id} changed since the scan: the rule's evidence was {canonical(finding.evidence)}, "
            f"it is now {canonical(decided.evidence)}; re-scan and re-plan")
    return decided


def refuse_changed_but_passing(step: PlanStep, decided: Finding) -> StepRefused:
    return StepRefused(f"{step.finding.resource_id} changed since the scan and now passes the rule by another "
                       f"change ({canonical(decided.evidence)}): nothing done")


def verify(ctx: StepContext, step: PlanStep, live: Resource | None, changed: str) -> StepResult:
    """APPLIED when the rule passes on the re-read resource, VERIFICATION_FAILED otherwise."""
    if live is None:
        return result(step, Outcome.VERIFICATION_FAILED, f"{changed}, but the resource could not be re-read")
    decided = ctx.evaluate(step.finding.rule_id, live)
    if decided.status is Status.PASS:
        return result(step, Outcome.APPLIED, f"{changed}; re-read: the rule passes")
    return result(step, Outcome.VERIFICATION_FAILED,
                  f"{changed}, but the rule still decides {decided.status.value}: {decided.message} "
                  f"(evidence {canonical(decided.evidence)})")
