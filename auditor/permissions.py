"""Least-privilege policies generated from what the collectors declare."""

from __future__ import annotations

from typing import Any


def aws_policy() -> dict[str, Any]:
    """The read-only IAM policy `auditor scan aws` needs, from the collectors' PERMISSIONS."""
    from auditor.collect_aws import PERMISSIONS

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


def azure_role() -> dict[str, Any]:
    """The Azure custom role (read actions only) `auditor scan azure` needs, from the collectors' PERMISSIONS."""
    from auditor.collect_azure import PERMISSIONS

    return {
        "Name": "auditor read-only scanner",
        "IsCustom": True,
        "Description": "Reads what auditor scans: Azure ML workspaces, computes, endpoints, deployments, "
                       "v1 services, role assignments and definitions. No write, no key listing.",
        "Actions": sorted(set(PERMISSIONS)),
        "NotActions": [],
        "DataActions": [],
        "NotDataActions": [],
        "AssignableScopes": ["/subscriptions/00000000-0000-0000-0000-000000000000"],
    }
