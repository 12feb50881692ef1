"""A seeded demo estate per test module (module scope: moto's state is process-global, and other
test packages reset it between their tests)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from auditor.demo.aws_estate import DemoEstate
from auditor.demo.aws_northwind import seed_demo_estate
from auditor.demo.moto_server import aws_environment, running_moto


@pytest.fixture(scope="module")
def estate() -> Iterator[DemoEstate]:
    with running_moto() as url:
        yield seed_demo_estate(url)


@pytest.fixture
def aws(estate: DemoEstate) -> Iterator[boto3.Session]:
    """A boto3 session on the standard chain, pointed at the demo server."""
    with aws_environment(estate.endpoint_url):
        yield boto3.Session()
