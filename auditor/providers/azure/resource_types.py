"""The Azure resource types, declared once: their ids, coverage rows and every Resource Manager call that reads them.

A call is ``METHOD Namespace/type`` (``GET Microsoft.MachineLearningServices/workspaces/computes``): Resource
Manager authorizes it with the type's action of that method (:func:`actions`: ``…/computes/read``). The scan's
custom role is generated from these declarations (:func:`scan_actions`), and the coverage rows take their
resource types from them.
"""

from __future__ import annotations

from collections.abc import Iterable

from auditor.providers.declared import ResourceType, scan_calls

ML = "Microsoft.MachineLearningServices"
APIM = "Microsoft.ApiManagement"
AUTHORIZATION = "Microsoft.Authorization"
AI = "Microsoft.CognitiveServices"

# Coverage rows: a subscription's list of workspaces (or services), and one row per workspace (or service)
# for the lists under it.
WORKSPACES_SERVICE = "ml-workspaces"
CHILDREN_SERVICE = "ml-workspace-children"
SERVICES_SERVICE = "apim-services"
SERVICE_CHILDREN_SERVICE = "apim-service-children"
AI_ACCOUNTS_SERVICE = "ai-accounts"
AI_CHILDREN_SERVICE = "ai-account-children"

MANAGEMENT = "Microsoft.Management"
# The subscription listing, only when no --subscription is given; with --management-group, the group (with its
# ancestors) and its descendants. The role assignments at the group's scopes are GET .../roleAssignments, which
# ONLINE_ENDPOINT declares.
PROVIDER_CALLS: tuple[str, ...] = ("GET Microsoft.Resources/subscriptions", f"GET {MANAGEMENT}/managementGroups",
                                   f"GET {MANAGEMENT}/managementGroups/descendants")

WORKSPACE = ResourceType(id="azure.ml.workspace", coverage=WORKSPACES_SERVICE, list=(f"GET {ML}/workspaces",),
                         live=(f"GET {ML}/workspaces",))
COMPUTE = ResourceType(id="azure.ml.compute", coverage=CHILDREN_SERVICE, list=(f"GET {ML}/workspaces/computes",))
# An endpoint's managed identities: their role assignments, with each role definition read once.
ONLINE_ENDPOINT = ResourceType(
    id="azure.ml.online_endpoint", coverage=CHILDREN_SERVICE, list=(f"GET {ML}/workspaces/onlineEndpoints",),
    describe=(f"GET {AUTHORIZATION}/roleAssignments", f"GET {AUTHORIZATION}/roleDefinitions"),
    live=(f"GET {ML}/workspaces/onlineEndpoints",),
)
ONLINE_DEPLOYMENT = ResourceType(id="azure.ml.online_deployment", coverage=CHILDREN_SERVICE,
                                 list=(f"GET {ML}/workspaces/onlineEndpoints/deployments",))
SERVERLESS_ENDPOINT = ResourceType(id="azure.ml.serverless_endpoint", coverage=CHILDREN_SERVICE,
                                   list=(f"GET {ML}/workspaces/serverlessEndpoints",),
                                   live=(f"GET {ML}/workspaces/serverlessEndpoints",))
LEGACY_SERVICE = ResourceType(id="azure.ml.legacy_service", coverage=CHILDREN_SERVICE,
                              list=(f"GET {ML}/workspaces/services",))
# API Management: the service-level policy is read with the service; an API's effective policy is its own
# plus that one; an API's products come from each product's API list.
APIM_SERVICE = ResourceType(id="azure.apim.service", coverage=SERVICES_SERVICE, list=(f"GET {APIM}/service",),
                            describe=(f"GET {APIM}/service/policies",))
APIM_API = ResourceType(id="azure.apim.api", coverage=SERVICE_CHILDREN_SERVICE, list=(f"GET {APIM}/service/apis",),
                        describe=(f"GET {APIM}/service/apis/policies",), live=(f"GET {APIM}/service/apis",))
APIM_BACKEND = ResourceType(id="azure.apim.backend", coverage=SERVICE_CHILDREN_SERVICE,
                            list=(f"GET {APIM}/service/backends",))
APIM_PRODUCT = ResourceType(id="azure.apim.product", coverage=SERVICE_CHILDREN_SERVICE,
                            list=(f"GET {APIM}/service/products",), describe=(f"GET {APIM}/service/products/apis",))

# Azure AI Services / Azure OpenAI accounts (Microsoft.CognitiveServices): an account's identities' role
# assignments as for online endpoints; a deployment's content filter policy comes from its account's raiPolicies.
AI_ACCOUNT = ResourceType(
    id="azure.ai.account", coverage=AI_ACCOUNTS_SERVICE, list=(f"GET {AI}/accounts",),
    describe=(f"GET {AUTHORIZATION}/roleAssignments", f"GET {AUTHORIZATION}/roleDefinitions"),
    live=(f"GET {AI}/accounts",),
)
AI_DEPLOYMENT = ResourceType(id="azure.ai.deployment", coverage=AI_CHILDREN_SERVICE,
                             list=(f"GET {AI}/accounts/deployments",), describe=(f"GET {AI}/accounts/raiPolicies",))

TYPES: tuple[ResourceType, ...] = (WORKSPACE, COMPUTE, ONLINE_ENDPOINT, ONLINE_DEPLOYMENT, SERVERLESS_ENDPOINT,
                                   LEGACY_SERVICE, APIM_SERVICE, APIM_API, APIM_BACKEND, APIM_PRODUCT,
                                   AI_ACCOUNT, AI_DEPLOYMENT)

_VERBS = {"GET": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}


def authorized_as(call: str) -> str:
    """The Resource Manager action of ``call`` (``GET Namespace/type`` -> ``Namespace/type/read``)."""
    method, _, resource_type = call.partition(" ")
    return f"{resource_type}/{_VERBS[method]}"


def actions(calls: Iterable[str]) -> tuple[str, ...]:
    """The sorted actions that authorize ``calls``."""
    return tuple(sorted({authorized_as(call) for call in calls}))


def scan_actions() -> tuple[str, ...]:
    """The read actions of ``auditor scan azure``: what every declared type and the provider itself call."""
    return actions(scan_calls(TYPES, PROVIDER_CALLS))
