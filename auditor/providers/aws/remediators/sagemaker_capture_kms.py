"""aws.sagemaker.endpoint.data_capture_encrypted: move the endpoint to a copy of its config whose capture has a key.

The finding is about an endpoint whose data capture has no KMS key. The fix copies the config the
endpoint runs at apply time (read then: the findings file does not name it), adds
``DataCaptureConfig.KmsKeyId`` (``--param capture_kms_key_id`` or ``kms_key_id``; never a key of its
own), points the endpoint at the copy with UpdateEndpoint and waits until it is InService. The old
config is kept: rollback points the endpoint back at it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from auditor.model import Finding, Status
from auditor.providers.aws import resource_types as declared
from auditor.providers.aws.config_copy import copy_request, create_or_reuse, derived_name
from auditor.providers.aws.live import arn_name, arn_region, connected
from auditor.providers.aws.resource_types import actions
from auditor.providers.aws.sagemaker import ENDPOINT, ENDPOINT_CONFIG
from auditor.remediate.context import StepContext, precondition, refuse_changed_but_passing, result, verify
from auditor.remediate.fixes import automatic_step, call, change_row
from auditor.remediate.manual import manual_step
from auditor.remediate.model import Disruption, Outcome, PlanStep, RecordedChange, StepResult, same_json
from auditor.remediate.params import PlanParams

CHANGE_KIND = "aws.sagemaker.endpoint.config"


class SageMakerCaptureKms:
    name: ClassVar[str] = "sagemaker_capture_kms"
    provider: ClassVar[str] = "aws"
    rule_ids: ClassVar[tuple[str, ...]] = ("aws.sagemaker.endpoint.data_capture_encrypted",)
    disruption: ClassVar[Disruption] = Disruption.ROLLING
    # Every call apply and rollback make, the live read of the endpoint included; permissions follow from them.
    calls: ClassVar[tuple[str, ...]] = (
        *declared.ENDPOINT.live, "kms:DescribeKey", "sagemaker:DescribeEndpointConfig", "sagemaker:ListTags",
        "sagemaker:CreateEndpointConfig", "sagemaker:UpdateEndpoint",
        "sagemaker:ListEndpoints", "sagemaker:DeleteEndpointConfig")  # a failed step's cleanup of its config
    permissions: ClassVar[tuple[str, ...]] = actions(calls)

    def plan(self, finding: Finding, params: PlanParams) -> PlanStep:
        key, why = params.kms_key("capture_kms_key_id", finding.region)
        if key is None:
            return manual_step(finding, "", remediator=self.name, reason=f"automatic fix not planned: {why}",
                               disruption=self.disruption, disruption_detail=_DISRUPTION, procedure=(
                "Choose a customer managed, symmetric KMS key in " + finding.region + "; the endpoint's execution "
                "role needs kms:GenerateDataKey on it.",
                f"Re-plan with --param capture_kms_key_id=KEY_ARN and apply, or by hand: copy the config endpoint "
                f"{finding.resource_name} runs with DataCaptureConfig.KmsKeyId set, then aws sagemaker update-endpoint "
                f"--endpoint-name {finding.resource_name} --endpoint-config-name COPY --retain-all-variant-properties.",
            ))
        return self.describe(finding, {"kms_key_id": key})

    def describe(self, finding: Finding, inputs: Mapping[str, Any]) -> PlanStep:
        key, endpoint = str(inputs["kms_key_id"]), finding.resource_name
        new = "CURRENT-cap-XXXXXXXX (named at apply after the config the endpoint then runs and the key)"
        return automatic_step(
            self, finding, {"kms_key_id": key},
            title=f"Encrypt the data captured by endpoint {endpoint} with KMS key {key}",
            changes=[
                change_row(f"endpoint {endpoint} (through a new copy of its config)", "DataCaptureConfig.KmsKeyId",
                           finding.evidence.get("DataCaptureConfig.KmsKeyId"), key),
                change_row(f"endpoint {endpoint}", "EndpointConfigName", "CURRENT (read at apply)", new,
                           from_evidence=False),
            ],
            api_calls=[
                call("kms:DescribeKey", key, note="the key must exist in the region, be enabled, customer managed "
                     "and symmetric; none is created"),
                call("sagemaker:DescribeEndpoint", endpoint, note="until InService; gives the config it runs"),
                call("sagemaker:DescribeEndpointConfig", "CURRENT"),
                call("sagemaker:ListTags", "CURRENT"),
                call("sagemaker:CreateEndpointConfig", new, note="every field of CURRENT CreateEndpointConfig "
                     "accepts, its tags, plus DataCaptureConfig.KmsKeyId and the tag auditor:copy-of=CURRENT"),
                call("sagemaker:UpdateEndpoint", endpoint, EndpointName=endpoint, RetainAllVariantProperties=True),
                call("sagemaker:DescribeEndpoint", endpoint, note="until InService"),
            ],
            undo=f"UpdateEndpoint {endpoint} back to CURRENT (kept: the auditor did not create it) and wait until "
                 f"InService; then delete {new}, which apply created, once no endpoint runs it (kept and reported "
                 "when one does)",
            undo_calls=[call("sagemaker:UpdateEndpoint", endpoint, EndpointName=endpoint,
                             EndpointConfigName="CURRENT", RetainAllVariantProperties=True),
                        call("sagemaker:DeleteEndpointConfig", new, note="only when no endpoint runs it or is "
                             "moving to it, and it carries the tag auditor:copy-of")],
            disruption_detail=_DISRUPTION,
            notes=("Captured objects already written keep their encryption; new ones use the key. The endpoint's "
                   "execution role needs kms:GenerateDataKey on it, or capture stops.",),
        )

    def apply(self, step: PlanStep, ctx: StepContext) -> StepResult:
        finding, aws = step.finding, connected(ctx.providers)
        region, endpoint = arn_region(finding.resource_id), arn_name(finding.resource_id)
        key = str(step.inputs["kms_key_id"])
        live = aws.read(ENDPOINT, finding.resource_id, account=finding.account)
        decided = precondition(ctx, step, live)
        assert live is not None
        capture = live.document.get("DataCaptureConfig") or {}
        if decided.status is Status.PASS:
            if capture.get("KmsKeyId") == key:
                return result(step, Outcome.ALREADY_APPLIED, f"{endpoint} already captures with KMS key {key}")
            raise refuse_changed_but_passing(step, decided)
        current = str(live.document["EndpointConfigName"])
        new = derived_name(current, "cap", f"{current}\n{key}")  # endpoints sharing a config share its copy
        aws.usable_key(key, region)
        ctx.reserve([finding.resource_id])
        request = copy_request(aws, region, current, new, capture_key=key)
        new_arn, made = create_or_reuse(aws, region, request)
        if made:
            ctx.created(ENDPOINT_CONFIG, new_arn, {"copy_of": current, "DataCaptureConfig.KmsKeyId": key})
        ctx.change(CHANGE_KIND, {"region": region, "endpoint": endpoint}, new, finding.resource_id)
        return verify(ctx, step, aws.read(ENDPOINT, finding.resource_id, account=finding.account),
                      f"{endpoint} now runs {new} (capture KmsKeyId {key}); {current} is kept for rollback")


    def change_problem(self, step: PlanStep, change: RecordedChange) -> str | None:
        """Only this endpoint, moved from the config it ran to that config's capture-key copy (named after both)."""
        rid, key = step.finding.resource_id, str(step.inputs["kms_key_id"])
        target = {"region": arn_region(rid), "endpoint": arn_name(rid)}
        if change.kind != CHANGE_KIND or not same_json(change.target, target):
            return f"a change of {change.kind} {dict(change.target)}, where the step moves endpoint {target}"
        if not isinstance(change.before, str) or change.after != derived_name(change.before, "cap",
                                                                             f"{change.before}\n{key}"):
            return (f"a move from {change.before!r} to {change.after!r}, where the step moves an endpoint only to the "
                    f"copy of its config with capture key {key}")
        return None


_DISRUPTION = ("UpdateEndpoint replaces the endpoint's instances (blue/green: new instances take traffic once "
               "healthy, capacity stays); expect minutes, no downtime")

REMEDIATOR = SageMakerCaptureKms()
