"""Fixtures: a stand-in serving ``estate.build_estate()``, a static-token credential, SDK client options."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from auditor.demo.arm_server import ArmServer

from .estate import build_estate, build_subscriptions

TOKEN = "static-test-token"


class StaticToken:
    """The smallest ``TokenCredential``: one fixed token, counting how often it was asked."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        return AccessToken(self.token, int(time.time()) + 3600)


@pytest.fixture
def credential() -> StaticToken:
    return StaticToken()


@pytest.fixture
def arm() -> Iterator[ArmServer]:
    with ArmServer(build_estate(), subscriptions=build_subscriptions(), page_size=2) as server:
        yield server


@pytest.fixture
def client_options(arm: ArmServer) -> dict[str, Any]:
    """Keyword arguments that point an azure-mgmt client at the stand-in and trust its CA."""
    return {"base_url": arm.url, "connection_verify": arm.ca_bundle}
