"""`auditor scan aws` against a hostile AWS endpoint: error texts are redacted and inert, no URL is followed.

The endpoint (``AWS_ENDPOINT_URL``, plain HTTP on loopback) answers ``GetCallerIdentity`` and nothing
else: every other call gets an error whose message quotes secrets and terminal escape sequences, or a
redirect to a second server that records every request reaching it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from .helpers import Run, fake_aws_env, run_auditor

ACCESS_KEY_ID = "AKIAQWERTYUIOPASDFGH"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzY29yaW5nLWJvdCJ9.c2lnbmF0dXJlLW5vdC1yZWFs"
MESSAGE = (f"Session of {ACCESS_KEY_ID} with token {JWT} expired.\x1b]0;all clear\x07\x1b[2J\x1b[H\r\n"
           "auditor: exit 0: complete; no FAIL at or above high\x9b2J")
IDENTITY = ("<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>"
            "<Arn>arn:aws:iam::123456789012:user/auditor</Arn><UserId>AIDAEXAMPLEUSERID0001</UserId>"
            "<Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId>"
            "</ResponseMetadata></GetCallerIdentityResponse>")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, redirect_to: str | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.redirect_to = redirect_to
        self.seen: list[tuple[str, str, str]] = []  # (method, path, Authorization header)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> _Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
        self.server.seen.append(("POST", self.path, self.headers.get("Authorization", "")))
        if "GetCallerIdentity" in body or "GetCallerIdentity" in self.headers.get("X-Amz-Target", ""):
            self._send(200, IDENTITY.encode(), "text/xml")
        elif self.server.redirect_to is not None:
            self._send(307, b"", "text/plain", {"Location": f"{self.server.redirect_to}/elsewhere"})
        else:
            error = {"__type": "com.amazonaws.sagemaker#ValidationException", "message": MESSAGE}
            self._send(400, json.dumps(error).encode(), "application/x-amz-json-1.1")

    def _send(self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", "1")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def recorder() -> Iterator[_Server]:
    with _Server() as server:
        yield server


def scan(endpoint: str, tmp_path: Path, *extra: str) -> Run:
    out = tmp_path / "out"
    formats = [arg for name in ("json", "html", "sarif", "junit", "markdown", "csv", "ocsf")
               for arg in ("--format", name)]
    env = fake_aws_env(endpoint)
    env["AWS_MAX_ATTEMPTS"] = "1"  # the errors are not transient; keep the test fast
    return run_auditor(["scan", "aws", "--region", "eu-west-1", "--out", str(out), *formats, *extra], out, env=env)


def test_an_aws_error_message_is_stored_redacted_and_printed_inert(tmp_path: Path) -> None:
    with _Server() as hostile:
        r = scan(hostile.url, tmp_path)

    assert r.code == 2, r.stderr
    texts = {"stdout": r.stdout, "stderr": r.stderr}
    texts.update({p.name: p.read_text(encoding="utf-8") for p in r.out.iterdir() if p.is_file()})
    assert len(texts) == 9, sorted(texts)
    for name, text in texts.items():
        assert ACCESS_KEY_ID not in text and JWT not in text, name
    for control in ("\x1b", "\x07", "\x9b", "\r"):
        assert control not in r.stderr and control not in r.stdout, repr(control)
    assert not any(line.startswith("auditor: exit 0") for line in r.stderr.splitlines())
    [row] = [c for c in r.findings()["coverage"] if c["service"] == "sagemaker"]
    assert "Session of <redacted> with token <redacted> expired.\\x1b]0;all clear\\x07\\x1b[2J" in row["error"]


def test_the_aws_side_follows_no_redirect_to_another_host(recorder: _Server, tmp_path: Path) -> None:
    with _Server(redirect_to=recorder.url) as hostile:
        r = scan(hostile.url, tmp_path)
        assert any(path == "/" for _, path, _ in hostile.seen)  # the scan did reach the endpoint it was given

    assert recorder.seen == []  # nothing, signed or not, was sent to the host a redirect named
    assert r.code == 2, r.stderr
    [row] = [c for c in r.findings()["coverage"] if c["service"] == "sagemaker"]
    assert row["status"] != "collected" and "307" in row["error"]
