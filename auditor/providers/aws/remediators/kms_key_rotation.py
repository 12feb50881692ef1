"""aws.kms.key.rotation_enabled: turn on automatic rotation of the customer managed key.

Rotation keeps every earlier version of the key material for decryption, so nothing that reads or
writes with the key notices. Undo: DisableKeyRotation (material already rotated stays usable).

KMS accepts EnableKeyRotation only for an Enabled key. A key the scan found Disabled, PendingDeletion
or in any other state (or whose state the findings file does not record) gets a manual procedure
saying why, never an automatic step: enabling a disabled key, or cancelling a deletion someone
scheduled, is a decision for a person, not a side effect of a rotation fix.
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
from auditor.remediate.manual import manual_step
from auditor.remediate.model import Disruption, PlanStep, RecordedChange, StepFinding, StepResult
from auditor.remediate.params import PlanParams

FIELD = "KeyRotationStatus.KeyRotationEnabled"
STATE = "KeyMetadata.KeyState"


class KmsKeyRotation:
    name: ClassVar[str] = "kms_key_rotation"
    provider: ClassVar[str] = "aws"
    rule_ids: ClassVar[tuple[str, ...]] = ("aws.kms.key.rotation_enabled",)
    disruption: ClassVar[Disruption] = Disruption.NONE
    # Every call apply and rollback make, the live read of the key included; permissions follow from them.
    calls: ClassVar[tuple[str, ...]] = (*declared.KEY.live, "kms:EnableKeyRotation", "kms:DisableKeyRotation")
    permissions: ClassVar[tuple[str, ...]] = actions(calls)

    def plan(self, finding: Finding, params: PlanParams) -> PlanStep:
        state = finding.evidence.get(STATE)
        if state != "Enabled":
            return _manual(finding, state)
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


def _manual(finding: Finding, state: Any) -> PlanStep:
    key, region = finding.resource_id, finding.region
    procedure: tuple[str, ...]
    if state == "Disabled":
        why = ("the key is Disabled, and KMS refuses EnableKeyRotation for a disabled key (KMSInvalidStateException); "
               "whether to enable it again is not a rotation fix's decision")
        procedure = (f"Decide whether the key is still meant to be used: it is disabled, so nothing can encrypt or "
                     f"decrypt with it (aws kms describe-key --key-id {key} --region {region}).",
                     f"If it is: aws kms enable-key --key-id {key} --region {region}, then aws kms enable-key-rotation "
                     f"--key-id {key} --region {region}, and re-scan.",
                     "If it is not: move the SageMaker resources that reference it to another key, then retire it.")
    elif state == "PendingDeletion":
        why = ("the key is scheduled for deletion (PendingDeletion): KMS reports its rotation as off and refuses "
               "EnableKeyRotation, and cancelling a deletion someone scheduled is not a rotation fix's decision")
        procedure = (f"A SageMaker resource still references this key: once deleted, what it encrypted cannot be "
                     f"decrypted. See when: aws kms describe-key --key-id {key} --region {region} (DeletionDate).",
                     f"If the key must stay: aws kms cancel-key-deletion --key-id {key} --region {region} (the key "
                     f"returns Disabled with its earlier rotation setting), aws kms enable-key --key-id {key}, then "
                     f"aws kms enable-key-rotation --key-id {key} --region {region}, and re-scan.",
                     "If it must go: move the resources that reference it to another key before the deletion date.")
    elif state is None:
        why = "the findings file does not record the key's state (a scan by an earlier auditor): re-scan, then re-plan"
        procedure = (f"Re-scan with this auditor version, then re-plan; or by hand, once aws kms describe-key --key-id "
                     f"{key} --region {region} shows KeyState Enabled: aws kms enable-key-rotation --key-id {key} "
                     f"--region {region}.",)
    else:
        why = f"the key is in state {state!r}, and KMS accepts EnableKeyRotation only for an Enabled key"
        procedure = (f"Wait until aws kms describe-key --key-id {key} --region {region} shows KeyState Enabled (or "
                     "make it so), then re-scan and re-plan.",)
    return manual_step(finding, "", remediator=KmsKeyRotation.name, reason=f"automatic fix not planned: {why}",
                       disruption=Disruption.NONE, procedure=procedure,
                       disruption_detail="turning rotation on later keeps earlier key material for decryption")


REMEDIATOR = KmsKeyRotation()
