"""Pure helpers of the Azure collectors: scope levels, redaction, identities, environment variables, permissions."""

from __future__ import annotations

import pytest

from auditor.providers.azure import ai as azure_ai
from auditor.providers.azure import apim as azure_apim
from auditor.providers.azure import collect as collect_azure
from auditor.providers.azure import ml as azure_ml
from auditor.providers.azure import resource_types
from auditor.providers.azure import session as azure_session
from auditor.providers.azure.ml_endpoints import REDACTED, endpoint_principals, environment_variables, redact
from auditor.providers.azure.roles import scope_level

SUB = "/subscriptions/00000000-0000-0000-0000-000000000001"


@pytest.mark.parametrize(("scope", "level"), [
    (SUB, "subscription"),
    (SUB.upper() + "/", "subscription"),
    (f"{SUB}/resourceGroups/rg", "resource_group"),
    (f"{SUB}/resourcegroups/rg/providers/Microsoft.Storage/storageAccounts/s", "resource"),
    (f"{SUB}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w/onlineEndpoints/e", "resource"),
    ("/providers/Microsoft.Management/managementGroups/root-mg", "management_group"),
    ("/", "root"),
])
def test_scope_level(scope: str, level: str) -> None:
    assert scope_level(scope) == level


def test_redact_keeps_the_document_and_drops_secret_values() -> None:
    document = {
        "id": "x", "name": "n", "tags": {"note": "AccountKey=" + "A" * 40},
        "properties": {
            "authEnabled": True, "disableLocalAuth": False, "sslKey": "", "password": None,
            "sslConfiguration": {"status": "Enabled", "cert": "PUBLIC", "key": "-----BEGIN PRIVATE KEY-----..."},
            "administratorAccount": {"username": "azureuser", "password": "p@ss", "privateKeyData": "k"},
            "environmentVariables": {"A": "plain", "B": None, "C": ""},
            "customServices": [{"environmentVariables": {"T": {"type": "local", "value": "v"}}}],
            "description": "https://user:hunter22@example.com/path",
            "count": 3,
        },
    }
    out = redact(document)
    props = out["properties"]
    assert props["authEnabled"] is True and props["disableLocalAuth"] is False and props["count"] == 3
    assert props["sslKey"] == "" and props["password"] is None  # nothing to hide: shape kept
    assert props["sslConfiguration"] == {"status": "Enabled", "cert": "PUBLIC", "key": REDACTED}
    assert props["administratorAccount"] == {"username": "azureuser", "password": REDACTED,
                                             "privateKeyData": REDACTED}
    assert props["environmentVariables"] == {"A": REDACTED, "B": None, "C": REDACTED}
    assert props["customServices"][0]["environmentVariables"] == {"T": {"type": "local", "value": REDACTED}}
    assert out["tags"] == {"note": REDACTED}
    assert props["description"] == "https://<redacted>@example.com/path"  # a URL keeps its shape, not its password
    assert document["properties"]["environmentVariables"]["A"] == "plain"  # the input is not changed


def test_endpoint_principals() -> None:
    assert endpoint_principals({}) == ([], None)
    assert endpoint_principals({"identity": {"type": "None"}}) == ([], None)
    both = {"identity": {"type": "SystemAssigned, UserAssigned", "principalId": "s",
                         "userAssignedIdentities": {"/b": {"principalId": "u2"}, "/a": {"principalId": "u1"},
                                                    "/c": {"principalId": "s"}}}}
    assert endpoint_principals(both) == (["s", "u1", "u2"], None)
    principals, missing = endpoint_principals({"identity": {"type": "SystemAssigned,UserAssigned",
                                                            "userAssignedIdentities": {"/a": {}}}})
    assert principals == [] and missing is not None
    assert "system-assigned" in missing and "/a" in missing


def test_environment_variables_keep_names_and_kinds_only() -> None:
    sas = "https://a.blob.core.windows.net/c?sv=1&sig=" + "x" * 20
    document = {"properties": {"environmentVariables": {"Z": sas, "A": None, "M": "1"}}}
    assert environment_variables(document) == [
        {"name": "A", "has_value": False, "secret_kinds": []},
        {"name": "M", "has_value": True, "secret_kinds": []},
        {"name": "Z", "has_value": True, "secret_kinds": ["sas_token"]}]
    assert environment_variables({"properties": {}}) == []
    assert environment_variables({}) == []


def test_permissions_are_generated_from_the_declared_types() -> None:
    calls = {*resource_types.PROVIDER_CALLS, *(c for t in resource_types.TYPES for c in t.calls)}
    assert tuple(sorted({resource_types.authorized_as(c) for c in calls})) == collect_azure.PERMISSIONS
    assert all(t.list for t in resource_types.TYPES)  # every type is listed by some call
    apim = [p for p in collect_azure.PERMISSIONS if p.startswith("Microsoft.ApiManagement/")]
    ai = [p for p in collect_azure.PERMISSIONS if p.startswith("Microsoft.CognitiveServices/")]
    assert len(collect_azure.PERMISSIONS) == 11 + len(apim) + len(ai) and len(apim) == 7
    assert ai == ["Microsoft.CognitiveServices/accounts/deployments/read",
                  "Microsoft.CognitiveServices/accounts/raiPolicies/read", "Microsoft.CognitiveServices/accounts/read"]
    assert all(p.endswith("/read") for p in collect_azure.PERMISSIONS)
    assert set(azure_ml.RESOURCE_TYPES) | set(azure_apim.RESOURCE_TYPES) | set(azure_ai.RESOURCE_TYPES) == {
        t.id for t in resource_types.TYPES}


class _Client:
    def __init__(self, name: str) -> None:
        self.name, self.closed = name, False

    def close(self) -> None:
        self.closed = True


def test_shared_clients_are_built_once_and_building_one_blocks_no_other() -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests

    clients = azure_session.AzureClients(None, "https://arm.example", "https://arm.example/.default",  # type: ignore[arg-type]
                                         requests.Session())
    ml = clients.shared("ml", lambda: _Client("ml"))
    release, started = threading.Event(), threading.Event()
    builds: list[str] = []

    def slow() -> _Client:  # an SDK import that takes a while
        builds.append("apim")
        started.set()
        assert release.wait(10)
        return _Client("apim")

    with ThreadPoolExecutor(4) as pool:
        waiting = [pool.submit(clients.shared, "apim", slow) for _ in range(3)]
        assert started.wait(10)
        # while apim is being built: the built client and another client come at once
        assert clients.shared("ml", lambda: _Client("again")) is ml
        authorization = clients.shared("authorization", lambda: _Client("authorization"))
        assert not any(f.done() for f in waiting)
        release.set()
        apim = {id(f.result(10)) for f in waiting}
    assert builds == ["apim"] and len(apim) == 1
    clients.close()
    assert ml.closed and authorization.closed
