"""Faults on demand, random faults, authentication and the connection behaviour of the stand-in."""

from __future__ import annotations

import http.client
import json
import os
import ssl
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.core.pipeline.policies import RetryPolicy
from azure.core.rest import HttpRequest
from azure.identity import AzureCliCredential
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.machinelearningservices import MachineLearningServicesMgmtClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from auditor.demo.arm_server import ArmServer
from auditor.demo.fake_az import recorded_calls, write_fake_az

from .conftest import TOKEN, StaticToken
from .estate import ENDPOINTS, RG, SUB, WS_ID, build_estate, endpoint_id

GET_ENDPOINT = ("GET", "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/"
                "workspaces/{}/onlineEndpoints/{}")


def raw(arm: ArmServer, method: str, path: str, headers: dict[str, str] | None = None,
        body: bytes | None = None) -> tuple[int, dict[str, str], Any]:
    """One request over a fresh TLS connection trusting the stand-in's CA, outside any SDK."""
    context = ssl.create_default_context(cafile=arm.ca_bundle)
    connection = http.client.HTTPSConnection("127.0.0.1", arm.server_port, context=context, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        payload = response.read()
        return response.status, dict(response.getheaders()), json.loads(payload) if payload else None
    finally:
        connection.close()


def test_deny_answers_403_authorization_failed(arm: ArmServer, credential: StaticToken,
                                               client_options: dict[str, Any]) -> None:
    client = MachineLearningServicesMgmtClient(credential, SUB, **client_options)
    arm.deny(endpoint_id("ep-2").upper())
    with pytest.raises(HttpResponseError) as caught:
        client.online_endpoints.get(RG, "ws-prod", "ep-2")
    assert caught.value.status_code == 403
    assert caught.value.error.code == "AuthorizationFailed"
    assert "onlineEndpoints/read" in caught.value.error.message
    assert client.online_endpoints.get(RG, "ws-prod", "ep-3").name == "ep-3"
    arm.deny(WS_ID, methods=["PATCH"])  # reads still work
    assert [e.name for e in client.online_endpoints.list(RG, "ws-prod")] == ENDPOINTS
    arm.clear_faults()
    assert client.online_endpoints.get(RG, "ws-prod", "ep-2").name == "ep-2"
    assert arm.injected["deny"] == 1


def test_throttle_is_retried_after_the_hint(arm: ArmServer, credential: StaticToken,
                                            client_options: dict[str, Any]) -> None:
    client = MachineLearningServicesMgmtClient(credential, SUB, **client_options)
    arm.throttle(endpoint_id("ep-1"), times=2, retry_after=1)
    started = time.monotonic()
    assert client.online_endpoints.get(RG, "ws-prod", "ep-1").name == "ep-1"
    assert time.monotonic() - started >= 1.9  # Retry-After: 1 honoured twice
    assert arm.requests[GET_ENDPOINT] == 3 and arm.injected["throttle"] == 2


def test_fail_then_recover_and_fail_for_good(arm: ArmServer, credential: StaticToken,
                                             client_options: dict[str, Any]) -> None:
    client = MachineLearningServicesMgmtClient(credential, SUB, retry_backoff_factor=0.01, **client_options)
    arm.fail(WS_ID, status=503, times=2)
    assert client.online_endpoints.get(RG, "ws-prod", "ep-0").name == "ep-0"
    arm.fail(WS_ID, status=500, times=10)
    with pytest.raises(HttpResponseError) as caught:  # retry_status defaults to 3: four answers, then give up
        client.online_endpoints.get(RG, "ws-prod", "ep-0")
    assert caught.value.status_code == 500
    assert arm.requests[GET_ENDPOINT] == 3 + 4


def test_random_throttling_is_absorbed_by_retries(credential: StaticToken) -> None:
    with ArmServer(build_estate(), throttle_rate=0.2, error_rate=0.1, seed=7, retry_after=0) as arm:
        client = MachineLearningServicesMgmtClient(credential, SUB, base_url=arm.url, connection_verify=arm.ca_bundle,
                                                   retry_backoff_factor=0.001, retry_status=8)
        for _ in range(4):
            assert [e.name for e in client.online_endpoints.list(RG, "ws-prod")] == ENDPOINTS
        injected = arm.injected
        assert injected["random-throttle"] > 0 and injected["random-error"] > 0


def test_bearer_token_and_api_version_are_required(arm: ArmServer) -> None:
    path = f"{WS_ID}/onlineEndpoints?api-version=2023-04-01"
    status, _, body = raw(arm, "GET", path)
    assert status == 401 and body["error"]["code"] == "AuthenticationFailed"
    status, _, body = raw(arm, "GET", path, {"Authorization": "Bearer "})
    assert status == 401 and body["error"]["code"] == "InvalidAuthenticationToken"
    status, _, body = raw(arm, "GET", f"{WS_ID}/onlineEndpoints", {"Authorization": "Bearer t"})
    assert status == 400 and body["error"]["code"] == "MissingApiVersionParameter"
    status, headers, body = raw(arm, "POST", f"{endpoint_id('ep-0')}/listKeys?api-version=2023-04-01",
                                {"Authorization": "Bearer t"})
    assert status == 405 and body["error"]["code"] == "MethodNotAllowed" and "GET" in headers["Allow"]
    status, headers, body = raw(arm, "HEAD", f"{endpoint_id('ep-0')}?api-version=2023-04-01",
                                {"Authorization": "Bearer t"})
    assert status == 200 and body is None and int(headers["Content-Length"]) > 0
    status, _, body = raw(arm, "PUT", f"{endpoint_id('ep-0')}?api-version=2023-04-01",
                          {"Authorization": "Bearer t", "Content-Type": "application/json"}, b"{not json")
    assert status == 400 and body["error"]["code"] == "InvalidRequestContent"
    status, _, body = raw(arm, "BREW", "/", {"Authorization": "Bearer t"})
    assert status == 501 and "error" in body


def test_sdk_without_credential_policy_gets_401(arm: ArmServer) -> None:
    client: ARMPipelineClient[Any, Any] = ARMPipelineClient(
        base_url=arm.url, policies=[RetryPolicy()], connection_verify=arm.ca_bundle)
    response = client.send_request(HttpRequest("GET", f"{arm.url}/subscriptions?api-version=2022-12-01"))
    assert response.status_code == 401
    assert arm.tokens == {}


def test_one_shared_client_one_token_many_threads(arm: ArmServer, credential: StaticToken,
                                                  client_options: dict[str, Any]) -> None:
    client = MachineLearningServicesMgmtClient(credential, SUB, **client_options)
    client.online_endpoints.get(RG, "ws-prod", "ep-0")
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            for _ in range(3):
                client.online_endpoints.get(RG, "ws-prod", ENDPOINTS[index % len(ENDPOINTS)])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert time.monotonic() - started < 5
    assert arm.tokens == {TOKEN: 1 + 16 * 3}
    assert credential.calls == 1


def test_keep_alive_answers_fast(arm: ArmServer, credential: StaticToken, client_options: dict[str, Any]) -> None:
    client = MachineLearningServicesMgmtClient(credential, SUB, **client_options)
    client.online_endpoints.get(RG, "ws-prod", "ep-0")
    started = time.monotonic()
    for _ in range(20):
        client.online_endpoints.get(RG, "ws-prod", "ep-0")
    assert (time.monotonic() - started) / 20 < 0.03  # no 40 ms delayed-ACK stall per answer


def test_localhost_and_requests_ca_bundle(arm: ArmServer, credential: StaticToken,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", arm.ca_bundle)
    client = SubscriptionClient(credential, base_url=arm.url.replace("127.0.0.1", "localhost"))
    assert len(list(client.subscriptions.list())) == 3


def test_fake_az_answers_like_the_cli(tmp_path: Path) -> None:
    az = write_fake_az(tmp_path, token="tok-1", tenant="tenant-1")
    for args in (["--output", "json", "--resource", "https://management.core.windows.net/"],
                 ["--scope", "https://management.azure.com/.default"], []):
        result = subprocess.run([str(az), "account", "get-access-token", *args], capture_output=True, text=True,
                                check=True, cwd="/")
        answer = json.loads(result.stdout)
        assert set(answer) == {"accessToken", "expiresOn", "expires_on", "subscription", "tenant", "tokenType"}
        assert answer["accessToken"] == "tok-1" and answer["tenant"] == "tenant-1"
        assert answer["expires_on"] > time.time() + 3000
    refused = subprocess.run([str(az), "login"], capture_output=True, text=True, check=False)
    assert refused.returncode == 2 and "get-access-token" in refused.stderr
    assert len(recorded_calls(tmp_path)) == 4


def test_azure_cli_credential_with_the_fake_az(arm: ArmServer, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    write_fake_az(tmp_path, token="cli-token")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    credential = AzureCliCredential(process_timeout=30)
    client = MachineLearningServicesMgmtClient(credential, SUB, base_url=arm.url, connection_verify=arm.ca_bundle)
    assert [e.name for e in client.online_endpoints.list(RG, "ws-prod")] == ENDPOINTS
    assert client.workspaces.get(RG, "ws-prod").name == "ws-prod"
    assert arm.tokens == {"cli-token": 4}
    calls = recorded_calls(tmp_path)
    assert len(calls) == 1  # the client's bearer policy caches the token
    assert calls[0][:4] == ["account", "get-access-token", "--output", "json"] and "--resource" in calls[0]


def test_azure_cli_credential_failure_is_an_auth_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "az"
    broken.write_text("#!/bin/sh\necho 'ERROR: AADSTS700082: expired' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    with pytest.raises(ClientAuthenticationError):
        AzureCliCredential().get_token("https://management.azure.com/.default")
