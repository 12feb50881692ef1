"""For every test: each cloud call the auditor makes is one its scan or its remediation declares (``call_audit``)."""

from __future__ import annotations

from collections.abc import Iterator

import call_audit
import pytest

pytest.register_assert_rewrite("shard_results")  # its comparisons fail showing both sides, as a test's own do


@pytest.fixture(scope="session", autouse=True)
def _record_cloud_calls() -> Iterator[None]:
    restore = call_audit.install()
    try:
        yield
    finally:
        restore()


@pytest.fixture(autouse=True)
def _every_call_declared() -> Iterator[None]:
    call_audit.UNDECLARED.clear()
    yield
    undeclared = sorted(set(call_audit.UNDECLARED))
    call_audit.UNDECLARED.clear()
    assert not undeclared, "calls not declared in resource_types.py or the remediator's calls: " + "; ".join(
        undeclared)
