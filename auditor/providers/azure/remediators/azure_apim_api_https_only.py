"""azure.apim.api.https_only: an API Management API accepts encrypted protocols only.

``PATCH`` of ``properties.protocols`` under If-Match (API Management requires it): ``["https"]``, or
``["wss"]`` for a WebSocket API (one whose unencrypted protocol is ``ws``). Clients calling the gateway
over plain HTTP (or WS) are refused from then on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from auditor.providers.azure.apim import API_VERSION
from auditor.providers.azure.arm_fix import ArmPropertyFix
from auditor.remediate.model import Disruption


class AzureApimApiHttpsOnly(ArmPropertyFix):
    name: ClassVar[str] = "azure_apim_api_https_only"
    rule_ids: ClassVar[tuple[str, ...]] = ("azure.apim.api.https_only",)
    disruption: ClassVar[Disruption] = Disruption.BREAKING_CLIENTS
    resource_type: ClassVar[str] = "azure.apim.api"
    label: ClassVar[str] = "API Management API"
    path: ClassVar[str] = "properties.protocols"
    value: ClassVar[Any] = ["https"]
    method: ClassVar[str] = "PATCH"
    api_version: ClassVar[str] = API_VERSION
    disruption_detail: ClassVar[str] = ("clients calling the gateway over plain HTTP (or WS) are refused from then on: "
                                        "move them to HTTPS (WSS) first")

    def value_for(self, evidence: Mapping[str, Any]) -> Any:
        protocols = evidence.get(self.path)
        websocket = isinstance(protocols, list) and any(str(p).lower() in ("ws", "wss") for p in protocols)
        return ["wss"] if websocket else ["https"]


REMEDIATOR = AzureApimApiHttpsOnly()
