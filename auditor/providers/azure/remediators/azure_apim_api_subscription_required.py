"""azure.apim.api.subscription_required: an API Management API requires a subscription key.

``PATCH`` of ``properties.subscriptionRequired`` = true under If-Match (API Management requires it).
Callers without a subscription key for a product or the API are refused (401) from then on.
"""

from __future__ import annotations

from typing import Any, ClassVar

from auditor.providers.azure.apim import API_VERSION
from auditor.providers.azure.arm_fix import ArmPropertyFix
from auditor.remediate.model import Disruption


class AzureApimApiSubscriptionRequired(ArmPropertyFix):
    name: ClassVar[str] = "azure_apim_api_subscription_required"
    rule_ids: ClassVar[tuple[str, ...]] = ("azure.apim.api.subscription_required",)
    disruption: ClassVar[Disruption] = Disruption.BREAKING_CLIENTS
    resource_type: ClassVar[str] = "azure.apim.api"
    label: ClassVar[str] = "API Management API"
    path: ClassVar[str] = "properties.subscriptionRequired"
    value: ClassVar[Any] = True
    method: ClassVar[str] = "PATCH"
    api_version: ClassVar[str] = API_VERSION
    disruption_detail: ClassVar[str] = ("callers without a subscription key get 401 from then on: give them keys "
                                        "(a product subscription) first")


REMEDIATOR = AzureApimApiSubscriptionRequired()
