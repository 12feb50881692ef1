"""aws.kms.key.rotation_enabled: turn on automatic rotation of the customer managed key.

Rotation keeps every earlier version of the key material for decryption, so nothing that reads or
writes with the key notices. Undo: DisableKeyRotation (material already rotated stays usable).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from auditor.model import Finding
from auditor.remediate.aws import arn_region
from auditor.remediate.context import StepContext
from auditor.remediate.fixes import ValueChange, apply_value_fix, automatic_step, call, change_row
from auditor.remediate.model import Disruption, PlanStep, StepResult
from auditor.remediate.params import PlanParams

FIELD = "KeyRotationStatus.KeyRotationEnabled"


class KmsKeyRotation:
    name: ClassVar[str] = "kms_key_rotation"
    provider: ClassVar[str] = "aws"
    rule_ids: ClassVar[tuple[str, ...]] = ("aws.kms.key.rotation_enabled",)
    disruption: ClassVar[Disruption] = Disruption.NONE
    permissions: ClassVar[tuple[str, ...]] = (
        "kms:DescribeKey",
        "kms:DisableKeyRotation",
        "kms:EnableKeyRotation",
        "kms:GetKeyRotationStatus",
    )
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

    def apply(self, step: PlanStep, ctx: StepContext) -> StepResult:
        finding = step.finding
        key = finding.resource_id
        target = {"region": arn_region(key), "key": key}
        return apply_value_fix(
            step, ctx, lambda: ctx.providers.aws.key_resource(key, finding.account),
            lambda live: [ValueChange("aws.kms.key.rotation", target, True, key)], "turned on automatic rotation")


REMEDIATOR = KmsKeyRotation()
