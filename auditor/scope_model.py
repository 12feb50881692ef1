"""What the model layer knows of a policy's scope: which resources use which, and what a scope left out.

:data:`USES` and :data:`PART_OF` are the relations between resource types that a scope follows (and the
report's endpoint rows draw); :class:`PolicyScope` is the count a ScanResult carries of what a scope left
out, and :func:`describe` the one sentence every format prints of it. Applying a scope is the rules layer's
(:mod:`auditor.policy_scope`); this module imports nothing of the tool, so the model and the outputs can use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# resource type -> the keys of its ``related`` that name resources it uses (an id or a list of ids).
USES: Mapping[str, tuple[str, ...]] = {
    "aws.sagemaker.endpoint": ("endpoint_config", "inference_components"),
    "aws.sagemaker.endpoint_config": ("models", "kms_keys", "capture_bucket", "async_output_buckets"),
    "aws.sagemaker.model": ("execution_role",),
    "aws.sagemaker.inference_component": ("models",),
    "azure.ml.online_endpoint": ("workspace", "deployments"),
    "azure.ai.account": ("deployments",),
}
# resource type -> the ``related`` key naming the resource it is a part of. API Management's APIs, backends
# and products cannot carry tags of their own: they are in the scope of their service.
PART_OF: Mapping[str, str] = {
    "azure.apim.api": "service",
    "azure.apim.backend": "service",
    "azure.apim.product": "service",
}


@dataclass(frozen=True)
class PolicyScope:
    """What a policy's scope left out of the findings.

    ``out_of_scope``: the resources that lost at least one finding to the scope; ``by_rule``: per rule,
    the resources it gave no finding for; ``by_resource_type``: per type, the resources that lost at
    least one finding; ``findings`` and ``by_status``: the findings the scope dropped and their
    statuses as evaluated (what the scoped run does not show: ``{"FAIL": 12, ...}``).
    """

    out_of_scope: int = 0
    by_rule: Mapping[str, int] = field(default_factory=dict)
    by_resource_type: Mapping[str, int] = field(default_factory=dict)
    findings: int = 0
    by_status: Mapping[str, int] = field(default_factory=dict)

    def sentence(self) -> str:
        return describe(self.out_of_scope, self.findings, self.by_status)


def describe(out_of_scope: int, findings: int, by_status: Mapping[str, int]) -> str:
    """``12 resources out of the policy's scope (40 findings not reported: 3 FAIL, 37 PASS)``: the one
    sentence every format prints (from a :class:`PolicyScope` or findings.json's ``policy_scope``)."""
    noun = "resource" if out_of_scope == 1 else "resources"
    text = f"{out_of_scope} {noun} out of the policy's scope"
    if findings:
        statuses = ", ".join(f"{n} {s}" for s, n in by_status.items())
        text += f" ({findings} finding{'s' if findings != 1 else ''} not reported: {statuses})"
    return text
