"""The account's S3 public access block in a plan (auditor.iac.account_wide): it is every planned bucket's
``related.account_public_access_block`` only when the plan tells which account the bucket is in; otherwise,
and when a value is known only after apply, the rule is not given a guess (never PASS on it)."""

from __future__ import annotations

from typing import Any

from auditor.catalog import load_catalog
from auditor.engine import evaluate
from auditor.iac.collect import plan_inventory
from auditor.iac.mapping import shipped_mappings
from auditor.iac.read import parse_plan
from auditor.model import Finding, Inventory, Status

from .plans import pulumi_preview, terraform_plan, text, urn

CATALOG = load_catalog()
RULE = "aws.s3.bucket.public_access_blocked"
ALL = {"block_public_acls": True, "ignore_public_acls": True, "block_public_policy": True,
       "restrict_public_buckets": True}
BUCKET = {"type": "aws_s3_bucket", "after": {"bucket": "capture"}}
PARTLY = {"type": "aws_s3_bucket_public_access_block", "name": "pab",
          "after": {"bucket": "capture", **ALL, "restrict_public_buckets": False}}
ACCOUNT = {"type": "aws_s3_account_public_access_block", "name": "account", "after": ALL}


def inventory_of(document: dict[str, Any]) -> Inventory:
    return plan_inventory([parse_plan(text(document), "plan.json")], shipped_mappings())


def finding(document: dict[str, Any], resource_id: str = "aws_s3_bucket.main") -> Finding:
    [found] = [f for f in evaluate(inventory_of(document), [CATALOG[RULE]]) if f.resource_id == resource_id]
    return found


def account_unreadable(document: dict[str, Any]) -> str:
    [bucket] = [r for r in inventory_of(document).resources if r.type == "aws.s3.bucket"]
    return bucket.unreadable.get("related.account_public_access_block", "")


def test_the_planned_account_block_completes_a_partly_blocked_bucket() -> None:
    found = finding(terraform_plan([BUCKET, PARTLY, ACCOUNT]))
    assert found.status is Status.PASS
    assert found.evidence["account"] == {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                         "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def test_without_the_account_block_the_plan_cannot_tell() -> None:
    assert finding(terraform_plan([BUCKET, PARTLY])).status is Status.ERROR
    assert "not in this plan" in account_unreadable(terraform_plan([BUCKET, PARTLY]))


def test_an_account_block_set_through_another_provider_configuration_is_not_applied() -> None:
    plan = terraform_plan([BUCKET, PARTLY, ACCOUNT])
    plan["configuration"]["root_module"]["resources"][2]["provider_config_key"] = "aws.security"  # another account?
    assert finding(plan).status is Status.ERROR
    assert "through another provider configuration" in account_unreadable(plan)


def test_two_account_blocks_in_one_plan_are_not_chosen_between() -> None:
    plan = terraform_plan([BUCKET, PARTLY, ACCOUNT, {**ACCOUNT, "name": "again"}])
    assert finding(plan).status is Status.ERROR
    assert "more than once" in account_unreadable(plan)


def test_pulumi_providers_tell_accounts_apart_too() -> None:
    specs = [{"type": "aws:s3/bucketV2:BucketV2", "inputs": {"bucket": "capture"}},
             {"type": "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "name": "pab",
              "inputs": {"bucket": "capture", "blockPublicAcls": True, "ignorePublicAcls": True,
                         "blockPublicPolicy": True}, "refs": {"bucket": ["main"]}},
             {"type": "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock", "name": "account",
              "inputs": {"blockPublicAcls": True, "ignorePublicAcls": True, "blockPublicPolicy": True,
                         "restrictPublicBuckets": True}}]
    bucket = urn(specs[0])
    assert finding(pulumi_preview(specs), bucket).status is Status.PASS
    preview = pulumi_preview(specs)
    preview["steps"][3]["newState"]["provider"] = "urn:pulumi:dev::ml-serving::pulumi:providers:aws::security::x"
    assert finding(preview, bucket).status is Status.ERROR


def test_an_account_block_is_named_in_coverage_and_an_unmapped_type_still_as_not_judged() -> None:
    inventory = inventory_of(terraform_plan([ACCOUNT, {"type": "aws_subnet", "after": {"cidr_block": "10.0.0.0/24"}}]))
    assert inventory.resources == ()
    rows = {row.service: row for row in inventory.coverage}
    [account] = [s for s in rows if "account settings" in s]
    assert "aws_s3_account_public_access_block (create)" in account and "aws.s3.bucket" in account
    assert rows[account].resource_types == () and rows[account].resources == 1
    [unmapped] = [s for s in rows if "not judged (no plan mapping)" in s]
    assert unmapped.endswith(": aws_subnet") and rows[unmapped].resources == 1


def test_an_unchanged_account_block_still_applies_but_is_not_listed() -> None:
    unchanged = {**ACCOUNT, "actions": ["no-op"], "before": ALL}
    inventory = inventory_of(terraform_plan([BUCKET, PARTLY, unchanged]))
    assert not [row for row in inventory.coverage if "account settings" in row.service]
    assert finding(terraform_plan([BUCKET, PARTLY, unchanged])).status is Status.PASS
