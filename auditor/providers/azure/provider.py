"""The Azure provider: Azure Machine Learning workspaces, computes, endpoints, deployments, identities, and the
API Management gateways in front of them.

Importing this module imports no Azure SDK: collection, connection and policies import their modules
when called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from auditor.identity import resource_key
from auditor.providers import CliOption, CliSpec, Provider, Purpose
from auditor.providers.azure.session import CREDENTIAL_KINDS
from auditor.shard import WHOLE

if TYPE_CHECKING:
    from auditor.model import Inventory
    from auditor.progress import Progress
    from auditor.providers import ProviderOptions
    from auditor.providers.azure.collect import AzureOptions
    from auditor.providers.azure.live import AzureContext


CLI = CliSpec(
    label="Azure",
    help="Scan Azure Machine Learning workspaces, endpoints, deployments and identities.",
    options=(
        CliOption("subscriptions", ("--subscription",), "Subscription id to scan (repeatable). Default: every "
                  "subscription the credential sees.", multiple=True),
        CliOption("management_group", ("--management-group",), "Management group id: scan every subscription "
                  "under it, nested groups included (with --subscription: only those of them named), and count the "
                  "role assignments of its groups and subscriptions for identity least privilege."),
        CliOption("credential", ("--credential",), "How azure-identity authenticates.", choices=CREDENTIAL_KINDS,
                  default="default"),
        CliOption("arm_endpoint", ("--arm-endpoint",), "Resource Manager endpoint (sovereign clouds, Azure Stack, "
                  "a local test server); also AUDITOR_ARM_ENDPOINT.", envvar="AUDITOR_ARM_ENDPOINT"),
    ),
)


class AzureProvider:
    name: str = "azure"
    cli: CliSpec = CLI

    def options(self, values: Mapping[str, Any]) -> AzureOptions:
        from auditor.providers.azure.collect import AzureOptions

        return AzureOptions(subscriptions=tuple(values.get("subscriptions") or ()),
                            credential=str(values.get("credential") or "default"),
                            arm_endpoint=values.get("arm_endpoint"),
                            management_group=values.get("management_group") or None,
                            shard=values.get("shard") or WHOLE)

    def collect(self, options: AzureOptions, progress: Progress | None = None) -> Inventory:
        from auditor.providers.azure.collect import collect_azure

        return collect_azure(options, progress)

    def connect(self, options: ProviderOptions) -> AzureContext:
        from auditor.providers.azure.live import AzureContext

        return AzureContext(options)

    def permissions(self, purpose: Purpose) -> dict[str, Any]:
        from auditor.providers.azure.permissions import remediation_role, scan_role

        return remediation_role() if purpose == "remediate" else scan_role()

    def resource_key(self, resource_id: str) -> str:
        return resource_key(self.name, resource_id)


PROVIDER: Provider = AzureProvider()
