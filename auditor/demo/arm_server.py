"""A local Azure Resource Manager stand-in: HTTPS on 127.0.0.1 for the real azure-mgmt SDK clients.

``ArmServer(resources)`` serves ARM documents (see ``arm_store``) the way Resource Manager does for the
calls the auditor makes: item GETs, paged collection lists with an absolute ``nextLink``, subscription
lists, role assignments with ``$filter``, role definitions, and writes answered as long-running
operations. It insists on ``Authorization: Bearer ...`` and an ``api-version`` on every request, and can
deny, throttle or fail requests under an id prefix, or at a random rate, for tests and benchmarks::

    with ArmServer(docs, page_size=2) as arm:
        client = MachineLearningServicesMgmtClient(credential, SUB, base_url=arm.url,
                                                   connection_verify=arm.ca_bundle)

The handler speaks HTTP/1.1 keep-alive with Nagle off and a deep accept queue (see
shared/testing-notes.md: without them every answer waits ~40 ms for a delayed ACK, and 16 clients
connecting at once overflow the default backlog). TLS handshakes run in the connection's own thread.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import shutil
import socket
import socketserver
import ssl
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

from auditor.demo.arm_model import Json, PathInfo, Reply, error, parse_path
from auditor.demo.arm_store import ArmStore
from auditor.demo.tls import make_tls_files

__all__ = ["ArmServer"]
_LOG = logging.getLogger(__name__)
_ACTIONS = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}


@dataclass
class _Fault:
    kind: str  # "deny", "throttle" or "fail"
    prefix: str
    methods: frozenset[str] | None
    remaining: int | None  # None: for ever
    status: int = 403
    retry_after: int = 1
    code: str = ""  # the ARM error code of a "fail" answer; by default from the status
    message: str = ""  # the error message of a "fail" answer; by default "Injected failure for '<path>'."

    def matches(self, method: str, key: str) -> bool:
        return (self.remaining is None or self.remaining > 0) and (
            self.methods is None or method in self.methods) and (
            self.prefix in ("", "/") or key == self.prefix or key.startswith(self.prefix + "/"))


def _prefix_key(prefix: str) -> str:
    return "/" + "/".join(part for part in urlsplit(prefix).path.lower().split("/") if part)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 120
    server_version = "auditor-arm-stand-in"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        connection = self.connection
        if isinstance(connection, ssl.SSLSocket):
            connection.do_handshake()

    def log_message(self, format: str, *args: Any) -> None:
        _LOG.debug("%s " + format, self.address_string(), *args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's own errors (bad request line, unknown method) in the ARM error shape; closes the connection.

        The request's body, if any, was not read, so the connection cannot carry another request.
        """
        self.close_connection = True
        reply = error(code, "BadRequest" if code < 500 else "NotImplemented",
                      message or explain or "The request is not supported.")
        reply.headers["Connection"] = "close"
        self._write(reply, head_only=False)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self, method: str) -> None:
        body = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = cast("ArmServer", self.server).answer(method, self.path, headers, body)
        self._write(reply, head_only=method == "HEAD")

    def _write(self, reply: Reply, *, head_only: bool) -> None:
        payload = b"" if reply.body is None or reply.status == 204 else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        if payload:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if payload and not head_only:
            self.wfile.write(payload)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_OPTIONS(self) -> None:
        self._serve("OPTIONS")


class ArmServer(ThreadingHTTPServer):
    """The stand-in, serving in a background thread while used as a context manager (or start/stop).

    ``resources``: ARM documents with at least ``id``, ``name`` and ``type`` (role definitions among them
    join the six seeded built-in roles). ``subscriptions``: documents as ``Subscriptions_List`` returns
    them; by default one per subscription id the resources use. ``page_size``: items per list page.
    ``latency_ms``: added to every answer. ``throttle_rate`` / ``error_rate``: fractions of requests
    answered 429 (``Retry-After: retry_after``) / 503, drawn from ``random.Random(seed)``.
    """

    daemon_threads = True
    request_queue_size = 128
    block_on_close = False

    def __init__(self, resources: Iterable[Mapping[str, Any]], *,
                 subscriptions: Iterable[Mapping[str, Any]] | None = None, page_size: int = 2,
                 latency_ms: float = 0, throttle_rate: float = 0.0, error_rate: float = 0.0, seed: int = 0,
                 retry_after: int = 1, poll_delay_ms: int = 10) -> None:
        self.store = ArmStore(resources, subscriptions=subscriptions, page_size=page_size)
        self.store.poll_delay_ms = poll_delay_ms
        self.latency_ms, self.throttle_rate, self.error_rate = latency_ms, throttle_rate, error_rate
        self.retry_after = retry_after
        self._rng = random.Random(seed)  # noqa: S311 - fault injection, not cryptography
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._requests: Counter[tuple[str, str]] = Counter()
        self._api_versions: Counter[tuple[str, str]] = Counter()
        self._tokens: Counter[str] = Counter()
        self._injected: Counter[str] = Counter()
        self._tls_dir = Path(tempfile.mkdtemp(prefix="auditor-arm-"))
        self._tls = make_tls_files(self._tls_dir)
        self._context = self._tls.server_context()
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        try:
            super().__init__(("127.0.0.1", 0), _Handler)
        except BaseException:
            shutil.rmtree(self._tls_dir, ignore_errors=True)
            raise
        self.store.base_url = self.url

    # -- lifecycle ------------------------------------------------------------------------------------
    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # skip HTTPServer's reverse lookup of the host name
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = self.socket.accept()
        wrapped = self._context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        with self._lock:
            self._connections.add(wrapped)
        return wrapped, address

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        _LOG.debug("connection from %s ended with an error", client_address, exc_info=True)

    def start(self) -> ArmServer:
        if self._thread is None:
            self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"arm-server-{self.server_port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            open_connections = list(self._connections)
        for connection in open_connections:  # end kept-alive connections instead of serving them on
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self.server_close()
        shutil.rmtree(self._tls_dir, ignore_errors=True)

    def __enter__(self) -> ArmServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``https://127.0.0.1:PORT``: the ``base_url`` for SDK clients."""
        return f"https://127.0.0.1:{self.server_port}"

    @property
    def ca_bundle(self) -> str:
        """Path of the PEM CA bundle that signed the server certificate."""
        return str(self._tls.ca_bundle)

    # -- seeding and inspection -----------------------------------------------------------------------
    def add_resources(self, docs: Iterable[Mapping[str, Any]]) -> None:
        """Store more documents as they are (no operation, no checks)."""
        for doc in docs:
            self.store.put_document(doc)

    def get_resource(self, resource_id: str) -> Json | None:
        """A copy of the stored document (ids compare case-insensitively), or None."""
        return self.store.get_document(resource_id)

    def remove_resource(self, resource_id: str) -> bool:
        """Remove a document and its children; True when it existed."""
        return self.store.remove_document(resource_id)

    @property
    def requests(self) -> Counter[tuple[str, str]]:
        """Requests answered, by (method, path shape with names as ``{}``), faults included."""
        with self._lock:
            return Counter(self._requests)

    @property
    def api_versions(self) -> Counter[tuple[str, str]]:
        """Requests by (path shape, api-version sent)."""
        with self._lock:
            return Counter(self._api_versions)

    @property
    def tokens(self) -> Counter[str]:
        """Bearer tokens seen, with the number of requests that carried each."""
        with self._lock:
            return Counter(self._tokens)

    @property
    def injected(self) -> Counter[str]:
        """Faults answered, by kind: ``deny``, ``throttle``, ``fail``, ``random-throttle``, ``random-error``."""
        with self._lock:
            return Counter(self._injected)

    def reset_counters(self) -> None:
        with self._lock:
            for counter in (self._requests, self._api_versions, self._tokens, self._injected):
                counter.clear()

    # -- faults ---------------------------------------------------------------------------------------
    def deny(self, prefix: str, *, methods: Iterable[str] | None = None) -> None:
        """Answer 403 ``AuthorizationFailed`` to every request under the id ``prefix`` (optionally some methods)."""
        self._add_fault(_Fault("deny", _prefix_key(prefix), _methods(methods), None, 403))

    def throttle(self, prefix: str, *, times: int = 1, retry_after: int = 1,
                 methods: Iterable[str] | None = None) -> None:
        """Answer 429 with ``Retry-After: retry_after`` to the next ``times`` requests under ``prefix``."""
        self._add_fault(_Fault("throttle", _prefix_key(prefix), _methods(methods), times, 429, retry_after))

    def fail(self, prefix: str, *, status: int = 503, times: int | None = 1, methods: Iterable[str] | None = None,
             code: str = "", message: str = "") -> None:
        """Answer ``status`` (with the ARM error ``code`` and ``message``) to the next ``times`` requests under
        ``prefix`` (``times`` None: every one). ``message`` may be anything a hostile or careless service says."""
        self._add_fault(_Fault("fail", _prefix_key(prefix), _methods(methods), times, status, code=code,
                               message=message))

    def point_links_at(self, base_url: str, prefix: str = "") -> None:
        """Answer the nextLinks and long-running-operation URLs (``Location``, ``Azure-AsyncOperation``) of the
        ids under ``prefix`` on ``base_url`` instead of this server: a hostile Resource Manager, for tests."""
        self.store.point_links_at(_prefix_key(prefix), base_url.rstrip("/"))

    def clear_faults(self) -> None:
        """Drop every deny/throttle/fail rule (the random rates stay)."""
        with self._lock:
            self._faults.clear()

    def _add_fault(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _fault_reply(self, method: str, info: PathInfo) -> Reply | None:
        with self._lock:
            fault = next((f for f in self._faults if f.matches(method, info.key)), None)
            if fault is not None and fault.remaining is not None:
                fault.remaining -= 1
            kind = fault.kind if fault else None
            if kind is None and self.throttle_rate and self._rng.random() < self.throttle_rate:
                kind = "random-throttle"
            elif kind is None and self.error_rate and self._rng.random() < self.error_rate:
                kind = "random-error"
            if kind is not None:
                self._injected[kind] += 1
        path = "/" + "/".join(info.segments)
        if kind == "deny":
            action = f"{info.resource_type}/{_ACTIONS.get(method, 'action')}"
            return error(403, "AuthorizationFailed", f"The client does not have authorization to perform action "
                         f"'{action}' over scope '{path}' or the scope is invalid.")
        if kind in ("throttle", "random-throttle"):
            after = fault.retry_after if fault else self.retry_after
            reply = error(429, "TooManyRequests", "The request is being throttled as the limit has been reached.")
            reply.headers["Retry-After"] = str(after)
            return reply
        if kind == "fail" and fault is not None:
            code = fault.code or ("ServiceUnavailable" if fault.status == 503 else "InternalServerError")
            return error(fault.status, code, fault.message or f"Injected failure for '{path}'.")
        if kind == "random-error":
            return error(503, "ServiceUnavailable", "The service is temporarily unavailable.")
        return None

    # -- requests -------------------------------------------------------------------------------------
    def answer(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one request (``headers`` keyed in lower case); called from the handler threads."""
        split = urlsplit(target)
        info = parse_path(unquote(split.path))
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        api_version = query.get("api-version", "")
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        with self._lock:
            self._requests[(method, info.shape)] += 1
            self._api_versions[(info.shape, api_version)] += 1
            if token:
                self._tokens[token] += 1
        if self.latency_ms > 0:
            time.sleep(self.latency_ms / 1000)
        if not token:
            return error(401, "AuthenticationFailed" if not auth else "InvalidAuthenticationToken",
                         "Authentication failed. The 'Authorization' header must carry a bearer token.")
        if not api_version:
            return error(400, "MissingApiVersionParameter",
                         "The api-version query parameter (?api-version=) is required for all requests.")
        fault = self._fault_reply(method, info)
        if fault is not None:
            return fault
        if method in ("GET", "HEAD"):
            return self.store.get(info, query)
        if method == "DELETE":
            return self.store.delete(info, headers, api_version)
        if method in ("PUT", "PATCH"):
            try:
                document = json.loads(body) if body else None
            except ValueError:
                return error(400, "InvalidRequestContent", "The request content is not valid JSON.")
            write = self.store.put if method == "PUT" else self.store.patch
            return write(info, document, headers, api_version)
        reply = error(405, "MethodNotAllowed", f"The method '{method}' is not supported by this stand-in.")
        reply.headers["Allow"] = "GET, HEAD, PUT, PATCH, DELETE"
        return reply


def _methods(methods: Iterable[str] | None) -> frozenset[str] | None:
    return frozenset(m.upper() for m in methods) if methods is not None else None
