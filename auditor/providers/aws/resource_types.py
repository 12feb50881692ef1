"""The AWS resource types, declared once: their ids, coverage rows and every API call that reads them.

The scan's IAM policy is generated from these declarations (:func:`scan_actions`), the coverage rows take
their resource types from them (:func:`auditor.providers.declared.ids`), and the SageMaker collector lists
and describes each type declared with ``paging``. A call is ``service:Operation`` with botocore's service
name; :func:`actions` maps calls to the IAM actions AWS authorizes them with. Adding a SageMaker type listed
and described the usual way is one declaration here (plus its rule): its calls reach the printed policy and
its resources the ``sagemaker`` coverage row with no other edit.
"""

from __future__ import annotations

from collections.abc import Iterable

from auditor.providers.declared import Paging, ResourceType, Settings, Tags, scan_calls

# Calls the scan makes for no one type: who the caller is, and which regions are enabled (only when no
# --region is given).
PROVIDER_CALLS: tuple[str, ...] = ("sts:GetCallerIdentity", "ec2:DescribeRegions")

# One Resource Groups Tagging API listing per region reads the tags of every SageMaker type.
_TAGS = "resourcegroupstaggingapi:GetResources"

ENDPOINT = ResourceType(
    id="aws.sagemaker.endpoint", coverage="sagemaker",
    list=("sagemaker:ListEndpoints",), describe=("sagemaker:DescribeEndpoint", _TAGS),
    live=("sagemaker:DescribeEndpoint", "sagemaker:ListTags"),
    paging=Paging("Endpoints", "EndpointName", "EndpointArn", "EndpointName"), tag_filter="sagemaker:endpoint",
)
ENDPOINT_CONFIG = ResourceType(
    id="aws.sagemaker.endpoint_config", coverage="sagemaker",
    list=("sagemaker:ListEndpointConfigs",), describe=("sagemaker:DescribeEndpointConfig", _TAGS),
    live=("sagemaker:DescribeEndpointConfig", "sagemaker:ListTags"),
    paging=Paging("EndpointConfigs", "EndpointConfigName", "EndpointConfigArn", "EndpointConfigName"),
    tag_filter="sagemaker:endpoint-config",
)
MODEL = ResourceType(
    id="aws.sagemaker.model", coverage="sagemaker",
    list=("sagemaker:ListModels",), describe=("sagemaker:DescribeModel", _TAGS),
    paging=Paging("Models", "ModelName", "ModelArn", "ModelName"), tag_filter="sagemaker:model",
)
# The models an endpoint serves through inference components (CreateInferenceComponent): each names its endpoint
# and a model (or a container of its own). Listed per region, linked by auditor.providers.aws.sagemaker_serving.
INFERENCE_COMPONENT = ResourceType(
    id="aws.sagemaker.inference_component", coverage="sagemaker",
    list=("sagemaker:ListInferenceComponents",), describe=("sagemaker:DescribeInferenceComponent", _TAGS),
    paging=Paging("InferenceComponents", "InferenceComponentName", "InferenceComponentArn", "InferenceComponentName"),
    tag_filter="sagemaker:inference-component",
)
# Found through the models that run as them: read with their attached (managed) and inline policies.
ROLE = ResourceType(
    id="aws.iam.role", coverage="iam",
    describe=("iam:GetRole", "iam:ListAttachedRolePolicies", "iam:GetPolicy", "iam:GetPolicyVersion",
              "iam:ListRolePolicies", "iam:GetRolePolicy"),
)
# Found through the endpoint configs that name them (volume, capture and async inference output keys).
KEY = ResourceType(
    id="aws.kms.key", coverage="kms",
    describe=("kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:ListResourceTags"),
    live=("kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:ListResourceTags"),
)
# Found through the endpoint configs that capture or write async inference results into them; the account's public
# access block is read once.
BUCKET = ResourceType(
    id="aws.s3.bucket", coverage="s3",
    describe=("s3:GetBucketLocation", "s3:GetBucketEncryption", "s3:GetPublicAccessBlock", "s3:GetBucketTagging",
              "s3control:GetPublicAccessBlock"),
    live=("s3:GetBucketLocation", "s3:GetBucketEncryption", "s3:GetPublicAccessBlock",
          "s3control:GetPublicAccessBlock", "s3:GetBucketTagging"),
)

# Amazon Bedrock, read by the generic regional collector where botocore's endpoint data offers it; its
# invocation logging destinations (bucket, log group and its key) and its resources' keys are joined by
# ``bedrock.py``. Tags are Bedrock's own ListTagsForResource.
_BEDROCK_TAGS = Tags("bedrock:ListTagsForResource", "resourceARN", "tags", "key", "value")
INVOCATION_LOGGING = ResourceType(
    id="aws.bedrock.invocation_logging", coverage="bedrock",
    describe=("bedrock:GetModelInvocationLoggingConfiguration", "logs:DescribeLogGroups"),
    settings=Settings("model-invocation-logging"),
)
CUSTOM_MODEL = ResourceType(
    id="aws.bedrock.custom_model", coverage="bedrock",
    list=("bedrock:ListCustomModels",), describe=("bedrock:GetCustomModel", "bedrock:ListTagsForResource"),
    paging=Paging("modelSummaries", "modelName", "modelArn", "modelIdentifier", tags=_BEDROCK_TAGS),
)
GUARDRAIL = ResourceType(
    id="aws.bedrock.guardrail", coverage="bedrock",
    list=("bedrock:ListGuardrails",), describe=("bedrock:GetGuardrail", "bedrock:ListTagsForResource"),
    paging=Paging("guardrails", "name", "arn", "guardrailIdentifier", param_key="id", tags=_BEDROCK_TAGS),
)

TYPES: tuple[ResourceType, ...] = (ENDPOINT, ENDPOINT_CONFIG, MODEL, ROLE, KEY, BUCKET, INFERENCE_COMPONENT)
TYPES += (INVOCATION_LOGGING, CUSTOM_MODEL, GUARDRAIL)

# Calls AWS authorizes with an action of another name (or with more than one action). Every other call
# ``service:Operation`` is authorized as ``service:Operation`` (S3 Control's as ``s3:``).
_AUTHORIZED_AS: dict[str, tuple[str, ...]] = {
    "s3:GetBucketEncryption": ("s3:GetEncryptionConfiguration",),
    "s3:PutBucketEncryption": ("s3:PutEncryptionConfiguration",),
    "s3:DeleteBucketEncryption": ("s3:PutEncryptionConfiguration",),
    "s3:GetPublicAccessBlock": ("s3:GetBucketPublicAccessBlock",),
    "s3:PutPublicAccessBlock": ("s3:PutBucketPublicAccessBlock",),
    "s3:DeletePublicAccessBlock": ("s3:PutBucketPublicAccessBlock",),
    "s3control:GetPublicAccessBlock": ("s3:GetAccountPublicAccessBlock",),
    "resourcegroupstaggingapi:GetResources": ("tag:GetResources",),
    # Creating with tags is authorized against AddTags as well.
    "sagemaker:CreateEndpointConfig": ("sagemaker:AddTags", "sagemaker:CreateEndpointConfig"),
}


def authorized_as(call: str) -> tuple[str, ...]:
    """The IAM actions AWS authorizes ``call`` (``service:Operation``) with."""
    if call in _AUTHORIZED_AS:
        return _AUTHORIZED_AS[call]
    service, _, operation = call.partition(":")
    return (f"{'s3' if service == 's3control' else service}:{operation}",)


def actions(calls: Iterable[str]) -> tuple[str, ...]:
    """The sorted IAM actions that authorize ``calls``."""
    return tuple(sorted({action for call in calls for action in authorized_as(call)}))


def scan_actions() -> tuple[str, ...]:
    """The read-only actions of ``auditor scan aws``: what every declared type and the provider itself call."""
    return actions(scan_calls(TYPES, PROVIDER_CALLS))


# Calls of an organisation's scan (``--org``, ``--account``), made with the caller's credentials only: list the
# organisation's accounts, and assume the auditor's role in each member account. They make the caller's policy
# (``auditor permissions aws --org``); the member role needs only :func:`scan_actions`.
ORG_CALLS: tuple[str, ...] = ("organizations:ListAccounts", "sts:AssumeRole")
