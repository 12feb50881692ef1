"""AWS demo estates: a declarative ``EstateSpec`` of SageMaker endpoints, seeded through boto3 into moto.

``seed_estate(url, spec)`` seeds any ``EstateSpec`` (:mod:`auditor.demo.aws_spec`; Northwind Retail's in
:mod:`auditor.demo.aws_northwind`; the benchmark builds a large one) and returns what was made, with
the verdict each rule should reach on each resource.

Two moto workarounds, both explicit:
- moto ignores ``EnableNetworkIsolation`` on CreateModel; isolated models get the flag set on
  moto's backend object, which works only because the server runs in this process (it is checked).
- Hostile text goes only where AWS accepts it: SageMaker, IAM, S3 and KMS names and SageMaker/IAM/S3
  tag values reject ``<>()``. It sits in a model container's environment, an IAM role description and
  a KMS key description (free text in AWS too), and a KMS key tag (the KMS API, unlike SageMaker's and
  IAM's, sets no pattern on tag values). An ``owner`` tag starting with ``@`` (valid everywhere)
  probes CSV formula injection.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from auditor.demo import aws_bedrock_estate as bedrock
from auditor.demo import aws_serving
from auditor.demo.aws_serving import ComponentSpec
from auditor.demo.aws_spec import (
    BucketSpec,
    ConfigSpec,
    EndpointSpec,
    EstateSpec,
    KeySpec,
    ModelSpec,
    RoleSpec,
    Statement,
    Variant,
)
from auditor.demo.moto_server import aws_environment

# Instance families of this module's estates that have local NVMe instance storage (no EBS volume, so
# no KmsKeyId to judge): the expected verdicts below leave them out, as the volume-key rule does.
LOCAL_NVME_FAMILIES = ("ml.g4dn.", "ml.g5.", "ml.m5d.", "ml.c5d.", "ml.r5d.", "ml.p3dn.", "ml.p4d.")


@dataclass(frozen=True)
class HostileValue:
    resource_arn: str
    field: str  # where it sits in the resource's API document
    value: str


@dataclass(frozen=True)
class DemoEstate:
    """What was seeded: names -> ARNs (as the server returned them), and the expected verdicts."""

    endpoint_url: str
    account_id: str
    regions: tuple[str, ...]
    endpoints: Mapping[str, str]
    endpoint_configs: Mapping[str, str]
    models: Mapping[str, str]
    roles: Mapping[str, str]
    keys: Mapping[tuple[str, str], str]  # (region, alias) -> key ARN
    buckets: Mapping[str, str]  # name -> arn:aws:s3:::name
    orphaned_configs: tuple[str, ...]
    serverless_configs: tuple[str, ...]
    isolated_models: tuple[str, ...]
    hostile: tuple[HostileValue, ...]
    expected: Mapping[tuple[str, str], str]  # (rule id, resource ARN) -> PASS | FAIL | NOT_APPLICABLE
    components: Mapping[str, str] = field(default_factory=dict)  # inference component name -> ARN
    bedrock: bedrock.BedrockSeeded | None = None

    @property
    def counts(self) -> dict[str, int]:
        return {"endpoints": len(self.endpoints), "endpoint_configs": len(self.endpoint_configs),
                "models": len(self.models), "roles": len(self.roles), "keys": len(self.keys),
                "buckets": len(self.buckets)}


def seed_estate(endpoint_url: str, spec: EstateSpec, workers: int = 4) -> DemoEstate:
    """Create ``spec`` through boto3, in dependency order, each layer on ``workers`` threads.

    The moto server must run in this process (``running_moto``) for isolated models. It shares this
    process's GIL, so more threads do not seed faster (1.7-2.2 s for the demo with 1 to 16 here).
    """
    with aws_environment(endpoint_url, spec.regions[0]):  # fake credentials, no ~/.aws files
        seeder = _Seeder(endpoint_url, spec, workers)
    return seeder.run()


def _policy(statements: Iterable[Statement]) -> str:
    allow = [{"Effect": "Allow", "Action": list(actions), "Resource": resource}
             for actions, resource in statements]
    return json.dumps({"Version": "2012-10-17", "Statement": allow})


_WARM_UP = {"sagemaker": "list_models", "kms": "list_keys", "s3": "list_buckets", "iam": "list_roles",
            "bedrock": "list_custom_models", "logs": "describe_log_groups"}
_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


class _Seeder:
    def __init__(self, endpoint_url: str, spec: EstateSpec, workers: int) -> None:
        import boto3
        from botocore.config import Config

        self.url, self.spec, self.workers = endpoint_url, spec, workers
        session = boto3.session.Session()
        config = Config(max_pool_connections=workers, retries={"mode": "standard", "total_max_attempts": 3})
        self._clients: dict[tuple[str, str], Any] = {(service, region): session.client(service, region_name=region,
                                                           endpoint_url=endpoint_url, config=config)
                         for service in ("sagemaker", "kms", "s3", *(("bedrock", "logs") if spec.bedrock else ()))
                         for region in spec.regions}
        self._clients["iam", "global"] = session.client("iam", region_name=spec.regions[0],
                                                        endpoint_url=endpoint_url, config=config)
        sts = session.client("sts", region_name=spec.regions[0], endpoint_url=endpoint_url, config=config)
        self.account: str = sts.get_caller_identity()["Account"]
        self.roles: dict[str, str] = {}
        self.keys: dict[tuple[str, str], str] = {}
        self.models: dict[str, str] = {}
        self.configs: dict[str, str] = {}
        self.endpoints: dict[str, str] = {}
        self.components: dict[str, str] = {}
        self.bedrock: bedrock.BedrockSeeded | None = None

    def client(self, service: str, region: str) -> Any:
        return self._clients[service, region]

    def tags(self, own: Mapping[str, str] | None = None) -> list[dict[str, str]]:
        """The estate's tags, overridden by the resource's own, in the SageMaker/IAM/S3 shape."""
        return [{"Key": k, "Value": v} for k, v in {**self.spec.tags, **(own or {})}.items()]

    def _parallel(self, tasks: Iterable[Callable[[], None]]) -> None:
        with ThreadPoolExecutor(self.workers) as pool:
            for future in [pool.submit(task) for task in tasks]:
                future.result()

    def run(self) -> DemoEstate:
        spec = self.spec
        # moto sets a service up on its first request: make that request once per client before the
        # parallel phases, or every worker queues behind it (measured: 2.4 s instead of 0.2 s).
        # Bedrock's and Logs' first requests come after everything else: a request draws from moto's seeded
        # generator too, and the keys' ids (drawn next) must not depend on whether the estate has Bedrock.
        late = ("bedrock", "logs")
        for (service, _region), client in self._clients.items():
            if service not in late:
                getattr(client, _WARM_UP[service])()
        _add_aws_managed_policies(self.account, {name for role in spec.roles for name in role.managed})
        # Keys one by one, first: moto draws their ids from its seeded generator, so a fixed order gives
        # the same key ids (and finding ids) every demo run.
        for key in spec.keys:
            self._key(key)
        self._parallel(partial(self._role, r) for r in spec.roles)
        self._parallel(partial(self._bucket, b) for b in spec.buckets)
        self._parallel(partial(self._model, m) for m in spec.models)
        self._parallel(partial(self._config, c) for c in spec.configs)
        self._parallel(partial(self._endpoint, e) for e in spec.endpoints)
        self._parallel(partial(self._component, c) for c in spec.components)
        if spec.bedrock:
            for (service, _region), client in self._clients.items():
                if service in late:
                    getattr(client, _WARM_UP[service])()
            self.bedrock = bedrock.seed_bedrock(self.client, spec.bedrock, self.account, self.keys, spec.tags)
        isolated = [m for m in spec.models if m.isolated]
        self._isolate(isolated)
        used = {e.config for e in spec.endpoints}
        return DemoEstate(
            endpoint_url=self.url, account_id=self.account, regions=spec.regions,
            endpoints=self.endpoints, endpoint_configs=self.configs, models=self.models, roles=self.roles,
            keys=self.keys, buckets={b.name: f"arn:aws:s3:::{b.name}" for b in spec.buckets},
            orphaned_configs=tuple(c.name for c in spec.configs if c.name not in used),
            serverless_configs=tuple(c.name for c in spec.configs if c.serverless),
            isolated_models=tuple(m.name for m in isolated),
            hostile=self._hostile(), expected=self._expected(), components=self.components, bedrock=self.bedrock)

    def _role(self, role: RoleSpec) -> None:
        iam = self.client("iam", "global")
        arn = iam.create_role(RoleName=role.name, AssumeRolePolicyDocument=_TRUST,
                              Description=role.description, Tags=self.tags(role.tags))["Role"]["Arn"]
        for name in role.managed:
            iam.attach_role_policy(RoleName=role.name, PolicyArn=f"arn:aws:iam::aws:policy/{name}")
        for name, statements in role.inline.items():
            iam.put_role_policy(RoleName=role.name, PolicyName=name, PolicyDocument=_policy(statements))
        for name, statements in role.customer.items():
            policy = iam.create_policy(PolicyName=name, PolicyDocument=_policy(statements))["Policy"]["Arn"]
            iam.attach_role_policy(RoleName=role.name, PolicyArn=policy)
        self.roles[role.name] = arn

    def _key(self, key: KeySpec) -> None:
        kms = self.client("kms", key.region)
        tags = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in self.tags(key.tags)]
        meta = kms.create_key(Description=key.description, Origin="EXTERNAL" if key.imported else "AWS_KMS",
                              Tags=tags)["KeyMetadata"]
        kms.create_alias(AliasName=f"alias/{key.alias}", TargetKeyId=meta["KeyId"])
        if key.rotation and not key.imported:
            kms.enable_key_rotation(KeyId=meta["KeyId"])
        self.keys[key.region, key.alias] = meta["Arn"]

    def _bucket(self, bucket: BucketSpec) -> None:
        s3 = self.client("s3", bucket.region)
        create: dict[str, Any] = {"Bucket": bucket.name}
        if bucket.region != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": bucket.region}
        s3.create_bucket(**create)
        rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        if bucket.sse_kms_key:
            rule = {"BucketKeyEnabled": True, "ApplyServerSideEncryptionByDefault": {
                "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": self.keys[bucket.region, bucket.sse_kms_key]}}
        s3.put_bucket_encryption(Bucket=bucket.name, ServerSideEncryptionConfiguration={"Rules": [rule]})
        if bucket.block is not None:
            names = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
            block = dict(zip(names, bucket.block, strict=True))
            s3.put_public_access_block(Bucket=bucket.name, PublicAccessBlockConfiguration=block)
        if self.spec.tags:
            s3.put_bucket_tagging(Bucket=bucket.name, Tagging={"TagSet": self.tags()})

    def _model(self, model: ModelSpec) -> None:
        image = model.image.format(account=self.account, region=model.region)
        container: dict[str, Any] = {
            "Image": image, "Environment": dict(model.environment),
            "ModelDataUrl": f"s3://northwind-ds-model-artifacts-{model.region}/{model.name}/model.tar.gz"}
        request: dict[str, Any] = {"ModelName": model.name, "ExecutionRoleArn": self.roles[model.role],
                                   "PrimaryContainer": container, "Tags": self.tags(),
                                   "EnableNetworkIsolation": model.isolated}  # ignored by moto: see _isolate
        if model.vpc:
            request["VpcConfig"] = {"SecurityGroupIds": ["sg-0c5e1d2f3a4b5c6d7"],
                                    "Subnets": ["subnet-0a1b2c3d4e5f60718", "subnet-0b2c3d4e5f6071829"]}
        self.models[model.name] = self.client("sagemaker", model.region).create_model(**request)["ModelArn"]

    def _key_ref(self, region: str, reference: str) -> str:
        return reference if reference.startswith("alias/") else self.keys[region, reference]

    @staticmethod
    def _variant(v: Variant) -> dict[str, Any]:
        variant: dict[str, Any] = {"VariantName": v.name, "ModelName": v.model, "InitialVariantWeight": v.weight}
        if v.serverless_mb:
            variant["ServerlessConfig"] = {"MemorySizeInMB": v.serverless_mb, "MaxConcurrency": 5}
        else:
            variant.update(InitialInstanceCount=v.instances, InstanceType=v.instance_type)
        return variant

    def _config(self, config: ConfigSpec) -> None:
        request: dict[str, Any] = {"EndpointConfigName": config.name,
                                   "ProductionVariants": [self._variant(v) for v in config.variants],
                                   "Tags": self.tags(), **aws_serving.config_request(config, self._variant,
                                                                                       self._key_ref)}
        if config.volume_key:
            request["KmsKeyId"] = self._key_ref(config.region, config.volume_key)
        if config.capture:
            capture: dict[str, Any] = {
                "EnableCapture": True, "InitialSamplingPercentage": config.capture.sampling,
                "DestinationS3Uri": f"s3://{config.capture.bucket}/datacapture/{config.name}",
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]}
            if config.capture.key:
                capture["KmsKeyId"] = self._key_ref(config.region, config.capture.key)
            request["DataCaptureConfig"] = capture
        sagemaker = self.client("sagemaker", config.region)
        self.configs[config.name] = sagemaker.create_endpoint_config(**request)["EndpointConfigArn"]

    def _endpoint(self, endpoint: EndpointSpec) -> None:
        self.endpoints[endpoint.name] = self.client("sagemaker", endpoint.region).create_endpoint(
            EndpointName=endpoint.name, EndpointConfigName=endpoint.config,
            Tags=self.tags(endpoint.tags))["EndpointArn"]

    def _component(self, component: ComponentSpec) -> None:
        endpoint = next(e for e in self.spec.endpoints if e.name == component.endpoint)
        config = next(c for c in self.spec.configs if c.name == endpoint.config)
        request = aws_serving.component_request(component, self.account, config.variants[0].name)
        self.components[component.name] = self.client("sagemaker", component.region).create_inference_component(
            **request, Tags=self.tags())["InferenceComponentArn"]

    def _hostile(self) -> tuple[HostileValue, ...]:
        found = [HostileValue(self.models[m.name], f"PrimaryContainer.Environment.{k}", v)
                 for m in self.spec.models for k, v in m.environment.items() if "<" in v]
        found += [HostileValue(self.roles[r.name], "Role.Description", r.description)
                  for r in self.spec.roles if "<" in r.description]
        found += [HostileValue(self.keys[k.region, k.alias], "KeyMetadata.Description", k.description)
                  for k in self.spec.keys if "<" in k.description]
        found += [HostileValue(self.keys[k.region, k.alias], f"Tags.{tag}", v)
                  for k in self.spec.keys for tag, v in k.tags.items() if "<" in v]
        return tuple(found)

    def _expected(self) -> dict[tuple[str, str], str]:
        """The verdict each rule should reach on each resource the auditor scans."""
        spec, out = self.spec, {}

        def verdict(ok: bool) -> str:
            return "PASS" if ok else "FAIL"

        configs = {c.name: c for c in spec.configs}
        for c in spec.configs:
            arn, instance = self.configs[c.name], [v for v in (*c.variants, *c.shadow) if not v.serverless_mb]
            ebs = [v for v in instance if not v.instance_type.startswith(LOCAL_NVME_FAMILIES)]
            out["aws.sagemaker.endpoint_config.kms_volume_encryption", arn] = (
                verdict(bool(c.volume_key)) if ebs else "NOT_APPLICABLE")
            out["aws.sagemaker.endpoint_config.multi_instance", arn] = (
                verdict(min(v.instances for v in instance) >= 2) if instance else "NOT_APPLICABLE")
        for e in spec.endpoints:
            arn, capture = self.endpoints[e.name], configs[e.config].capture
            out["aws.sagemaker.endpoint.data_capture_enabled", arn] = verdict(capture is not None)
            out["aws.sagemaker.endpoint.data_capture_encrypted", arn] = (
                verdict(bool(capture.key)) if capture else "NOT_APPLICABLE")
        for m in spec.models:
            out["aws.sagemaker.model.network_isolation", self.models[m.name]] = verdict(m.isolated)
            out["aws.sagemaker.model.vpc", self.models[m.name]] = verdict(m.vpc)
        roles = {r.name: r for r in spec.roles}
        for name in {m.role for m in spec.models}:
            out["aws.iam.role.sagemaker_least_privilege", self.roles[name]] = verdict(not roles[name].broad)
        keys = {(k.region, k.alias): k for k in spec.keys}
        for c in spec.configs:
            for ref in (c.volume_key, c.capture.key if c.capture else None, *aws_serving.async_keys(c)):
                if ref:
                    key = keys[c.region, ref.removeprefix("alias/")]
                    out["aws.kms.key.rotation_enabled", self.keys[c.region, key.alias]] = (
                        "NOT_APPLICABLE" if key.imported else verdict(key.rotation))
        buckets = {b.name: b for b in spec.buckets}

        def bucket_verdicts(name: str) -> dict[str, str]:
            return {"aws.s3.bucket.kms_default_encryption": verdict(bool(buckets[name].sse_kms_key)),
                    "aws.s3.bucket.public_access_blocked": verdict(buckets[name].block == (True, True, True, True))}

        for name in {c.capture.bucket for c in spec.configs if c.capture} | {
                b for c in spec.configs for b in aws_serving.async_buckets(c)}:
            for rule, status in bucket_verdicts(name).items():
                out[rule, f"arn:aws:s3:::{name}"] = status
        kinds = {"config": self.configs, "model": self.models, "component": self.components}
        out.update(aws_serving.expected(spec, lambda kind, name: kinds[kind][name]))
        if spec.bedrock and self.bedrock:
            out.update(bedrock.expected(
                spec.bedrock, self.bedrock, self.keys, bucket_verdicts=bucket_verdicts,
                key_rotation=lambda region, alias: ("NOT_APPLICABLE" if keys[region, alias].imported
                                                    else verdict(keys[region, alias].rotation))))
        logged = {settings.region for settings in spec.bedrock.logging} if spec.bedrock else set()
        out.update(bedrock.unset_logging(self.account, [r for r in spec.regions if r not in logged]))
        return out

    def _isolate(self, models: list[ModelSpec]) -> None:
        """moto's CreateModel ignores EnableNetworkIsolation (DescribeModel always says false): set the
        flag on moto's in-process backend object, then check through the API that the server saw it."""
        from moto.backends import get_backend

        backends = get_backend("sagemaker")
        for model in models:
            stored = backends[self.account][model.region]._models.get(model.name)
            if stored is None:
                raise RuntimeError(f"the moto server at {self.url} does not run in this process: "
                                   "network isolation cannot be set on its models")
            stored.enable_network_isolation = True
        for model in models[:1]:
            described = self.client("sagemaker", model.region).describe_model(ModelName=model.name)
            if described.get("EnableNetworkIsolation") is not True:
                raise RuntimeError(f"network isolation of {model.name} did not reach {self.url}")


def _add_aws_managed_policies(account: str, names: Iterable[str]) -> None:
    """Give moto's in-process IAM backend the AWS managed policies the estate attaches.

    moto knows them only with MOTO_IAM_LOAD_MANAGED_POLICIES=true, and then loads all ~1,600 into
    each of its six partitions on the first request (measured 0.8 s and 45 MB): add just these.
    """
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import AWSManagedPolicy, iam_backends

    data = json.loads(aws_managed_policies_data)
    backend = iam_backends[account]["aws"]
    for name in names:
        policy = AWSManagedPolicy.from_data(name, account, "aws", data[name])
        backend.managed_policies.setdefault(policy.arn, policy)
