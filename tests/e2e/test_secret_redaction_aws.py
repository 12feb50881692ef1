"""Issue 18, item 8: AWS tags and documents follow the redaction policy of Azure, in every output.

A hostile (or careless) resource owner tags SageMaker resources, the execution role, the capture bucket
and the KMS key with an access key id, a connection string with a password, a bearer token, a JWT, a
URL with a database password and one with a function key. ``auditor scan aws`` against moto, in every
format, then ``auditor remediate plan`` and ``auditor report``: no secret value reaches any file or the
console; ordinary tags are kept, and a URL keeps its shape.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3

from .helpers import fake_aws_env, run_auditor

REGION = "eu-west-1"
FORMATS = ("json", "html", "sarif", "junit", "markdown", "csv", "ocsf")
OUTPUT_FILES = ("findings.json", "report.html", "report.sarif", "junit.xml", "summary.md", "findings.csv",
                "findings.ocsf.json")
ROLE_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]})

# Synthetic values shaped like real secrets (none is a live credential).
ACCESS_KEY_ID = "AKIAQ3EGRXXXEXAMPLE7"
KEY_AS_TAG_NAME = "AKIAQ3EGRXXXEXAMPLE9"
DB_PASSWORD = "Tr0ub4dor-3-prod"
BEARER = "tok3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtb2RlbC1vcHMifQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
URL_PASSWORD = "Pg-S3cret-pw"
FUNCTION_CODE = "Zm5LZXlGb3JTY29yaW5n"
PLAIN_LOOKING = "plain-looking-pass-1"
ENV_SECRET = "EnvS3cret-value-42"
SECRETS = (ACCESS_KEY_ID, KEY_AS_TAG_NAME, DB_PASSWORD, BEARER, JWT, URL_PASSWORD, FUNCTION_CODE, PLAIN_LOOKING,
           ENV_SECRET)


def _tags(**values: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in values.items()]


def _seed(endpoint: str) -> None:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    iam = session.client("iam", region_name="us-east-1", endpoint_url=endpoint)
    role = iam.create_role(RoleName="scoring", AssumeRolePolicyDocument=ROLE_POLICY,
                           Tags=_tags(team="ml", session=JWT))["Role"]["Arn"]
    s3 = session.client("s3", region_name=REGION, endpoint_url=endpoint)
    s3.create_bucket(Bucket="capture", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_tagging(Bucket="capture", Tagging={"TagSet": _tags(**{
        "team": "ml", "hook": f"https://fn.example.com/api/score?code={FUNCTION_CODE}&v=2",
        KEY_AS_TAG_NAME: "a key id as the tag's name"})})
    kms = session.client("kms", region_name=REGION, endpoint_url=endpoint)
    key = kms.create_key(Tags=[{"TagKey": k, "TagValue": v} for k, v in {
        "team": "ml", "dsn": f"postgresql://svc:{URL_PASSWORD}@db.internal:5432/features",
        "password": PLAIN_LOOKING}.items()])["KeyMetadata"]["Arn"]
    sm = session.client("sagemaker", region_name=REGION, endpoint_url=endpoint)
    sm.create_model(ModelName="ranker", ExecutionRoleArn=role,
                    PrimaryContainer={"Image": f"123456789012.dkr.ecr.{REGION}.amazonaws.com/ranker:7",
                                      "Environment": {"DB_PASSWORD": ENV_SECRET}},
                    Tags=_tags(team="ml", db=f"Server=tcp:db.internal,1433;User ID=svc;Password={DB_PASSWORD};"))
    sm.create_endpoint_config(
        EndpointConfigName="ranker", KmsKeyId=key, Tags=_tags(ci=f"Bearer {BEARER}"),
        ProductionVariants=[{"VariantName": "main", "ModelName": "ranker", "InitialInstanceCount": 1,
                             "InstanceType": "ml.m5.large"}],
        DataCaptureConfig={"EnableCapture": True, "InitialSamplingPercentage": 10, "KmsKeyId": key,
                           "DestinationS3Uri": "s3://capture/data", "CaptureOptions": [{"CaptureMode": "Input"}]})
    sm.create_endpoint(EndpointName="ranker", EndpointConfigName="ranker", Tags=_tags(**{"deploy-key": ACCESS_KEY_ID}))


def _assert_no_secret(texts: dict[str, str]) -> None:
    for name, text in texts.items():
        for secret in SECRETS:
            assert secret not in text, (name, secret)


def _files(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in directory.iterdir() if p.is_file()}


def test_secret_shaped_aws_tags_never_reach_any_output(moto: str, tmp_path: Path) -> None:
    _seed(moto)
    env = fake_aws_env(moto)
    out = tmp_path / "out"
    formats = [arg for fmt in FORMATS for arg in ("--format", fmt)]
    r = run_auditor(["scan", "aws", "--region", REGION, "--out", str(out), *formats], out, env=env)
    assert r.code == 1, r.stderr  # complete, some high-severity FAIL
    written = _files(out)
    assert set(OUTPUT_FILES) <= set(written)
    _assert_no_secret({**written, "stdout": r.stdout, "stderr": r.stderr})

    doc = r.findings()
    arn_tags = {item["type"]: item["tags"] for item in doc["inventory"]}  # one resource of each type
    assert arn_tags["aws.sagemaker.endpoint"] == {"deploy-key": "<redacted>"}
    assert arn_tags["aws.sagemaker.model"] == {"team": "ml", "db": "<redacted>"}
    assert arn_tags["aws.sagemaker.endpoint_config"] == {"ci": "<redacted>"}
    assert arn_tags["aws.iam.role"] == {"team": "ml", "session": "<redacted>"}
    assert arn_tags["aws.s3.bucket"] == {"team": "ml", "hook": "https://fn.example.com/api/score?code=<redacted>&v=2",
                                         "<redacted>": "a key id as the tag's name"}
    assert arn_tags["aws.kms.key"] == {"team": "ml", "dsn": "postgresql://<redacted>@db.internal:5432/features",
                                       "password": "<redacted>"}  # a tag named like a secret field, as on Azure
    assert "team=ml" in written["findings.ocsf.json"]  # ordinary labels are kept

    plan_file = tmp_path / "plan.json"
    p = run_auditor(["remediate", "plan", str(out / "findings.json"), "--out", str(plan_file)], out, env=env)
    assert p.code == 0, p.stderr
    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    assert plan["steps"] and "redacted" not in plan  # nothing left for the plan's own safety net to catch
    again = tmp_path / "again"
    rr = run_auditor(["report", str(out / "findings.json"), "--out", str(again), *formats], again, env=env)
    assert rr.code == 1, rr.stderr
    _assert_no_secret({"plan.json": plan_file.read_text(encoding="utf-8"), **_files(again),
                       "plan stdout": p.stdout, "report stdout": rr.stdout, "report stderr": rr.stderr})
