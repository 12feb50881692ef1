"""Factories that seed a moto server with SageMaker estates through real boto3 calls."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import boto3

from auditor.providers.aws.session import drop_account_prefix_for_local_host

ACCOUNT = "123456789012"  # moto's default account

TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}


def policy(actions: Iterable[str], resource: str = "*", effect: str = "Allow") -> dict[str, Any]:
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": effect, "Action": sorted(actions), "Resource": resource}]}


class Seeder:
    """Creates resources in one region (``in_region`` gives a seeder for another one)."""

    def __init__(self, session: boto3.Session, region: str = "us-east-1") -> None:
        self.session = session
        self.region = region
        self._clients: dict[tuple[str, str], Any] = {}

    def in_region(self, region: str) -> Seeder:
        return Seeder(self.session, region)

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        if key not in self._clients:
            client = self.session.client(service, region_name=key[1])  # type: ignore[call-overload]
            if service == "s3control":  # the collector's own fix for {AccountId}.127.0.0.1 hosts
                client.meta.events.register("before-sign.s3-control", drop_account_prefix_for_local_host)
            self._clients[key] = client
        return self._clients[key]

    # --- IAM -----------------------------------------------------------------------------------

    def managed_policy(self, name: str, document: Mapping[str, Any] | None = None) -> str:
        doc = document or policy(["s3:GetObject"], "arn:aws:s3:::models/*")
        response = self.client("iam").create_policy(PolicyName=name, PolicyDocument=json.dumps(doc))
        return str(response["Policy"]["Arn"])

    def role(self, name: str, *, managed: Sequence[str] = (),
             inline: Mapping[str, Mapping[str, Any]] | None = None, path: str = "/") -> str:
        iam = self.client("iam")
        arn = str(iam.create_role(RoleName=name, Path=path,
                                  AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]["Arn"])
        for policy_arn in managed:
            iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
        for policy_name, document in (inline or {}).items():
            iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
        return arn

    def user_with_policy(self, name: str, document: Mapping[str, Any]) -> dict[str, str]:
        """An IAM user holding only ``document``; returns boto3 Session credential kwargs."""
        iam = self.client("iam")
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="only", PolicyDocument=json.dumps(document))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}

    # --- SageMaker -----------------------------------------------------------------------------

    def model(self, name: str, role_arn: str, tags: Mapping[str, str] | None = None,
              environment: Mapping[str, str] | None = None,
              containers: Sequence[Mapping[str, str]] = ()) -> str:
        primary: dict[str, Any] = {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:1",
                                   "ModelDataUrl": "s3://models/model.tar.gz"}
        if environment is not None:
            primary["Environment"] = dict(environment)
        kwargs: dict[str, Any] = {"ModelName": name, "ExecutionRoleArn": role_arn, "Tags": _tags(tags)}
        if containers:  # an inference pipeline: Containers instead of PrimaryContainer
            kwargs["Containers"] = [primary, *({"Image": primary["Image"], "Environment": dict(env)}
                                               for env in containers)]
        else:
            kwargs["PrimaryContainer"] = primary
        response = self.client("sagemaker").create_model(**kwargs)
        return str(response["ModelArn"])

    def config(self, name: str, models: Sequence[str], *, kms_key: str | None = None,
               capture_uri: str | None = None, capture_kms: str | None = None,
               serverless: bool = False, instances: int = 2, tags: Mapping[str, str] | None = None,
               shadow: Mapping[str, Any] | None = None, async_output: Mapping[str, str] | None = None) -> str:
        variants = []
        for i, model in enumerate(models):
            variant: dict[str, Any] = {"VariantName": f"v{i}", "ModelName": model}
            if serverless:
                variant["ServerlessConfig"] = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
            else:
                variant.update(InitialInstanceCount=instances, InstanceType="ml.m5.large")
            variants.append(variant)
        kwargs: dict[str, Any] = {"EndpointConfigName": name, "ProductionVariants": variants,
                                  "Tags": _tags(tags)}
        if kms_key:
            kwargs["KmsKeyId"] = kms_key
        if capture_uri:
            capture: dict[str, Any] = {
                "EnableCapture": True, "InitialSamplingPercentage": 100, "DestinationS3Uri": capture_uri,
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            }
            if capture_kms:
                capture["KmsKeyId"] = capture_kms
            kwargs["DataCaptureConfig"] = capture
        if shadow is not None:  # one shadow variant: {"ModelName", "InstanceType", "InitialInstanceCount"}
            kwargs["ShadowProductionVariants"] = [{"VariantName": "shadow", **shadow}]
        if async_output is not None:  # AsyncInferenceConfig.OutputConfig
            kwargs["AsyncInferenceConfig"] = {"OutputConfig": dict(async_output)}
        return str(self.client("sagemaker").create_endpoint_config(**kwargs)["EndpointConfigArn"])

    def endpoint(self, name: str, config: str, tags: Mapping[str, str] | None = None) -> str:
        response = self.client("sagemaker").create_endpoint(EndpointName=name, EndpointConfigName=config,
                                                            Tags=_tags(tags))
        return str(response["EndpointArn"])

    def component(self, name: str, endpoint: str, *, model: str | None = None,
                  environment: Mapping[str, str] | None = None, tags: Mapping[str, str] | None = None) -> str:
        """An inference component on ``endpoint``'s first variant: running ``model``, or a container of its own."""
        specification: dict[str, Any] = {"ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024,
                                                                         "NumberOfCpuCoresRequired": 1}}
        if model is not None:
            specification["ModelName"] = model
        else:
            specification["Container"] = {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/llm:1",
                                          "Environment": dict(environment or {})}
        response = self.client("sagemaker").create_inference_component(
            InferenceComponentName=name, EndpointName=endpoint, VariantName="v0", Specification=specification,
            RuntimeConfig={"CopyCount": 1}, Tags=_tags(tags))
        return str(response["InferenceComponentArn"])

    # --- KMS and S3 ----------------------------------------------------------------------------

    def key(self, *, alias: str | None = None, rotation: bool = False,
            tags: Mapping[str, str] | None = None) -> dict[str, Any]:
        kms = self.client("kms")
        metadata: dict[str, Any] = kms.create_key(Description="seeded", Tags=[
            {"TagKey": k, "TagValue": v} for k, v in (tags or {}).items()])["KeyMetadata"]
        if alias:
            kms.create_alias(AliasName=alias, TargetKeyId=metadata["KeyId"])
        if rotation:
            kms.enable_key_rotation(KeyId=metadata["KeyId"])
        return metadata

    def bucket(self, name: str, *, kms_key_arn: str | None = None, aes: bool = False,
               block_public: bool = False, tags: Mapping[str, str] | None = None) -> str:
        s3 = self.client("s3")
        if self.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        if kms_key_arn or aes:
            rule: dict[str, Any] = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key_arn} if kms_key_arn \
                else {"SSEAlgorithm": "AES256"}
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": rule}]})
        if block_public:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=ALL_BLOCKED)
        if tags:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tags(tags)})
        return f"s3://{name}/capture"

    def account_public_access_block(self) -> None:
        self.client("s3control").put_public_access_block(AccountId=ACCOUNT,
                                                         PublicAccessBlockConfiguration=ALL_BLOCKED)


def _tags(tags: Mapping[str, str] | None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in (tags or {}).items()]


ALL_BLOCKED = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
               "RestrictPublicBuckets": True}
