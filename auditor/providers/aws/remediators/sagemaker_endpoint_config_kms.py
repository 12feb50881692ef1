"""aws.sagemaker.endpoint_config.kms_volume_encryption: move the config's endpoints to a KMS-encrypted copy.

The finding is about an endpoint config, which is immutable. The fix creates a copy with ``KmsKeyId``
set to the key the operator gave (``--param volume_kms_key_id`` or ``kms_key_id``; never a key of its
own), points every endpoint running the config at the copy (UpdateEndpoint: SageMaker replaces the
instances behind the endpoint, blue/green, without downtime) and waits until each is InService.
The old config is kept for rollback, so its own finding stays FAIL until the team deletes it once
the change is verified: the auditor never deletes. A config no endpoint runs cannot be fixed in
place and is refused with that explanation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from auditor.model import Finding, Status
from auditor.providers.aws import resource_types as declared
from auditor.providers.aws.config_copy import copy_request, create_or_reuse, derived_name
from auditor.providers.aws.live import arn_name, arn_region, connected
from auditor.providers.aws.resource_types import actions
from auditor.providers.aws.sagemaker import ENDPOINT_CONFIG
from auditor.remediate.context import StepContext, precondition, refuse_changed_but_passing, result
from auditor.remediate.fixes import automatic_step, call, change_row
from auditor.remediate.manual import manual_step
from auditor.remediate.model import (
    Disruption,
    Outcome,
    PlanStep,
    RecordedChange,
    StepFailed,
    StepRefused,
    StepResult,
)
from auditor.remediate.params import PlanParams

CHANGE_KIND = "aws.sagemaker.endpoint.config"


class SageMakerEndpointConfigKms:
    name: ClassVar[str] = "sagemaker_endpoint_config_kms"
    provider: ClassVar[str] = "aws"
    rule_ids: ClassVar[tuple[str, ...]] = ("aws.sagemaker.endpoint_config.kms_volume_encryption",)
    disruption: ClassVar[Disruption] = Disruption.ROLLING
    # Every call apply and rollback make, the live read of the config included; permissions follow from them.
    calls: ClassVar[tuple[str, ...]] = (
        *declared.ENDPOINT_CONFIG.live, "kms:DescribeKey", "sagemaker:ListEndpoints", "sagemaker:DescribeEndpoint",
        "sagemaker:ListTags", "sagemaker:CreateEndpointConfig", "sagemaker:UpdateEndpoint")
    permissions: ClassVar[tuple[str, ...]] = actions(calls)
    order: ClassVar[int] = 30  # before data-capture fixes, which copy whatever config an endpoint then runs

    def plan(self, finding: Finding, params: PlanParams) -> PlanStep:
        key, why = params.kms_key("volume_kms_key_id", finding.region)
        if key is None:
            return manual_step(finding, "", remediator=self.name, reason=f"automatic fix not planned: {why}",
                               disruption=self.disruption, disruption_detail=_DISRUPTION, procedure=(
                "Choose a customer managed, symmetric KMS key in " + finding.region + " that the endpoints' "
                "execution roles may use (kms:CreateGrant, kms:Decrypt, kms:GenerateDataKey).",
                "Re-plan with --param volume_kms_key_id=KEY_ARN and apply, or by hand: copy the config with "
                "KmsKeyId set (aws sagemaker describe-endpoint-config / create-endpoint-config), then "
                "aws sagemaker update-endpoint --retain-all-variant-properties for each endpoint using it.",
            ))
        return self.describe(finding, {"kms_key_id": key})

    def describe(self, finding: Finding, inputs: Mapping[str, Any]) -> PlanStep:
        key = str(inputs["kms_key_id"])
        source = arn_name(finding.resource_id)
        new = derived_name(source, "kms", f"{finding.id}\n{key}")
        return automatic_step(
            self, finding, {"kms_key_id": key},
            title=f"Encrypt the storage volumes of the endpoints running {source} with KMS key {key}",
            changes=[
                change_row(f"endpoint config {new} (new, a copy of {source})", "KmsKeyId",
                           finding.evidence.get("KmsKeyId"), key),
                change_row(f"every endpoint running {source}", "EndpointConfigName", source, new,
                           from_evidence=False),
            ],
            api_calls=[
                call("kms:DescribeKey", key, note="the key must exist in the region, be enabled, customer managed "
                     "and symmetric; none is created"),
                call("sagemaker:DescribeEndpointConfig", source),
                call("sagemaker:ListEndpoints", finding.region, note="then DescribeEndpoint each, to find the "
                     f"endpoints running {source}"),
                call("sagemaker:ListTags", source),
                call("sagemaker:CreateEndpointConfig", new, note=f"every field of {source} CreateEndpointConfig "
                     f"accepts, its tags, plus KmsKeyId and the tag auditor:copy-of={source}",
                     EndpointConfigName=new, KmsKeyId=key),
                call("sagemaker:UpdateEndpoint", "each endpoint running " + source,
                     EndpointConfigName=new, RetainAllVariantProperties=True),
                call("sagemaker:DescribeEndpoint", "each updated endpoint", note="until InService"),
            ],
            undo=f"UpdateEndpoint each endpoint back to {source} (kept, never deleted) and wait until InService; "
                 f"{new} is left in place",
            undo_calls=[call("sagemaker:UpdateEndpoint", "each updated endpoint", EndpointConfigName=source,
                             RetainAllVariantProperties=True)],
            disruption_detail=_DISRUPTION,
            precondition_text=f"re-read {source}: it must still lack KmsKeyId; the endpoints running it are found at "
                              "apply (the findings file does not link them), each must be InService",
            verification=f"{new} passes {finding.rule_id} and every endpoint that ran {source} now runs {new}",
            notes=(f"{source} is kept for rollback, so its own finding stays FAIL until you delete it after "
                   "verifying; the auditor never deletes a resource.",
                   "Instance types with local NVMe storage (ml.g4dn, ml.p4d, ml.m5d, ...) reject KmsKeyId: "
                   "CreateEndpointConfig then fails and nothing changes."),
        )

    def apply(self, step: PlanStep, ctx: StepContext) -> StepResult:
        finding, aws = step.finding, connected(ctx.providers)
        region, source = arn_region(finding.resource_id), arn_name(finding.resource_id)
        key = str(step.inputs["kms_key_id"])
        new = derived_name(source, "kms", f"{finding.id}\n{key}")
        live = aws.read(ENDPOINT_CONFIG, finding.resource_id, account=finding.account)
        if precondition(ctx, step, live).status is Status.PASS:
            assert live is not None
            raise refuse_changed_but_passing(step, ctx.evaluate(finding.rule_id, live))
        users = aws.endpoints_running(region, source)
        if not users:
            copy = aws.endpoint_config_resource(_arn(finding.resource_id, new), finding.account)
            if self._passes(ctx, copy):
                return result(step, Outcome.ALREADY_APPLIED, f"no endpoint runs {source} any more and its KMS copy "
                                                              f"{new} exists (an earlier run): nothing changed")
            raise StepRefused(f"no endpoint runs {source}: an endpoint config is immutable, so an unused one cannot be "
                              "fixed; it serves nothing (delete it after review: the auditor never deletes)")
        aws.usable_key(key, region)
        ctx.reserve([arn for _, arn in users])
        request = copy_request(aws, region, source, new, volume_key=key)
        new_arn, made = create_or_reuse(aws, region, request)
        if made:
            ctx.created(ENDPOINT_CONFIG, new_arn, {"copy_of": source, "KmsKeyId": key})
        if not self._passes(ctx, aws.read(ENDPOINT_CONFIG, new_arn, account=finding.account)):
            raise StepFailed(f"the new endpoint config {new} does not pass {finding.rule_id}: no endpoint was moved")
        for name, arn in users:
            ctx.change(CHANGE_KIND, {"region": region, "endpoint": name}, new, arn)
        names = ", ".join(name for name, _ in users)
        return result(step, Outcome.APPLIED, f"{names} now run{'s' if len(users) == 1 else ''} {new} (KmsKeyId {key}), "
                                             f"which passes; {source} is kept for rollback")

    def change_problem(self, step: PlanStep, change: RecordedChange) -> str | None:
        """Only an endpoint in the config's region, moved from that config to its KMS copy."""
        finding, key = step.finding, str(step.inputs["kms_key_id"])
        region, source = arn_region(finding.resource_id), arn_name(finding.resource_id)
        new = derived_name(source, "kms", f"{finding.id}\n{key}")
        target = change.target
        if (change.kind != CHANGE_KIND or set(target) != {"region", "endpoint"} or target.get("region") != region
                or not isinstance(target.get("endpoint"), str)):
            return f"a change of {change.kind} {dict(target)}, where the step moves endpoints in {region}"
        if change.before != source or change.after != new:
            return f"a move from {change.before!r} to {change.after!r}, where the step moves from {source} to {new}"
        return None

    def _passes(self, ctx: StepContext, resource: Any) -> bool:
        return resource is not None and ctx.evaluate(self.rule_ids[0], resource).status is Status.PASS


def _arn(source_arn: str, name: str) -> str:
    return source_arn.rsplit("/", 1)[0] + "/" + name


_DISRUPTION = ("UpdateEndpoint replaces the endpoint's instances (blue/green: new instances take traffic once "
               "healthy, capacity stays); expect minutes per endpoint, no downtime")

REMEDIATOR = SageMakerEndpointConfigKms()
