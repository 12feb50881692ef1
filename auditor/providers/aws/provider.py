"""The AWS provider: SageMaker endpoints, endpoint configs and models, and the roles, keys and buckets they use.

Importing this module imports no AWS SDK: collection, connection and policies import their modules
when called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from auditor.identity import resource_key
from auditor.providers import CliOption, CliSpec, Provider, Purpose

if TYPE_CHECKING:
    from auditor.model import Inventory
    from auditor.progress import Progress
    from auditor.providers import ProviderOptions
    from auditor.providers.aws.collect import AwsOptions
    from auditor.providers.aws.live import AwsContext
    from auditor.providers.aws.org import AwsOrgOptions


CLI = CliSpec(
    label="AWS",
    help="Scan AWS SageMaker endpoints, configs, models and the roles, keys and buckets they use.",
    options=(
        CliOption("regions", ("--region",), "AWS region to scan (repeatable). Default: every enabled region where "
                  "SageMaker is offered.", multiple=True),
        CliOption("profile", ("--profile",), "AWS profile from the shared config (default: the standard chain)."),
        CliOption("org", ("--org",), "Scan every ACTIVE account of the organisation (organizations:ListAccounts, "
                  "from the management or a delegated administrator account) through --role-name.", flag=True),
        CliOption("role_name", ("--role-name",), "The role assumed in each member account (--org, --account): "
                  "arn:<partition>:iam::<account>:role/NAME. The caller's own account uses the caller's credentials."),
        CliOption("external_id", ("--external-id",), "The sts:ExternalId the member role's trust policy requires."),
        CliOption("accounts", ("--account",), "Account id to scan through --role-name (repeatable); with --org, "
                  "only these of the organisation.", multiple=True),
        CliOption("exclude_accounts", ("--exclude-account",), "Account id to leave out of --org (repeatable).",
                  multiple=True),
    ),
)


class AwsProvider:
    name: str = "aws"
    cli: CliSpec = CLI

    def options(self, values: Mapping[str, Any]) -> AwsOptions | AwsOrgOptions:
        from auditor.providers.aws.collect import AwsOptions
        from auditor.providers.aws.options import org_options
        from auditor.regions import check_aws_regions

        regions = tuple(values.get("regions") or ())
        check_aws_regions(regions)  # a mistyped --region is exit 3 now, not minutes of retries
        base = AwsOptions(regions=regions, profile=values.get("profile"))
        return org_options(base, values) or base

    def collect(self, options: AwsOptions | AwsOrgOptions, progress: Progress | None = None) -> Inventory:
        from auditor.providers.aws.collect import collect_aws
        from auditor.providers.aws.org import AwsOrgOptions, collect_org

        if isinstance(options, AwsOrgOptions):
            return collect_org(options, progress)
        return collect_aws(options, progress)

    def connect(self, options: ProviderOptions) -> AwsContext:
        from auditor.providers.aws.live import AwsContext

        return AwsContext(options)

    def permissions(self, purpose: Purpose) -> dict[str, Any]:
        from auditor.providers.aws.permissions import remediation_policy, scan_policy

        return remediation_policy() if purpose == "remediate" else scan_policy()

    def resource_key(self, resource_id: str) -> str:
        return resource_key(self.name, resource_id)


PROVIDER: Provider = AwsProvider()
