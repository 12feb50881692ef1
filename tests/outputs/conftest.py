"""Fixtures for the output-format tests (the values themselves are in builders.py)."""

from __future__ import annotations

import pytest

from auditor.model import ScanResult

from .builders import VARIANTS, make_result


@pytest.fixture
def result() -> ScanResult:
    """A complete scan that fails the build: two FAILs at or above high, one MUTED, waivers to report."""
    return make_result()


@pytest.fixture(params=sorted(VARIANTS))
def any_result(request: pytest.FixtureRequest) -> ScanResult:
    return VARIANTS[request.param]()
