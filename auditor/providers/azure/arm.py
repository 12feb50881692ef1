"""Raw Resource Manager reads and their failures, as data.

Every Azure document the auditor keeps is the service's own JSON, read with a GET through a generated
client's azure-core pipeline (its auth, retry and redirect policies; see
:func:`auditor.providers.azure.session.arm_policies`): :func:`get_json_through` for one object and
:func:`pages_through` for a collection followed through every ``nextLink``. What can go wrong becomes a
:class:`Failure` (never a secret: the service's error code and message, the HTTP status), raised inside
an :class:`AzureCallError` for the collector to turn into a coverage row or an ``unreadable`` key.

Everything an answer says is untrusted input: its error texts are redacted and escaped before they are
kept (:func:`one_line`, :func:`auditor.untrusted.service_text`), and a ``nextLink`` that leaves the
endpoint is a failed read (:func:`pages_through`), never followed with the scan's token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urljoin

from auditor.identity import resource_key
from auditor.redaction import redact_document
from auditor.untrusted import refused_url_message, same_origin, service_text

MAX_REASON = 400
MAX_CODE = 100
UNTRUSTED_URL = "UntrustedUrl"  # the code of a read refused because the answer pointed outside the endpoint
MAX_ROW_ERROR = 1000  # the longest error a coverage row keeps

# A collection whose parent was deleted between its listing and ours: nothing is there any more.
GONE_CODES = frozenset({"ParentResourceNotFound", "ResourceGroupNotFound"})


def one_line(text: str, limit: int = MAX_REASON) -> str:
    """A text to keep: one line, secrets redacted, control characters escaped, at most ``limit`` long."""
    return service_text(text, limit)


# --- errors ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """A failed Resource Manager call, reduced to what a report may show (never a secret)."""

    operation: str
    status: int | None
    code: str
    message: str
    kind: str  # "denied" | "throttled" | "not_found" | "unreachable" | "credentials" | "error"

    @property
    def reason(self) -> str:
        label = {"denied": "access denied", "throttled": "throttled past retries", "not_found": "not found",
                 "unreachable": "unreachable", "credentials": "authentication failed"}.get(self.kind, "error")
        text = f"{label}: {self.operation}"
        answer = " ".join(part for part in (f"HTTP {self.status}" if self.status else "", self.code) if part)
        if answer:
            text += f" returned {answer}"
        if self.message:
            text += f": {self.message}"
        return one_line(text)


class AzureCallError(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


def _kind(status: int | None) -> str:
    if status == 401:
        return "credentials"
    if status == 403:
        return "denied"
    if status == 404:
        return "not_found"
    if status == 429:
        return "throttled"
    return "error"


def failure_from(operation: str, exc: BaseException) -> Failure | None:
    """Classify an azure-core error (raised by an SDK operation or a pipeline); None for anything else."""
    from azure.core.exceptions import (
        AzureError,
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    from auditor.providers.azure.origin import UntrustedUrlError

    if isinstance(exc, UntrustedUrlError):  # refused before it was sent: a failed read, not a credential problem
        return Failure(operation, None, UNTRUSTED_URL, one_line(str(exc.message)), "error")
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        error = exc.error
        code = str(getattr(error, "code", "") or "") if error is not None else ""
        message = str(getattr(error, "message", "") or "") if error is not None else ""
        if not message:
            message = str(exc.reason or "")
        return Failure(operation, exc.status_code, one_line(code, MAX_CODE), one_line(message),
                       _kind(exc.status_code))
    if isinstance(exc, ClientAuthenticationError):  # a token could not be had mid-scan
        return Failure(operation, None, type(exc).__name__, one_line(str(exc.message or exc)), "credentials")
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return Failure(operation, None, type(exc).__name__, one_line(str(exc.message or exc)), "unreachable")
    if isinstance(exc, AzureError):
        return Failure(operation, None, type(exc).__name__, one_line(str(exc.message or exc)), "error")
    return None


def failure_from_response(operation: str, status: int, body: Any, text: str) -> Failure:
    """A failure from an HTTP answer in the ARM error shape ``{"error": {"code", "message"}}``."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code, message = str(error.get("code") or ""), str(error.get("message") or "")
    else:
        code, message = "", one_line(text, 200)  # redacted before it is cut: a cut must not hide half a secret
    return Failure(operation, status, one_line(code, MAX_CODE), one_line(message), _kind(status))


# --- reads ----------------------------------------------------------------------------------------


def get_json_through(client: Any, url: str, operation: str) -> dict[str, Any]:
    """GET an absolute URL through a generated client's pipeline (its auth, retries and redirects).

    The JSON object of a 200 answer; anything else is an AzureCallError with the service's reason.
    """
    from azure.core.rest import HttpRequest

    # The generated client formats the URL as a template: keep literal braces out of it.
    safe_url = url.replace("{", "%7B").replace("}", "%7D")
    try:
        response = client._send_request(HttpRequest("GET", safe_url))
    except Exception as exc:
        failure = failure_from(operation, exc)
        if failure is None:
            raise
        raise AzureCallError(failure) from exc
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    if response.status_code != 200:
        raise AzureCallError(failure_from_response(operation, response.status_code, body, response.text()))
    if not isinstance(body, dict):
        raise AzureCallError(Failure(operation, 200, "InvalidResponse", "the answer is not a JSON object", "error"))
    return body


def pages_through(client: Any, endpoint: str, url: str, operation: str) -> Iterator[list[dict[str, Any]]]:
    """Pages of a collection list read through ``client``'s pipeline, following every ``nextLink``.

    AzureCallError on failure, on an answer without a ``value`` list, on a ``nextLink`` that loops, or on
    one that leaves ``endpoint`` (another scheme, host or port: the token is never sent there).
    """
    next_url: str | None = url
    seen: set[str] = set()
    while next_url:
        seen.add(next_url)
        body = get_json_through(client, next_url, operation)
        items = body.get("value")
        if not isinstance(items, list):
            raise AzureCallError(Failure(operation, 200, "InvalidResponse", "the answer has no 'value' list", "error"))
        yield [item for item in items if isinstance(item, dict)]
        link = body.get("nextLink")
        next_url = urljoin(endpoint + "/", link) if isinstance(link, str) and link else None
        if next_url is not None and not same_origin(next_url, endpoint):
            raise AzureCallError(Failure(operation, 200, UNTRUSTED_URL, one_line(
                refused_url_message(next_url, endpoint, "the answer's nextLink")), "error"))
        if next_url is not None and next_url in seen:
            raise AzureCallError(Failure(operation, 200, "InvalidNextLink",
                                         "the service repeated a nextLink it had already answered", "error"))


def with_id(doc: dict[str, Any], collection: str) -> tuple[str, dict[str, Any]]:
    """The document's Resource Manager id (with a leading slash) and the document, redacted, carrying it.

    Redaction happens here, as each page arrives on a worker thread: secret values are dropped as soon
    as they are read (nothing downstream ever holds them) and the work overlaps the other lists' I/O.
    """
    rid = str(doc.get("id") or "")
    if not rid:
        rid = f"{collection}/{doc.get('name') or ''}"
    if not rid.startswith("/"):
        rid = "/" + rid
    return rid, redact_document(doc if doc.get("id") == rid else {**doc, "id": rid})


def resource_name(doc: Mapping[str, Any], rid: str) -> str:
    """The document's ``name``, else the last segment of its id."""
    return str(doc.get("name") or rid.rstrip("/").rsplit("/", 1)[-1])


V = TypeVar("V")


def read_pages(pages: Iterable[list[dict[str, Any]]], on_page: Callable[[list[dict[str, Any]]], None],
               absent_codes: frozenset[str] = frozenset()) -> str | None:
    """Hand every page of a list to ``on_page``; why the list failed, or None. A parent gone since it was
    listed (:data:`GONE_CODES`, or ``absent_codes`` a list answers when the feature is absent) is an empty list."""
    try:
        for page in pages:
            on_page(page)
    except AzureCallError as exc:
        if exc.failure.status in (400, 404) and exc.failure.code in GONE_CODES | absent_codes:
            return None
        return exc.failure.reason
    return None


def add_first_seen(store: dict[str, V], page: list[dict[str, Any]], collection: str,
                   make: Callable[[str, dict[str, Any]], V]) -> list[tuple[str, V]]:
    """Add the page's resources ``store`` does not hold yet (keyed by :func:`auditor.identity.resource_key`: a
    page may repeat a resource in another spelling), each as ``make(id, redacted document)``; the ones added.
    The caller holds the lock guarding ``store``."""
    added: list[tuple[str, V]] = []
    for raw in page:
        rid, doc = with_id(raw, collection)
        key = resource_key("azure", rid)
        if key not in store:
            store[key] = value = make(rid, doc)
            added.append((rid, value))
    return added
