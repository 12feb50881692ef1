"""What the AWS collection produces from a healthy estate: resources, documents, relations, calls."""

from __future__ import annotations

from collections.abc import Callable

from auditor.model import Inventory, Resource
from auditor.providers.aws import iam as aws_iam
from auditor.providers.aws import kms as aws_kms
from auditor.providers.aws import resource_types
from auditor.providers.aws import s3 as aws_s3
from auditor.providers.aws import sagemaker as aws_sagemaker
from auditor.providers.declared import scan_calls

from .conftest import CallLog, Moto
from .estates import bedrock, dangling, serving, two_regions
from .seeding import ACCOUNT, ALL_BLOCKED, Seeder

Scan = Callable[..., tuple[Inventory, CallLog]]


def by_name(inventory: Inventory, resource_type: str) -> dict[str, Resource]:
    return {r.name: r for r in inventory.of_type(resource_type)}


def test_more_than_a_page_of_endpoints_and_unused_configs(seed: Seeder, scan: Scan) -> None:
    role = seed.role("Shared")
    seed.model("m", role)
    for i in range(105):
        seed.config(f"cfg-{i:03d}", ["m"])
        seed.endpoint(f"ep-{i:03d}", f"cfg-{i:03d}")
    for i in range(105, 112):  # configs no endpoint uses, past moto's 100-item page
        seed.config(f"cfg-{i:03d}", ["m"])

    inventory, log = scan()

    endpoints = by_name(inventory, aws_sagemaker.ENDPOINT)
    configs = by_name(inventory, aws_sagemaker.ENDPOINT_CONFIG)
    assert len(endpoints) == 105 and len(configs) == 112
    assert all(not r.unreadable for r in inventory.resources)
    assert endpoints["ep-104"].related["endpoint_config"] == configs["cfg-104"].id
    assert configs["cfg-110"].related["endpoints"] == []
    assert configs["cfg-003"].related["endpoints"] == [endpoints["ep-003"].id]
    calls = log.per_operation()
    assert calls["ListEndpoints"] == 2 and calls["ListEndpointConfigs"] == 2  # really paginated
    assert calls["DescribeEndpoint"] == 105  # each resource described exactly once
    assert calls["DescribeEndpointConfig"] == 112
    assert calls["DescribeModel"] == 1 and calls["GetRole"] == 1  # shared by 112 configs
    row = next(c for c in inventory.coverage if c.service == "sagemaker")
    assert row.resources == 105 + 112 + 1 and row.error is None


def test_two_regions_documents_and_relations(seed: Seeder, scan: Scan) -> None:
    e = two_regions(seed)

    inventory, log = scan(regions=("us-east-1", "eu-west-1"))

    assert inventory.complete, inventory.coverage
    assert inventory.scopes == (f"aws:{ACCOUNT}:us-east-1", f"aws:{ACCOUNT}:eu-west-1")
    order = [(r.type, r.id) for r in inventory.resources]
    assert order == sorted(order)
    for resource in inventory.resources:
        assert resource.provider == "aws" and "ResponseMetadata" not in resource.document
        assert not resource.unreadable, resource

    endpoints = by_name(inventory, aws_sagemaker.ENDPOINT)
    assert set(endpoints) == {"ep-east", "ep-west", "ep-west-2"}
    ep = endpoints["ep-east"]
    assert ep.id == e.endpoints["ep-east"] and ep.region == "us-east-1" and ep.account == ACCOUNT
    assert ep.document["EndpointConfigName"] == "cfg-east"
    assert isinstance(ep.document["CreationTime"], str)  # JSON-native documents
    assert ep.related == {"endpoint_config": e.configs["cfg-east"], "inference_components": []}
    assert ep.tags == {"team": "ml"} and endpoints["ep-west"].tags == {}
    assert endpoints["ep-west"].region == "eu-west-1"

    configs = by_name(inventory, aws_sagemaker.ENDPOINT_CONFIG)
    assert set(configs) == {"cfg-east", "cfg-unused", "cfg-west", "cfg-west-xregion"}
    east = configs["cfg-east"]
    assert east.document["KmsKeyId"] == "alias/sm-volume"
    assert east.tags == {"team": "ml", "cost-center": "42"}
    assert east.document["DataCaptureConfig"]["DestinationS3Uri"] == "s3://capture-encrypted/capture"
    assert east.related == {
        "endpoints": [e.endpoints["ep-east"]], "models": [e.models["m-east-1"]],
        "kms_keys": [e.volume_key, e.capture_key], "capture_bucket": "arn:aws:s3:::capture-encrypted",
        "async_output_buckets": [],
    }
    unused = configs["cfg-unused"]
    assert "ServerlessConfig" in unused.document["ProductionVariants"][0]
    assert unused.related == {"endpoints": [], "models": [e.models["m-east-2"]], "kms_keys": [],
                              "capture_bucket": None, "async_output_buckets": []}
    west_endpoints = sorted([e.endpoints["ep-west"], e.endpoints["ep-west-2"]])
    assert configs["cfg-west"].related["endpoints"] == west_endpoints
    assert configs["cfg-west"].related["kms_keys"] == [e.west_key]
    assert configs["cfg-west-xregion"].related["kms_keys"] == [e.volume_key]

    models = by_name(inventory, aws_sagemaker.MODEL)
    assert models["m-east-1"].document["ExecutionRoleArn"] == e.role_a
    assert models["m-east-1"].related == {"execution_role": e.role_a, "environment_variables": []}
    assert models["m-east-1"].tags == {"owner": "<script>x</script>"}
    assert models["m-west"].region == "eu-west-1"

    roles = by_name(inventory, aws_iam.ROLE)
    assert set(roles) == {"RoleA", "RoleB"}
    role_a = roles["RoleA"]
    assert role_a.id == e.role_a and role_a.region == "global"
    assert set(role_a.document) == {"Role", "AttachedPolicies", "InlinePolicies"}
    assert role_a.document["Role"]["RoleName"] == "RoleA"
    assert role_a.document["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    [attached] = role_a.document["AttachedPolicies"]
    assert attached["PolicyName"] == "SharedModelRead" and attached["PolicyArn"] == e.shared_policy
    assert attached["DefaultVersionId"] == "v1"
    assert attached["Document"]["Statement"][0]["Action"] == ["s3:GetObject"]
    assert role_a.document["InlinePolicies"] == [{
        "PolicyName": "inline-a",
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["sagemaker:InvokeEndpoint"], "Resource": "*"}]},
    }]
    assert role_a.related == {"models": sorted([e.models["m-east-1"], e.models["m-west"]])}
    assert roles["RoleB"].document["Role"]["Path"] == "/service-role/"
    assert roles["RoleB"].document["InlinePolicies"] == []

    keys = {r.id: r for r in inventory.of_type(aws_kms.KEY)}
    assert set(keys) == {e.volume_key, e.capture_key, e.west_key}
    volume = keys[e.volume_key]
    assert volume.region == "us-east-1" and volume.name == "alias/sm-volume"
    assert volume.document["KeyMetadata"]["Arn"] == e.volume_key
    assert volume.document["KeyRotationStatus"]["KeyRotationEnabled"] is True
    assert volume.tags == {"notes": "<img src=x onerror=alert(1)>"} and keys[e.capture_key].tags == {}
    assert volume.related == {"referenced_by": sorted([e.configs["cfg-east"], e.configs["cfg-west-xregion"]]),
                              "references": sorted(["alias/sm-volume", e.volume_key])}
    assert keys[e.capture_key].document["KeyRotationStatus"]["KeyRotationEnabled"] is False
    assert keys[e.west_key].region == "eu-west-1"
    assert keys[e.west_key].related["references"] == [e.west_key_id]

    buckets = by_name(inventory, aws_s3.BUCKET)
    encrypted, plain = buckets["capture-encrypted"], buckets["capture-plain"]
    assert encrypted.id == "arn:aws:s3:::capture-encrypted" and encrypted.region == "us-east-1"
    assert encrypted.document["LocationConstraint"] is None
    rule = encrypted.document["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms",
                                                          "KMSMasterKeyID": e.capture_key}
    assert encrypted.document["PublicAccessBlockConfiguration"] == ALL_BLOCKED
    capture_for = sorted([e.configs["cfg-east"], e.configs["cfg-west-xregion"]])
    assert encrypted.related == {"account_public_access_block": ALL_BLOCKED, "capture_for": capture_for}
    assert encrypted.tags == {"data": "pii"} and plain.tags == {}
    assert plain.region == "eu-west-1" and plain.document["LocationConstraint"] == "eu-west-1"
    assert plain.document["ServerSideEncryptionConfiguration"] is None
    assert plain.document["PublicAccessBlockConfiguration"] is None

    rows = {(c.service, c.region): c for c in inventory.coverage}
    assert list(rows) == [("bedrock", "eu-west-1"), ("bedrock", "us-east-1"), ("iam", "global"),
                          ("kms", "eu-west-1"), ("kms", "us-east-1"), ("s3", "global"),
                          ("sagemaker", "eu-west-1"), ("sagemaker", "us-east-1")]
    assert rows[("bedrock", "eu-west-1")].resources == 1  # the region's (empty) invocation logging settings
    assert rows[("sagemaker", "us-east-1")].scope_id == f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:*"
    assert rows[("sagemaker", "us-east-1")].resource_types == aws_sagemaker.RESOURCE_TYPES
    assert rows[("sagemaker", "us-east-1")].resources == 5 and rows[("sagemaker", "eu-west-1")].resources == 5
    assert rows[("kms", "us-east-1")].resources == 2 and rows[("kms", "eu-west-1")].resources == 1
    assert rows[("kms", "eu-west-1")].scope_id == f"arn:aws:kms:eu-west-1:{ACCOUNT}:*"
    assert rows[("iam", "global")].scope_id == f"arn:aws:iam::{ACCOUNT}:*"
    assert rows[("iam", "global")].resources == 2
    assert rows[("s3", "global")].scope_id == "arn:aws:s3:::*" and rows[("s3", "global")].resources == 2

    calls = log.per_operation()
    assert calls["GetPolicy"] == 1 and calls["GetPolicyVersion"] == 1  # shared by two roles
    assert calls["GetRole"] == 2 and calls["GetRolePolicy"] == 1
    assert calls["DescribeModel"] == 3 and calls["DescribeEndpointConfig"] == 4
    assert calls["DescribeEndpoint"] == 3
    # Four distinct spellings (alias, capture key ARN, west key id, volume key ARN) -> four
    # DescribeKey calls; three distinct keys -> three rotation reads.
    assert calls["DescribeKey"] == 4 and calls["GetKeyRotationStatus"] == 3 and calls["ListResourceTags"] == 3
    assert calls["GetBucketLocation"] == 2 and calls["GetBucketEncryption"] == 2
    assert calls["GetResources"] == 2  # tags: one Resource Groups Tagging listing per region
    assert calls["GetBucketTagging"] == 2
    assert calls["GetPublicAccessBlock"] == 3  # two buckets + the account (s3control) once
    assert ("s3control", "GetPublicAccessBlock") in log.operations()
    describe_key_regions = {region for service, op, region in log.calls if op == "DescribeKey"}
    assert describe_key_regions == {"us-east-1", "eu-west-1"}


def test_dangling_references_are_null_not_fake_resources(seed: Seeder, scan: Scan) -> None:
    d = dangling(seed)

    inventory, _ = scan()

    assert inventory.complete, inventory.coverage
    configs = by_name(inventory, aws_sagemaker.ENDPOINT_CONFIG)
    assert set(configs) == {"cfg-dangling"}
    assert configs["cfg-dangling"].related == {
        "endpoints": [], "models": [d.models["m-live"], None], "kms_keys": [None], "capture_bucket": None,
        "async_output_buckets": [],
    }
    assert by_name(inventory, aws_sagemaker.ENDPOINT)["ep-orphan"].related == {"endpoint_config": None,
                                                                              "inference_components": []}
    models = by_name(inventory, aws_sagemaker.MODEL)
    assert models["m-orphan"].related == {"execution_role": None, "environment_variables": []}
    assert models["m-orphan"].document["ExecutionRoleArn"] == d.gone_role
    assert [r.name for r in inventory.of_type(aws_iam.ROLE)] == ["Live"]
    assert inventory.of_type(aws_kms.KEY) == () and inventory.of_type(aws_s3.BUCKET) == ()
    assert all(not r.unreadable for r in inventory.resources)


def test_aws_managed_key_has_no_rotation_read(moto: Moto, seed: Seeder, scan: Scan) -> None:
    from moto.kms.models import kms_backends

    role = seed.role("R")
    seed.model("m", role)
    key = seed.key(alias="alias/aws/sagemaker")
    # moto creates every key as KeyManager CUSTOMER; AWS-managed keys exist only in AWS. The test
    # process hosts the moto server, so mark this one as AWS-managed on moto's backend object.
    kms_backends[ACCOUNT]["us-east-1"].keys[key["KeyId"]].key_manager = "AWS"
    seed.config("cfg", ["m"], kms_key="alias/aws/sagemaker")

    inventory, log = scan()

    [resource] = inventory.of_type(aws_kms.KEY)
    assert resource.document["KeyMetadata"]["KeyManager"] == "AWS"
    assert "KeyRotationStatus" not in resource.document and not resource.unreadable
    assert log.count("GetKeyRotationStatus") == 0


def test_region_discovery_scans_enabled_sagemaker_regions(seed: Seeder, scan: Scan) -> None:
    role = seed.role("R")
    seed.in_region("ap-southeast-2").model("far-away", role)

    inventory, log = scan(regions=())

    assert log.count("DescribeRegions") == 1
    regions = {c.region for c in inventory.coverage if c.service == "sagemaker"}
    assert {"us-east-1", "eu-west-1", "ap-southeast-2"} <= regions
    assert "ap-east-1" not in regions  # moto lists it as not-opted-in
    assert inventory.scopes == tuple(f"aws:{ACCOUNT}:{r}" for r in sorted(regions))
    assert [m.region for m in inventory.of_type(aws_sagemaker.MODEL)] == ["ap-southeast-2"]
    assert inventory.complete


def test_permissions_are_exactly_what_the_collection_calls(seed: Seeder, scan: Scan) -> None:
    from auditor.providers.aws.collect import PERMISSIONS

    two_regions(seed)
    serving(seed)  # async inference output, shadow variants and inference components: their reads too
    bedrock(seed)  # logging to a bucket and a log group with a key, a custom model and a guardrail
    _, log = scan(regions=())  # region discovery too
    # botocore's operation names -> IAM actions through the declarations' own map (resource_types.authorized_as);
    # the least-privilege test (test_aws_errors) checks that map against moto's enforcement of AWS's names.
    called = set(resource_types.actions(f"{service}:{op}" for service, op in log.operations()))

    assert set(PERMISSIONS) == called
    assert list(PERMISSIONS) == sorted(set(PERMISSIONS))
    # The calls themselves are the declared ones: the provider's own and each resource type's.
    made = {f"{service}:{op}" for service, op in log.operations()}
    assert made == set(scan_calls(resource_types.TYPES, resource_types.PROVIDER_CALLS))
    for resource_type in resource_types.TYPES:
        assert set(resource_type.calls) <= made, resource_type.id
    # Read-only by construction: no list-keys, secret or mutating API is ever called.
    for _, op in log.operations():
        assert op.startswith(("List", "Describe", "Get")), op
        assert "Secret" not in op and op != "ListKeys"
