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
