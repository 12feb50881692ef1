"""aws.s3.bucket.kms_default_encryption: default encryption SSE-KMS with the key the operator gave.

New objects are encrypted with the key (``--param bucket_kms_key_id`` or ``kms_key_id``; never a key
of the auditor's own), with an S3 Bucket Key to keep KMS requests down; existing objects keep their
encryption. Undo: the previous default encryption is put back (or removed when there was none:
DeleteBucketEncryption removes the setting, never the bucket or an object).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from auditor.model import Finding, Resource
from auditor.providers.aws import resource_types as declared
from auditor.providers.aws.live import connected
from auditor.providers.aws.resource_types import actions
from auditor.providers.aws.s3 import BUCKET
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
from auditor.remediate.model import Disruption, PlanStep, RecordedChange, StepResult
from auditor.remediate.params import PlanParams


def configuration(key: str) -> dict[str, Any]:
    return {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
                       "BucketKeyEnabled": True}]}


class S3DefaultKmsEncryption:
    name: ClassVar[str] = "s3_default_kms_encryption"
    provider: ClassVar[str] = "aws"
    rule_ids: ClassVar[tuple[str, ...]] = ("aws.s3.bucket.kms_default_encryption",)
    disruption: ClassVar[Disruption] = Disruption.BREAKING_CLIENTS
    # Every call apply and rollback make, the live read of the bucket included; permissions follow from them.
    calls: ClassVar[tuple[str, ...]] = (*declared.BUCKET.live, "kms:DescribeKey", "s3:PutBucketEncryption",
                                        "s3:DeleteBucketEncryption")  # the undo, when there was none before
    permissions: ClassVar[tuple[str, ...]] = actions(calls)

    def plan(self, finding: Finding, params: PlanParams) -> PlanStep:
        key, why = params.kms_key("bucket_kms_key_id", finding.region)
        if key is None:
            return manual_step(finding, "", remediator=self.name, reason=f"automatic fix not planned: {why}",
                               disruption=self.disruption, disruption_detail=_DISRUPTION, procedure=(
                f"Choose a customer managed KMS key in {finding.region}; give the writers of bucket "
                f"{finding.resource_name} (the endpoints' execution roles) kms:GenerateDataKey and its readers "
                "kms:Decrypt on it.",
                "Re-plan with --param bucket_kms_key_id=KEY_ARN and apply, or by hand: aws s3api "
                f"put-bucket-encryption --bucket {finding.resource_name} with SSEAlgorithm aws:kms, KMSMasterKeyID "
                "KEY_ARN and BucketKeyEnabled true.",
            ))
        return self.describe(finding, {"kms_key_id": key})

    def describe(self, finding: Finding, inputs: Mapping[str, Any]) -> PlanStep:
        key, bucket = str(inputs["kms_key_id"]), finding.resource_name
        after = configuration(key)
        return automatic_step(
            self, finding, {"kms_key_id": key},
            title=f"Encrypt new objects in bucket {bucket} with SSE-KMS key {key} by default",
            changes=[change_row(finding.resource_id, "ServerSideEncryptionConfiguration", "read at apply", after,
                                from_evidence=False)],
            api_calls=[call("kms:DescribeKey", key, note="the key must exist in the bucket's region, be enabled, "
                            "customer managed and symmetric; none is created"),
                       call("s3:GetBucketEncryption", bucket),
                       call("s3:PutBucketEncryption", bucket, Bucket=bucket, ServerSideEncryptionConfiguration=after)],
            undo="put the previous default encryption back (PutBucketEncryption), or DeleteBucketEncryption when "
                 "there was none",
            undo_calls=[call("s3:PutBucketEncryption", bucket, note="with the configuration before the change"),
                        call("s3:DeleteBucketEncryption", bucket, note="only when there was none before")],
            disruption_detail=_DISRUPTION,
        )

    def _change(self, step: PlanStep) -> ValueChange:
        finding = step.finding
        target = {"region": finding.region, "bucket": finding.resource_name}
        after = configuration(str(step.inputs["kms_key_id"]))
        return ValueChange("aws.s3.bucket.default_encryption", target, after, finding.resource_id)

    def change_problem(self, step: PlanStep, change: RecordedChange) -> str | None:
        """Only this bucket's default encryption, set to SSE-KMS with the plan's key from a default that was not
        SSE-KMS (the rule failed): an undo never puts a KMS key of a journal's choosing on the bucket."""
        problem = value_change_problem(change, self._change(step))
        rules = change.before.get("Rules") if isinstance(change.before, Mapping) else None
        if problem is None and change.before is not None and not isinstance(rules, list):
            problem = f"its value before, {change.before!r}, is not a default encryption configuration"
        elif problem is None and any(
                str(((r or {}).get("ApplyServerSideEncryptionByDefault") or {}).get("SSEAlgorithm", "")).startswith(
                    "aws:kms") for r in rules or [] if isinstance(r, Mapping)):
            problem = "its value before is an SSE-KMS default, which the scan did not see (the rule failed)"
        return problem

    def apply(self, step: PlanStep, ctx: StepContext) -> StepResult:
        finding, key = step.finding, str(step.inputs["kms_key_id"])

        def changes(live: Resource) -> list[ValueChange]:
            connected(ctx.providers).usable_key(key, finding.region)
            return [self._change(step)]

        return apply_value_fix(
            step, ctx, lambda: connected(ctx.providers).read(BUCKET, finding.resource_id, account=finding.account,
                                                       region=finding.region),
            changes, f"set default encryption to SSE-KMS with {key}")


_DISRUPTION = ("writers of new objects (the endpoints' execution roles, for data capture) need kms:GenerateDataKey "
               "and readers kms:Decrypt on the key, or their requests fail; existing objects are unchanged")

REMEDIATOR = S3DefaultKmsEncryption()
