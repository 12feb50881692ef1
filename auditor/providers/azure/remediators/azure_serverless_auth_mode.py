"""azure.ml.serverless_endpoint.auth_mode: switch a serverless endpoint to Microsoft Entra only (AAD).

A full PUT of the serverless endpoint with ``properties.authMode`` = ``AAD`` under If-Match, where
the API allows the change in place: when the service refuses it, the step says the endpoint must be
recreated with that auth mode and changes nothing. Key-based clients are refused from then on.
"""

from __future__ import annotations

from typing import ClassVar

from auditor.providers.azure.arm_fix import ArmPropertyFix
from auditor.remediate.model import Disruption


class AzureServerlessAuthMode(ArmPropertyFix):
    name: ClassVar[str] = "azure_serverless_auth_mode"
    rule_ids: ClassVar[tuple[str, ...]] = ("azure.ml.serverless_endpoint.auth_mode",)
    disruption: ClassVar[Disruption] = Disruption.BREAKING_CLIENTS
    resource_type: ClassVar[str] = "azure.ml.serverless_endpoint"
    label: ClassVar[str] = "serverless endpoint"
    path: ClassVar[str] = "properties.authMode"
    value: ClassVar[str] = "AAD"
    method: ClassVar[str] = "PUT"
    disruption_detail: ClassVar[str] = ("clients calling with the endpoint key get 401 from then on: give them the "
                                        "Azure AI Developer role (or serverlessEndpoints/score) and Entra tokens first")


REMEDIATOR = AzureServerlessAuthMode()
