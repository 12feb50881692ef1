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
