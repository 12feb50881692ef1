"""moto in server mode on loopback, in this process, with an optional API-emulation middleware.

``running_moto()`` serves moto's WSGI application on 127.0.0.1 (a free port) and yields its URL;
``aws_environment(url)`` points the standard boto3 credential and endpoint chain at it, with fake
credentials and no ~/.aws files, so nothing can reach a real account.

The middleware counts requests per (service, operation) and can make the server behave more like
the real API for benchmarks: a fixed latency per request, and a random fraction of throttling and
5xx answers, each in the service's own protocol.

moto keeps its state in module globals, so every server in a process shares one store:
``running_moto`` resets it on entry and on exit, and only one should run at a time. It installs
:mod:`auditor.demo.moto_fixes` first, so moto answers as AWS does where the collectors rely on it.
"""

from __future__ import annotations

import io
import os
import random
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from werkzeug.serving import make_server

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

DEMO_REGION = "eu-west-1"
# Services of the REST-JSON protocol (no X-Amz-Target): their errors are JSON documents too.
REST_JSON = frozenset({"bedrock"})
_JSON_ERROR = {"throttle": (400, "ThrottlingException", "Rate exceeded"),
               "error": (500, "InternalFailure", "We encountered an internal error. Please try again.")}
_QUERY_ERROR = {"throttle": (400, "Throttling", "Rate exceeded"),
                "error": (500, "InternalFailure", "We encountered an internal error. Please try again.")}
_S3_ERROR = {"throttle": (503, "SlowDown", "Please reduce your request rate."),
             "error": (500, "InternalError", "We encountered an internal error. Please try again.")}


class RequestCounter:
    """Thread-safe tally of the API calls the server answered, and of the faults it injected."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[tuple[str, str]] = Counter()
        self._faults: Counter[str] = Counter()

    def record(self, service: str, operation: str, fault: str | None = None) -> None:
        with self._lock:
            self._calls[(service, operation)] += 1
            if fault:
                self._faults[fault] += 1

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._faults.clear()

    def calls(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._calls)

    def faults(self) -> dict[str, int]:
        with self._lock:
            return dict(self._faults)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._calls.values())


@dataclass
class ApiConditions:
    """How the server behaves per request; mutable, so a benchmark can change it between phases.

    ``throttle`` and ``errors`` are fractions of requests answered with a throttling error and
    with a 500 instead of being served.
    """

    latency_ms: float = 0.0
    throttle: float = 0.0
    errors: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if min(self.throttle, self.errors) < 0.0 or self.throttle + self.errors > 1.0:
            raise ValueError("throttle and errors must be fractions that add up to at most 1")
        self._rng = random.Random(self.seed)  # noqa: S311 (fault injection, not cryptography)
        self._lock = threading.Lock()

    def draw_fault(self) -> str | None:
        if not (self.throttle or self.errors):
            return None
        with self._lock:
            x = self._rng.random()
        if x < self.throttle:
            return "throttle"
        return "error" if x < self.throttle + self.errors else None


def identify(environ: Mapping[str, Any], form: Mapping[str, list[str]]) -> tuple[str, str]:
    """(service, operation) of a request: the SigV4 signing name, then the JSON target, the query
    ``Action``, or for REST services (S3, s3control) the method and the shape of the path."""
    service = "unknown"
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 5:
            service = scope[3]
    path = str(environ.get("PATH_INFO", "/"))
    if service == "s3" and path.startswith("/v20180820/"):
        service = "s3control"
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        return service, target.rsplit(".", 1)[-1]
    query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    action = (query.get("Action") or form.get("Action") or [""])[0]
    if action:
        return service, action
    keys = "&".join(sorted(k for k in query if k != "x-id"))
    if service == "s3":
        segments = [s for s in path.split("/", 2)[1:] if s]
        path = "/" + "/".join(["{Bucket}", "{Key}"][: len(segments)])
    elif service in REST_JSON:  # /guardrails/abc123 -> /guardrails/{id}: one row per operation
        collection, _, rest = path.lstrip("/").partition("/")
        path = f"/{collection}/{{id}}" if rest else f"/{collection}"
    return service, f"{environ.get('REQUEST_METHOD', 'GET')} {path}{'?' + keys if keys else ''}"


def _read_form(environ: dict[str, Any]) -> dict[str, list[str]]:
    """Read the body (so a fault answer never leaves unread bytes that reset the connection) and
    put it back for moto; parse it when it is a query-protocol form."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    if str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {}


def fault_response(service: str, json_protocol: bool, fault: str) -> tuple[int, str, bytes]:
    """(status, content type, body) of an injected fault, in the protocol the service speaks."""
    request_id = uuid.uuid4().hex
    if json_protocol:
        status, code, message = _JSON_ERROR[fault]
        body = f'{{"__type":"{code}","message":"{message}"}}'
        return status, "application/x-amz-json-1.1", body.encode()
    if service in ("s3", "s3control"):
        status, code, message = _S3_ERROR[fault]
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}'
                f"</Message><RequestId>{request_id}</RequestId></Error>")
        return status, "application/xml", body.encode()
    status, code, message = _QUERY_ERROR[fault]
    kind = "Sender" if status < 500 else "Receiver"
    body = (f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>")
    return status, "text/xml", body.encode()


class ApiEmulation:
    """WSGI middleware: count, delay and fail requests before moto sees them. /moto-api/ passes through."""

    def __init__(self, app: WsgiApp, conditions: ApiConditions, counter: RequestCounter | None) -> None:
        self.app = app
        self.conditions = conditions
        self.counter = counter

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if str(environ.get("PATH_INFO", "")).startswith("/moto-api"):
            return self.app(environ, start_response)
        service, operation = identify(environ, _read_form(environ))
        fault = self.conditions.draw_fault()
        if self.counter is not None:
            self.counter.record(service, operation, fault)
        if self.conditions.latency_ms > 0:
            time.sleep(self.conditions.latency_ms / 1000.0)
        if fault is None:
            return self.app(environ, start_response)
        json_protocol = "HTTP_X_AMZ_TARGET" in environ or service in REST_JSON
        status, content_type, body = fault_response(service, json_protocol, fault)
        reason = {400: "Bad Request", 500: "Internal Server Error", 503: "Slow Down"}[status]
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        start_response(f"{status} {reason}", headers)
        return [body]


def _reset_moto(url: str) -> None:
    """Empty moto, then seed its random generator: ids moto invents (KMS key ids) are the same every run,
    so the demo's findings keep their ids from one run to the next (baselines compare them).

    The timeout only guards against a server that never answers: a reset walks every moto backend the
    process has loaded, and on a loaded machine (test workers beside other jobs) it took over 10 s."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for path in ("/moto-api/reset", f"/moto-api/seed?a={_DEMO_SEED}"):
        request = urllib.request.Request(f"{url}{path}", method="POST")  # noqa: S310 (our loopback URL)
        with opener.open(request, timeout=90):
            pass


_DEMO_SEED = 20261130


def _prime_moto_session(url: str) -> None:
    """moto builds (and caches) a boto3 Session from this process's environment when it creates its
    first backend: an AWS_PROFILE naming a missing profile would make every request fail with 500.
    Build it now, under the demo environment."""
    from moto.core.base_backend import AccountSpecificBackend

    with aws_environment(url):
        AccountSpecificBackend.get_session()


@contextmanager
def running_moto(latency_ms: float = 0.0, counter: RequestCounter | None = None, *,
                 conditions: ApiConditions | None = None) -> Iterator[str]:
    """Serve moto on 127.0.0.1 on a free port in a background thread; yield ``http://127.0.0.1:PORT``.

    ``conditions`` (mutable) overrides ``latency_ms`` and may be changed while the server runs.
    """
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    from auditor.demo import moto_fixes

    moto_fixes.install()  # answer as AWS does where moto differs (see the module)

    class Handler(MotoRequestHandler):
        # werkzeug writes headers and body in two sends, then closes the connection (it never keeps
        # one alive): with Nagle on, 4.7 instead of 3.2 ms a call here. Its listen backlog is
        # already 128 (not socketserver's 5), enough for 16 clients connecting at once.
        disable_nagle_algorithm = True

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass

    class Dispatcher(DomainDispatcherApplication):
        # moto lists its package directory (~180 stat calls) twice a request to map a host to a
        # service; the mapping never changes, so remember it (called under the dispatcher's lock).
        def get_backend_for_host(self, host: str | None) -> Any:
            if host not in hosts:
                hosts[host] = super().get_backend_for_host(host)
            return hosts[host]

    hosts: dict[str | None, Any] = {}
    emulation = ApiEmulation(Dispatcher(create_backend_app),
                             conditions or ApiConditions(latency_ms=latency_ms), counter)
    server = make_server("127.0.0.1", 0, emulation, threaded=True, request_handler=Handler)
    thread = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        _reset_moto(url)
        _prime_moto_session(url)
        yield url
    finally:
        try:
            _reset_moto(url)
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)


# Variables that could send a boto3 call elsewhere than the demo endpoint, or bring in real credentials.
_CLEARED_PREFIXES = ("AWS_ENDPOINT_URL_",)
_CLEARED = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT", "AWS_CREDENTIAL_EXPIRATION",
)


def demo_environment(endpoint_url: str, region: str = DEMO_REGION) -> dict[str, str | None]:
    """The variables ``aws_environment`` sets (None: unset), for a subprocess or for this process."""
    netloc = urlsplit(endpoint_url).hostname or "127.0.0.1"
    kept = f"{os.environ.get('NO_PROXY', '')},{os.environ.get('no_proxy', '')}".split(",")
    no_proxy = ",".join(dict.fromkeys([netloc, "127.0.0.1", "localhost", *filter(None, kept)]))
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith(_CLEARED_PREFIXES)}
    env.update(dict.fromkeys(_CLEARED))
    env.update({
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "AKIADEMOAUDITOR00000",
        "AWS_SECRET_ACCESS_KEY": "demo-secret-not-a-real-key",
        "AWS_SESSION_TOKEN": "demo-session-token",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": no_proxy,
        "no_proxy": no_proxy,
    })
    return env


def _update(target: MutableMapping[str, str], changes: Mapping[str, str | None]) -> None:
    for key, value in changes.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value


def apply_environment(env: Mapping[str, str | None], base: Mapping[str, str]) -> dict[str, str]:
    """``base`` with ``env`` applied (None removes a variable): the environment of a subprocess."""
    merged = dict(base)
    _update(merged, env)
    return merged


@contextmanager
def aws_environment(endpoint_url: str, region: str = DEMO_REGION) -> Iterator[None]:
    """Point boto3's standard chain at ``endpoint_url`` with fake credentials and no config files.

    Changes ``os.environ`` of the whole process for the duration and restores it after.
    """
    changes = demo_environment(endpoint_url, region)
    saved = {key: os.environ.get(key) for key in changes}
    _update(os.environ, changes)
    try:
        yield
    finally:
        _update(os.environ, saved)
