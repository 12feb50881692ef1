"""An organisation's scan where two member accounts cannot say which S3 buckets they use: each account's failure is
its own ERROR findings and its own coverage row, in every format and after ``auditor merge`` (issue 15).

An account's S3 scope is the buckets its SageMaker endpoint configs (and Bedrock) send data to: its coverage row
fails when those references cannot be read. Here the role the scan assumes in two member accounts is denied
``sagemaker:DescribeEndpointConfig`` (an inline Deny beside the printed scan policy, IAM enforced), so neither
account's capture buckets, nor its KMS keys, are known. Bucket ARNs carry no account: a scope written
``arn:aws:s3:::*`` is the same id in both accounts, and their ERROR findings would collapse into one per rule.

One moto organisation for the module (the management account and two members, one region); the unsharded scan
(every format) and the shards of the smallest N whose shards read the two members apart (as their findings files
say) are run once through the command line, and the shards merged.
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from outputs.test_html_report import Page, decode
from shard_results import doc, run

from auditor.providers.aws.permissions import org_permissions

from .conftest import Moto
from .org_estate import ROLE, Org, member_session, organisation
from .seeding import ACCOUNT, Seeder, policy

REGION = "us-east-1"
FORMATS = ("json", "sarif", "csv", "junit", "markdown", "html")


@dataclass(frozen=True)
class Scans:
    org: Org
    denied: tuple[str, ...]
    root: Path
    exits: dict[str, int]
    shards: list[Path]
    owners: dict[str, int]  # account -> the shard (1-based) that read it


def owners(shards: list[Path]) -> dict[str, int]:
    """Which shard read each account, as the shards' findings files say (``scan.shard.scopes``)."""
    return {scope.split(":")[1]: k for k, directory in enumerate(shards, start=1)
            for scope in doc(directory)["scan"]["shard"]["scopes"]}


@pytest.fixture(scope="module")
def scans(moto_server: Moto, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scans]:
    moto_server.reset()
    org = organisation(members=2, endpoints=1, regions=(REGION,))
    denied = tuple(org.members)
    for account in denied:  # the assumed role may not read endpoint configs: what they reference is unknown
        member_session(account).client("iam").put_role_policy(
            RoleName=ROLE, PolicyName="deny-configs",
            PolicyDocument=json.dumps(policy(["sagemaker:DescribeEndpointConfig"], effect="Deny")))
    credentials = Seeder(moto_server.session()).user_with_policy("auditor", org_permissions(ROLE)["caller_policy"])
    root = tmp_path_factory.mktemp("org-global-scopes")
    scan = ["scan", "aws", "--org", "--role-name", ROLE, "--region", REGION, "--quiet"]
    moto_server.enforce_iam()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AWS_ACCESS_KEY_ID", credentials["aws_access_key_id"])
            patch.setenv("AWS_SECRET_ACCESS_KEY", credentials["aws_secret_access_key"])
            exits = {"full": run([*scan, *(a for f in FORMATS for a in ("--format", f)), "--out", str(root / "full")])}
            # Each member's failure read by a shard of its own, so the merge must keep both (account ids are random).
            for n in range(2, 9):
                shards = [root / f"{n}" / f"shard{k}" for k in range(1, n + 1)]
                for k, directory in enumerate(shards, start=1):
                    exits[f"shard{k}"] = run([*scan, "--format", "json", "--shard", f"{k}/{n}",
                                              "--out", str(directory)])
                read_by = owners(shards)
                if read_by[denied[0]] != read_by[denied[1]]:
                    break
            else:
                pytest.fail("no N up to 8 shards the two members apart")
    finally:
        moto_server.relax_iam()
    exits["merged"] = run(["merge", *map(str, shards), "--out", str(root / "merged"),
                           *(a for f in FORMATS for a in ("--format", f)), "--quiet"])
    yield Scans(org, denied, root, exits, shards, read_by)


def s3_rules(document: dict[str, Any]) -> set[str]:
    return {rid for rid, rule in document["rules"].items() if rule["resource_type"] == "aws.s3.bucket"}


def s3_errors(document: dict[str, Any]) -> list[dict[str, Any]]:
    rules = s3_rules(document)
    return [f for f in document["findings"] if f["rule_id"] in rules and f["status"] == "ERROR"]


@pytest.mark.parametrize("run_name", ["full", "merged"])
def test_each_account_whose_buckets_are_unknown_has_its_own_errors_and_coverage_row(scans: Scans,
                                                                                    run_name: str) -> None:
    document = doc(scans.root / run_name)
    assert scans.exits[run_name] == 2
    failed = [c for c in document["coverage"] if c["service"] == "s3" and c["status"] == "error"]
    assert sorted(c["account"] for c in failed) == sorted(scans.denied)
    for row in failed:  # the scope names its account: two accounts' rows are two scopes
        assert f":{row['account']}:" in row["scope_id"], row
        assert "DescribeEndpointConfig" in row["error"]
    rules = s3_rules(document)
    errors = s3_errors(document)
    assert len(rules) >= 2
    assert Counter((f["rule_id"], f["account"]) for f in errors) == {(r, a): 1 for r in rules for a in scans.denied}
    assert len({f["id"] for f in errors}) == len(errors)  # one id each: none hides another
    for f in errors:
        assert f":{f['account']}:" in f["resource_id"] and f["account"] in f["message"], f
        assert f["resource_id"] in {c["scope_id"] for c in failed if c["account"] == f["account"]}
    readable = [f for f in document["findings"] if f["account"] == ACCOUNT]  # the caller's own account: in full
    assert readable and all(f["status"] != "ERROR" for f in readable)
    for row in document["coverage"]:  # every AWS scope names its account
        assert f":{row['account']}:" in row["scope_id"], row


def test_the_shards_and_the_merge_keep_every_account(scans: Scans) -> None:
    full, merged = doc(scans.root / "full"), doc(scans.root / "merged")
    assert {f["id"]: f["status"] for f in merged["findings"]} == {f["id"]: f["status"] for f in full["findings"]}
    key = ("provider", "account", "region", "service", "scope_id", "status", "error")
    assert sorted(tuple(c[k] or "" for k in key) for c in merged["coverage"]) == \
        sorted(tuple(c[k] or "" for k in key) for c in full["coverage"])
    for k, directory in enumerate(scans.shards, start=1):  # each member's errors: from the shard that read it only
        errors = s3_errors(doc(directory))
        assert {f["account"] for f in errors} == {a for a in scans.denied if scans.owners[a] == k}
        assert (scans.exits[f"shard{k}"] == 2) == bool(errors)


def _expected(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    errors = {f["id"]: f for f in s3_errors(document)}
    assert len(errors) == 2 * len(s3_rules(document))
    return errors


@pytest.mark.parametrize("run_name", ["full", "merged"])
def test_every_format_lists_each_accounts_errors(scans: Scans, run_name: str) -> None:
    out = scans.root / run_name
    expected = _expected(doc(out))

    sarif = json.loads((out / "report.sarif").read_text(encoding="utf-8"))
    results = [r for run_ in sarif["runs"] for r in run_["results"]
               if r["properties"].get("finding_id") in expected]
    assert sorted(r["properties"]["finding_id"] for r in results) == sorted(expected)
    for r in results:
        [location] = r["locations"][0]["logicalLocations"]
        assert r["level"] == "error" and location["properties"]["account"] == \
            expected[r["properties"]["finding_id"]]["account"]
    assert len({json.dumps(r["partialFingerprints"], sort_keys=True) for r in results}) == len(results)

    with (out / "findings.csv").open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["id"] in expected]
    assert sorted((r["id"], r["status"], r["account"]) for r in rows) == \
        sorted((i, "ERROR", f["account"]) for i, f in expected.items())

    junit = ET.parse(out / "junit.xml").getroot()
    cases = [case for case in junit.iter("testcase") if case.find("error") is not None
             and any(f"finding {i}" in (case.findtext("system-out") or "") for i in expected)]
    assert len(cases) == len(expected)
    for finding_id, f in expected.items():
        [case] = [c for c in cases if f"finding {finding_id}" in (c.findtext("system-out") or "")]
        assert f["account"] in (case.findtext("system-out") or "")

    summary = (out / "summary.md").read_text(encoding="utf-8")
    for f in expected.values():
        assert any(f["rule_id"] in line and f["account"] in line for line in summary.splitlines()), f

    page = Page((out / "report.html").read_text(encoding="utf-8"))
    shown = {f["id"]: f for f in decode(page.data())}
    assert set(expected) <= set(shown)
    for finding_id, f in expected.items():
        assert shown[finding_id]["status"] == "ERROR" and shown[finding_id]["account"] == f["account"]


def test_buckets_two_members_may_not_read_are_errors_of_each_account(moto: Moto, tmp_path: Path) -> None:
    """The denial the issue names: the assumed role may not read S3 (``s3:Get*``, ``s3:ListBucket``,
    ``s3:ListAllMyBuckets``). Each account's capture bucket is known (its config names it) but unreadable: its
    rules are ERROR on the bucket's ARN, in the account that uses it; the S3 rows are collected (their buckets
    were all found), and the scan is incomplete."""
    org = organisation(members=2, endpoints=0, regions=(REGION,))
    buckets = {}
    for account in org.members:
        seed = Seeder(member_session(account))
        uri = seed.bucket(f"capture-{account}")
        buckets[account] = f"arn:aws:s3:::capture-{account}"
        model = seed.model(f"m-{account}", seed.role(f"exec-s3-{account}"))
        seed.config(f"cfg-{account}", [model.rsplit("/", 1)[-1]], capture_uri=uri)
        seed.endpoint(f"ep-{account}", f"cfg-{account}")
        seed.client("iam").put_role_policy(RoleName=ROLE, PolicyName="deny-s3", PolicyDocument=json.dumps(
            policy(["s3:Get*", "s3:ListBucket", "s3:ListAllMyBuckets"], effect="Deny")))
    credentials = Seeder(moto.session()).user_with_policy("auditor", org_permissions(ROLE)["caller_policy"])
    moto.enforce_iam()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", credentials["aws_access_key_id"])
        patch.setenv("AWS_SECRET_ACCESS_KEY", credentials["aws_secret_access_key"])
        code = run(["scan", "aws", "--org", "--role-name", ROLE, "--region", REGION, "--quiet", "--format", "json",
                    "--out", str(tmp_path)])

    document = doc(tmp_path)
    assert code == 2
    rules = s3_rules(document)
    errors = s3_errors(document)
    assert sorted((f["rule_id"], f["account"], f["resource_id"]) for f in errors) == \
        sorted((r, a, buckets[a]) for r in rules for a in org.members)
    rows = {c["account"]: c for c in document["coverage"] if c["service"] == "s3"}
    assert {a: (rows[a]["status"], rows[a]["resources"]) for a in org.members} == \
        dict.fromkeys(org.members, ("collected", 1))
    assert {a: rows[a]["scope_id"] for a in org.members} == {a: f"arn:aws:s3::{a}:*" for a in org.members}
