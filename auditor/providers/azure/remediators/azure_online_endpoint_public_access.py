"""azure.ml.online_endpoint.public_network_access_disabled: close an online endpoint's public scoring path.

A full PUT of the endpoint document with ``properties.publicNetworkAccess`` = ``Disabled`` under
If-Match (the endpoint's PATCH carries only tags and identity). Clients must reach the workspace
through its private endpoint first. If the service refuses the change in place, the step says the
endpoint must be recreated and changes nothing.
"""

from __future__ import annotations

from typing import ClassVar

from auditor.providers.azure.arm_fix import ArmPropertyFix
from auditor.remediate.model import Disruption


class AzureOnlineEndpointPublicAccess(ArmPropertyFix):
    name: ClassVar[str] = "azure_online_endpoint_public_access"
    rule_ids: ClassVar[tuple[str, ...]] = ("azure.ml.online_endpoint.public_network_access_disabled",)
    disruption: ClassVar[Disruption] = Disruption.BREAKING_CLIENTS
    resource_type: ClassVar[str] = "azure.ml.online_endpoint"
    label: ClassVar[str] = "online endpoint"
    path: ClassVar[str] = "properties.publicNetworkAccess"
    value: ClassVar[str] = "Disabled"
    method: ClassVar[str] = "PUT"
    disruption_detail: ClassVar[str] = ("clients calling the scoring URI over the internet are refused from then on; "
                                        "those on the workspace's private endpoint are not affected")


REMEDIATOR = AzureOnlineEndpointPublicAccess()
