"""Azure AI Services / Azure OpenAI accounts for the demo (edited copies of the official examples).

``build_ai_estate(spec)`` turns a declarative :class:`AiSpec` into Resource Manager documents (accounts from
``CreateAccount.json``, deployments from ``GetDeployment.json``, content filter policies from
``ListRaiPolicies.json``; see ``arm_fixtures/SOURCES.md``), the role assignments of the accounts' identities, an
API Management API in front of an account when the spec asks for one, and the verdict each ``azure.ai.*`` rule
should reach. :func:`northwind_ai_spec` is Northwind Retail's: every rule PASS somewhere and FAIL elsewhere,
NOT_APPLICABLE where it has a condition (an account without identity, a Face account of a kind that serves no
deployable model), and one account behind the demo's gateway ``apim-nw-prod``.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.demo.arm_examples import as_resource, example_body, example_items
from auditor.demo.arm_model import DEMO_TENANT, Json, role_assignment_document

P, F, NA = "PASS", "FAIL", "NOT_APPLICABLE"
_NS = "Microsoft.CognitiveServices"
_MODEL_KINDS = frozenset({"OpenAI", "AIServices"})
_HOSTS = {"OpenAI": "openai.azure.com", "AIServices": "cognitiveservices.azure.com"}
_CATEGORIES = ("Hate", "Sexual", "Selfharm", "Violence")


@dataclass(frozen=True)
class AiDeployment:
    name: str
    model: str  # "gpt-4o"
    version: str
    rai_policy: str | None  # the raiPolicyName; None: none named
    model_format: str = "OpenAI"


@dataclass(frozen=True)
class AiPolicy:
    name: str
    off: tuple[tuple[str, str], ...] = ()  # (category, source) filters turned off, e.g. ("Hate", "Prompt")


@dataclass(frozen=True)
class AiAccount:
    subscription: str
    group: str
    name: str
    kind: str  # OpenAI | AIServices | Face | ...
    location: str
    local_auth_disabled: bool
    public_network: str  # "Disabled" | "Enabled" | "Deny" (enabled, ACL deny, no IP rule) | "DenyWithIps"
    cmk: bool
    system_identity: bool = True
    grants: tuple[tuple[str, str], ...] = ()  # (role, scope) of the system identity
    deployments: tuple[AiDeployment, ...] = ()
    policies: tuple[AiPolicy, ...] = ()
    behind_gateway: bool = False

    @property
    def id(self) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.group}/providers/{_NS}/accounts/{self.name}"

    @property
    def host(self) -> str:
        return f"{self.name}.{_HOSTS.get(self.kind, 'cognitiveservices.azure.com')}"


@dataclass(frozen=True)
class AiSpec:
    accounts: tuple[AiAccount, ...]
    gateway: str = ""  # the API Management service id an account may sit behind
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AiDemoEstate:
    documents: tuple[Json, ...]
    ids: Mapping[str, Mapping[str, str]]  # "account" | "deployment" -> name -> id
    expected: Mapping[tuple[str, str], str]  # (rule id, resource id) -> PASS | FAIL | NOT_APPLICABLE


def principal_of(resource_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"principal|{resource_id.lower()}"))


def _account(a: AiAccount, tags: Mapping[str, str]) -> Json:
    body = example_body("2024-10-01/examples/CreateAccount.json")
    properties: dict[str, Any] = {
        "endpoint": f"https://{a.host}/", "customSubDomainName": a.name, "disableLocalAuth": a.local_auth_disabled,
        "publicNetworkAccess": "Disabled" if a.public_network == "Disabled" else "Enabled",
        "userOwnedStorage": None,
        "encryption": {"keySource": "Microsoft.KeyVault", "keyVaultProperties": {
            "keyName": f"cmk-{a.name}", "keyVersion": "7f3c2d1e0b9a48d6a5c4b3e2f1d0c9b8",
            "keyVaultUri": f"https://kv-{a.name}.vault.azure.net/"}} if a.cmk else {
            "keySource": "Microsoft.CognitiveServices"}}
    if a.public_network in ("Deny", "DenyWithIps"):
        properties["networkAcls"] = {"defaultAction": "Deny", "virtualNetworkRules": [], "ipRules": [
            {"value": "203.0.113.0/24"}] if a.public_network == "DenyWithIps" else []}
    elif a.public_network == "Enabled":
        properties["networkAcls"] = {"defaultAction": "Allow", "virtualNetworkRules": [], "ipRules": []}
    identity: Json = {"type": "SystemAssigned", "principalId": principal_of(a.id), "tenantId": DEMO_TENANT} \
        if a.system_identity else {"type": "None"}
    sku = {"name": "S0"}
    return as_resource(body, a.id, location=a.location, kind=a.kind, sku=sku, identity=identity, tags=dict(tags),
                       etag=f'"{uuid.uuid5(uuid.NAMESPACE_URL, a.id).hex[:16]}"', properties=properties)


def _deployment(a: AiAccount, d: AiDeployment) -> Json:
    body = example_body("2025-06-01/examples/GetDeployment.json")
    properties: dict[str, Any] = {"model": {"format": d.model_format, "name": d.model, "version": d.version},
                                  "raiPolicyName": d.rai_policy,
                                  "versionUpgradeOption": "OnceNewDefaultVersionAvailable"}
    return as_resource(body, f"{a.id}/deployments/{d.name}", sku={"name": "GlobalStandard", "capacity": 50},
                       properties=properties)


def _policy(a: AiAccount, p: AiPolicy) -> Json:
    template = example_items("2025-06-01/examples/ListRaiPolicies.json")[0]
    filters = []
    for f in copy.deepcopy(template["properties"]["contentFilters"]):
        if f["name"] in _CATEGORIES:
            on = (f["name"], f["source"]) not in p.off
            f.update(enabled=on, blocking=on)
        filters.append(f)
    return as_resource(template, f"{a.id}/raiPolicies/{p.name}", type=f"{_NS}/accounts/raiPolicies",
                       properties={"basePolicyName": "Microsoft.DefaultV2", "mode": "Blocking",
                                   "contentFilters": filters})


def _expected(a: AiAccount, policies: Mapping[str, AiPolicy]) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    models = a.kind in _MODEL_KINDS

    def put(rule: str, ok: bool | None, rid: str = a.id) -> None:
        out[f"azure.ai.{rule}", rid] = NA if ok is None else P if ok else F

    put("account.local_auth_disabled", a.local_auth_disabled if models else None)
    put("account.public_network_access_disabled", a.public_network in ("Disabled", "Deny") if models else None)
    put("account.cmk_encryption", a.cmk if models else None)
    broad = any(role in ("Owner", "Contributor", "User Access Administrator") and scope.count("/") <= 4
                for role, scope in a.grants)
    put("account.identity_least_privilege", (not broad) if models and a.system_identity else None)
    for d in a.deployments if models else ():
        name = (d.rai_policy or "").lower()
        ok = name in ("microsoft.default", "microsoft.defaultv2") or (name in policies and not policies[name].off)
        put("deployment.content_filter", ok, f"{a.id}/deployments/{d.name}")
    return out


def _gateway_api(gateway: str, a: AiAccount) -> Json:
    template = example_items("ApiManagementListApis.json")[2]
    return as_resource(template, f"{gateway}/apis/openai-{a.name}", properties={
        "displayName": f"Azure OpenAI ({a.name})", "path": f"openai/{a.name}", "apiVersionSetId": None,
        "serviceUrl": f"https://{a.host}/openai", "protocols": ["https"], "subscriptionRequired": True})


def build_ai_estate(spec: AiSpec) -> AiDemoEstate:
    docs: list[Json] = []
    ids: dict[str, dict[str, str]] = {"account": {}, "deployment": {}}
    expected: dict[tuple[str, str], str] = {}
    for a in spec.accounts:
        docs.append(_account(a, spec.tags))
        ids["account"][a.name] = a.id
        docs += [_policy(a, p) for p in a.policies]
        for d in a.deployments:
            docs.append(_deployment(a, d))
            ids["deployment"][f"{a.name}/{d.name}"] = f"{a.id}/deployments/{d.name}"
        if a.system_identity:
            docs += [role_assignment_document(scope, principal_of(a.id), role) for role, scope in a.grants]
        if a.behind_gateway and spec.gateway:
            docs.append(_gateway_api(spec.gateway, a))
        expected.update(_expected(a, {p.name.lower(): p for p in a.policies}))
    return AiDemoEstate(documents=tuple(docs), ids=ids, expected=expected)


def northwind_ai_spec(prod: str, dev: str, tags: Mapping[str, str] | None = None) -> AiSpec:
    """Northwind's AI accounts: a locked-down OpenAI account behind the gateway, an open AI Services account, a
    dev OpenAI account closed by its network ACL, and a Face account (a kind the rules do not audit)."""
    rg_prod, rg_dev = "rg-nw-ai-prod", "rg-nw-ai-dev"
    blob_reader = ("Storage Blob Data Reader", f"/subscriptions/{prod}/resourceGroups/rg-nw-data-prod/providers/"
                                               "Microsoft.Storage/storageAccounts/nwmlartifactsprod")
    return AiSpec(
        gateway=f"/subscriptions/{prod}/resourceGroups/rg-nw-gateway-prod/providers/Microsoft.ApiManagement/"
                "service/apim-nw-prod",
        tags=dict(tags or {}),
        accounts=(
            AiAccount(prod, rg_prod, "oai-nw-prod-weu", "OpenAI", "westeurope", True, "Disabled", True,
                      grants=(blob_reader,), behind_gateway=True,
                      deployments=(AiDeployment("gpt-4o-support", "gpt-4o", "2024-11-20", "Microsoft.DefaultV2"),
                                   AiDeployment("gpt-4o-mini-batch", "gpt-4o-mini", "2024-07-18", "nw-strict")),
                      policies=(AiPolicy("nw-strict"),)),
            AiAccount(prod, rg_prod, "ais-nw-prod-eus", "AIServices", "eastus", False, "Enabled", False,
                      grants=(("Contributor", f"/subscriptions/{prod}/resourceGroups/{rg_prod}"),),
                      deployments=(AiDeployment("phi-4-chat", "Phi-4", "7", "nw-relaxed", "Microsoft"),
                                   AiDeployment("llama-33-70b", "Llama-3.3-70B-Instruct", "4", None, "Meta")),
                      policies=(AiPolicy("nw-relaxed", off=(("Hate", "Prompt"), ("Violence", "Completion"))),)),
            AiAccount(dev, rg_dev, "oai-nw-dev", "OpenAI", "swedencentral", False, "Deny", False,
                      system_identity=False,
                      deployments=(AiDeployment("gpt-35-turbo-dev", "gpt-35-turbo", "0125", "Microsoft.Default"),)),
            AiAccount(dev, rg_dev, "face-nw-dev", "Face", "westeurope", False, "Enabled", False,
                      system_identity=False),
        ))
