"""Azure demo estates: a declarative ``AzureSpec`` of Machine Learning resources, as Resource Manager documents.

``build_estate(spec)`` turns any ``AzureSpec`` into documents (Northwind Retail's in
:mod:`auditor.demo.azure_northwind`; the benchmark builds a large one), with ids, secrets, hostile
values and the verdict each rule should reach on each resource.

Documents are edited copies of the official REST examples (``arm_examples``), rehomed at the spec's ids.
Principal ids are derived from resource ids, so every build of a spec has the same documents. The
expected verdicts follow from the spec, not from the documents: a secret is expected because the
spec put one in a deployment (``secret_env``), not because a pattern would find it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from auditor.demo.arm_examples import as_resource, example_body, example_items
from auditor.demo.arm_model import (
    DEMO_TENANT,
    Json,
    role_assignment_document,
    subscription_document,
    user_identity_ids,
)

if TYPE_CHECKING:
    pass

NS = "Microsoft.MachineLearningServices"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"  # the built-in AcrPull role's GUID, as in Azure
BROAD_ROLES = frozenset({"Owner", "Contributor", "User Access Administrator"})
BOTH = {"model_inputs": "Enabled", "model_outputs": "Enabled"}  # a data collector recording both
P, F, NA = "PASS", "FAIL", "NOT_APPLICABLE"


@dataclass(frozen=True)
class Grant:
    role: str  # a built-in role name (arm_model.BUILTIN_ROLES, or "AcrPull")
    scope: str  # a subscription, resource group or resource id


@dataclass(frozen=True)
class Workspace:
    subscription: str
    group: str
    name: str
    location: str
    public_access: str | None = "Enabled"  # properties.publicNetworkAccess; None: not in the document
    cmk: bool = False
    isolation: str | None = None  # managedNetwork.isolationMode; None: no managed network
    private_link: str | None = None  # status of its private endpoint connection; None: none

    @property
    def id(self) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.group}/providers/{NS}/workspaces/{self.name}"


@dataclass(frozen=True)
class Compute:
    workspace: str
    name: str
    kind: str  # ComputeInstance | AmlCompute | Kubernetes
    local_auth_disabled: bool | None = None  # None: not in the document


@dataclass(frozen=True)
class UserIdentity:
    subscription: str
    group: str
    name: str
    grants: tuple[Grant, ...] = ()

    @property
    def id(self) -> str:
        return (f"/subscriptions/{self.subscription}/resourceGroups/{self.group}/providers/"
                f"Microsoft.ManagedIdentity/userAssignedIdentities/{self.name}")


@dataclass(frozen=True)
class Endpoint:
    """An online endpoint; names are unique in a spec. ``kubernetes`` names its attached compute."""

    workspace: str
    name: str
    auth: str  # AADToken | AMLToken | Key
    public: bool
    system_identity: bool = True
    user_identity: str | None = None  # name of a UserIdentity of the spec
    grants: tuple[Grant, ...] = ()  # role assignments of the system-assigned identity
    kubernetes: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Deployment:
    endpoint: str
    name: str
    kubernetes: bool = False
    egress: str | None = "Disabled"  # egressPublicNetworkAccess (managed only); None: not set
    collector: Mapping[str, str] | None = None  # collection name -> dataCollectionMode
    env: Mapping[str, str] = field(default_factory=dict)
    secret_env: Mapping[str, str] = field(default_factory=dict)  # variables seeded with a secret value
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Serverless:
    workspace: str
    name: str
    auth: str  # Key | KeyAndAAD | AAD
    content_safety: str | None = None  # contentSafetyStatus; None: no contentSafety
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Service:
    workspace: str
    name: str
    compute: str  # AKS | ACI
    auth_enabled: bool
    token_auth: bool = False  # aadAuthEnabled (AKS only)


@dataclass(frozen=True)
class AzureSpec:
    subscriptions: Mapping[str, str]  # id -> display name
    workspaces: tuple[Workspace, ...]
    computes: tuple[Compute, ...] = ()
    identities: tuple[UserIdentity, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    deployments: tuple[Deployment, ...] = ()
    serverless: tuple[Serverless, ...] = ()
    services: tuple[Service, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)  # on every workspace and endpoint


@dataclass(frozen=True)
class AzureDemoEstate:
    """The documents of a spec, their ids by kind and name, and the verdict each rule should reach."""

    subscriptions: tuple[str, ...]
    subscription_documents: tuple[Json, ...]
    documents: tuple[Json, ...]
    ids: Mapping[str, Mapping[str, str]]  # kind (workspace, compute, ...) -> name -> resource id
    secrets: tuple[str, ...]  # every secret value seeded: none may appear in any output
    hostile: tuple[tuple[str, str, str], ...]  # (resource id, where in its document, hostile text)
    expected: Mapping[tuple[str, str], str]  # (rule id, resource id) -> PASS | FAIL | NOT_APPLICABLE


def principal_id(resource_id: str) -> str:
    """The (stable) principal id of the system-assigned identity of ``resource_id``."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"principal|{resource_id.lower()}"))


def _identity(system: str | None, user: UserIdentity | None) -> Json:
    kinds = [k for k, on in (("SystemAssigned", system), ("UserAssigned", user)) if on]
    identity: Json = {"type": ",".join(kinds) or "None"}
    if system:
        identity.update(principalId=principal_id(system), tenantId=DEMO_TENANT)
    if user:
        identity["userAssignedIdentities"] = {user.id: user_identity_ids(user.id)}
    return identity


def _group(resource_id: str) -> str:
    return "/".join(resource_id.split("/")[:5])


def _clean(doc: Json, **top: Any) -> Json:
    """Drop the examples' placeholder sku and identity, set realistic systemData and ``top`` keys."""
    for key in ("sku", "identity"):
        doc.pop(key, None)
    doc["systemData"] = {"createdAt": "2024-05-14T09:12:44.000Z", "createdBy": "ds-platform@northwind-retail.example",
                         "createdByType": "User", "lastModifiedAt": "2024-06-20T16:03:10.000Z",
                         "lastModifiedBy": "ds-platform@northwind-retail.example", "lastModifiedByType": "User"}
    doc.update(top)
    return doc


class _Builder:
    def __init__(self, spec: AzureSpec) -> None:
        self.spec = spec
        self.ws = {w.name: w for w in spec.workspaces}
        self.uai = {u.name: u for u in spec.identities}
        self.endpoints = {e.name: e for e in spec.endpoints}
        self.traffic: dict[str, dict[str, int]] = {}  # endpoint -> deployment -> percent (all to the first)
        for d in spec.deployments:
            self.traffic.setdefault(d.endpoint, {})[d.name] = 0 if d.endpoint in self.traffic else 100
        self.docs: list[Json] = []
        self.ids: dict[str, dict[str, str]] = {k: {} for k in (
            "workspace", "compute", "online_endpoint", "online_deployment", "serverless_endpoint", "legacy_service")}
        self.expected: dict[tuple[str, str], str] = {}
        self.grants: set[tuple[str, str, str]] = set()  # (scope, principal, role)

    def verdict(self, kind: str, rule: str, rid: str, ok: bool | None) -> None:
        self.expected[f"azure.ml.{kind}.{rule}", rid] = NA if ok is None else P if ok else F

    def add(self, kind: str, name: str, doc: Json) -> str:
        self.docs.append(doc)
        self.ids[kind][name] = doc["id"]
        return str(doc["id"])

    def grant(self, principal: str, grants: tuple[Grant, ...]) -> None:
        for g in grants:
            if (g.scope, principal, g.role) not in self.grants:
                self.grants.add((g.scope, principal, g.role))
                role = ACR_PULL if g.role == "AcrPull" else g.role
                self.docs.append(role_assignment_document(g.scope, principal, role))

    def build(self) -> AzureDemoEstate:
        spec = self.spec
        for u in spec.identities:
            self.grant(principal_id(u.id), u.grants)
        for item in (*spec.workspaces, *spec.computes, *spec.endpoints, *spec.deployments, *spec.serverless,
                     *spec.services):
            getattr(self, type(item).__name__.lower())(item)  # self.workspace(w), self.compute(c), ...
        self.docs.append(_acr_pull_definition())
        secrets = tuple(dict.fromkeys(v for d in self.spec.deployments for v in d.secret_env.values()))
        hostile = tuple((self.ids["online_endpoint"][e.name], f"tags.{k}", v)
                        for e in self.spec.endpoints for k, v in e.tags.items() if "<" in v)
        return AzureDemoEstate(
            subscriptions=tuple(self.spec.subscriptions),
            subscription_documents=tuple(subscription_document(s, n) for s, n in self.spec.subscriptions.items()),
            documents=tuple(self.docs), ids=self.ids, secrets=secrets, hostile=hostile, expected=self.expected)

    def workspace(self, w: Workspace) -> None:
        rg = _group(w.id)
        short = w.name.replace("-", "")[:20]
        kv = f"{rg}/providers/Microsoft.KeyVault/vaults/kv-{w.name}"
        pe = {**example_body("Workspace/get.json")["properties"]["privateEndpointConnections"][0], "properties": {
            "privateEndpoint": {"id": f"{rg}/providers/Microsoft.Network/privateEndpoints/pe-{w.name}"},
            "privateLinkServiceConnectionState": {"status": w.private_link, "actionsRequired": "None"},
            "provisioningState": "Succeeded"}}
        pe.update(id=f"{w.id}/privateEndpointConnections/pe-{w.name}", name=f"pe-{w.name}")
        network = {"isolationMode": w.isolation, "networkId": principal_id(w.id + "/network"), "status": {
            "sparkReady": False, "status": "Active"}, "outboundRules": {"pypi": {
                "type": "FQDN", "category": "UserDefined", "destination": "pypi.org", "status": "Active"}}}
        key = f"https://kv-{w.name}.vault.azure.net/keys/mlw-cmk/{uuid.uuid5(uuid.NAMESPACE_URL, kv).hex}"
        encryption = {"status": "Enabled", "keyVaultProperties": {"keyVaultArmId": kv, "identityClientId": "",
                                                                  "keyIdentifier": key}}
        doc = as_resource(example_body("Workspace/get.json"), w.id, location=w.location, tags=dict(self.spec.tags),
                          identity=_identity(w.id, None), properties={
            "friendlyName": w.name, "description": f"Northwind Retail data science ({w.location})",
            "applicationInsights": f"{rg}/providers/microsoft.insights/components/appi-{w.name}",
            "containerRegistry": f"{rg}/providers/Microsoft.ContainerRegistry/registries/cr{short}",
            "keyVault": kv, "storageAccount": f"{rg}/providers/Microsoft.Storage/storageAccounts/st{short}",
            "discoveryUrl": f"https://{w.location}.api.azureml.ms/discovery", "imageBuildCompute": None,
            "serviceProvisionedResourceGroup": f"{w.name}_{principal_id(w.id)[:8]}", "sharedPrivateLinkResources": [],
            "publicNetworkAccess": w.public_access, "encryption": encryption if w.cmk else {"status": "Disabled"},
            "managedNetwork": network if w.isolation else None,
            "privateEndpointConnections": [pe] if w.private_link else []})
        rid = self.add("workspace", w.name, doc)
        self.verdict("workspace", "public_network_access_disabled", rid, w.public_access == "Disabled")
        self.verdict("workspace", "cmk_encryption", rid, w.cmk)
        self.verdict("workspace", "managed_network_isolation", rid, w.isolation == "AllowOnlyApprovedOutbound")
        self.verdict("workspace", "private_link", rid, w.private_link == "Approved")

    def compute(self, c: Compute) -> None:
        w = self.ws[c.workspace]
        body = example_body(f"Compute/get/{'KubernetesCompute' if c.kind == 'Kubernetes' else c.kind}.json")
        changes: Json = {"disableLocalAuth": c.local_auth_disabled, "description": f"{c.name} ({c.kind})"}
        if c.kind == "Kubernetes":
            changes["resourceId"] = f"{_group(w.id)}/providers/Microsoft.ContainerService/managedClusters/{c.name}"
        elif c.kind == "ComputeInstance":
            inner = body["properties"]["properties"]
            inner["createdBy"] = {"userName": f"{c.name.split('-')[1]}@northwind-retail.example",
                                  "userOrgId": DEMO_TENANT, "userId": principal_id(c.name)}
            inner["personalComputeInstanceSettings"]["assignedUser"] = {"objectId": principal_id(c.name),
                                                                        "tenantId": DEMO_TENANT}
            inner["applications"] = [{"displayName": "Jupyter",
                                      "endpointUri": f"https://{c.name}.{w.location}.instances.azureml.ms/jupyter"}]
        if isinstance(body["properties"].get("properties"), dict) and "subnet" in body["properties"]["properties"]:
            body["properties"]["properties"]["subnet"] = {"id": f"{_group(w.id)}/providers/Microsoft.Network/"
                                                                f"virtualNetworks/vnet-{w.name}/subnets/snet-compute"}
        rid = self.add("compute", f"{c.workspace}/{c.name}",
                       as_resource(body, f"{w.id}/computes/{c.name}", location=w.location, properties=changes))
        self.verdict("compute", "local_auth_disabled", rid,
                     c.local_auth_disabled is True if c.kind in ("ComputeInstance", "AmlCompute") else None)

    def endpoint(self, e: Endpoint) -> None:
        w = self.ws[e.workspace]
        rid, user = f"{w.id}/onlineEndpoints/{e.name}", self.uai.get(e.user_identity or "")
        host = f"{e.name}.{w.location}.inference.ml.azure.com"
        traffic = self.traffic.get(e.name, {})
        identity = _identity(rid if e.system_identity else None, user)
        doc = as_resource(_clean(example_body("Workspace/OnlineEndpoint/get.json")), rid, location=w.location,
                          kind="Kubernetes" if e.kubernetes else "Managed", tags={**self.spec.tags, **e.tags},
                          identity=identity, properties={
            "description": f"Northwind {e.name.replace('-', ' ')}", "properties": {}, "authMode": e.auth,
            "publicNetworkAccess": "Enabled" if e.public else "Disabled", "provisioningState": "Succeeded",
            "compute": f"{w.id}/computes/{e.kubernetes}" if e.kubernetes else None, "traffic": traffic,
            "scoringUri": f"https://{host}/score", "swaggerUri": f"https://{host}/swagger.json"})
        self.add("online_endpoint", e.name, doc)
        if e.system_identity:
            self.grant(principal_id(rid), e.grants)
        subscription = f"/subscriptions/{w.subscription}".lower()
        grants = [*(e.grants if e.system_identity else ()), *(user.grants if user else ())]
        broad = any(g.role in BROAD_ROLES and g.scope.lower().startswith(subscription) and g.scope.count("/") <= 4
                    for g in grants)  # only assignments in the endpoint's own subscription are read
        self.verdict("online_endpoint", "auth_mode", rid, e.auth in ("AADToken", "AMLToken"))
        self.verdict("online_endpoint", "public_network_access_disabled", rid, not e.public)
        self.verdict("online_endpoint", "identity_least_privilege", rid,
                     None if not (e.system_identity or user) else not broad)

    def deployment(self, d: Deployment) -> None:
        e = self.endpoints[d.endpoint]
        w = self.ws[e.workspace]
        rid = f"{w.id}/onlineEndpoints/{e.name}/deployments/{d.name}"
        kind = "Kubernetes" if d.kubernetes else "Managed"
        body = _clean(example_body(f"OnlineDeployment/{kind}OnlineDeployment/get.json"))
        model = e.name.removesuffix("-dev").removesuffix("-us").removesuffix("-sbx")
        properties: Json = {
            "description": f"{e.name} {d.name}", "properties": {}, "provisioningState": "Succeeded",
            "model": f"{w.id}/models/{model}/versions/3", "instanceType": "Standard_DS3_v2" if not d.kubernetes
            else "defaultinstancetype", "environmentId": f"{w.id}/environments/{model}-serving/versions/7",
            "codeConfiguration": {"codeId": f"{w.id}/codes/{principal_id(rid)}/versions/1",
                                  "scoringScript": "score.py"},
            "modelMountPath": f"/var/azureml-app/models/{model}", "environmentVariables": {**d.env, **d.secret_env},
            "dataCollector": {"collections": {k: {"dataCollectionMode": v} for k, v in d.collector.items()}}
            if d.collector is not None else None}
        if not d.kubernetes:
            properties["egressPublicNetworkAccess"] = d.egress
        doc = as_resource(body, rid, location=w.location, kind=kind, sku={"name": "Default", "capacity": 2},
                          tags=dict(d.tags), properties=properties)
        self.add("online_deployment", f"{e.name}/{d.name}", doc)
        self.verdict("online_deployment", "egress_public_network_disabled", rid,
                     None if d.kubernetes else d.egress == "Disabled")
        collected = d.collector is not None and [d.collector.get(k) for k in BOTH] == ["Enabled", "Enabled"]
        self.verdict("online_deployment", "data_collection_enabled", rid, collected)
        self.verdict("online_deployment", "no_plaintext_secrets", rid, not d.secret_env)

    def serverless(self, s: Serverless) -> None:
        w = self.ws[s.workspace]
        rid = f"{w.id}/serverlessEndpoints/{s.name}"
        body = _clean(example_body("Workspace/ServerlessEndpoint/get.json"))
        doc = as_resource(body, rid, location=w.location, kind="ServerlessEndpoint", tags=dict(s.tags), properties={
            "authMode": s.auth, "endpointState": "Online",
            "contentSafety": {"contentSafetyStatus": s.content_safety} if s.content_safety else None,
            "modelSettings": {"modelId": f"azureml://registries/azureml-meta/models/{s.name}/versions/4"},
            "inferenceEndpoint": {"uri": f"https://{s.name}.{w.location}.models.ai.azure.com", "headers": {}},
            "marketplaceSubscriptionId": f"{w.id}/marketplaceSubscriptions/{s.name}"})
        self.add("serverless_endpoint", s.name, doc)
        self.verdict("serverless_endpoint", "auth_mode", rid, s.auth == "AAD")
        self.verdict("serverless_endpoint", "content_safety_enabled", rid, s.content_safety == "Enabled")

    def service(self, v: Service) -> None:
        w = self.ws[v.workspace]
        rid = f"{w.id}/services/{v.name}"
        aks, aci = example_items("MachineLearningService/listByWorkspace.json")
        body = _clean(aks if v.compute == "AKS" else aci)
        context = {"subscriptionId": w.subscription, "resourceGroupName": w.group, "accountName": w.name,
                   "workspaceId": principal_id(w.id)}
        changes: Json = {"authEnabled": v.auth_enabled, "description": f"v1 web service {v.name} (SDK v1)",
                         "modelConfigMap": {**body["properties"]["modelConfigMap"], "accountContext": context,
                                            "modelsInfo": {}}}
        if v.compute == "AKS":
            changes.update(aadAuthEnabled=v.token_auth, computeName=f"aks-{v.workspace}", namespace=f"azureml-{w.name}",
                           scoringUri=f"http://10.20.0.4:80/api/v1/service/{v.name}/score")
        else:
            changes.update(location=w.location, scoringUri=f"http://{v.name}.{w.location}.azurecontainer.io/score",
                           publicFqdn=f"{v.name}.{w.location}.azurecontainer.io", publicIp="20.0.113.7")
        self.add("legacy_service", v.name, as_resource(body, rid, properties=changes))
        self.verdict("legacy_service", "auth_enabled", rid, v.auth_enabled or v.token_auth)
        self.verdict("legacy_service", "token_auth", rid, v.token_auth)
        self.verdict("legacy_service", "retired", rid, False)


def _acr_pull_definition() -> Json:
    return {"id": f"/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL}", "name": ACR_PULL,
            "type": "Microsoft.Authorization/roleDefinitions", "properties": {
                "roleName": "AcrPull", "type": "BuiltInRole", "description": "acr pull", "assignableScopes": ["/"],
                "permissions": [{"actions": ["Microsoft.ContainerRegistry/registries/pull/read"], "notActions": [],
                                 "dataActions": [], "notDataActions": []}]}}


def build_estate(spec: AzureSpec) -> AzureDemoEstate:
    """The documents, ids, secrets, hostile values and expected verdicts of ``spec``."""
    return _Builder(spec).build()
