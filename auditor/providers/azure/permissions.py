"""The least-privilege Azure custom roles: read actions only for the scan, a separate role for the fixes.

The scan's actions are generated from the declared resource types (:mod:`auditor.providers.azure.resource_types`);
the fixes' are the union of the Azure remediators' permissions, each derived from the calls it declares.
"""

from __future__ import annotations

from typing import Any


def scan_role() -> dict[str, Any]:
    """The Azure custom role (read actions only) `auditor scan azure` needs, from the declared resource types."""
    from auditor.providers.azure.collect import PERMISSIONS

    return {
        "Name": "auditor read-only scanner",
        "IsCustom": True,
        "Description": "Reads what auditor scans: Azure ML workspaces, computes, endpoints, deployments, "
                       "v1 services, AI Services accounts, their deployments and content filter policies, "
                       "role assignments and definitions; with --management-group, the group, its "
                       "descendants and the role assignments at its scopes (assign the role at the group: its "
                       "subscriptions inherit it). No write, no key listing.",
        "Actions": sorted(set(PERMISSIONS)),
        "NotActions": [],
        "DataActions": [],
        "NotDataActions": [],
        "AssignableScopes": ["/subscriptions/00000000-0000-0000-0000-000000000000",
                             "/providers/Microsoft.Management/managementGroups/00000000-0000-0000-0000-000000000000"],
    }


def remediation_role() -> dict[str, Any]:
    """The Azure custom role for the remediation job, separate from the read-only scanner role."""
    from auditor.remediate import write_permissions

    return {
        "Name": "auditor remediation",
        "IsCustom": True,
        "Description": "Applies and rolls back reviewed auditor remediation plans: updates Azure ML endpoints and "
                       "workspaces and AI Services accounts, removes and recreates role assignments (at a "
                       "management group too: assign the role there). Deletes no resource and lists no key.",
        "Actions": list(write_permissions("azure")),
        "NotActions": [],
        "DataActions": [],
        "NotDataActions": [],
        "AssignableScopes": ["/subscriptions/00000000-0000-0000-0000-000000000000",
                             "/providers/Microsoft.Management/managementGroups/00000000-0000-0000-0000-000000000000"],
    }
