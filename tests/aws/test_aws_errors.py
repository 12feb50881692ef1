"""Errors are data: denied, throttled, unreachable and missing scopes never look like empty ones."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from auditor.errors import ConfigError
from auditor.model import CoverageRow, Inventory
from auditor.providers.aws import iam as aws_iam
from auditor.providers.aws import kms as aws_kms
from auditor.providers.aws import s3 as aws_s3
from auditor.providers.aws import sagemaker as aws_sagemaker
from auditor.providers.aws.collect import PERMISSIONS, AwsOptions, collect_aws
from auditor.providers.aws.sagemaker_serving import INFERENCE_COMPONENT

from .conftest import CallLog, Moto, json_error, sent
from .estates import bedrock, serving, two_regions
from .seeding import ACCOUNT, Seeder, policy

Scan = Callable[..., tuple[Inventory, CallLog]]
BOTH = ("us-east-1", "eu-west-1")


def rows(inventory: Inventory) -> dict[tuple[str, str], CoverageRow]:
    return {(c.service, c.region): c for c in inventory.coverage}


def least_privilege_session(moto: Moto, seed: Seeder, without: tuple[str, ...] = ()) -> boto3.Session:
    """A session of a user holding only the printed policy (minus ``without``), with IAM enforced.

    moto's enforcement checks the actions AWS checks (``iam_actions``): the policy is the printed one.
    """
    granted = set(PERMISSIONS)
    missing = set(without) - granted
    assert not missing, f"not in PERMISSIONS: {missing}"
    credentials = seed.user_with_policy("auditor", policy(granted - set(without)))
    moto.enforce_iam()
    return moto.session(**credentials)


def test_least_privilege_policy_is_enough(moto: Moto, seed: Seeder, scan: Scan) -> None:
    two_regions(seed)
    serving(seed)  # async inference output key and buckets, shadow variants, inference components
    b = bedrock(seed)
    session = least_privilege_session(moto, seed)

    inventory, log = scan(regions=(), session=session)  # with region discovery

    assert inventory.complete, [c for c in inventory.coverage if c.error]
    assert [r for r in inventory.resources if r.unreadable] == []
    # SageMaker's 3 keys, the async output key and Bedrock's (the log group's, the model's and the guardrail's);
    # 2 capture buckets, the 2 async output buckets and Bedrock's log bucket.
    assert len(inventory.of_type(aws_iam.ROLE)) == 3 and len(inventory.of_type(aws_kms.KEY)) == 5
    assert len(inventory.of_type(aws_s3.BUCKET)) == 5
    assert len(inventory.of_type(INFERENCE_COMPONENT)) == 3 and log.count("DescribeInferenceComponent") == 3
    assert log.count("DescribeRegions") == 1
    bedrock_found = {r.id for r in inventory.resources if r.type.startswith("aws.bedrock.")}
    assert {b.logging["us-east-1"], b.logging["eu-west-1"], *b.models.values(), *b.guardrails.values()
            } <= bedrock_found
    settings = inventory.by_id()[b.logging["us-east-1"]]
    assert settings.related["s3_bucket"] == "arn:aws:s3:::bedrock-logs"
    assert settings.related["log_group"]["kmsKeyId"] == b.key and settings.related["kms_keys"] == [b.key]


def test_denied_sub_reads_mark_document_keys_unreadable(moto: Moto, seed: Seeder, scan: Scan) -> None:
    e = two_regions(seed)
    session = least_privilege_session(moto, seed, without=(
        "kms:GetKeyRotationStatus", "iam:ListAttachedRolePolicies", "iam:GetRolePolicy",
        "s3:GetEncryptionConfiguration", "s3:GetBucketPublicAccessBlock", "s3:GetAccountPublicAccessBlock",
    ))

    inventory, _ = scan(regions=BOTH, session=session)

    assert inventory.complete  # every scope was listed; the gaps are per resource
    key = inventory.by_id()[e.volume_key]
    assert set(key.unreadable) == {"KeyRotationStatus"} and "KeyRotationStatus" not in key.document
    denied = "access denied: GetKeyRotationStatus returned AccessDenied"
    assert key.unreadable["KeyRotationStatus"].startswith(denied)
    assert "kms:GetKeyRotationStatus" in key.unreadable["KeyRotationStatus"]  # moto's XML body, parsed
    role = inventory.by_id()[e.role_a]
    assert set(role.unreadable) == {"AttachedPolicies", "InlinePolicies"}
    assert role.document["Role"]["RoleName"] == "RoleA"
    bucket = inventory.by_id()["arn:aws:s3:::capture-encrypted"]
    assert set(bucket.unreadable) == {"ServerSideEncryptionConfiguration", "PublicAccessBlockConfiguration",
                                      "related.account_public_access_block"}
    assert all(reason.startswith("access denied:") for reason in bucket.unreadable.values())
    assert bucket.document["LocationConstraint"] is None and bucket.region == "us-east-1"


def test_denied_describes_keep_listed_ids_and_flag_dependents(moto: Moto, seed: Seeder, scan: Scan) -> None:
    e = two_regions(seed)
    session = least_privilege_session(moto, seed, without=("sagemaker:DescribeEndpointConfig",
                                                           "sagemaker:DescribeModel"))

    inventory, _ = scan(regions=BOTH, session=session)

    configs = {r.id: r for r in inventory.of_type(aws_sagemaker.ENDPOINT_CONFIG)}
    assert set(configs) == set(e.configs.values())  # ids and names from the listing
    config = configs[e.configs["cfg-east"]]
    assert config.name == "cfg-east" and config.document == {}
    assert config.unreadable["*"].startswith("access denied: DescribeEndpointConfig returned AccessDenied")
    assert all(m.unreadable.keys() == {"*"} for m in inventory.of_type(aws_sagemaker.MODEL))
    endpoint = next(r for r in inventory.of_type(aws_sagemaker.ENDPOINT) if r.name == "ep-east")
    assert endpoint.related == {"endpoint_config": e.configs["cfg-east"], "inference_components": []}
    assert not endpoint.unreadable
    # What the unreadable configs and models reference cannot be known: the dependent scopes say so.
    coverage = rows(inventory)
    assert coverage[("sagemaker", "us-east-1")].error is None
    for scope in (("kms", "us-east-1"), ("kms", "eu-west-1"), ("s3", "global")):
        assert "DescribeEndpointConfig failed" in str(coverage[scope].error), scope
    assert "DescribeModel failed" in str(coverage[("iam", "global")].error)
    assert inventory.of_type(aws_iam.ROLE) == () and inventory.of_type(aws_kms.KEY) == ()


def test_denied_describe_key(moto: Moto, seed: Seeder, scan: Scan) -> None:
    e = two_regions(seed)
    session = least_privilege_session(moto, seed, without=("kms:DescribeKey",))

    inventory, _ = scan(regions=BOTH, session=session)

    # Given by key ARN: the key is known, its document is not.
    capture = inventory.by_id()[e.capture_key]
    assert capture.unreadable["*"].startswith("access denied: DescribeKey") and capture.document == {}
    # Given by alias or key id: the key ARN cannot be known, so the kms scope is incomplete.
    coverage = rows(inventory)
    assert "DescribeKey of 'alias/sm-volume'" in str(coverage[("kms", "us-east-1")].error)
    assert "DescribeKey of '" + e.west_key_id + "'" in str(coverage[("kms", "eu-west-1")].error)
    config = next(r for r in inventory.of_type(aws_sagemaker.ENDPOINT_CONFIG) if r.name == "cfg-east")
    assert config.related["kms_keys"] == [e.capture_key]
    assert "alias/sm-volume" in config.unreadable["related.kms_keys"]


def test_sagemaker_denied_everywhere_with_moto_iam(moto: Moto, seed: Seeder, scan: Scan) -> None:
    two_regions(seed)
    session = least_privilege_session(moto, seed, without=(
        "sagemaker:ListEndpoints", "sagemaker:ListEndpointConfigs", "sagemaker:ListModels"))

    inventory, _ = scan(regions=BOTH, session=session)

    # Nothing SageMaker references is read; only each region's Bedrock logging settings, read on their own.
    assert [r.type for r in inventory.resources] == ["aws.bedrock.invocation_logging"] * 2
    coverage = rows(inventory)
    error = str(coverage[("sagemaker", "eu-west-1")].error)
    # moto's XML denial is answered in SageMaker's JSON protocol by the tests' moto fixes (iam_actions), as AWS
    # answers it: the reason is the service's one line.
    assert error.startswith("access denied: List") and "is not authorized to perform: sagemaker:List" in error
    assert "<" not in error and "\n" not in error
    for scope in (("kms", "eu-west-1"), ("kms", "us-east-1"), ("iam", "global"), ("s3", "global")):
        assert "not collected: SageMaker inventory of" in str(coverage[scope].error), scope


def test_one_denied_region_leaves_the_other_complete(moto: Moto, seed: Seeder, scan: Scan) -> None:
    """A service control policy denying SageMaker in eu-west-1 (moto's IAM ignores conditions such as
    aws:RequestedRegion, so the denial is answered at the HTTP layer with the bytes AWS sends)."""
    e = two_regions(seed)
    session = moto.session()

    def deny_west(request: Any, **kwargs: Any) -> Any:
        call = sent(request)
        if call.service == "sagemaker" and call.region == "eu-west-1":
            return json_error(400, "AccessDeniedException",
                              f"User: arn:aws:iam::{ACCOUNT}:user/auditor is not authorized to perform: "
                              f"sagemaker:{call.operation} with an explicit deny in a service control policy")
        return None

    session.events.register("before-send", deny_west)
    inventory, _ = scan(regions=BOTH, session=session)

    coverage = rows(inventory)
    west = coverage[("sagemaker", "eu-west-1")]
    assert west.error is not None and west.error.startswith("access denied: List")
    assert "explicit deny" in west.error and west.resources == 0
    assert coverage[("sagemaker", "us-east-1")].error is None
    assert coverage[("sagemaker", "us-east-1")].resources == 5
    dependent = "not collected: SageMaker inventory of eu-west-1 failed: access denied"
    for scope in (("kms", "eu-west-1"), ("iam", "global"), ("s3", "global")):
        assert str(coverage[scope].error).startswith(dependent), scope
    assert coverage[("kms", "us-east-1")].error is None
    east_ids = {e.endpoints["ep-east"], e.configs["cfg-east"], e.configs["cfg-unused"], e.models["m-east-1"],
                e.models["m-east-2"]}
    assert {r.id for r in inventory.resources if r.type.startswith("aws.sagemaker")} == east_ids
    assert not any(r.unreadable for r in inventory.resources)
    assert not inventory.complete


def test_throttled_describe_past_retries(moto: Moto, seed: Seeder, scan: Scan,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    role = seed.role("R")
    seed.model("m", role)
    seed.config("cfg", ["m"])
    for name in ("ep-a", "ep-throttled", "ep-c"):
        seed.endpoint(name, "cfg")
    # A user's retry settings win over the collector's default (and keep this test fast).
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    attempts: list[str] = []

    def throttle(request: Any, **kwargs: Any) -> Any:
        call = sent(request)
        if call.operation == "DescribeEndpoint" and call.params.get("EndpointName") == "ep-throttled":
            attempts.append(call.operation)
            return json_error(400, "ThrottlingException", "Rate exceeded")
        return None

    session = moto.session()
    session.events.register("before-send", throttle)
    inventory, _ = scan(session=session)

    assert len(attempts) == 3
    endpoints = {r.name: r for r in inventory.of_type(aws_sagemaker.ENDPOINT)}
    throttled = endpoints["ep-throttled"]
    assert throttled.unreadable == {
        "*": "throttled: DescribeEndpoint returned ThrottlingException: Rate exceeded (after 3 attempts)"}
    assert throttled.id.endswith(":endpoint/ep-throttled") and throttled.document == {}
    assert not endpoints["ep-a"].unreadable and not endpoints["ep-c"].unreadable
    assert inventory.complete  # the endpoint was listed; only its document is missing


def test_default_retries_absorb_throttling_and_5xx(moto: Moto, seed: Seeder, scan: Scan) -> None:
    role = seed.role("R")
    seed.model("m", role)
    for i in range(40):
        seed.config(f"cfg-{i}", ["m"])
        seed.endpoint(f"ep-{i}", f"cfg-{i}")
    injected = {"throttled": 0, "5xx": 0, "sent": 0}

    def flaky(request: Any, **kwargs: Any) -> Any:
        call = sent(request)
        if call.service != "sagemaker":
            return None
        injected["sent"] += 1
        n = injected["sent"]
        if n % 7 == 0:  # ~15 % throttled
            injected["throttled"] += 1
            return json_error(400, "ThrottlingException", "Rate exceeded")
        if n % 33 == 0:  # ~3 % server errors
            injected["5xx"] += 1
            return json_error(503, "ServiceUnavailable", "Service Unavailable")
        return None

    session = moto.session()
    session.events.register("before-send", flaky)
    inventory, _ = scan(session=session)

    assert injected["throttled"] >= 10 and injected["5xx"] >= 2
    assert inventory.complete and not any(r.unreadable for r in inventory.resources)
    assert len(inventory.of_type(aws_sagemaker.ENDPOINT)) == 40


def test_denied_tags_are_unreadable_not_missing(moto: Moto, seed: Seeder, scan: Scan) -> None:
    two_regions(seed)
    session = least_privilege_session(moto, seed, without=(
        "tag:GetResources", "kms:ListResourceTags", "s3:GetBucketTagging"))

    inventory, _ = scan(regions=BOTH, session=session)

    assert inventory.complete  # tags decide no rule; each resource says its tags are unknown
    operation = {aws_kms.KEY: "ListResourceTags", aws_s3.BUCKET: "GetBucketTagging"}
    for resource in inventory.resources:
        if resource.type == aws_iam.ROLE:  # GetRole returns the role's tags
            assert not resource.unreadable
            continue
        assert set(resource.unreadable) == {"tags"} and resource.tags == {}, resource
        denied = f"access denied: {operation.get(resource.type, 'GetResources')}"
        assert resource.unreadable["tags"].startswith(denied)


def test_malformed_region_is_a_scope_error_not_a_crash(moto: Moto, seed: Seeder, scan: Scan) -> None:
    two_regions(seed)

    inventory, _ = scan(regions=("us-east-1", "not a region"))

    coverage = rows(inventory)
    assert "create sagemaker client for not a region" in str(coverage[("sagemaker", "not a region")].error)
    east = coverage[("sagemaker", "us-east-1")]
    assert east.error is None and east.resources == 5


def test_region_discovery_denied_is_an_error_not_an_empty_scan(moto: Moto, seed: Seeder, scan: Scan) -> None:
    two_regions(seed)
    session = least_privilege_session(moto, seed, without=("ec2:DescribeRegions",))

    inventory, _ = scan(regions=(), session=session)

    assert inventory.resources == () and not inventory.complete
    assert inventory.scopes == (f"aws:{ACCOUNT}:*",)
    sagemaker = rows(inventory)[("sagemaker", "*")]
    assert sagemaker.scope_id == f"arn:aws:sagemaker:*:{ACCOUNT}:*"
    assert "access denied: DescribeRegions" in str(sagemaker.error)
    assert all(row.error for row in inventory.coverage)
    assert inventory.failed_coverage(aws_iam.ROLE) and inventory.failed_coverage(aws_s3.BUCKET)


def test_unreachable_endpoint(moto: Moto, seed: Seeder, scan: Scan, monkeypatch: pytest.MonkeyPatch) -> None:
    two_regions(seed)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", "http://127.0.0.1:9")  # discard port: refused
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")

    inventory, _ = scan(regions=BOTH)

    coverage = rows(inventory)
    assert str(coverage[("sagemaker", "us-east-1")].error).startswith("unreachable: List")
    assert "not collected" in str(coverage[("iam", "global")].error)


def test_unreachable_sts_is_reported_per_scope_not_raised(moto: Moto, scan: Scan,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")

    inventory, _ = scan(regions=BOTH)

    assert inventory.resources == () and not inventory.complete
    assert inventory.scopes == ("aws:unknown:us-east-1", "aws:unknown:eu-west-1")
    assert sorted(rows(inventory)) == [("bedrock", "eu-west-1"), ("bedrock", "us-east-1"), ("iam", "global"),
                                       ("kms", "eu-west-1"), ("kms", "us-east-1"), ("s3", "global"),
                                       ("sagemaker", "eu-west-1"), ("sagemaker", "us-east-1")]
    west = rows(inventory)[("sagemaker", "eu-west-1")]
    assert west.scope_id == "arn:aws:sagemaker:eu-west-1:unknown:*"
    assert str(west.error).startswith("cannot identify the AWS account (sts:GetCallerIdentity): unreachable")
    assert all(row.error for row in inventory.coverage)


def test_no_credentials_is_every_scope_failed_naming_the_cause(moto: Moto, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    inventory = collect_aws(AwsOptions(regions=("us-east-1",)), session=boto3.Session(region_name="us-east-1"))

    assert inventory.resources == () and not inventory.complete
    assert sorted(rows(inventory)) == [("bedrock", "us-east-1"), ("iam", "global"), ("kms", "us-east-1"),
                                       ("s3", "global"), ("sagemaker", "us-east-1")]
    for row in inventory.coverage:
        assert str(row.error).startswith("cannot identify the AWS account (sts:GetCallerIdentity): no valid")
        assert "Unable to locate credentials" in str(row.error) and "--profile" in str(row.error)
    assert rows(inventory)[("sagemaker", "us-east-1")].scope_id == "arn:aws:sagemaker:us-east-1:unknown:*"


def test_invalid_credentials_are_every_scope_failed(moto: Moto) -> None:
    moto.enforce_iam()
    session = moto.session(aws_access_key_id="AKIAUNKNOWNKEY000000", aws_secret_access_key="not-a-secret")

    inventory = collect_aws(AwsOptions(regions=("us-east-1",)), session=session)

    assert all(row.error and "GetCallerIdentity" in row.error for row in inventory.coverage)
    assert not any("not-a-secret" in str(row.error) for row in inventory.coverage)


def test_unknown_profile_is_a_config_error(moto: Moto) -> None:
    with pytest.raises(ConfigError, match="--profile"):
        collect_aws(AwsOptions(regions=("us-east-1",), profile="no-such-profile"))


def test_bad_max_workers_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="max_workers"):
        collect_aws(AwsOptions(max_workers=0))


def test_public_interface_without_session_uses_environment(moto: Moto, seed: Seeder) -> None:
    """No session given: the standard chain and AWS_ENDPOINT_URL reach moto, as for `auditor scan aws`."""
    two_regions(seed)
    progress = _Progress()

    inventory = collect_aws(AwsOptions(regions=BOTH, max_workers=4), progress)

    assert inventory.complete and len(inventory.of_type(aws_sagemaker.ENDPOINT)) == 3
    assert progress.total == progress.done > len(inventory.resources)
    assert json.loads(json.dumps([r.document for r in inventory.resources]))  # JSON-native


class _Progress:
    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.lanes_opened: list[tuple[str, str]] = []
        self.lanes_done: list[tuple[tuple[str, str], int]] = []

    def add_total(self, n: int) -> None:
        self.total += n

    def advance(self, n: int = 1) -> None:
        self.done += n
        assert self.done <= self.total

    def lane_open(self, lane: tuple[str, str]) -> None:
        self.lanes_opened.append(lane)

    def lane_done(self, lane: tuple[str, str], calls: int) -> None:
        self.lanes_done.append((lane, calls))
