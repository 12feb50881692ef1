"""One credential, one token per scan; the Resource Manager endpoint and the token audience."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from auditor.demo.arm_server import ArmServer
from auditor.demo.fake_az import recorded_calls, write_fake_az
from auditor.providers.azure.collect import AzureOptions, collect_azure
from auditor.providers.azure.session import (
    PUBLIC_ARM_ENDPOINT,
    PUBLIC_SCOPE,
    CachingCredential,
    arm_endpoint,
    token_scope,
)

from .conftest import RecordingCredential, Scan
from .estate import SUB_A


def test_the_cli_credential_runs_az_once_for_a_16_thread_scan(arm: ArmServer, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    write_fake_az(tmp_path, token="cli-token")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("AUDITOR_ARM_ENDPOINT", arm.url + "/")
    arm.latency_ms = 20  # so that the workers' requests overlap

    inventory = collect_azure(AzureOptions(credential="cli", max_workers=16))

    assert inventory.complete and len(inventory.resources) == 27
    calls = recorded_calls(tmp_path)
    assert len(calls) == 1
    assert calls[0][calls[0].index("--resource") + 1] == arm.url  # the audience fell back to the endpoint
    authenticated = sum(count for (_, shape), count in arm.requests.items() if shape != "/metadata/{}")
    assert arm.tokens == {"cli-token": authenticated}


def test_the_token_scope_falls_back_to_the_endpoint_when_it_serves_no_metadata(
        scan: Scan, arm: ArmServer, credential: RecordingCredential) -> None:
    scan(subscriptions=(SUB_A,))
    assert credential.scopes == [(f"{arm.url}/.default",)]
    assert arm.requests[("GET", "/metadata/{}")] == 1  # asked once, without a token (the stand-in answers 401)


def test_the_public_cloud_needs_no_metadata() -> None:
    assert token_scope(PUBLIC_ARM_ENDPOINT) == PUBLIC_SCOPE == "https://management.azure.com/.default"
    assert token_scope("https://MANAGEMENT.azure.com") == PUBLIC_SCOPE


def test_the_endpoint_comes_from_the_option_then_the_environment() -> None:
    assert arm_endpoint(None, {}) == "https://management.azure.com"
    assert arm_endpoint(None, {"AUDITOR_ARM_ENDPOINT": "https://management.usgovcloudapi.net/"}) == \
        "https://management.usgovcloudapi.net"
    assert arm_endpoint("https://arm.local:8443", {"AUDITOR_ARM_ENDPOINT": "https://other"}) == "https://arm.local:8443"


def test_the_token_cache_fetches_once_for_concurrent_callers() -> None:
    wrapped = RecordingCredential(token="t1")
    cache = CachingCredential(wrapped)
    tokens: list[AccessToken] = []
    barrier = threading.Barrier(16)

    def worker() -> None:
        barrier.wait()
        tokens.append(cache.get_token("https://arm/.default"))

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrapped.calls == 1 and {t.token for t in tokens} == {"t1"}
    cache.get_token("https://other/.default")  # another scope is another token
    cache.get_token("https://arm/.default", claims='{"access_token": {}}')  # a claims challenge is never cached
    assert wrapped.calls == 3


def test_the_token_cache_refreshes_before_expiry() -> None:
    long_lived = RecordingCredential(lifetime=3600)
    cache = CachingCredential(long_lived)
    for _ in range(5):
        cache.get_token("s")
    assert long_lived.calls == 1

    short_lived = RecordingCredential(lifetime=2)  # under the 5-minute margin: kept for half its remaining life
    cache = CachingCredential(short_lived)
    cache.get_token("s")
    cache.get_token("s")
    assert short_lived.calls == 1
    time.sleep(1.1)
    cache.get_token("s")
    assert short_lived.calls == 2


class ExpiringCredential:
    """Tokens that expire within the five-minute refresh margin of azure-core's bearer policy."""

    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        return AccessToken(f"t{self.calls}", int(time.time()) + 240)


def test_a_short_lived_token_is_still_shared_by_every_client(arm: ArmServer) -> None:
    credential = ExpiringCredential()
    inventory = collect_azure(AzureOptions(arm_endpoint=arm.url, subscriptions=(SUB_A,)),
                              credential=credential)  # type: ignore[arg-type]
    assert inventory.complete
    assert credential.calls == 1 and set(arm.tokens) == {"t1"}
