"""azure.ml.online_endpoint.auth_mode: switch an online endpoint from keys to Microsoft Entra tokens (AADToken).

A full PUT of the endpoint document with ``properties.authMode`` = ``AADToken`` under If-Match: the
endpoint's PATCH carries only tags and identity. Clients sending the endpoint key are refused from
then on: move them to Entra tokens (role AzureML Data Scientist, or a custom role with
``onlineEndpoints/score/action``) first. If the service refuses the change in place, the step says
the endpoint must be recreated and changes nothing.
"""

from __future__ import annotations

from typing import ClassVar

from auditor.providers.azure.arm_fix import ArmPropertyFix
from auditor.remediate.model import Disruption


class AzureOnlineEndpointAuthMode(ArmPropertyFix):
    name: ClassVar[str] = "azure_online_endpoint_auth_mode"
    rule_ids: ClassVar[tuple[str, ...]] = ("azure.ml.online_endpoint.auth_mode",)
    disruption: ClassVar[Disruption] = Disruption.BREAKING_CLIENTS
    resource_type: ClassVar[str] = "azure.ml.online_endpoint"
    label: ClassVar[str] = "online endpoint"
    path: ClassVar[str] = "properties.authMode"
    value: ClassVar[str] = "AADToken"
    method: ClassVar[str] = "PUT"
    disruption_detail: ClassVar[str] = ("clients calling with the endpoint key get 401 from then on: move them to "
                                        "Entra tokens first; deployments keep running")


REMEDIATOR = AzureOnlineEndpointAuthMode()
