"""aws.s3.bucket.public_access_blocked: turn on the bucket's four public access block settings.

Only public access is removed: SageMaker writes captured data with the endpoint's execution role,
which the block does not affect. Undo: the bucket's previous configuration is put back (or removed
again when it had none: DeletePublicAccessBlock removes the setting, never the bucket or an object).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from auditor.model import Finding
from auditor.providers.aws import resource_types as declared
from auditor.providers.aws.changes import PAB_SETTINGS
from auditor.providers.aws.live import connected
from auditor.providers.aws.resource_types import actions
from auditor.providers.aws.s3 import BUCKET
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

ALL_ON = dict.fromkeys(PAB_SETTINGS, True)


class S3PublicAccessBlock:
    name: ClassVar[str] = "s3_public_access_block"
    provider: ClassVar[str] = "aws"
    rule_ids: ClassVar[tuple[str, ...]] = ("aws.s3.bucket.public_access_blocked",)
    disruption: ClassVar[Disruption] = Disruption.BREAKING_CLIENTS
    # Every call apply and rollback make, the live read of the bucket included; permissions follow from them.
    calls: ClassVar[tuple[str, ...]] = (*declared.BUCKET.live, "s3:PutPublicAccessBlock",
                                        "s3:DeletePublicAccessBlock")  # the undo, when there was none before
    permissions: ClassVar[tuple[str, ...]] = actions(calls)

    def plan(self, finding: Finding, params: PlanParams) -> PlanStep:
        return self.describe(finding, {})

    def describe(self, finding: Finding, inputs: Mapping[str, Any]) -> PlanStep:
        bucket, arn = finding.resource_name, finding.resource_id
        before = finding.evidence.get("bucket")
        return automatic_step(
            self, finding, inputs,
            title=f"Block all public access to bucket {bucket}",
            changes=[change_row(arn, "PublicAccessBlockConfiguration", before, ALL_ON)],
            api_calls=[call("s3:GetPublicAccessBlock", bucket), call("s3control:GetPublicAccessBlock", "account",
                                                                     note="the account-level settings"),
                       call("s3:PutPublicAccessBlock", bucket, Bucket=bucket, PublicAccessBlockConfiguration=ALL_ON)],
            undo="put the previous configuration back (PutPublicAccessBlock), or DeletePublicAccessBlock when the "
                 "bucket had none",
            undo_calls=[call("s3:PutPublicAccessBlock", bucket, note="with the configuration before the change"),
                        call("s3:DeletePublicAccessBlock", bucket, note="only when there was none before")],
            disruption_detail="anyone reading or writing through a public ACL or a public bucket policy loses access; "
                              "SageMaker's capture writes use the endpoint's role and are not affected",
        )

    def _change(self, finding: StepFinding) -> ValueChange:
        target = {"region": finding.region, "bucket": finding.resource_name}
        return ValueChange("aws.s3.bucket.public_access_block", target, ALL_ON, finding.resource_id)

    def apply(self, step: PlanStep, ctx: StepContext) -> StepResult:
        finding = step.finding
        return apply_value_fix(
            step, ctx, lambda: connected(ctx.providers).read(BUCKET, finding.resource_id, account=finding.account,
                                                       region=finding.region),
            lambda live: [self._change(finding)], "turned on all four public access block settings")

    def change_problem(self, step: PlanStep, change: RecordedChange) -> str | None:
        """Only this bucket's public access block, turned all on from the configuration the scan saw."""
        problem = value_change_problem(change, self._change(step.finding))
        evidence = step.finding.evidence
        seen = evidence.get("bucket")
        if problem is None and "bucket" in evidence and not handler(change.kind).same(change.before, seen):
            problem = f"its value before, {change.before!r}, is not the {seen!r} the scan saw"
        return problem


REMEDIATOR = S3PublicAccessBlock()
