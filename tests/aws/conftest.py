"""One moto server (in-process, on 127.0.0.1) for the AWS collector tests, reset between tests.

Every test talks to it through real boto3 clients: the standard ``AWS_ENDPOINT_URL`` variable points
them at the server and fake credentials come from the environment, exactly as a user would run
``auditor scan aws`` against moto. The environment is restored when the package's tests end.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from auditor.demo import moto_fixes
from auditor.model import Inventory
from auditor.providers.aws.collect import AwsOptions, collect_aws

from . import iam_actions
from .seeding import Seeder

# Variables that could point the tests at a real account or change retry behaviour.
_CLEARED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
            "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI")


@dataclass
class Moto:
    url: str

    def _post(self, path: str, body: bytes = b"") -> None:
        # text/plain: with a form content type the server would parse the body away
        request = urllib.request.Request(self.url + path, data=body, method="POST",
                                         headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    def reset(self) -> None:
        self._post("/moto-api/reset")

    def enforce_iam(self) -> None:
        """From now on every request is authenticated and authorized against moto's IAM."""
        self._post("/moto-api/reset-auth", b"0")

    def relax_iam(self) -> None:
        self._post("/moto-api/reset-auth", b"inf")

    def session(self, region: str = "us-east-1", **credentials: str) -> boto3.Session:
        return boto3.Session(region_name=region, **credentials)  # type: ignore[arg-type]


@pytest.fixture(scope="package")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    empty = tmp_path_factory.mktemp("aws-config")
    with pytest.MonkeyPatch.context() as patch:
        for name in _CLEARED + tuple(n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.setenv("AWS_CONFIG_FILE", str(empty / "config"))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty / "credentials"))
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        werkzeug = logging.getLogger("werkzeug")
        level = werkzeug.level
        werkzeug.setLevel(logging.WARNING)  # one INFO line per request otherwise
        moto_fixes.install()  # moto answers as AWS does where the collectors rely on it
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        restore_actions = iam_actions.install()  # enforcement checks AWS's action names, and answers as AWS does
        server.start()
        host, port = server.get_host_and_port()
        patch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
        try:
            yield Moto(url=f"http://{host}:{port}")
        finally:
            server.stop()
            restore_actions()
            werkzeug.setLevel(level)


@pytest.fixture
def moto(moto_server: Moto) -> Iterator[Moto]:
    moto_server.reset()
    try:
        yield moto_server
    finally:
        moto_server.relax_iam()


@pytest.fixture
def seed(moto: Moto) -> Seeder:
    return Seeder(moto.session())


@dataclass
class CallLog:
    """Records every AWS API call a session's clients make (botocore ``before-call`` event)."""

    calls: list[tuple[str, str, str]] = field(default_factory=list)  # (service, operation, region)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, model: Any, request_signer: Any, **kwargs: Any) -> None:
        with self._lock:
            self.calls.append((model.service_model.service_name, model.name, request_signer.region_name))

    def attach(self, session: boto3.Session) -> boto3.Session:
        session.events.register("before-call", self.record)
        return session

    def count(self, operation: str) -> int:
        return sum(1 for _, op, _ in self.calls if op == operation)

    def operations(self) -> set[tuple[str, str]]:
        return {(service, op) for service, op, _ in self.calls}

    def per_operation(self) -> Counter[str]:
        return Counter(op for _, op, _ in self.calls)


@pytest.fixture
def scan(moto: Moto) -> Callable[..., tuple[Inventory, CallLog]]:
    """scan(regions, session=None, **options) -> (inventory, calls made)."""

    def run(regions: tuple[str, ...] = ("us-east-1",), session: boto3.Session | None = None,
            **options: Any) -> tuple[Inventory, CallLog]:
        log = CallLog()
        used = log.attach(session or moto.session())
        inventory = collect_aws(AwsOptions(regions=regions, **options), session=used)
        return inventory, log

    return run


# --- fault injection at the HTTP layer ----------------------------------------------------------
# A botocore ``before-send`` handler may answer a request itself. The answers below are the bytes
# AWS sends for these errors, so botocore's real parser, retry handler and error classes see them.


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._body


def json_error(status: int, code: str, message: str) -> Any:
    """An AWS JSON-protocol error response (SageMaker, KMS)."""
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    body = json.dumps({"__type": code, "message": message}).encode()
    headers = HTTPHeaders()
    headers["Content-Type"] = "application/x-amz-json-1.1"
    headers["x-amzn-RequestId"] = "injected"
    return AWSResponse("https://injected.invalid/", status, headers, _Body(body))


@dataclass(frozen=True)
class Sent:
    """What a ``before-send`` handler needs to know about a signed request."""

    region: str
    service: str
    operation: str
    params: dict[str, Any]


def _header(request: Any, name: str) -> str:
    value = request.headers.get(name, "")
    return value.decode() if isinstance(value, bytes) else str(value)


def sent(request: Any) -> Sent:
    # Credential=AKID/20260101/eu-west-1/sagemaker/aws4_request, SignedHeaders=..., Signature=...
    scope = _header(request, "Authorization").split("Credential=", 1)[-1].split(",", 1)[0].split("/")
    target = _header(request, "X-Amz-Target")  # JSON protocols: "SageMaker.DescribeEndpoint"
    try:
        params = json.loads(request.body) if request.body and target else {}
    except ValueError:
        params = {}
    return Sent(region=scope[2] if len(scope) > 3 else "", service=scope[3] if len(scope) > 3 else "",
                operation=target.rsplit(".", 1)[-1], params=params)
