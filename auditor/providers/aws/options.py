"""The command line's organisation options of ``auditor scan aws``, checked before any call (exit 3)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from auditor.errors import ConfigError
from auditor.providers.aws import accounts as aws_accounts
from auditor.providers.aws.collect import AwsOptions
from auditor.providers.aws.org import AwsOrgOptions


def org_options(base: AwsOptions, values: Mapping[str, Any]) -> AwsOrgOptions | None:
    """``--org``, ``--role-name``, ``--external-id``, ``--account``, ``--exclude-account`` checked; None when none
    is given (the caller's account alone, as before)."""
    org = bool(values.get("org"))
    role = values.get("role_name")
    external_id = values.get("external_id")
    named = aws_accounts.check_account_ids(values.get("accounts") or (), "--account")
    excluded = aws_accounts.check_account_ids(values.get("exclude_accounts") or (), "--exclude-account")
    if not (org or named):
        for flag, value in (("--role-name", role), ("--external-id", external_id),
                            ("--exclude-account", excluded)):
            if value:
                raise ConfigError(f"{flag} applies to a scan of several accounts: add --org or --account ID",
                                  field=flag)
        return None
    if not role:
        raise ConfigError("--org and --account need --role-name NAME, the role to assume in each member account "
                          "(print its policy and a StackSet template: auditor permissions aws --org --role-name NAME)",
                          field="--role-name")
    if excluded and not org:
        raise ConfigError("--exclude-account leaves accounts out of --org: without --org, name only the accounts "
                          "to scan with --account", field="--exclude-account")
    return AwsOrgOptions(
        base=base, role_name=aws_accounts.check_role_name(str(role)),
        external_id=aws_accounts.check_external_id(str(external_id)) if external_id else None,
        org=org, accounts=named, exclude=excluded,
    )


def org_permission_options(provider: str, org: bool, for_remediation: bool, role_name: str | None,
                           external_id: str | None, trusted_principal: str | None) -> dict[str, Any]:
    """``auditor permissions aws --org --role-name NAME [...]`` checked and answered; ConfigError otherwise."""
    from auditor.providers.aws.permissions import org_permissions

    if provider != "aws" or for_remediation or not org:
        raise ConfigError("--org, --role-name, --external-id and --trusted-principal print what 'auditor scan aws "
                          "--org' needs: use them as 'auditor permissions aws --org --role-name NAME'", field="--org")
    if not role_name:
        raise ConfigError("--org needs --role-name NAME, the role the scan assumes in each member account",
                          field="--role-name")
    if trusted_principal and not _PRINCIPAL.fullmatch(trusted_principal):
        raise ConfigError("a trusted principal is an account id (12 digits) or an IAM role or user ARN",
                          field="--trusted-principal")
    return org_permissions(role_name, external_id, trusted_principal)


_PRINCIPAL = re.compile(r"\d{12}|arn:aws[a-z-]*:(?:iam|sts)::\d{12}:[\w+=,.@/-]+")
