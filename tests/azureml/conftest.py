"""Fixtures: the Resource Manager stand-in serving ``estate.build_estate()``, a recording credential, a scan.

Every scan runs the real collector through the real Azure SDKs to the stand-in over HTTPS. The
stand-in's CA is trusted through the standard ``REQUESTS_CA_BUNDLE`` variable (the collector has no
TLS option of its own), exactly as a user points ``auditor scan azure --arm-endpoint`` elsewhere.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from auditor.demo.arm_server import ArmServer
from auditor.model import Inventory
from auditor.providers.azure.collect import AzureOptions, collect_azure

from .estate import build_estate, build_subscriptions

TOKEN = "azure-collector-test-token"
# Variables that could send the tests to a real cloud, a proxy, or another CA.
_CLEARED = ("AUDITOR_ARM_ENDPOINT", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET",
            "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST", "CURL_CA_BUNDLE",
            "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


class RecordingCredential:
    """A ``TokenCredential`` with one fixed token that records every request for one."""

    def __init__(self, token: str = TOKEN, lifetime: int = 3600) -> None:
        self.token = token
        self.lifetime = lifetime
        self.scopes: list[tuple[str, ...]] = []
        self._lock = threading.Lock()

    @property
    def calls(self) -> int:
        return len(self.scopes)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        with self._lock:
            self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + self.lifetime)


class RecordingProgress:
    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.lanes_opened: list[tuple[str, str]] = []
        self.lanes_done: list[tuple[tuple[str, str], int]] = []
        self._lock = threading.Lock()

    def add_total(self, n: int) -> None:
        with self._lock:
            self.total += n

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self.done += n

    def lane_open(self, lane: tuple[str, str]) -> None:
        self.lanes_opened.append(lane)

    def lane_done(self, lane: tuple[str, str], calls: int) -> None:
        self.lanes_done.append((lane, calls))


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def arm(monkeypatch: pytest.MonkeyPatch) -> Iterator[ArmServer]:
    with ArmServer(build_estate(), subscriptions=build_subscriptions(), page_size=2) as server:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_bundle)
        yield server


@pytest.fixture
def credential() -> RecordingCredential:
    return RecordingCredential()


@pytest.fixture
def progress() -> RecordingProgress:
    return RecordingProgress()


Scan = Callable[..., Inventory]


@pytest.fixture
def scan(arm: ArmServer, credential: RecordingCredential, progress: RecordingProgress) -> Scan:
    """``scan(**AzureOptions fields)``: one collection against the stand-in with the recording credential."""

    def run(**options: Any) -> Inventory:
        options.setdefault("arm_endpoint", arm.url)
        return collect_azure(AzureOptions(**options), progress, credential=credential)

    return run
