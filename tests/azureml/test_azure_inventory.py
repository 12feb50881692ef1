"""What the Azure collection produces from a healthy estate: resources, documents, relations, calls, verdicts."""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter

from auditor.catalog import load_catalog
from auditor.demo.arm_model import BUILTIN_ROLES, parse_path
from auditor.demo.arm_server import ArmServer
from auditor.engine import evaluate
from auditor.model import Inventory, Resource, Status
from auditor.providers.azure import ml as azure_ml
from auditor.providers.azure.collect import PERMISSIONS

from .conftest import RecordingCredential, RecordingProgress, Scan
from .estate import (
    DB_PASSWORD,
    EP_AAD,
    EP_B,
    EP_KEY,
    EP_NONE,
    EP_OWNER,
    EXPECTED,
    P_AAD,
    P_OWNER,
    P_UA,
    RG_PROD,
    SECRETS,
    STORAGE,
    SUB_A,
    SUB_B,
    SUB_C,
    WS_B,
    WS_OPEN,
    WS_PENDING,
    WS_SECURE,
    build_estate,
)

ML_TYPES = {"Microsoft.MachineLearningServices/workspaces": azure_ml.WORKSPACE,
            "Microsoft.MachineLearningServices/workspaces/computes": azure_ml.COMPUTE,
            "Microsoft.MachineLearningServices/workspaces/onlineEndpoints": "azure.ml.online_endpoint",
            "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments": "azure.ml.online_deployment",
            "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints": azure_ml.SERVERLESS_ENDPOINT,
            "Microsoft.MachineLearningServices/workspaces/services": azure_ml.LEGACY_SERVICE}
SHAPE = "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}"


def seeded_ids() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {t: set() for t in ML_TYPES.values()}
    for doc in build_estate():
        if doc["type"] in ML_TYPES:
            out[ML_TYPES[doc["type"]]].add(doc["id"])
    return out


def by_name(inventory: Inventory, resource_type: str) -> dict[str, Resource]:
    return {r.name: r for r in inventory.of_type(resource_type)}


def pages(n: int) -> int:
    return max(1, math.ceil(n / 2))


def test_every_seeded_resource_as_raw_resource_manager_json(scan: Scan, arm: ArmServer) -> None:
    inventory = scan()

    assert inventory.complete, [c.error for c in inventory.coverage if c.error]
    assert inventory.scopes == (f"azure:{SUB_A}", f"azure:{SUB_B}", f"azure:{SUB_C}")
    assert {t: {r.id for r in inventory.of_type(t)} for t in ML_TYPES.values()} == seeded_ids()
    order = [(r.type, r.id) for r in inventory.resources]
    assert order == sorted(order)
    assert all(r.provider == "azure" and not r.unreadable for r in inventory.resources)

    secure = inventory.by_id()[WS_SECURE]
    # exactly what Resource Manager answered: camelCase, managedNetwork kept (the 2.0.0b2 models drop it)
    stored = arm.get_resource(WS_SECURE)
    assert stored is not None and secure.document == stored
    assert secure.document["properties"]["managedNetwork"]["isolationMode"] == "AllowOnlyApprovedOutbound"
    assert "public_network_access" not in json.dumps(secure.document)
    assert (secure.account, secure.region, secure.name) == (SUB_A, "westeurope", "ws-secure")
    assert secure.tags == {"env": "prod", "team": "ml"}
    assert inventory.by_id()[WS_B[0]].account == SUB_B and inventory.by_id()[WS_PENDING].region == "northeurope"
    for endpoint in inventory.of_type("azure.ml.online_endpoint"):
        assert endpoint.document == arm.get_resource(endpoint.id)
        assert endpoint.tags == {"owner": "scoring"}
    for resource in inventory.of_type(azure_ml.SERVERLESS_ENDPOINT):
        assert resource.document == arm.get_resource(resource.id)
        assert "contentSafetyStatus" in json.dumps(resource.document) or resource.name == "sl-both"
    green = by_name(inventory, "azure.ml.online_deployment")["green"]
    assert green.document["properties"]["dataCollector"]["collections"]["model_outputs"] == {
        "dataCollectionMode": "Disabled"}
    assert green.region == "westeurope" and green.account == SUB_A
    service = by_name(inventory, azure_ml.LEGACY_SERVICE)["svc-aci-open"]
    assert service.document["properties"]["computeType"] == "ACI"
    assert service.region == "westeurope"  # v1 services carry no location: the workspace's
    for compute in inventory.of_type(azure_ml.COMPUTE):
        assert compute.related == {"workspace": compute.id.split("/computes/")[0]}


def test_related_shapes(scan: Scan) -> None:
    inventory = scan()
    endpoints = inventory.by_id()
    deployments = by_name(inventory, "azure.ml.online_deployment")

    aad = endpoints[EP_AAD].related
    assert aad["workspace"] == WS_SECURE and aad["principal_ids"] == [P_AAD]
    assert aad["deployments"] == sorted(d.id for d in deployments.values() if d.id.startswith(EP_AAD + "/"))
    assert len(aad["deployments"]) == 3
    assert aad["role_assignments"] == [{
        "id": aad["role_assignments"][0]["id"],
        "roleDefinitionId": f"/subscriptions/{SUB_A}/providers/Microsoft.Authorization/roleDefinitions/"
                            f"{BUILTIN_ROLES['Storage Blob Data Reader']}",
        "roleName": "Storage Blob Data Reader", "scope": STORAGE, "scope_level": "resource", "principalId": P_AAD,
    }, {  # the Owner it holds in the other scanned subscription is pooled in
        "id": aad["role_assignments"][1]["id"],
        "roleDefinitionId": f"/subscriptions/{SUB_B}/providers/Microsoft.Authorization/roleDefinitions/"
                            f"{BUILTIN_ROLES['Owner']}",
        "roleName": "Owner", "scope": f"/subscriptions/{SUB_B}", "scope_level": "subscription", "principalId": P_AAD}]

    owner = endpoints[EP_OWNER].related
    assert owner["principal_ids"] == [P_OWNER, P_UA]  # system-assigned first, then every user-assigned
    assert {(a["roleName"], a["scope_level"], a["principalId"]) for a in owner["role_assignments"]} == {
        ("Owner", "subscription", P_OWNER), ("Contributor", "resource", P_UA), ("Reader", "resource_group", P_UA),
        ("AzureML Data Scientist", "resource", P_UA)}
    assert owner["deployments"] == []
    key = endpoints[EP_KEY].related
    assert key["principal_ids"] == [P_UA]
    assert {a["scope"] for a in key["role_assignments"]} == {WS_SECURE, RG_PROD}
    for assignment in key["role_assignments"]:
        assert set(assignment) == {"id", "roleDefinitionId", "roleName", "scope", "scope_level", "principalId"}
    assert endpoints[EP_NONE].related == {"workspace": WS_SECURE, "principal_ids": [], "role_assignments": [],
                                          "deployments": []}

    assert deployments["green"].related == {"endpoint": EP_AAD, "environment_variables": [
        {"name": "DB_PASSWORD", "has_value": True, "secret_kinds": []},
        {"name": "LOG_LEVEL", "has_value": True, "secret_kinds": []},
        {"name": "MODEL_URL", "has_value": True, "secret_kinds": ["sas_token"]},
        {"name": "STORAGE", "has_value": True, "secret_kinds": ["storage_connection_string"]},
    ]}
    assert deployments["k8s"].related["environment_variables"] == [
        {"name": "API_TOKEN", "has_value": False, "secret_kinds": []},
        {"name": "FEATURE_FLAG", "has_value": True, "secret_kinds": []}]
    assert deployments["main"].related == {"endpoint": EP_B, "environment_variables": []}


def test_no_secret_value_anywhere_in_the_inventory(scan: Scan) -> None:
    inventory = scan()
    text = json.dumps(dataclasses.asdict(inventory), default=str)
    for secret in SECRETS:
        assert secret not in text
    assert DB_PASSWORD not in text
    green = by_name(inventory, "azure.ml.online_deployment")["green"]
    assert green.document["properties"]["environmentVariables"] == {
        "STORAGE": "<redacted>", "MODEL_URL": "<redacted>", "DB_PASSWORD": "<redacted>", "LOG_LEVEL": "<redacted>"}
    compute = by_name(inventory, azure_ml.COMPUTE)["ci-open"]
    service = compute.document["properties"]["properties"]["customServices"][0]
    assert service["environmentVariables"] == {"HUB_TOKEN": {"type": "local", "value": "<redacted>"},
                                               "THEME": {"type": "local", "value": "<redacted>"}}
    assert service["image"]["reference"] == "ghcr.io/azure/rocker-rstudio-ml-verse:latest"  # the rest is kept
    legacy = by_name(inventory, azure_ml.LEGACY_SERVICE)["svc-aks-key"]
    environment = legacy.document["properties"]["environmentImageRequest"]["environment"]
    assert environment["environmentVariables"] == {"OPENAI_KEY": "<redacted>"}


def test_every_list_follows_next_link_and_nothing_is_read_twice(scan: Scan, arm: ArmServer,
                                                                credential: RecordingCredential,
                                                                progress: RecordingProgress) -> None:
    inventory = scan()
    requests = arm.requests
    children: Counter[tuple[str, str]] = Counter()
    for resource in inventory.resources:
        if resource.type == "azure.ml.online_deployment":
            children[("deployments", str(resource.related["endpoint"]))] += 1
        elif resource.type != azure_ml.WORKSPACE:
            children[(resource.type, str(resource.related["workspace"]))] += 1
    workspaces = inventory.of_type(azure_ml.WORKSPACE)
    endpoints = inventory.of_type("azure.ml.online_endpoint")
    assert all(count > 2 for key, count in children.items() if key[1] in (WS_SECURE, EP_AAD))

    def expected(kind: str, parents: list[str]) -> int:
        return sum(pages(children[(kind, parent)]) for parent in parents)

    ws_ids = [w.id for w in workspaces]
    assert requests[("GET", "/subscriptions")] == 2  # 3 subscriptions
    assert requests[("GET", "/subscriptions/{}/providers/Microsoft.MachineLearningServices/workspaces")] == 2 + 2 + 1
    assert requests[("GET", SHAPE + "/computes")] == expected(azure_ml.COMPUTE, ws_ids)
    assert requests[("GET", SHAPE + "/onlineEndpoints")] == expected("azure.ml.online_endpoint", ws_ids)
    assert requests[("GET", SHAPE + "/serverlessEndpoints")] == expected(azure_ml.SERVERLESS_ENDPOINT, ws_ids)
    assert requests[("GET", SHAPE + "/services")] == expected(azure_ml.LEGACY_SERVICE, ws_ids)
    assert requests[("GET", SHAPE + "/onlineEndpoints/{}/deployments")] == expected(
        "deployments", [e.id for e in endpoints])
    # one role-assignment listing per distinct principal (P_UA, shared by two endpoints, has two pages), and,
    # three subscriptions being scanned, each subscription's whole list once (pooled across subscriptions);
    # one read per distinct role definition
    seeded = [d["properties"]["scope"].lower() for d in build_estate() if d["type"].endswith("/roleAssignments")]
    whole = sum(pages(sum(scope.startswith(f"/subscriptions/{sub}") for scope in seeded))
                for sub in (SUB_A, SUB_B, SUB_C))
    assert requests[("GET", "/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments")] == (
        1 + 1 + 2 + 1 + whole)
    assert requests[("GET", "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{}")] == 5
    assert requests[("GET", "/metadata/{}")] == 1
    # the shapes above, plus the API Management service and AI Services account lists (this estate has neither
    # gateway nor AI account): no item GET
    assert len(requests) == 12
    assert requests[("GET", "/subscriptions/{}/providers/Microsoft.ApiManagement/service")] == 3
    assert requests[("GET", "/subscriptions/{}/providers/Microsoft.CognitiveServices/accounts")] == 3
    assert {method for method, _ in requests} == {"GET"}  # never listKeys, getKeys or a token API
    versions = {(shape.rsplit("/", 1)[-1], version) for shape, version in arm.api_versions
                if "MachineLearningServices" in shape}
    assert versions == {("workspaces", "2025-12-01"), ("computes", "2025-12-01"), ("onlineEndpoints", "2025-12-01"),
                        ("deployments", "2025-12-01"), ("serverlessEndpoints", "2025-12-01"),
                        ("services", "2021-07-01")}
    assert credential.calls == 1 and set(arm.tokens) == {credential.token}  # one token for every request
    assert progress.total == progress.done > 0


def test_permissions_cover_every_request_the_scan_makes(scan: Scan, arm: ArmServer) -> None:
    scan()
    actions = set()
    for method, shape in arm.requests:
        assert method == "GET"
        if shape == "/metadata/{}":  # the cloud's public metadata: no token, no permission
            continue
        resource_type = parse_path(shape.replace("{}", "x")).resource_type
        actions.add(f"{resource_type}/read")
    # This estate has no API Management gateway and no AI account: only the service and account lists of their
    # actions are used (tests/apim and tests/azureml/test_ai_inventory.py check the rest); every request maps to a
    # declared action.
    apim = {p for p in PERMISSIONS if p.startswith("Microsoft.ApiManagement/")}
    groups = {p for p in PERMISSIONS if p.startswith("Microsoft.Management/")}  # with --management-group only
    assert groups == {"Microsoft.Management/managementGroups/read",
                      "Microsoft.Management/managementGroups/descendants/read"}
    ai = {p for p in PERMISSIONS if p.startswith("Microsoft.CognitiveServices/")}
    assert actions == set(PERMISSIONS) - apim - groups - ai | {"Microsoft.ApiManagement/service/read",
                                                               "Microsoft.CognitiveServices/accounts/read"}
    assert list(PERMISSIONS) == sorted(PERMISSIONS)


def test_coverage_rows(scan: Scan) -> None:
    inventory = scan(subscriptions=(SUB_A, SUB_B))
    assert inventory.scopes == (f"azure:{SUB_A}", f"azure:{SUB_B}")
    rows = {(c.service, c.scope_id): c for c in inventory.coverage if c.service.startswith("ml-")}
    assert set(rows) == {("ml-workspaces", f"/subscriptions/{SUB_A}"), ("ml-workspaces", f"/subscriptions/{SUB_B}"),
                         *(("ml-workspace-children", w) for w in (WS_SECURE, WS_OPEN, WS_PENDING, *WS_B))}
    assert all(c.error is None and c.provider == "azure" for c in inventory.coverage)
    subscription = rows[("ml-workspaces", f"/subscriptions/{SUB_A}")]
    assert (subscription.account, subscription.region, subscription.resource_types, subscription.resources) == (
        SUB_A, "*", (azure_ml.WORKSPACE,), 3)
    secure = rows[("ml-workspace-children", WS_SECURE)]
    assert secure.region == "westeurope" and secure.resource_types == azure_ml.CHILD_TYPES
    assert secure.resources == 4 + 4 + 3 + 3 + 3  # computes, endpoints, deployments, serverless, v1 services
    assert rows[("ml-workspace-children", WS_B[0])].resources == 2
    assert list(inventory.coverage) == sorted(inventory.coverage, key=lambda c: (c.service, c.account,
                                                                                 c.scope_id.lower()))


def test_the_rule_catalog_decides_as_expected(scan: Scan) -> None:
    inventory = scan()
    rules = [rule for rule in load_catalog(providers=("azure",)).values() if rule.id.startswith("azure.ml.")]
    assert len(rules) == 16
    findings = evaluate(inventory, rules)
    names = {r.id: r.name for r in inventory.resources}
    decided = {(f.rule_id, names[f.resource_id]): f.status.value for f in findings}
    assert decided == EXPECTED
    assert not [f for f in findings if f.status is Status.ERROR]
    owner = next(f for f in findings if f.rule_id.endswith("identity_least_privilege") and f.resource_id == EP_OWNER)
    assert "Owner at subscription scope" in owner.message
