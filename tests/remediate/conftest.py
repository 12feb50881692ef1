"""Fixtures: moto in server mode in this process (with the demo's UpdateEndpoint), the Resource Manager stand-in.

moto keeps one store per process: the module-scoped server is reset and the estate re-seeded for
every test that asks for ``aws_estate``. Polling is sped up (``fast``): moto, as ``running_moto`` serves it
(``auditor.demo.moto_sagemaker``), answers ``Updating`` once after each UpdateEndpoint, and the stand-in
asks for a 10 ms pause between polls.
"""

from __future__ import annotations

import os
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.credentials import AccessToken

from auditor.demo.arm_server import ArmServer
from auditor.demo.aws_estate import DemoEstate
from auditor.demo.fake_az import write_fake_az
from auditor.demo.moto_server import aws_environment, running_moto
from auditor.providers import ProviderOptions

from . import azure_estate
from .aws_estate import REGION, seed


@pytest.fixture(autouse=True)
def journal_key_home(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each test's own per-user config directory, so the journal key apply creates never touches the real one."""
    home = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv("AUDITOR_JOURNAL_KEY", raising=False)
    return home


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with running_moto() as url, aws_environment(url, REGION):
        yield url


@pytest.fixture
def aws_estate(moto_url: str) -> DemoEstate:
    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass
    return seed(moto_url)


@pytest.fixture
def fast() -> ProviderOptions:
    return ProviderOptions(poll_seconds=0.01, max_poll_seconds=0.05, wait_timeout=30)


# --- Azure ------------------------------------------------------------------------------------------

_AZURE_CLEARED = ("AUDITOR_ARM_ENDPOINT", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET",
                  "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST",
                  "CURL_CA_BUNDLE", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


class FixedCredential:
    """A TokenCredential with one fixed token (the stand-in accepts any bearer token)."""

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken("remediation-test-token", int(time.time()) + 3600)


@pytest.fixture
def arm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[ArmServer]:
    """The stand-in serving the estate; REQUESTS_CA_BUNDLE trusts it and the fake ``az`` is first on PATH."""
    for name in _AZURE_CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    az_dir = tmp_path / "az"
    write_fake_az(az_dir)
    (az_dir / "config").mkdir()
    monkeypatch.setenv("PATH", f"{az_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(az_dir / "config"))
    with ArmServer(azure_estate.build(), subscriptions=azure_estate.subscriptions(), page_size=2,
                   poll_delay_ms=5) as server:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_bundle)
        monkeypatch.setenv("AUDITOR_ARM_ENDPOINT", server.url)  # plan records it: apply elsewhere is refused
        yield server


@pytest.fixture
def azure_options(arm: ArmServer) -> ProviderOptions:
    return ProviderOptions(values={"arm_endpoint": arm.url}, overrides={"azure": FixedCredential()},
                           poll_seconds=0.01, max_poll_seconds=0.05, wait_timeout=30)
