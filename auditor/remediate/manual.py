"""Manual procedures: precise steps for a person, for findings without a safe automatic fix.

Immutable settings (a model's network isolation or VPC, an endpoint's identity, a workspace's
customer-managed key, a compute's local auth, a deployment's egress), legacy v1 services and IAM
least privilege need a new resource, a migration or a judgement no tool should make alone. Each
rule's procedure is data in its file (``remediation.manual``: the disruption class, what the
disruption is, the steps); the step names the resource and the commands, the plan records it with no
API call, and apply never acts on it. A rule without a procedure gets its catalog guidance, marked
conservatively as breaking clients.
"""

from __future__ import annotations

from auditor.model import Finding
from auditor.remediate.model import Disruption, Mode, PlanStep, StepFinding, step_id
from auditor.rule_parts import ManualProcedure

_NOT_ASSESSED = "not assessed: treat it as breaking clients until reviewed"


def manual_disruption(manual: ManualProcedure | None) -> Disruption:
    """The disruption class of a rule's manual procedure (``rule.remediation.manual``); none: breaking clients."""
    return Disruption(manual.disruption) if manual else Disruption.BREAKING_CLIENTS


def manual_step(finding: Finding, guidance: str, *, remediator: str | None = None, reason: str = "",
                procedure: tuple[str, ...] = (), disruption: Disruption | None = None,
                disruption_detail: str = "", manual: ManualProcedure | None = None) -> PlanStep:
    """A step with a procedure and no API call; ``reason`` says why an automatic fix was not planned.

    ``manual``: the rule's procedure, used where ``procedure`` and ``disruption`` are not given; its steps'
    ``{name}``, ``{id}``, ``{region}`` and ``{account}`` are filled in from the finding.
    """
    fields = {"name": finding.resource_name or finding.resource_id, "id": finding.resource_id,
              "region": finding.region, "account": finding.account}
    if not procedure:
        procedure = tuple(s.format(**fields) for s in manual.steps) if manual else (guidance,)
    if disruption is None:
        disruption = manual_disruption(manual)
        disruption_detail = manual.disruption_detail if manual else _NOT_ASSESSED
    notes = (reason,) if reason else ()
    return PlanStep(
        id=step_id(finding.id, remediator), finding=StepFinding.of(finding), mode=Mode.MANUAL, remediator=remediator,
        title=f"Manual: {guidance.split('.')[0].strip()}" if guidance else "Manual procedure",
        disruption=disruption, disruption_detail=disruption_detail, manual_procedure=procedure, notes=notes,
        precondition="re-scan before starting: the finding must still be FAIL",
        verification=f"re-scan: {finding.rule_id} passes on {finding.resource_id}",
    )
