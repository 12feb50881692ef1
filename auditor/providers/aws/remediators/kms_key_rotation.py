"""aws.kms.key.rotation_enabled: turn on automatic rotation of the customer managed key.

Rotation keeps every earlier version of the key material for decryption, so nothing that reads or
writes with the key notices. Undo: DisableKeyRotation (material already rotated stays usable).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from auditor.model import Finding
from auditor.providers.aws import resource_types as declared
from auditor.providers.aws.kms import KEY
from auditor.providers.aws.live import arn_region, connected
from auditor.providers.aws.resource_types import actions
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

FIELD = "KeyRotationStatus.KeyRotationEnabled"


class KmsKeyRotation:
    name: ClassVar[str] = "kms_key_rotation"
    provider: ClassVar[str] = "aws"
    rule_ids: ClassVar[tuple[str, ...]] = ("aws.kms.key.rotation_enabled",)
    disruption: ClassVar[Disruption] = Disruption.NONE
    # Every call apply and rollback make, the live read of the key included; permissions follow from them.
    calls: ClassVar[tuple[str, ...]] = (*declared.KEY.live, "kms:EnableKeyRotation", "kms:DisableKeyRotation")
    permissions: ClassVar[tuple[str, ...]] = actions(calls)
    order: ClassVar[int] = 10

    def plan(self, finding: Finding, params: PlanParams) -> PlanStep:
        return self.describe(finding, {})

    def describe(self, finding: Finding, inputs: Mapping[str, Any]) -> PlanStep:
        key = finding.resource_id
        return automatic_step(
            self, finding, inputs,
            title=f"Turn on automatic rotation of KMS key {finding.resource_name}",
            changes=[change_row(key, FIELD, finding.evidence.get(FIELD), True)],
            api_calls=[call("kms:DescribeKey", key), call("kms:GetKeyRotationStatus", key),
                       call("kms:EnableKeyRotation", key, KeyId=key)],
            undo="DisableKeyRotation; key material already rotated stays available for decryption",
            undo_calls=[call("kms:DisableKeyRotation", key, KeyId=key)],
            disruption_detail="rotation keeps earlier key material for decryption: no client notices",
        )

    def _change(self, finding: StepFinding) -> ValueChange:
        key = finding.resource_id
        return ValueChange("aws.kms.key.rotation", {"region": arn_region(key), "key": key}, True, key)

    def apply(self, step: PlanStep, ctx: StepContext) -> StepResult:
        finding = step.finding
        return apply_value_fix(
            step, ctx, lambda: connected(ctx.providers).read(KEY, finding.resource_id, account=finding.account),
            lambda live: [self._change(finding)], "turned on automatic rotation")

    def change_problem(self, step: PlanStep, change: RecordedChange) -> str | None:
        """Only this key's rotation, turned on from off."""
        problem = value_change_problem(change, self._change(step.finding))
        if problem is None and change.before is not False:
            problem = f"its value before is {change.before!r}: the step turns rotation on only where it was off"
        return problem


REMEDIATOR = KmsKeyRotation()
