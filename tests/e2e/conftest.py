"""Fixtures for the end-to-end tests: moto in server mode on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    from auditor.demo import moto_fixes

    moto_fixes.install()  # moto answers as AWS does where the collectors rely on it
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def moto(moto_endpoint: str) -> Iterator[str]:
    import urllib.request

    def reset() -> None:
        urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST"))

    # moto's backends are global to the process: another package's in-process server in the same xdist
    # worker may have left resources behind, so start clean as well as leave clean.
    reset()
    yield moto_endpoint
    reset()
