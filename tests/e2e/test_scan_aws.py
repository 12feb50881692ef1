"""`auditor scan aws` against a moto-served estate via the standard AWS_ENDPOINT_URL."""

from __future__ import annotations

import json

import boto3

from .helpers import fake_aws_env, run_auditor

ROLE_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def _seed(endpoint: str) -> dict[str, str]:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    iam = session.client("iam", region_name="us-east-1", endpoint_url=endpoint)
    role = iam.create_role(RoleName="scoring", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
    iam.put_role_policy(RoleName="scoring", PolicyName="read-models", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::models/*"}]}))
    kms = session.client("kms", region_name="eu-west-1", endpoint_url=endpoint)
    key = kms.create_key(Description="<b>volume key</b>")["KeyMetadata"]["Arn"]
    sm = session.client("sagemaker", region_name="eu-west-1", endpoint_url=endpoint)
    sm.create_model(ModelName="ranker", ExecutionRoleArn=role,
                    PrimaryContainer={"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ranker:7"},
                    VpcConfig={"Subnets": ["subnet-0abc"], "SecurityGroupIds": ["sg-0abc"]},
                    Tags=[{"Key": "owner", "Value": "<script>alert('x')</script>"}])
    for i in range(12):  # more than one AWS page (10) of endpoints in the region
        name = f"ranker-{i:02d}"
        config = {"EndpointConfigName": name, "ProductionVariants": [
            {"VariantName": "main", "ModelName": "ranker", "InitialInstanceCount": 2 if i < 6 else 1,
             "InstanceType": "ml.m5.large"}]}
        if i % 2 == 0:
            config["KmsKeyId"] = key
        sm.create_endpoint_config(**config)
        sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.create_endpoint_config(EndpointConfigName="orphan-serverless", ProductionVariants=[
        {"VariantName": "s", "ModelName": "ranker", "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 2}}])
    return {"role": role, "key": key}


def test_scan_yields_the_catalog_verdicts_for_every_resource(moto, tmp_path):
    seeded = _seed(moto)
    out = tmp_path / "out"
    r = run_auditor(["scan", "aws", "--region", "eu-west-1", "--region", "us-east-1", "--out", str(out),
                     "--quiet"], out, env=fake_aws_env(moto))
    assert r.code == 1, r.stderr  # kms_volume_encryption (high) fails on the odd configs
    assert r.stderr == ""  # --quiet
    doc = r.findings()
    assert doc["scan"]["complete"] is True
    by = {(f["rule_id"], f["resource_id"].rsplit("/", 1)[-1]): f for f in doc["findings"]}
    kms_rule = "aws.sagemaker.endpoint_config.kms_volume_encryption"
    for i in range(12):
        name = f"ranker-{i:02d}"
        assert by[(kms_rule, name)]["status"] == ("PASS" if i % 2 == 0 else "FAIL")
        assert by[("aws.sagemaker.endpoint_config.multi_instance", name)]["status"] == ("PASS" if i < 6 else "FAIL")
        assert by[("aws.sagemaker.endpoint.data_capture_enabled", name)]["status"] == "FAIL"
        assert by[("aws.sagemaker.endpoint.data_capture_encrypted", name)]["status"] == "NOT_APPLICABLE"
    assert by[(kms_rule, "orphan-serverless")]["status"] == "NOT_APPLICABLE"
    assert by[("aws.sagemaker.model.vpc", "ranker")]["status"] == "PASS"
    assert by[("aws.sagemaker.model.network_isolation", "ranker")]["status"] == "FAIL"
    role = by[("aws.iam.role.sagemaker_least_privilege", "scoring")]
    assert role["status"] == "PASS" and role["resource_id"] == seeded["role"]
    key = [f for f in doc["findings"] if f["rule_id"] == "aws.kms.key.rotation_enabled"]
    assert [(f["resource_id"], f["status"]) for f in key] == [(seeded["key"], "FAIL")]
    # exactly one finding per (rule, resource)
    assert len({(f["rule_id"], f["resource_id"]) for f in doc["findings"]}) == len(doc["findings"])
    html = (out / "report.html").read_text()
    assert "<script>alert('x')</script>" not in html
    assert "\\u003cscript\\u003ealert(" in html  # in the report's data block, escaped for a <script> element


def test_an_unreachable_endpoint_is_incomplete_exit_2_with_scope_errors(tmp_path):
    out = tmp_path / "out"
    r = run_auditor(["scan", "aws", "--region", "eu-west-1", "--out", str(out), "--quiet"], out,
                    env={**fake_aws_env("http://127.0.0.1:9"), "AWS_MAX_ATTEMPTS": "1"}, timeout=120)
    assert r.code == 2, r.stderr
    doc = r.findings()
    assert doc["scan"]["complete"] is False
    assert doc["findings"] and all(f["status"] == "ERROR" for f in doc["findings"])


def _seed_two_regions(endpoint: str) -> dict[str, str]:
    """In each of us-east-1 and eu-west-1: a model with its own role, a config with an unrotated KMS key and
    data capture to a bucket of its own (no default encryption, no public access block), an endpoint."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    iam = session.client("iam", region_name="us-east-1", endpoint_url=endpoint)
    s3 = session.client("s3", region_name="us-east-1", endpoint_url=endpoint)
    ids: dict[str, str] = {}
    for region in ("us-east-1", "eu-west-1"):
        role = iam.create_role(RoleName=f"scoring-{region}", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
        iam.put_role_policy(RoleName=f"scoring-{region}", PolicyName="everything", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        bucket = f"capture-{region}"
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        key = session.client("kms", region_name=region, endpoint_url=endpoint).create_key()["KeyMetadata"]["Arn"]
        sm = session.client("sagemaker", region_name=region, endpoint_url=endpoint)
        sm.create_model(ModelName="ranker", ExecutionRoleArn=role,
                        PrimaryContainer={"Image": f"123456789012.dkr.ecr.{region}.amazonaws.com/ranker:7"})
        sm.create_endpoint_config(EndpointConfigName="ranker", KmsKeyId=key, ProductionVariants=[
            {"VariantName": "main", "ModelName": "ranker", "InitialInstanceCount": 2, "InstanceType": "ml.m5.large"}],
            DataCaptureConfig={"EnableCapture": True, "InitialSamplingPercentage": 10,
                               "DestinationS3Uri": f"s3://{bucket}/capture", "KmsKeyId": key,
                               "CaptureOptions": [{"CaptureMode": "Input"}]})
        sm.create_endpoint(EndpointName="ranker", EndpointConfigName="ranker")
        ids.update({f"role {region}": role, f"key {region}": key, f"bucket {region}": f"arn:aws:s3:::{bucket}"})
    return ids


def test_a_one_region_scan_never_resolves_what_another_region_references(moto, tmp_path):
    ids = _seed_two_regions(moto)
    env = fake_aws_env(moto)
    base = tmp_path / "base"
    r = run_auditor(["scan", "aws", "--region", "eu-west-1", "--region", "us-east-1", "--out", str(base),
                     "--quiet"], base, env=env)
    assert r.code == 1, r.stderr
    east = {ids["role us-east-1"], ids["key us-east-1"], ids["bucket us-east-1"]}
    failing_east = {(f["rule_id"], f["resource_id"]) for f in r.findings()["findings"]
                    if f["status"] == "FAIL" and f["resource_id"] in east}
    assert {resource for _, resource in failing_east} == east  # role, key and bucket all fail

    west = tmp_path / "west"
    r = run_auditor(["scan", "aws", "--region", "eu-west-1", "--baseline", str(base / "findings.json"),
                     "--fail-on-new", "--out", str(west)], west, env=env)
    doc = r.findings()
    assert not doc["baseline"]["resolved"], doc["baseline"]["resolved"]
    unverified = {(p["rule_id"], p["resource_id"]): p["reason"] for p in doc["baseline"]["unverified"]}
    assert failing_east <= set(unverified)
    for rule_id, resource_id in failing_east:
        scopes = "arn:aws:sagemaker:us-east-1:123456789012:*"
        if resource_id == ids["bucket us-east-1"]:  # a bucket may also be found through Bedrock's logging
            scopes = f"arn:aws:bedrock:us-east-1:123456789012:*, {scopes}"
        unread = f"it is found through scopes this scan did not read: {scopes}"
        expected = ("no scope of this scan holds its resource" if resource_id == ids["key us-east-1"]  # kms:us-east-1
                    else unread)
        assert unverified[rule_id, resource_id] == expected, resource_id
    assert doc["baseline"]["counts"]["resolved"] == 0
    # eu-west-1's own role, key and bucket were re-read: still failing, not unknown.
    west_states = {f["resource_id"]: f["baseline"]["state"] for f in doc["findings"]
                   if f["resource_id"] in (ids["bucket eu-west-1"], ids["key eu-west-1"], ids["role eu-west-1"])}
    assert set(west_states.values()) == {"still_failing"}
    assert "0 resolved" in r.stderr and f"{len(unverified)} unknown" in r.stderr
    # Without a terminal the log shows each lane of work as it finishes, then the exit code and its meaning.
    assert "auditor: aws: sagemaker eu-west-1 done: " in r.stderr
    assert r.code == 0  # complete, and nothing new: what it could not re-check is unknown, not a gate
    assert r.stderr.splitlines()[-1] == "auditor: exit 0: complete; no new or regressed FAIL at or above high"
