"""boto3 session, shared clients, retry configuration, identity, region discovery, error handling.

boto3/botocore are imported inside functions only: importing this module must work without the AWS
SDK installed.

What an answer says is untrusted input: error texts are redacted and escaped before they are kept
(:func:`one_line`). No URL from an answer is followed: botocore does not follow HTTP redirects, and S3's
region redirect re-resolves the endpoint from a region name (a DNS label) through the endpoint rules, so a
signed request only ever goes to AWS's own hosts or to the endpoint override the user set.
"""

from __future__ import annotations

import ipaddress
import os
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from auditor.untrusted import MAX_INPUT, service_text

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config

DEFAULT_MAX_ATTEMPTS = 10
RETRY_ENV_VARS = ("AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS")
RETRY_CONFIG_KEYS = ("retry_mode", "max_attempts")

# "403": botocore's code for an HTTP 403 whose body it cannot parse (a proxy's page, a wrong protocol).
DENIED_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess",
    "AuthorizationError", "Forbidden", "403",
})
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "BandwidthLimitExceeded", "SlowDown", "RequestThrottled", "PriorRequestNotComplete",
    "EC2ThrottledException",
})
NOT_FOUND_CODES = frozenset({"NoSuchEntity", "NotFoundException", "NoSuchBucket", "ResourceNotFound",
                             "ResourceNotFoundException"})
MAX_REASON = 400


@dataclass(frozen=True)
class Failure:
    """A failed AWS call, reduced to what a report may show (never a secret)."""

    operation: str
    code: str
    message: str
    kind: str  # "denied" | "throttled" | "not_found" | "unreachable" | "credentials" | "error"
    attempts: int = 1

    @property
    def reason(self) -> str:
        label = {"denied": "access denied", "throttled": "throttled", "not_found": "not found",
                 "unreachable": "unreachable", "credentials": "no valid credentials"}.get(self.kind, "error")
        text = f"{label}: {self.operation}"
        if self.code:
            text += f" returned {self.code}"
        if self.message:
            text += f": {self.message}"
        if self.attempts > 1:
            text += f" (after {self.attempts} attempts)"
        return one_line(text)


class AwsCallError(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


_URL_USERINFO = re.compile(r"(?<=://)[^/@\s\"']+@")


def one_line(text: str, limit: int = MAX_REASON) -> str:
    """A text to keep: one line, without user:password@ in URLs (endpoint overrides), secrets redacted,
    control characters escaped, at most ``limit`` long (:func:`auditor.untrusted.service_text`)."""
    return service_text(_URL_USERINFO.sub("***@", text[:MAX_INPUT]), limit)


def failure_from(operation: str, exc: BaseException) -> Failure | None:
    """Classify a botocore error; None when ``exc`` is not an AWS SDK error."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        CredentialRetrievalError,
        HTTPClientError,
        NoAuthTokenError,
        NoCredentialsError,
        PartialCredentialsError,
        RefreshWithMFAUnsupportedError,
        SSOError,
        TokenRetrievalError,
        UnknownCredentialError,
    )
    from botocore.exceptions import (
        ConnectionError as BotoConnectionError,
    )

    if isinstance(exc, ClientError):
        error: Mapping[str, Any] = exc.response.get("Error", {}) or {}
        meta: Mapping[str, Any] = exc.response.get("ResponseMetadata", {}) or {}
        code = str(error.get("Code", "") or "")
        message = str(error.get("Message", "") or "")
        status = int(meta.get("HTTPStatusCode", 0) or 0)
        if not code and status == 403:
            code, message = "AccessDenied", message or "HTTP 403"
        attempts = int(meta.get("RetryAttempts", 0) or 0) + 1
        if code in DENIED_CODES:
            kind = "denied"
        elif code in THROTTLING_CODES or status == 429:
            kind = "throttled"
        elif code in NOT_FOUND_CODES or _sagemaker_not_found(code, message):
            kind = "not_found"
        elif code in ("InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken",
                      "ExpiredTokenException", "SignatureDoesNotMatch", "InvalidAccessKeyId"):
            kind = "credentials"
        else:
            kind = "error"
        return Failure(operation, code or f"HTTP {status}", one_line(message), kind, attempts)
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError, SSOError,
                        TokenRetrievalError, NoAuthTokenError, RefreshWithMFAUnsupportedError,
                        UnknownCredentialError)):
        return Failure(operation, type(exc).__name__, one_line(str(exc)), "credentials")
    if isinstance(exc, (BotoConnectionError, HTTPClientError)):
        return Failure(operation, type(exc).__name__, one_line(str(exc)), "unreachable")
    if isinstance(exc, BotoCoreError):
        return Failure(operation, type(exc).__name__, one_line(str(exc)), "error")
    return None


def _sagemaker_not_found(code: str, message: str) -> bool:
    # SageMaker answers a describe of a deleted resource with ValidationException "Could not find ...".
    return code == "ValidationException" and message.startswith("Could not find")


def _operation_name(client: Any, method: str) -> str:
    mapping: Mapping[str, str] = client.meta.method_to_api_mapping
    name = mapping.get(method, method)
    if client.meta.service_model.service_name == "s3control":  # same name as the bucket-level call
        return f"{name} (S3 Control)"
    return name


def call(client: Any, method: str, **kwargs: Any) -> dict[str, Any]:
    """Call ``client.method(**kwargs)``; return the JSON-ready response without ResponseMetadata.

    AWS SDK errors become :class:`AwsCallError`; anything else propagates (a bug).
    """
    try:
        response = getattr(client, method)(**kwargs)
    except Exception as exc:
        failure = failure_from(_operation_name(client, method), exc)
        if failure is None:
            raise
        raise AwsCallError(failure) from exc
    return clean(response)


def pages(client: Any, method: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Iterate a paginator's pages (cleaned); errors become :class:`AwsCallError`."""
    iterator = iter(client.get_paginator(method).paginate(**kwargs))
    while True:
        try:
            page = next(iterator)
        except StopIteration:
            return
        except Exception as exc:
            failure = failure_from(_operation_name(client, method), exc)
            if failure is None:
                raise
            raise AwsCallError(failure) from exc
        yield clean(page)


def clean(response: Mapping[str, Any]) -> dict[str, Any]:
    """Drop ResponseMetadata; make the document JSON-native (timestamps as ISO 8601 strings)."""
    return {k: _jsonable(v) for k, v in response.items() if k != "ResponseMetadata"}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    return value


def make_session(profile: str | None) -> boto3.Session:
    """A boto3 session on the standard credential chain; ProfileNotFound propagates."""
    import boto3

    return boto3.Session(profile_name=profile) if profile else boto3.Session()


def user_set_retries(session: boto3.Session, environ: Mapping[str, str] | None = None) -> bool:
    """True when the user configured retries (environment or profile): then botocore decides."""
    env = os.environ if environ is None else environ
    if any(env.get(name) for name in RETRY_ENV_VARS):
        return True
    try:
        scoped: Mapping[str, Any] = session._session.get_scoped_config()
    except Exception:  # noqa: BLE001 - an unreadable config file is reported by the first call
        return False
    return any(key in scoped for key in RETRY_CONFIG_KEYS)


def client_config(max_workers: int, honour_user_retries: bool) -> Config:
    from botocore.config import Config

    kwargs: dict[str, Any] = {"max_pool_connections": max(max_workers, 10)}
    if not honour_user_retries:
        # 10 attempts: at 15 % throttling plus 3 % 5xx, botocore's default 3 loses reads in most scans.
        kwargs["retries"] = {"mode": "standard", "total_max_attempts": DEFAULT_MAX_ATTEMPTS}
    return Config(**kwargs)


class AwsClients:
    """One client per (service, region), created once and shared by every thread.

    boto3 clients are thread-safe; sessions are not, so clients are created under a lock.
    """

    def __init__(self, session: boto3.Session, max_workers: int) -> None:
        self.session = session
        self._config = client_config(max_workers, user_set_retries(session))
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}

    def get(self, service: str, region: str) -> Any:
        """The shared client; AwsCallError when it cannot be built (e.g. a malformed region name)."""
        key = (service, region)
        client = self._clients.get(key)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                try:
                    client = self.session.client(  # type: ignore[call-overload]
                        service, region_name=region, config=self._config)
                except Exception as exc:
                    failure = failure_from(f"create {service} client for {region}", exc)
                    if failure is None:
                        if not isinstance(exc, ValueError):
                            raise
                        failure = Failure(f"create {service} client for {region}", type(exc).__name__,
                                          one_line(str(exc)), "error")
                    raise AwsCallError(failure) from exc
                if service == "s3control":
                    client.meta.events.register("before-sign.s3-control", drop_account_prefix_for_local_host)
                self._clients[key] = client
            return client


    def close(self) -> None:
        """Close every client's connections (an organisation's scan, once an account is done) and forget them."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()


def drop_account_prefix_for_local_host(request: Any, **kwargs: Any) -> None:
    """Keep s3control usable behind an endpoint override such as ``AWS_ENDPOINT_URL=http://127.0.0.1:5000``.

    S3 Control addresses ``{AccountId}.<endpoint host>``. botocore takes that prefix from the
    endpoint rule set (``{url#scheme}://{AccountId}.{url#authority}``), not from the model's
    ``hostPrefix``, so ``Config(inject_host_prefix=False)`` does NOT remove it (measured with
    botocore 1.44 against moto server: the request still goes to ``123456789012.127.0.0.1``).
    ``123456789012.127.0.0.1`` can never resolve, so just before signing we drop the account
    label when what follows it is an IP literal, ``localhost`` or a single-label name (a
    docker-compose service): only an endpoint override produces such hosts. Real AWS hosts and
    fully qualified override hosts (PrivateLink endpoints, which want the prefix) are untouched.
    The account id still travels in the signed ``x-amz-account-id`` header.
    """
    parts = urlsplit(str(request.url))
    host = parts.hostname or ""
    label, _dot, rest = host.partition(".")
    if not (len(label) == 12 and label.isdigit() and rest):
        return
    if rest != "localhost" and "." in rest:
        try:
            ipaddress.ip_address(rest)
        except ValueError:
            return
    request.url = urlunsplit(parts._replace(netloc=parts.netloc.replace(host, rest, 1)))


@dataclass(frozen=True)
class Identity:
    account: str
    arn: str
    partition: str


def caller_identity(clients: AwsClients, region: str) -> Identity:
    """STS GetCallerIdentity; raises AwsCallError."""
    response = call(clients.get("sts", region), "get_caller_identity")
    arn = str(response.get("Arn", ""))
    partition = arn.split(":")[1] if arn.count(":") >= 2 else "aws"
    return Identity(account=str(response["Account"]), arn=arn, partition=partition or "aws")


def discover_regions(clients: AwsClients, region: str, partition: str) -> tuple[str, ...]:
    """Regions where SageMaker is offered that the account has enabled; raises AwsCallError."""
    offered = set(clients.session.get_available_regions("sagemaker", partition_name=partition))
    response = call(clients.get("ec2", region), "describe_regions")
    enabled = {
        str(r["RegionName"]) for r in response.get("Regions", [])
        if r.get("OptInStatus", "opt-in-not-required") != "not-opted-in"
    }
    return tuple(sorted(offered & enabled))


def home_region(session: boto3.Session, regions: tuple[str, ...]) -> str:
    """Where account-level calls (STS, EC2 DescribeRegions, IAM, S3 Control) go."""
    return session.region_name or (regions[0] if regions else "us-east-1")


def arn_parts(arn: str) -> list[str] | None:
    """``arn:partition:service:region:account:resource`` split in 6, or None when not an ARN."""
    parts = arn.split(":", 5)
    return parts if len(parts) == 6 and parts[0] == "arn" else None
