"""The fix of Azure findings decided by one property: set it, with a full PUT or a PATCH, under If-Match.

Online and serverless endpoints take a full PUT of the document as read (their PATCH carries only
tags and identity); workspaces take a PATCH of the property alone. Either write sends the ETag of
the read it follows, so a resource changed in between is refused (HTTP 412), and waits for the
operation. When the service refuses the value in place, the step is refused with the explanation
that the resource must be recreated; the auditor never recreates or deletes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from auditor.model import Finding
from auditor.providers.azure import resource_types as declared
from auditor.providers.azure.live import ML_API_VERSION, connected
from auditor.providers.declared import by_id
from auditor.remediate.changes import handler
from auditor.remediate.context import StepContext
from auditor.remediate.fixes import (
    ValueChange,
    apply_value_fix,
    automatic_step,
    call,
    change_row,
    value_change_problem,
)
from auditor.remediate.model import Disruption, PlanStep, RecordedChange, StepFinding, StepResult
from auditor.remediate.params import PlanParams

CHANGE_KIND = "azure.arm.property"


class ArmPropertyFix:
    name: ClassVar[str]
    provider: ClassVar[str] = "azure"
    rule_ids: ClassVar[tuple[str, ...]]
    disruption: ClassVar[Disruption]
    calls: ClassVar[tuple[str, ...]]  # derived: the live read of ``resource_type``, then the write ``method``
    permissions: ClassVar[tuple[str, ...]]  # derived from ``calls``
    resource_type: ClassVar[str]
    label: ClassVar[str]  # "online endpoint"
    path: ClassVar[str]  # "properties.authMode"
    value: ClassVar[Any]  # "AADToken"
    method: ClassVar[str]  # "PUT" | "PATCH"
    api_version: ClassVar[str] = ML_API_VERSION
    disruption_detail: ClassVar[str]
    notes: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls) -> None:
        """Each fix's calls, and the permissions they need, from its declared resource type and write method."""
        super().__init_subclass__()
        read = by_id(declared.TYPES, cls.resource_type).live
        if not read:
            raise TypeError(f"{cls.__name__}: resource type {cls.resource_type} declares no live read")
        cls.calls = (*read, f"{cls.method} {read[0].split(' ', 1)[1]}")
        cls.permissions = declared.actions(cls.calls)

    def value_for(self, evidence: Mapping[str, Any]) -> Any:
        """The value the fix sets (a subclass may derive it from the finding's evidence)."""
        return self.value

    def plan(self, finding: Finding, params: PlanParams) -> PlanStep:
        return self.describe(finding, {})

    def describe(self, finding: Finding, inputs: Mapping[str, Any]) -> PlanStep:
        rid, name = finding.resource_id, finding.resource_name
        url = f"{rid}?api-version={self.api_version}"
        value = self.value_for(finding.evidence)
        if self.method == "PUT":
            write = call(f"PUT {url}", note=f"the whole {self.label} document as just read, with {self.path} = "
                         f"{value}; header If-Match: the ETag of that read; then the long-running operation")
            undo_write = call(f"PUT {url}", note=f"the document as read then, with {self.path} back to its "
                              "value before; If-Match")
        else:
            write = call(f"PATCH {url}", note=f"body {{{self.path}: {value}}}; header If-Match: the ETag "
                         "of the read; then the long-running operation")
            undo_write = call(f"PATCH {url}", note=f"{self.path} back to its value before; If-Match")
        return automatic_step(
            self, finding, inputs,
            title=f"Set {self.path} of {self.label} {name} to {value}",
            changes=[change_row(rid, self.path, finding.evidence.get(self.path), value)],
            api_calls=[call(f"GET {url}", note="the document and its ETag"), write],
            undo=f"set {self.path} back to its value before the change, the same way",
            undo_calls=[call(f"GET {url}"), undo_write],
            disruption_detail=self.disruption_detail, notes=self.notes,
        )

    def _change(self, finding: StepFinding) -> ValueChange:
        target = {"resource": finding.resource_id, "api_version": self.api_version, "path": self.path,
                  "method": self.method, "label": self.label}
        return ValueChange(CHANGE_KIND, target, self.value_for(finding.evidence), finding.resource_id)

    def apply(self, step: PlanStep, ctx: StepContext) -> StepResult:
        rid = step.finding.resource_id
        change = self._change(step.finding)
        return apply_value_fix(
            step, ctx, lambda: connected(ctx.providers).resource(self.resource_type, rid, self.api_version),
            lambda live: [change], f"set {self.path} to {change.after}")

    def change_problem(self, step: PlanStep, change: RecordedChange) -> str | None:
        """Only this property of this resource, set to the fixed value, from the value the scan saw (when it did)."""
        problem = value_change_problem(change, self._change(step.finding))
        evidence = step.finding.evidence
        if problem is None and self.path in evidence and not handler(CHANGE_KIND).same(change.before,
                                                                                         evidence[self.path]):
            problem = f"its value before, {change.before!r}, is not the {evidence[self.path]!r} the scan saw"
        return problem
