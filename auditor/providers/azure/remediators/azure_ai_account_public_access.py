"""azure.ai.account.public_network_access_disabled: close an Azure AI Services / Azure OpenAI account's public path.

``PATCH`` of ``properties.publicNetworkAccess`` = ``Disabled`` under If-Match, at the collector's api-version:
the account then answers only through its private endpoints (its network ACL is left as it was, for the
rollback). Callers must reach it through a private endpoint first.
"""

from __future__ import annotations

from typing import ClassVar

from auditor.providers.azure.ai import API_VERSION
from auditor.providers.azure.arm_fix import ArmPropertyFix
from auditor.remediate.model import Disruption


class AzureAiAccountPublicAccess(ArmPropertyFix):
    name: ClassVar[str] = "azure_ai_account_public_access"
    rule_ids: ClassVar[tuple[str, ...]] = ("azure.ai.account.public_network_access_disabled",)
    disruption: ClassVar[Disruption] = Disruption.BREAKING_CLIENTS
    resource_type: ClassVar[str] = "azure.ai.account"
    label: ClassVar[str] = "AI Services account"
    path: ClassVar[str] = "properties.publicNetworkAccess"
    value: ClassVar[str] = "Disabled"
    method: ClassVar[str] = "PATCH"
    api_version: ClassVar[str] = API_VERSION
    disruption_detail: ClassVar[str] = ("callers reaching the account over the internet (including allowed IP ranges) "
                                        "are refused from then on; those on its private endpoint are not affected")
    notes: ClassVar[tuple[str, ...]] = ("Without a private endpoint the account becomes unreachable for every caller: "
                                        "add one and move the callers first.",)


REMEDIATOR = AzureAiAccountPublicAccess()
