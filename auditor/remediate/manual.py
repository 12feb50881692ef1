"""Manual procedures: precise steps for a person, for findings without a safe automatic fix.

Immutable settings (a model's network isolation or VPC, an endpoint's identity, a workspace's
customer-managed key, a compute's local auth, a deployment's egress), legacy v1 services and IAM
least privilege need a new resource, a migration or a judgement no tool should make alone. Each
procedure names the resource and the commands; the plan records it with no API call, and apply
never acts on it. A rule without a procedure here gets its catalog guidance, marked conservatively
as breaking clients.
"""

from __future__ import annotations

from collections.abc import Mapping

from auditor.model import Finding
from auditor.remediate.model import Disruption, Mode, PlanStep, StepFinding, step_id

_R, _B, _N = Disruption.ROLLING, Disruption.BREAKING_CLIENTS, Disruption.NONE
_SWAP = ("Point each endpoint using it at the new config: aws sagemaker update-endpoint --endpoint-name ENDPOINT "
         "--endpoint-config-name NEW_CONFIG --retain-all-variant-properties, and wait for InService "
         "(aws sagemaker wait endpoint-in-service --endpoint-name ENDPOINT).")
_KEEP = "Keep the old resource until the re-scan passes and clients are healthy, for rollback; then delete it."

# rule id -> (disruption, why, procedure); {name}, {id}, {region}, {account} are the finding's.
PROCEDURES: Mapping[str, tuple[Disruption, str, tuple[str, ...]]] = {
    "aws.sagemaker.model.network_isolation": (_R, "a new model, then an endpoint update that replaces instances", (
        "Check the container needs no network at run time (no model download, no calls out); test it isolated.",
        "Models are immutable: aws sagemaker describe-model --model-name {name} --region {region}, then "
        "create-model with the same containers, execution role and VpcConfig plus --enable-network-isolation.",
        "Create a new endpoint config copying the current one, with its variants on the new model.", _SWAP, _KEEP)),
    "aws.sagemaker.model.vpc": (_R, "a new model, then an endpoint update that replaces instances", (
        "Choose private subnets in two or more Availability Zones and a security group allowing only what the "
        "container needs (S3/ECR/CloudWatch through VPC endpoints).",
        "Models are immutable: create a new model from aws sagemaker describe-model --model-name {name} --region "
        "{region} with --vpc-config SecurityGroupIds=...,Subnets=....",
        "Create a new endpoint config copying the current one, with its variants on the new model.", _SWAP, _KEEP)),
    "aws.sagemaker.endpoint_config.multi_instance": (_R, "an endpoint update that replaces instances (and cost)", (
        "Endpoint configs are immutable: aws sagemaker describe-endpoint-config --endpoint-config-name {name} "
        "--region {region}, and create a copy whose instance-based variants set InitialInstanceCount to 2 or more.",
        _SWAP.replace("--retain-all-variant-properties", "(without --retain-all-variant-properties, so the new "
                      "counts apply)"),
        "Or register an Application Auto Scaling target for each variant with --min-capacity 2.", _KEEP)),
    "aws.sagemaker.endpoint.data_capture_enabled": (_R, "an endpoint update that replaces instances", (
        "Choose a capture bucket (public access blocked, default SSE-KMS) and a customer managed KMS key; give the "
        "endpoint's execution role s3:PutObject on the prefix and kms:GenerateDataKey on the key.",
        "Create a copy of the endpoint's current config with DataCaptureConfig: EnableCapture true, "
        "DestinationS3Uri s3://BUCKET/PREFIX, KmsKeyId KEY, InitialSamplingPercentage, CaptureOptions Input and "
        "Output.", _SWAP.replace("ENDPOINT", "{name}"), _KEEP)),
    "aws.iam.role.sagemaker_least_privilege": (_B, "the model loses the permissions it may be using", (
        "Generate a policy from the role's CloudTrail activity with IAM Access Analyzer (policy generation) for "
        "role {name}, or list what the model needs: s3:GetObject on its artifacts, ECR pulls, CloudWatch Logs, "
        "the KMS keys it decrypts with.",
        "Attach the scoped policy to {name}, then detach each broad managed policy (aws iam detach-role-policy "
        "--role-name {name} --policy-arn ARN) and remove the wildcard statements from its inline policies.",
        "Watch CloudTrail for AccessDenied from the role for a week; keep the old policy documents to restore.")),
    "azure.ml.online_endpoint.identity_least_privilege": (_B, "the endpoint may be using the access", (
        "An online endpoint's identity cannot change after creation: to give it another identity, create a new "
        "endpoint with it and move traffic. To reduce this identity's access instead:",
        "Grant the scoped roles it needs first (e.g. Storage Blob Data Reader on the model's storage account, "
        "AcrPull on its registry): az role assignment create --assignee PRINCIPAL_ID --role ROLE --scope SCOPE.",
        "Then remove the broad assignments listed in the evidence (az role assignment delete --ids ASSIGNMENT_ID), "
        "or let the auditor do it: re-plan with --rule azure.ml.online_endpoint.identity_least_privilege and apply "
        "with --allow-access-removal (rollback recreates the same assignments).")),
    "azure.ml.compute.local_auth_disabled": (_B, "users of local (SSH/key) access lose it", (
        "disableLocalAuth is fixed at creation: create a replacement compute {name}-aad with disableLocalAuth true "
        "(REST or ARM template), same size and network, in the workspace of {id}.",
        "Move jobs and users to it; then delete {name}.")),
    "azure.ml.online_deployment.egress_public_network_disabled": (_R, "a new deployment, then a traffic shift", (
        "egressPublicNetworkAccess is fixed at creation: make sure the workspace has private endpoints for its "
        "storage, registry and key vault.",
        "Create a deployment beside {name} with egress_public_network_access disabled (az ml online-deployment "
        "create), mirror or shift traffic to it gradually (az ml online-endpoint update --traffic), then delete "
        "{name}.")),
    "azure.ml.online_deployment.data_collection_enabled": (_R, "a deployment update that replaces instances", (
        "Add data_collector with collections model_inputs and model_outputs (enabled) to the deployment YAML of "
        "{name} and az ml online-deployment update -f deployment.yml; the scoring script must log with the "
        "azureml-ai-monitoring collector.",)),
    "azure.ml.online_deployment.no_plaintext_secrets": (_R, "a deployment update; secrets must be rotated", (
        "Store each flagged value in Key Vault; give the endpoint's identity get on those secrets.",
        "Change the scoring code to read them at start-up, remove the variables from {name} and update the "
        "deployment.",
        "Rotate every exposed secret: it has been readable by anyone who could read the deployment.")),
    "azure.ml.workspace.cmk_encryption": (_B, "a new workspace and a migration", (
        "Customer-managed keys are set when a workspace is created: create a workspace with encryption pointing at "
        "a Key Vault key, move assets and endpoints to it, switch clients, then retire {name}.",)),
    "azure.ml.workspace.managed_network_isolation": (_B, "outbound traffic not allowed by a rule stops", (
        "List the outbound destinations jobs and endpoints of {name} need; add them as outbound rules.",
        "az ml workspace update --name {name} --managed-network allow_only_approved_outbound, then provision the "
        "managed network (az ml workspace provision-network).")),
    "azure.ml.workspace.private_link": (_N, "adds a private path; nothing is removed", (
        "Create a private endpoint for workspace {name} (group id amlworkspace) in the clients' virtual network, "
        "with its private DNS zones, and approve the connection.",)),
    "azure.ml.serverless_endpoint.content_safety_enabled": (_B, "filtered requests start failing", (
        "Set properties.contentSafety.contentSafetyStatus to Enabled on serverless endpoint {name} (PUT of the "
        "endpoint), after telling its clients which content is filtered.",)),
    "azure.ml.legacy_service.auth_enabled": (_B, "a migration to a managed online endpoint", (
        "Deploy the model of v1 service {name} to a managed online endpoint with AADToken auth.",
        "Switch clients to the new scoring URI with Entra tokens, then delete {name}.")),
    "azure.ml.legacy_service.token_auth": (_B, "a migration to a managed online endpoint", (
        "ACI services cannot use tokens; AKS services can be redeployed with token_auth_enabled=True, but SDK v1 is "
        "retired: deploy to a managed online endpoint with AADToken auth and switch clients.",)),
    "azure.ml.legacy_service.retired": (_B, "a migration to a managed online endpoint", (
        "Deploy the model of {name} to a managed online endpoint (token auth, managed identity, private "
        "networking), switch clients to it, then delete the v1 service.",)),
    "azure.apim.backend.https_url": (_B, "the gateway calls the backend over TLS from then on", (
        "Serve the backend over TLS with a certificate the gateway trusts.",
        "Change properties.url of backend {name} to the https:// URL (PATCH of the backend, If-Match its ETag), "
        "then call the APIs that route to it.")),
    "azure.apim.backend.tls_validation": (_B, "calls fail if the backend's certificate does not validate", (
        "Give the backend a certificate from a CA the gateway trusts (or upload the CA to the service), whose name "
        "matches the backend host.",
        "Set properties.tls.validateCertificateChain and validateCertificateName of backend {name} to true.")),
    "azure.apim.product.subscription_required": (_B, "callers without a key to the product get 401", (
        "Issue subscriptions of product {name} to its callers, then set its subscriptionRequired to true (and "
        "approvalRequired as your process needs).",)),
    "azure.apim.api.model_endpoint_protected": (_B, "unauthenticated callers get 401", (
        "Protect API {name}: require a subscription key (subscriptionRequired true, see "
        "azure.apim.api.subscription_required), or add validate-azure-ad-token (or validate-jwt) to the inbound "
        "section of its policy or of the service policy it inherits with <base />.",
        "A rate limit alone protects nothing; the endpoint's own key held by the gateway does not either.")),
}


def manual_disruption(rule_id: str) -> Disruption:
    entry = PROCEDURES.get(rule_id)
    return entry[0] if entry else Disruption.BREAKING_CLIENTS


def manual_step(finding: Finding, guidance: str, *, remediator: str | None = None, reason: str = "",
                procedure: tuple[str, ...] = (), disruption: Disruption | None = None,
                disruption_detail: str = "") -> PlanStep:
    """A step with a procedure and no API call; ``reason`` says why an automatic fix was not planned."""
    known = PROCEDURES.get(finding.rule_id)
    fields = {"name": finding.resource_name or finding.resource_id, "id": finding.resource_id,
              "region": finding.region, "account": finding.account}
    if not procedure:
        procedure = tuple(s.format(**fields) for s in known[2]) if known else (guidance,)
    if disruption is None:
        disruption = known[0] if known else Disruption.BREAKING_CLIENTS
        disruption_detail = known[1] if known else "not assessed: treat it as breaking clients until reviewed"
    notes = (reason,) if reason else ()
    return PlanStep(
        id=step_id(finding.id, remediator), finding=StepFinding.of(finding), mode=Mode.MANUAL, remediator=remediator,
        title=f"Manual: {guidance.split('.')[0].strip()}" if guidance else "Manual procedure",
        disruption=disruption, disruption_detail=disruption_detail, manual_procedure=procedure, notes=notes,
        precondition="re-scan before starting: the finding must still be FAIL",
        verification=f"re-scan: {finding.rule_id} passes on {finding.resource_id}",
    )
