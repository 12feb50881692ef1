"""Pieces of the AWS layer that need no server: the task pool, error parsing, reference parsing."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from auditor.providers.aws.kms import reference_key
from auditor.providers.aws.s3 import bucket_of, region_of_location
from auditor.providers.aws.session import (
    AwsClients,
    clean,
    client_config,
    drop_account_prefix_for_local_host,
    failure_from,
    user_set_retries,
)
from auditor.providers.pool import TaskPool

ACCOUNT = "123456789012"
REPO = Path(__file__).resolve().parents[2]


# --- TaskPool -----------------------------------------------------------------------------------

class _Recorder:
    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.lanes_opened: list[tuple[str, str]] = []
        self.lanes_done: list[tuple[tuple[str, str], int]] = []
        self.lock = threading.Lock()

    def add_total(self, n: int) -> None:
        with self.lock:
            self.total += n

    def advance(self, n: int = 1) -> None:
        with self.lock:
            self.done += n

    def lane_open(self, lane: tuple[str, str]) -> None:
        self.lanes_opened.append(lane)

    def lane_done(self, lane: tuple[str, str], calls: int) -> None:
        self.lanes_done.append((lane, calls))


def test_pool_runs_tasks_submitted_by_tasks_and_reports_progress() -> None:
    progress = _Recorder()
    pool = TaskPool(4, progress)
    seen: list[int] = []
    lock = threading.Lock()

    def leaf(i: int) -> None:
        with lock:
            seen.append(i)

    def parent(base: int) -> None:
        pool.submit_many(("child", "r"), [partial(leaf, base + i) for i in range(10)])

    pool.submit_many(("parent", "r"), [partial(parent, b) for b in range(0, 100, 10)])
    pool.wait()

    assert sorted(seen) == list(range(100))
    assert progress.total == progress.done == 110
    # Each lane is reported done with the tasks it ran: the parents' lane once (its tasks submit no more of
    # its own), the children's lane each time it ran dry; in all, every child counted.
    parent_done = [calls for lane, calls in progress.lanes_done if lane == ("parent", "r")]
    child_done = [calls for lane, calls in progress.lanes_done if lane == ("child", "r")]
    assert parent_done == [10] and child_done and child_done[-1] == 100 and child_done == sorted(child_done)
    assert progress.lanes_opened.count(("parent", "r")) == 1
    assert progress.lanes_opened.count(("child", "r")) == len(child_done)


def test_pool_reraises_a_task_bug_after_draining() -> None:
    pool = TaskPool(2)
    ran: list[int] = []

    def boom() -> None:
        raise RuntimeError("bug")

    pool.submit(("a", "r"), boom)
    pool.submit_many(("a", "r"), [lambda: ran.append(1)] * 5)
    with pytest.raises(RuntimeError, match="bug"):
        pool.wait()
    assert ran == [1] * 5


def test_pool_is_fair_across_lanes_and_work_conserving() -> None:
    """A lane with a long queue does not delay another lane's tasks; a lone lane uses every worker."""
    pool = TaskPool(4, lane_limit=2)
    order: list[str] = []
    lock = threading.Lock()
    running = {"max": 0, "now": 0}

    def task(lane: str) -> None:
        with lock:
            order.append(lane)
            running["now"] += 1
            running["max"] = max(running["max"], running["now"])
        time.sleep(0.005)
        with lock:
            running["now"] -= 1

    pool.submit_many(("sagemaker", "busy"), [lambda: task("busy")] * 60)
    pool.submit_many(("sagemaker", "quiet"), [lambda: task("quiet")] * 6)
    pool.wait()

    assert max(i for i, lane in enumerate(order) if lane == "quiet") < 30  # not starved behind 60
    assert running["max"] == 4

    lone = TaskPool(4, lane_limit=2)
    running.update(max=0, now=0)
    lone.submit_many(("iam", "global"), [lambda: task("iam")] * 20)
    lone.wait()
    assert running["max"] == 4  # the soft limit does not idle workers


# --- error classification -----------------------------------------------------------------------

def _client_error(code: str, message: str, status: int, retries: int = 0) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": message},
                     "ResponseMetadata": {"HTTPStatusCode": status, "RetryAttempts": retries}}
    return ClientError(response, "Op")


def test_an_unparseable_403_is_access_denied() -> None:
    """botocore names an error by its HTTP status when it cannot parse the body (a proxy's page): still denied.

    (moto's XML answer to a denied JSON-protocol call is made JSON, as AWS answers, by the tests' moto
    fixes in ``iam_actions``; the collectors keep no moto-specific parsing.)"""
    failure = failure_from("ListEndpoints", _client_error("403", "<html><body>Forbidden</body></html>", 403))
    assert failure is not None and failure.kind == "denied" and failure.code == "403"
    assert failure.reason.startswith("access denied: ListEndpoints returned 403")


@pytest.mark.parametrize(("code", "status", "kind"), [
    ("AccessDeniedException", 400, "denied"),
    ("UnauthorizedOperation", 403, "denied"),
    ("", 403, "denied"),  # moto's S3 Control: empty body
    ("ThrottlingException", 400, "throttled"),
    ("SlowDown", 503, "throttled"),
    ("NoSuchEntity", 404, "not_found"),
    ("InvalidClientTokenId", 403, "credentials"),
    ("InternalFailure", 500, "error"),
])
def test_error_kinds(code: str, status: int, kind: str) -> None:
    failure = failure_from("Op", _client_error(code, "msg", status))
    assert failure is not None and failure.kind == kind


def test_reason_is_one_line_bounded_and_counts_attempts() -> None:
    long_error = _client_error("ThrottlingException", "Rate\nexceeded " * 100, 400)
    failure = failure_from("DescribeEndpoint", long_error)
    assert failure is not None and "\n" not in failure.reason and len(failure.reason) <= 400
    retried = failure_from("Op", _client_error("ThrottlingException", "x", 400, 9))
    assert retried is not None and retried.reason.endswith("(after 10 attempts)")


def test_sso_and_credential_provider_errors_are_credential_failures() -> None:
    from botocore.exceptions import CredentialRetrievalError, UnauthorizedSSOTokenError

    assert failure_from("Op", UnauthorizedSSOTokenError()).kind == "credentials"  # type: ignore[union-attr]
    error = CredentialRetrievalError(provider="sso", error_msg="expired")
    assert failure_from("Op", error).kind == "credentials"  # type: ignore[union-attr]


def test_sdk_errors_other_than_client_errors() -> None:
    error = EndpointConnectionError(endpoint_url="http://user:hunter2@127.0.0.1:9/")
    unreachable = failure_from("ListModels", error)
    assert unreachable is not None and unreachable.kind == "unreachable"
    assert "hunter2" not in unreachable.reason and "http://***@127.0.0.1:9/" in unreachable.reason
    assert failure_from("Op", NoCredentialsError()).kind == "credentials"  # type: ignore[union-attr]
    assert failure_from("Op", ValueError("a bug")) is None


def test_sagemaker_could_not_find_is_not_found() -> None:
    error = _client_error("ValidationException", "Could not find model 'x'.", 400)
    failure = failure_from("DescribeModel", error)
    assert failure is not None and failure.kind == "not_found"


# --- documents and references -------------------------------------------------------------------

def test_clean_strips_metadata_and_makes_json_native() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert clean({"ResponseMetadata": {"x": 1}, "A": [{"T": when}], "B": None}) == {
        "A": [{"T": "2026-01-02T03:04:05+00:00"}], "B": None}


@pytest.mark.parametrize(("uri", "bucket"), [
    ("s3://capture-bucket/prefix/x", "capture-bucket"),
    ("s3://capture-bucket", "capture-bucket"),
    ("https://capture-bucket.s3.eu-west-1.amazonaws.com/p", "capture-bucket"),
    ("https://s3.eu-west-1.amazonaws.com/capture-bucket/p", "capture-bucket"),
    ("file:///tmp/x", None),
])
def test_bucket_of(uri: str, bucket: str | None) -> None:
    assert bucket_of(uri) == bucket


def test_region_of_location() -> None:
    assert region_of_location(None) == region_of_location("") == "us-east-1"
    assert region_of_location("EU") == "eu-west-1"
    assert region_of_location("ap-south-1") == "ap-south-1"


def test_key_references_canonicalise_per_region() -> None:
    key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
    arn = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/{key_id}"
    assert reference_key(arn, "us-east-1", ACCOUNT) == (("eu-west-1", "key", "", key_id), True)
    assert reference_key(key_id, "eu-west-1", ACCOUNT)[0] == reference_key(arn, "us-east-1", ACCOUNT)[0]
    alias_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/sm"
    assert reference_key(alias_arn, "eu-west-1", ACCOUNT) == (("us-east-1", "alias", "", "alias/sm"), False)
    assert reference_key("alias/sm", "us-east-1", ACCOUNT)[0] == reference_key(alias_arn, "x", ACCOUNT)[0]
    other = reference_key(f"arn:aws:kms:us-east-1:999999999999:key/{key_id}", "us-east-1", ACCOUNT)[0]
    assert other == ("us-east-1", "key", "999999999999", key_id)


@pytest.mark.parametrize(("url", "expected"), [
    (f"http://{ACCOUNT}.127.0.0.1:5000/v20180820/configuration/publicAccessBlock",
     "http://127.0.0.1:5000/v20180820/configuration/publicAccessBlock"),
    (f"http://{ACCOUNT}.localhost:5000/x", "http://localhost:5000/x"),
    (f"http://{ACCOUNT}.moto:5000/x", "http://moto:5000/x"),
    (f"https://{ACCOUNT}.s3-control.us-east-1.amazonaws.com/x", None),  # real AWS: untouched
    (f"https://{ACCOUNT}.control.vpce-1a2b.s3.us-east-1.vpce.amazonaws.com/x", None),  # PrivateLink
])
def test_s3control_account_prefix_dropped_only_for_local_hosts(url: str, expected: str | None) -> None:
    request = AWSRequest(method="GET", url=url)
    drop_account_prefix_for_local_host(request)
    assert request.url == (expected or url)


# --- session, clients and retries ---------------------------------------------------------------

def test_retry_defaults_unless_the_user_configured_retries(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    config_file = tmp_path / "config"
    config_file.write_text("[default]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_file))
    session = boto3.Session(aws_access_key_id="a", aws_secret_access_key="b")
    assert not user_set_retries(session)
    config: Any = client_config(16, False)
    assert config.retries == {"mode": "standard", "total_max_attempts": 10}
    config = client_config(32, False)
    assert config.max_pool_connections == 32
    config = client_config(16, True)
    assert config.retries is None

    assert user_set_retries(session, {"AWS_MAX_ATTEMPTS": "4"})
    config_file.write_text("[default]\nregion = us-east-1\nretry_mode = adaptive\n")
    assert user_set_retries(boto3.Session(aws_access_key_id="a", aws_secret_access_key="b"))


def test_one_client_per_service_and_region_shared_by_threads() -> None:
    clients = AwsClients(boto3.Session(aws_access_key_id="a", aws_secret_access_key="b"), 16)
    got: list[Any] = []
    threads = [threading.Thread(target=lambda: got.append(clients.get("sagemaker", "eu-west-1")))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(c) for c in got}) == 1
    assert clients.get("sagemaker", "us-east-1") is not got[0]
    assert got[0].meta.config.max_pool_connections >= 16


def test_importing_the_aws_layer_does_not_import_the_sdk() -> None:
    code = ("import sys; sys.modules['boto3'] = None; sys.modules['botocore'] = None\n"
            "import auditor.providers.aws.collect as c; assert 'sagemaker:DescribeEndpoint' in c.PERMISSIONS")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_variants_of_an_inference_component_endpoint_name_no_model() -> None:
    """A variant inference components run on has no ModelName: no model link, not a model that no longer exists."""
    from auditor.providers.aws.regional import Item
    from auditor.providers.aws.sagemaker import ENDPOINT_CONFIG, SageMakerRegion
    from auditor.providers.pool import TaskPool

    scanner = SageMakerRegion("us-east-1", "123456789012", clients=None,  # type: ignore[arg-type]
                              pool=TaskPool(1), on_config=lambda *a: None, on_model=lambda *a: None)
    arn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/ic"
    scanner.items[ENDPOINT_CONFIG]["ic"] = Item("ic", arn, document={"ProductionVariants": [
        {"VariantName": "AllTraffic", "InstanceType": "ml.g5.12xlarge", "InitialInstanceCount": 2}]})

    [config] = scanner.resources(lambda _: ([], None), lambda _: (None, None), lambda _: (None, None), {})

    assert config.related["models"] == [] and not config.unreadable
