"""Fixtures: the Resource Manager stand-in serving ``estate.build_estate()`` and a scan through the real SDK clients.

The stand-in's CA is trusted through the standard ``REQUESTS_CA_BUNDLE`` variable, as a user points
``auditor scan azure --arm-endpoint`` at another Resource Manager.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from auditor.demo.arm_server import ArmServer
from auditor.model import Inventory
from auditor.pipeline import link
from auditor.providers.azure.collect import AzureOptions, collect_azure

from .estate import SUB_A, SUB_B, build_estate

_CLEARED = ("AUDITOR_ARM_ENDPOINT", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET",
            "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST", "CURL_CA_BUNDLE",
            "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


class FixedCredential:
    """A ``TokenCredential`` with one fixed token."""

    token = "apim-collector-test-token"

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def arm(monkeypatch: pytest.MonkeyPatch) -> Iterator[ArmServer]:
    with ArmServer(build_estate(), page_size=2) as server:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_bundle)
        yield server


Scan = Callable[..., Inventory]


@pytest.fixture
def scan(arm: ArmServer) -> Scan:
    """``scan(**AzureOptions fields)``: one collection against the stand-in (both subscriptions by default), its
    gateways linked to the endpoints they front as the pipeline links them."""

    def run(**options: Any) -> Inventory:
        options.setdefault("arm_endpoint", arm.url)
        options.setdefault("subscriptions", (SUB_A, SUB_B))
        return link(collect_azure(AzureOptions(**options), credential=FixedCredential()))

    return run
