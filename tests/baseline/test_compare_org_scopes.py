"""The baseline comparison of an organisation's scans, whose S3 scopes name their accounts (issue 15).

A bucket ARN carries no account (``arn:aws:s3:::BUCKET``); an organisation's S3 row is
``arn:aws:s3::ACCOUNT:*``. Such a row must still hold every bucket: a bucket gone from a scan that read every
scope that could reference it is resolved; gone while some account's S3 scope failed, it is unknown; and the
S3 ERROR findings of an older organisation's scan (one ``arn:aws:s3:::*`` id for every account) are renamed,
never resolved.
"""

from __future__ import annotations

import dataclasses

import pytest

from auditor.findings.compare import NOT_COLLECTED, NOT_SCANNED, compare
from auditor.model import BaselineState, CoverageRow, Finding, ScanResult, Status

from .scans import ACCOUNT, BEFORE, BUCKET, REGION, SAGEMAKER_ROW, finding, scan

OTHER = "210987654321"
BUCKET_ARN = "arn:aws:s3:::capture-shared"
TYPES = ("aws.s3.bucket",)


def sagemaker_row(account: str) -> CoverageRow:
    return dataclasses.replace(SAGEMAKER_ROW, account=account, scope_id=f"arn:aws:sagemaker:{REGION}:{account}:*")


def s3_row(account: str, error: str | None = None, scope_id: str | None = None) -> CoverageRow:
    return CoverageRow("aws", account, "global", "s3", scope_id or f"arn:aws:s3::{account}:*", TYPES, 0, error,
                       found_through=(f"arn:aws:sagemaker:*:{account}:*", f"arn:aws:bedrock:*:{account}:*"))


def org(*findings: Finding, rows: tuple[CoverageRow, ...], started: object = None) -> ScanResult:
    result = scan(*findings, coverage=(sagemaker_row(ACCOUNT), sagemaker_row(OTHER), *rows))
    return dataclasses.replace(result, started_at=BEFORE) if started else result


def error(account: str, scope_id: str) -> Finding:
    return dataclasses.replace(finding(BUCKET, scope_id, Status.ERROR), account=account, region="global")


def test_a_bucket_gone_from_an_org_scan_that_read_every_account_is_resolved() -> None:
    baseline = org(finding(BUCKET, BUCKET_ARN, Status.FAIL), rows=(s3_row(ACCOUNT), s3_row(OTHER)), started=True)
    comparison = compare(org(rows=(s3_row(ACCOUNT), s3_row(OTHER))), baseline, "old.json")
    assert [p.resource_id for p in comparison.resolved] == [BUCKET_ARN] and not comparison.unverified


def test_a_bucket_gone_while_one_accounts_s3_scope_failed_is_unknown() -> None:
    baseline = org(finding(BUCKET, BUCKET_ARN, Status.FAIL), rows=(s3_row(ACCOUNT), s3_row(OTHER)), started=True)
    now = org(error(OTHER, f"arn:aws:s3::{OTHER}:*"),
              rows=(s3_row(ACCOUNT), s3_row(OTHER, error="DescribeEndpointConfig denied")))
    comparison = compare(now, baseline, "old.json")
    assert not comparison.resolved
    assert [(p.resource_id, p.reason) for p in comparison.unverified] == [(BUCKET_ARN, NOT_COLLECTED)]


def test_an_account_scope_holds_no_other_accounts_arns() -> None:
    role = "arn:aws:iam::999999999999:role/gone"
    baseline = org(dataclasses.replace(finding(BUCKET, role, Status.FAIL), resource_type="aws.s3.bucket"),
                   rows=(s3_row(ACCOUNT), s3_row(OTHER)), started=True)
    comparison = compare(org(rows=(s3_row(ACCOUNT), s3_row(OTHER))), baseline, "old.json")
    assert [p.reason for p in comparison.unverified] == [NOT_SCANNED]


def test_the_old_shared_s3_errors_are_renamed_not_resolved() -> None:
    """An older version's org scan: both accounts' S3 rows on ``arn:aws:s3:::*``, one ERROR per rule (the other
    account's hidden), and a bucket that failed before."""
    old_rows = (s3_row(ACCOUNT, "denied", "arn:aws:s3:::*"), s3_row(OTHER, "denied", "arn:aws:s3:::*"))
    baseline = org(error(ACCOUNT, "arn:aws:s3:::*"), finding(BUCKET, BUCKET_ARN, Status.FAIL), rows=old_rows,
                   started=True)
    now = org(error(ACCOUNT, f"arn:aws:s3::{ACCOUNT}:*"), error(OTHER, f"arn:aws:s3::{OTHER}:*"),
              rows=(s3_row(ACCOUNT, "denied"), s3_row(OTHER, "denied")))
    comparison = compare(now, baseline, "old.json")
    assert {s.state for s in comparison.findings.values()} == {BaselineState.UNKNOWN}  # ERROR now: not compared
    assert all(s.previous_status is None for s in comparison.findings.values())
    assert not comparison.resolved
    assert [(p.resource_id, p.reason) for p in comparison.unverified] == [(BUCKET_ARN, NOT_COLLECTED)]


@pytest.mark.parametrize("old_version", [False, True])
def test_a_bucket_of_an_account_this_scan_could_not_reach_is_unknown(old_version: bool) -> None:
    """The other account was read and its S3 scope holds every bucket ARN, but the bucket was found through the
    unreachable account's endpoint configs (the baseline's S3 row of that account says so): not resolved. The
    baseline may be an older version's, whose S3 rows were all ``arn:aws:s3:::*``."""
    form = "arn:aws:s3:::*" if old_version else None
    baseline = org(finding(BUCKET, BUCKET_ARN, Status.FAIL),
                   rows=(s3_row(ACCOUNT, scope_id=form), s3_row(OTHER, scope_id=form)), started=True)
    unreachable = CoverageRow("aws", OTHER, "*", "account", f"arn:aws:sagemaker:*:{OTHER}:*",
                              ("aws.s3.bucket", "aws.sagemaker.endpoint"), 0, "cannot assume the role")
    now = dataclasses.replace(org(rows=(s3_row(ACCOUNT), unreachable)),
                              coverage=(sagemaker_row(ACCOUNT), s3_row(ACCOUNT), unreachable))
    comparison = compare(now, baseline, "old.json")
    assert not comparison.resolved
    [unverified] = comparison.unverified
    assert unverified.resource_id == BUCKET_ARN and OTHER in unverified.reason
