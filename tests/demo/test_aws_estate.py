"""The Northwind demo estate, read back through boto3 from the moto server it was seeded into."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3

from auditor.catalog import load_catalog
from auditor.demo.aws_estate import DemoEstate
from auditor.demo.moto_server import aws_environment
from auditor.pipeline import ScanInputs, evaluate_inventory
from auditor.providers.aws.collect import AwsOptions, collect_aws

EU, US = "eu-west-1", "us-east-1"


def _names(session: boto3.Session, region: str, method: str, key: str, field: str) -> list[str]:
    pages = session.client("sagemaker", region_name=region).get_paginator(method).paginate()
    return [item[field] for page in pages for item in page[key]]


def test_counts_and_regions(estate: DemoEstate, aws: boto3.Session) -> None:
    assert estate.regions == (EU, US)
    assert estate.account_id == "123456789012"
    assert estate.counts == {"endpoints": 35, "endpoint_configs": 38, "models": 39, "roles": 6, "keys": 8,
                             "buckets": 9}
    assert estate.bedrock is not None  # Bedrock in both regions: logging settings, a custom model, a guardrail
    assert sorted(estate.bedrock.logging) == [EU, US]
    assert len(estate.bedrock.models) == len(estate.bedrock.guardrails) == 2
    per_region = {r: _names(aws, r, "list_endpoints", "Endpoints", "EndpointName") for r in estate.regions}
    assert sorted(per_region[EU] + per_region[US]) == sorted(estate.endpoints)
    assert len(per_region[EU]) == 20 and len(per_region[US]) == 15
    components = _names(aws, US, "list_inference_components", "InferenceComponents", "InferenceComponentArn")
    assert sorted(components) == sorted(estate.components.values()) and len(components) == 3
    assert "churn-predictor-prod" in per_region[EU] and "fraud-scoring-v3-us" in per_region[US]


def test_orphaned_configs_exist_and_no_endpoint_uses_them(estate: DemoEstate, aws: boto3.Session) -> None:
    assert len(estate.orphaned_configs) == 3
    used, listed = set(), set()
    for region in estate.regions:
        sagemaker = aws.client("sagemaker", region_name=region)
        listed |= set(_names(aws, region, "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName"))
        for name in _names(aws, region, "list_endpoints", "Endpoints", "EndpointName"):
            used.add(sagemaker.describe_endpoint(EndpointName=name)["EndpointConfigName"])
    assert set(estate.orphaned_configs) <= listed
    assert not set(estate.orphaned_configs) & used
    assert listed - used == set(estate.orphaned_configs)


def test_serverless_configs_have_only_serverless_variants(estate: DemoEstate, aws: boto3.Session) -> None:
    assert len(estate.serverless_configs) == 6
    for name in estate.serverless_configs:
        region = estate.endpoint_configs[name].split(":")[3]
        config = aws.client("sagemaker", region_name=region).describe_endpoint_config(EndpointConfigName=name)
        assert all("ServerlessConfig" in v and "InstanceType" not in v for v in config["ProductionVariants"])
        assert "KmsKeyId" not in config


def test_network_isolation_reaches_describe_model(estate: DemoEstate, aws: boto3.Session) -> None:
    sagemaker = aws.client("sagemaker", region_name=EU)
    isolated, open_ = "churn-predictor-prod-20240514", "churn-predictor-staging-20240514"
    assert isolated in estate.isolated_models and open_ not in estate.isolated_models
    assert sagemaker.describe_model(ModelName=isolated)["EnableNetworkIsolation"] is True
    assert sagemaker.describe_model(ModelName=open_)["EnableNetworkIsolation"] is False
    assert len(estate.isolated_models) == 8


def test_keys_rotation_origin_and_alias_reference(estate: DemoEstate, aws: boto3.Session) -> None:
    kms = aws.client("kms", region_name=EU)
    volumes, legacy, byok = (estate.keys[EU, a] for a in ("nw-ml-volumes", "nw-legacy-ml", "nw-risk-byok"))
    assert kms.get_key_rotation_status(KeyId=volumes)["KeyRotationEnabled"] is True
    assert kms.get_key_rotation_status(KeyId=legacy)["KeyRotationEnabled"] is False
    assert kms.describe_key(KeyId=byok)["KeyMetadata"]["Origin"] == "EXTERNAL"
    capture = kms.describe_key(KeyId="alias/nw-ml-capture")["KeyMetadata"]["Arn"]
    assert capture == estate.keys[EU, "nw-ml-capture"]
    sagemaker = aws.client("sagemaker", region_name=EU)
    by_arn = sagemaker.describe_endpoint_config(EndpointConfigName="churn-predictor-prod-cfg-20240514")
    by_alias = sagemaker.describe_endpoint_config(EndpointConfigName="demand-forecast-prod-cfg-20240501")
    assert by_arn["KmsKeyId"] == volumes
    assert by_alias["KmsKeyId"] == "alias/nw-ml-volumes"
    assert by_arn["DataCaptureConfig"]["KmsKeyId"] == "alias/nw-ml-capture"


def test_capture_buckets(aws: boto3.Session) -> None:
    s3 = aws.client("s3", region_name=EU)
    good, bad = "northwind-ds-capture-eu-west-1", "northwind-ds-capture-us-east-1"
    rule = s3.get_bucket_encryption(Bucket=good)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert all(s3.get_public_access_block(Bucket=good)["PublicAccessBlockConfiguration"].values())
    rule = s3.get_bucket_encryption(Bucket=bad)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=bad)["PublicAccessBlockConfiguration"]
    assert block["RestrictPublicBuckets"] is False and block["BlockPublicAcls"] is True


def test_execution_roles(aws: boto3.Session) -> None:
    iam = aws.client("iam")
    attached = iam.list_attached_role_policies(RoleName="nw-sm-exec-recsys")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"]
    document = iam.get_role_policy(RoleName="nw-ds-notebook-legacy", PolicyName="notebook-everything")
    statements = document["PolicyDocument"]["Statement"]
    assert {"Effect": "Allow", "Action": ["sagemaker:*"], "Resource": "*"} in statements
    fraud = iam.list_attached_role_policies(RoleName="nw-sm-exec-fraud")["AttachedPolicies"]
    assert [p["PolicyName"] for p in fraud] == ["nw-fraud-runtime"]
    tags = {t["Key"]: t["Value"] for t in iam.get_role(RoleName="nw-sm-exec-churn")["Role"]["Tags"]}
    assert tags["owner"] == "@ds-platform-oncall"


def test_hostile_values_are_stored_verbatim(estate: DemoEstate, aws: boto3.Session) -> None:
    fields = {h.field.split(".")[0] for h in estate.hostile}
    assert fields == {"PrimaryContainer", "Role", "KeyMetadata", "Tags"}
    for hostile in estate.hostile:
        arn = hostile.resource_arn
        region, name = arn.split(":")[3], arn.split("/")[-1]
        if hostile.field.startswith("PrimaryContainer."):
            model = aws.client("sagemaker", region_name=region).describe_model(ModelName=name)
            assert model["PrimaryContainer"]["Environment"][hostile.field.split(".")[-1]] == hostile.value
        elif hostile.field == "Role.Description":
            assert aws.client("iam").get_role(RoleName=name)["Role"]["Description"] == hostile.value
        elif hostile.field == "KeyMetadata.Description":
            kms = aws.client("kms", region_name=region)
            assert kms.describe_key(KeyId=arn)["KeyMetadata"]["Description"] == hostile.value
        else:
            kms = aws.client("kms", region_name=region)
            tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=arn)["Tags"]}
            assert tags[hostile.field.split(".", 1)[1]] == hostile.value == "<img src=x onerror=alert(1)>"


def test_every_aws_rule_gets_pass_fail_and_not_applicable_where_it_can(estate: DemoEstate) -> None:
    by_rule: dict[str, set[str]] = {}
    for (rule_id, _resource), status in estate.expected.items():
        by_rule.setdefault(rule_id, set()).add(status)
    rules = load_catalog(providers=("aws",))
    assert set(by_rule) == set(rules)
    decided_by_check = {"aws.sagemaker.endpoint_config.kms_volume_encryption"}  # NOT_APPLICABLE from its check
    for rule in rules.values():
        applicability = rule.applies_when is not None or rule.id in decided_by_check
        wanted = {"PASS", "FAIL"} | ({"NOT_APPLICABLE"} if applicability else set())
        assert by_rule[rule.id] == wanted, rule.id


def test_the_auditor_reaches_the_expected_verdicts(estate: DemoEstate) -> None:
    with aws_environment(estate.endpoint_url):
        inventory = collect_aws(AwsOptions(regions=estate.regions))
    assert inventory.complete, [row for row in inventory.coverage if row.error]
    result = evaluate_inventory(ScanInputs(rules=load_catalog(providers=("aws",))), inventory,
                                datetime.now(UTC))
    findings = {(f.rule_id, f.resource_id): str(f.status) for f in result.findings}
    differences = {k: (findings.get(k), estate.expected.get(k))
                   for k in set(findings) | set(estate.expected) if findings.get(k) != estate.expected.get(k)}
    assert not differences, json.dumps({" ".join(k): v for k, v in sorted(differences.items())}, indent=1)
