"""azure.ml.workspace.public_network_access_disabled: close a workspace's public network access (PATCH).

``PATCH`` of ``properties.publicNetworkAccess`` = ``Disabled`` under If-Match. Studio, SDK and CLI
users must then reach the workspace through its private endpoint.
"""

from __future__ import annotations

from typing import ClassVar

from auditor.providers.azure.arm_fix import ArmPropertyFix
from auditor.remediate.model import Disruption


class AzureWorkspacePublicAccess(ArmPropertyFix):
    name: ClassVar[str] = "azure_workspace_public_access"
    rule_ids: ClassVar[tuple[str, ...]] = ("azure.ml.workspace.public_network_access_disabled",)
    disruption: ClassVar[Disruption] = Disruption.BREAKING_CLIENTS
    resource_type: ClassVar[str] = "azure.ml.workspace"
    label: ClassVar[str] = "workspace"
    path: ClassVar[str] = "properties.publicNetworkAccess"
    value: ClassVar[str] = "Disabled"
    method: ClassVar[str] = "PATCH"
    disruption_detail: ClassVar[str] = ("users and pipelines reaching the workspace over the internet (studio, SDK, "
                                        "CLI) are refused from then on; add a private endpoint first")
    notes: ClassVar[tuple[str, ...]] = ("Without a private endpoint the workspace becomes unreachable for its users: "
                                        "check azure.ml.workspace.private_link passes first.",)


REMEDIATOR = AzureWorkspacePublicAccess()
