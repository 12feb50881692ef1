"""The least-privilege IAM policies of AWS: read-only for the scan, separate write permissions for the fixes.

The scan's actions are generated from the declared resource types (:mod:`auditor.providers.aws.resource_types`);
the fixes' are the union of the AWS remediators' permissions, each derived from the API calls it declares.
"""

from __future__ import annotations

from typing import Any


def scan_policy() -> dict[str, Any]:
    """The read-only IAM policy `auditor scan aws` needs, from the declared resource types."""
    from auditor.providers.aws.collect import PERMISSIONS

    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AuditorReadOnlyScan",
                "Effect": "Allow",
                "Action": sorted(set(PERMISSIONS)),
                "Resource": "*",
            }
        ],
    }


def remediation_policy() -> dict[str, Any]:
    """The IAM policy for the remediation job, separate from the read-only scan policy."""
    from auditor.remediate import write_permissions

    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "AuditorRemediation", "Effect": "Allow", "Action": list(write_permissions("aws")), "Resource": "*"}]}


def org_permissions(role_name: str, external_id: str | None = None,
                    trusted_principal: str | None = None) -> dict[str, Any]:
    """What ``auditor scan aws --org --role-name ROLE_NAME`` needs: the member role's policy (the scan policy),
    the caller's (list the organisation's accounts, assume the role in each), and a CloudFormation template
    for a StackSet that deploys the role in every member account (``member_role_template``)."""
    from auditor.providers.aws.accounts import check_external_id, check_role_name
    from auditor.providers.aws.resource_types import ORG_CALLS, actions

    role_name = check_role_name(role_name)
    if external_id:
        external_id = check_external_id(external_id)
    path, _, name = role_name.rpartition("/")
    member = scan_policy()
    org_actions = actions(ORG_CALLS)
    caller = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AuditorListAccounts", "Effect": "Allow",
             "Action": [a for a in org_actions if not a.startswith("sts:")], "Resource": "*"},
            {"Sid": "AuditorAssumeMemberRole", "Effect": "Allow",
             "Action": [a for a in org_actions if a.startswith("sts:")],
             "Resource": f"arn:aws:iam::*:role/{role_name}"},
            # The caller's own account is read with the caller's credentials: the scan's reads too.
            {**member["Statement"][0], "Sid": "AuditorReadOnlyScanOwnAccount"},
        ],
    }
    return {
        "member_role_policy": member,
        "caller_policy": caller,
        "member_role_template": _template(name, f"/{path}/" if path else "/", member, external_id,
                                          trusted_principal),
    }


def _template(name: str, path: str, policy: dict[str, Any], external_id: str | None,
              trusted_principal: str | None) -> dict[str, Any]:
    """A CloudFormation template (JSON, which CloudFormation and YAML parsers read) deploying the member role."""
    trusted: dict[str, Any] = {
        "Type": "String",
        "Description": "Who runs the scan: the caller's account id (any principal of it allowed to assume the role) "
                       "or the ARN of its role or user",
        "AllowedPattern": r"^(\d{12}|arn:aws[a-z-]*:(iam|sts)::\d{12}:[\w+=,.@/-]+)$",
    }
    if trusted_principal:
        trusted["Default"] = trusted_principal
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": {"Ref": "TrustedPrincipal"}},
        "Action": "sts:AssumeRole",
    }
    if external_id:
        # An external id is not a secret (it is readable in the role's trust policy): it guards against the
        # confused deputy, and the scan sends it (--external-id).
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"The read-only role auditor assumes in each member account ({name}); deploy it to the "
                       "organisation with a service-managed StackSet.",
        "Parameters": {"TrustedPrincipal": trusted},
        "Resources": {
            "AuditorScanRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": name,
                    "Path": path,
                    "MaxSessionDuration": 3600,
                    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
                    "Policies": [{"PolicyName": "AuditorReadOnlyScan", "PolicyDocument": policy}],
                },
            },
        },
        "Outputs": {"RoleArn": {"Value": {"Fn::GetAtt": ["AuditorScanRole", "Arn"]}}},
    }
