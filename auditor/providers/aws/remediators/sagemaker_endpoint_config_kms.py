"""aws.sagemaker.endpoint_config.kms_volume_encryption: move the config's endpoints to a KMS-encrypted copy.

The finding is about an endpoint config, which is immutable. The fix creates a copy with ``KmsKeyId``
set to the key the operator gave (``--param volume_kms_key_id`` or ``kms_key_id``; never a key of its
own), points every endpoint running the config at the copy (UpdateEndpoint: SageMaker replaces the
instances behind the endpoint, blue/green, without downtime) and waits until each is InService.
The old config is kept for rollback, so its own finding stays FAIL until the team deletes it once
the change is verified: the auditor deletes only configs it created itself and nothing uses (its
copy, when the step fails or is rolled back). A config no endpoint runs cannot be fixed in
place and is refused with that explanation.

Only a config whose variants all have EBS volumes gets the automatic fix. Variants on instance types
with local NVMe instance storage cannot take a KmsKeyId (the rule's check classifies each variant and
records it in the evidence): a config with only such variants is NOT_APPLICABLE and gets no step; a
config that mixes them with EBS-backed variants gets a manual procedure, because CreateEndpointConfig
is documented to reject its copy with a key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from auditor.checks.sagemaker_volume_kms import EBS, INSTANCE_STORAGE
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
        "sagemaker:ListTags", "sagemaker:CreateEndpointConfig", "sagemaker:UpdateEndpoint",
        "sagemaker:DeleteEndpointConfig")  # a failed step deletes the config it created, when nothing uses it
    permissions: ClassVar[tuple[str, ...]] = actions(calls)
    # A data-capture fix copies whatever config an endpoint runs: run first, or it would move the endpoint to a
    # copy without the volume key and leave this fix no endpoint to move (see auditor.remediate.plan).
    runs_before: ClassVar[tuple[str, ...]] = ("sagemaker_capture_kms",)

    def plan(self, finding: Finding, params: PlanParams) -> PlanStep:
        local, ebs = finding.evidence.get(INSTANCE_STORAGE), finding.evidence.get(EBS)
        if not isinstance(local, dict) or not isinstance(ebs, dict):
            return manual_step(finding, "", remediator=self.name, disruption=self.disruption,
                               disruption_detail=_DISRUPTION, reason="automatic fix not planned: the findings file "
                               "does not say which variants have an EBS volume (a scan by an earlier auditor)",
                               procedure=("Re-scan with this auditor version, then re-plan.",))
        if local:
            return self._split(finding, local, ebs)
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

    def _split(self, finding: Finding, local: Mapping[str, Any], ebs: Mapping[str, Any]) -> PlanStep:
        """A config with variants on instance-storage types: CreateEndpointConfig rejects a KmsKeyId for it."""
        name, region = finding.resource_name, finding.region
        listing = ", ".join(f"{v} ({t})" for v, t in local.items())
        return manual_step(
            finding, "", remediator=self.name, disruption=Disruption.BREAKING_CLIENTS,
            disruption_detail="moving variants to another endpoint changes where clients send requests",
            reason=f"automatic fix not planned: variants {listing} run on instance types with local NVMe instance "
                   "storage; the CreateEndpointConfig reference says a KmsKeyId cannot be requested for such a "
                   "config (AWS encrypts those local volumes with a hardware module), so a copy with a key could be "
                   "rejected",
            procedure=(
                f"Decide how to separate the storage kinds of {name}: its EBS-backed variants "
                f"{', '.join(f'{v} ({t})' for v, t in ebs.items())} need a KmsKeyId, its variants {listing} cannot "
                "take one.",
                f"Either move the instance-storage variants to an endpoint of their own (aws sagemaker "
                f"create-endpoint-config without KmsKeyId, create-endpoint, move clients), or move them to an "
                f"EBS-backed instance type; then copy {name} with KmsKeyId set (aws sagemaker describe-endpoint-config "
                f"--endpoint-config-name {name} --region {region}; create-endpoint-config) and aws sagemaker "
                "update-endpoint each endpoint using it.",
                "Re-scan: the old config keeps its finding until you delete it after verifying.",
            ))

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
            undo=f"UpdateEndpoint each endpoint back to {source} (kept: the auditor did not create it) and wait "
                 f"until InService; then delete {new}, which apply created, once no endpoint runs it (kept and "
                 "reported when one does)",
            undo_calls=[call("sagemaker:UpdateEndpoint", "each updated endpoint", EndpointConfigName=source,
                             RetainAllVariantProperties=True),
                        call("sagemaker:DeleteEndpointConfig", new, note="only when no endpoint runs it or is "
                             "moving to it, and it carries the tag auditor:copy-of")],
            disruption_detail=_DISRUPTION,
            precondition_text=f"re-read {source}: it must still lack KmsKeyId; the endpoints running it are found at "
                              "apply (the findings file does not link them), each must be InService",
            verification=f"{new} passes {finding.rule_id} and every endpoint that ran {source} now runs {new}",
            notes=(f"{source} is kept for rollback, so its own finding stays FAIL until you delete it after "
                   "verifying; the auditor deletes only what it created itself and nothing uses.",
                   "Every variant of the config runs on an EBS-backed instance type (the scan classified them), so "
                   "the copy can take a KmsKeyId; apply re-reads the config and refuses it if that changed."),
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
                              "fixed; it serves nothing (delete it after review: the auditor deletes only configs it "
                              "created)")
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
