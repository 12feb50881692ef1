"""running_moto, its request-counting / latency / fault middleware, and aws_environment."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from typing import NamedTuple
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries.standard import ExponentialBackoff

from auditor.demo.moto_server import ApiConditions, RequestCounter, aws_environment, running_moto
from auditor.providers.aws.session import drop_account_prefix_for_local_host

NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


class Server(NamedTuple):
    url: str
    counter: RequestCounter
    conditions: ApiConditions


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    counter, conditions = RequestCounter(), ApiConditions(seed=1)
    with running_moto(counter=counter, conditions=conditions) as url:
        yield Server(url, counter, conditions)


@pytest.fixture
def moto(server: Server) -> Iterator[Server]:
    """The module's server, counter reset, faults off afterwards; boto3's chain pointed at it."""
    server.counter.reset()
    with aws_environment(server.url):
        yield server
    server.conditions.latency_ms, server.conditions.throttle, server.conditions.errors = 0.0, 0.0, 0.0


def test_serves_on_loopback_and_stops() -> None:
    with running_moto() as url:
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1" and parts.port
        socket.create_connection((parts.hostname, parts.port), timeout=2).close()
    with pytest.raises(OSError):
        socket.create_connection((parts.hostname, parts.port), timeout=2).close()


def test_counts_calls_per_service_and_operation(moto: Server) -> None:
    counter = moto.counter
    boto3.client("sagemaker").list_endpoints()
    boto3.client("kms").list_keys()
    boto3.client("iam").list_roles()
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="demo-counting", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.get_bucket_location(Bucket="demo-counting")
    # The collectors' fix for s3control's account-prefixed host (inject_host_prefix=False does not
    # remove it: the prefix comes from the endpoint rule set). moto then reads x-amz-account-id.
    s3control = boto3.client("s3control")
    s3control.meta.events.register("before-sign.s3-control", drop_account_prefix_for_local_host)
    with pytest.raises(ClientError, match="NoSuchPublicAccessBlockConfiguration"):
        s3control.get_public_access_block(AccountId="123456789012")
    assert counter.calls() == {
        ("sagemaker", "ListEndpoints"): 1, ("kms", "ListKeys"): 1, ("iam", "ListRoles"): 1,
        ("s3", "PUT /{Bucket}"): 1, ("s3", "GET /{Bucket}?location"): 1,
        ("s3control", "GET /v20180820/configuration/publicAccessBlock"): 1,
    }
    assert counter.total == 6 and counter.faults() == {}


def test_latency_is_added_to_every_request(moto: Server) -> None:
    conditions = moto.conditions
    sagemaker = boto3.client("sagemaker")
    sagemaker.list_models()
    conditions.latency_ms = 150
    started = time.perf_counter()
    sagemaker.list_models()
    assert time.perf_counter() - started >= 0.15


@pytest.mark.parametrize(("service", "call", "status", "code"), [
    ("sagemaker", "list_endpoints", 400, "ThrottlingException"),
    ("kms", "list_keys", 400, "ThrottlingException"),
    ("iam", "list_roles", 400, "Throttling"),
    ("sts", "get_caller_identity", 400, "Throttling"),
    ("s3", "list_buckets", 503, "SlowDown"),
])
def test_throttling_speaks_each_protocol(moto: Server, service: str,
                                         call: str, status: int, code: str) -> None:
    counter, conditions = moto.counter, moto.conditions
    conditions.throttle = 1.0
    with pytest.raises(ClientError) as caught:
        getattr(boto3.client(service, config=NO_RETRY), call)()  # type: ignore[call-overload]
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert counter.faults() == {"throttle": 1}


@pytest.mark.parametrize(("service", "call", "code"), [
    ("sagemaker", "list_models", "InternalFailure"), ("iam", "list_roles", "InternalFailure"),
    ("s3", "list_buckets", "InternalError"),
])
def test_server_errors_are_500s(moto: Server, service: str, call: str,
                                code: str) -> None:
    conditions = moto.conditions
    conditions.errors = 1.0
    with pytest.raises(ClientError) as caught:
        getattr(boto3.client(service, config=NO_RETRY), call)()  # type: ignore[call-overload]
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_botocore_retries_the_injected_faults(moto: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.001)  # no real backoff
    counter, conditions = moto.counter, moto.conditions
    conditions.throttle, conditions.errors = 0.3, 0.2
    retrying = Config(retries={"mode": "standard", "total_max_attempts": 30})
    sagemaker = boto3.client("sagemaker", config=retrying)
    for _ in range(10):
        sagemaker.list_endpoints()
    faults = counter.faults()
    assert counter.total == 10 + sum(faults.values()) and faults


def test_fault_fractions_are_validated() -> None:
    with pytest.raises(ValueError, match="at most 1"):
        ApiConditions(throttle=0.8, errors=0.3)


def test_aws_environment_isolates_and_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", "https://sagemaker.eu-west-1.amazonaws.com")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALLOOKINGKEY00")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    with aws_environment("http://127.0.0.1:5555", region="us-east-1"):
        assert "AWS_PROFILE" not in os.environ and "AWS_ENDPOINT_URL_SAGEMAKER" not in os.environ
        assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5555"
        assert os.environ["AWS_ACCESS_KEY_ID"] != "AKIAREALLOOKINGKEY00" and os.environ["AWS_SESSION_TOKEN"]
        assert os.environ["AWS_CONFIG_FILE"] == os.environ["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
        assert "127.0.0.1" in os.environ["NO_PROXY"]
        session = boto3.Session()
        assert session.region_name == "us-east-1"
        assert session.client("sagemaker").meta.endpoint_url == "http://127.0.0.1:5555"
        assert session.get_credentials().access_key == os.environ["AWS_ACCESS_KEY_ID"]  # type: ignore[union-attr]
    assert os.environ["AWS_PROFILE"] == "production"
    assert os.environ["AWS_ENDPOINT_URL_SAGEMAKER"] == "https://sagemaker.eu-west-1.amazonaws.com"
    assert os.environ["AWS_ACCESS_KEY_ID"] == "AKIAREALLOOKINGKEY00"
    assert "AWS_SESSION_TOKEN" not in os.environ and "AWS_ENDPOINT_URL" not in os.environ
