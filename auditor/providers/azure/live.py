"""Azure for apply and rollback: the scan's credential, token cache, endpoint and clients; ARM writes with ETags.

Reads and writes go through the pipeline of the shared Machine Learning client (bearer token for
the endpoint's audience, retries of 429/5xx honouring ``Retry-After``), at the api-versions the
collectors pin. Writes send ``If-Match`` with the ETag of the read they follow, and wait for the
long-running operation the way Resource Manager answers it: ``Azure-AsyncOperation`` status polls,
or ``Location`` polls. Resources come back in the scan's shape (raw ARM JSON, secrets redacted
by the collectors' :func:`redact`), so a rule re-run on them decides as in the scan; the raw
document used for a full PUT stays in memory and is never journaled.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin

from auditor.errors import ConfigError
from auditor.model import Resource
from auditor.providers.azure import arm as azure_arm
from auditor.providers.azure import session as azure_session
from auditor.providers.azure.ai import API_VERSION as AI_API_VERSION
from auditor.providers.azure.apim import API_VERSION as APIM_API_VERSION
from auditor.providers.azure.ml import API_VERSION, LEGACY_API_VERSION, LEGACY_SERVICE
from auditor.providers.azure.ml_endpoints import ONLINE_ENDPOINT, endpoint_related, redact
from auditor.providers.azure.roles import assignment_summary, sorted_assignments
from auditor.remediate.model import StepFailed, StepRefused
from auditor.untrusted import refused_url_message, same_origin

if TYPE_CHECKING:
    from azure.core.rest import HttpResponse

    from auditor.providers import ProviderOptions
    from auditor.remediate.providers import Providers

AUTHORIZATION_API_VERSION = "2022-04-01"
ML_API_VERSION = API_VERSION
AUTHZ = "Microsoft.Authorization"


class ServiceRefused(StepRefused):
    """The service answered a write with 400/405/409: it will not make this change in place."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: Mapping[str, str]

    @property
    def error(self) -> str:
        """The service's error, redacted and escaped (it is printed and journaled)."""
        error = self.body.get("error") if isinstance(self.body, dict) else None
        if isinstance(error, dict):
            return azure_arm.one_line(f"HTTP {self.status} {error.get('code') or ''}: {error.get('message') or ''}",
                                      600).strip()
        return f"HTTP {self.status}"


class AzureContext:
    def __init__(self, options: ProviderOptions) -> None:
        self.options = options
        kind = str(options.value("credential") or "default")
        try:
            endpoint = azure_session.arm_endpoint(options.value("arm_endpoint"))
        except ConfigError as exc:
            raise StepFailed(str(exc)) from exc
        try:
            from azure.core.exceptions import AzureError

            session = azure_session.make_session(4)
        except ImportError as exc:
            raise StepFailed(f"the Azure SDK is not installed: {exc}") from exc
        try:
            scope = azure_session.token_scope(endpoint, session)
            override = options.override("azure")
            credential = override or azure_session.make_credential(kind)
            self._owned = override is None
            self.cache = azure_session.CachingCredential(credential)
            self.cache.get_token(scope)
        except (AzureError, ValueError, OSError, ConfigError) as exc:
            session.close()
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            raise StepFailed(f"cannot get an Azure token for {endpoint} with the '{kind}' credential: "
                             f"{azure_arm.one_line(str(message), 600)}") from exc
        self.clients = azure_session.AzureClients(self.cache, endpoint, scope, session)
        self._role_names: dict[str, str | None] = {}

    def close(self) -> None:
        self.clients.close()
        if self._owned:
            self.cache.close()

    # --- HTTP --------------------------------------------------------------------------------------

    def url(self, path: str, api_version: str) -> str:
        return self.clients.url(path, api_version)

    def send(self, method: str, url: str, operation: str, body: Any = None,
             headers: Mapping[str, str] | None = None) -> Answer:
        from azure.core.rest import HttpRequest

        safe_url = url.replace("{", "%7B").replace("}", "%7D")
        request = HttpRequest(method, safe_url, json=body, headers=dict(headers or {})) if body is not None \
            else HttpRequest(method, safe_url, headers=dict(headers or {}))
        try:
            response = self.clients.ml._send_request(request)
        except Exception as exc:
            failure = azure_arm.failure_from(operation, exc)
            if failure is None:
                raise
            raise StepFailed(failure.reason) from exc
        return Answer(response.status_code, _json(response), {k.lower(): v for k, v in response.headers.items()})

    def get(self, resource_id: str, api_version: str) -> tuple[dict[str, Any], str | None] | None:
        """The raw document and its ETag; None when it does not exist."""
        answer = self.send("GET", self.url(resource_id, api_version), f"read {resource_id}")
        if answer.status == 404:
            return None
        if answer.status != 200 or not isinstance(answer.body, dict):
            raise StepFailed(f"read {resource_id}: {answer.error}")
        etag = answer.headers.get("etag") or answer.body.get("etag")
        return answer.body, str(etag) if etag else None

    def write(self, method: str, resource_id: str, api_version: str, body: Any, etag: str | None) -> None:
        """PUT or PATCH with If-Match, then wait for the operation; ServiceRefused / StepRefused / StepFailed."""
        headers = {"If-Match": etag} if etag else {}
        operation = f"{method} {resource_id}"
        answer = self.send(method, self.url(resource_id, api_version), operation, body, headers)
        if answer.status == 412:
            raise StepRefused(f"{resource_id} changed between the read and the write (its ETag no longer matches)")
        if answer.status in (400, 405, 409):
            raise ServiceRefused(f"{operation}: {answer.error}")
        if answer.status >= 300:
            raise StepFailed(f"{operation}: {answer.error}")
        self.wait(answer, operation)

    def delete(self, resource_id: str, api_version: str) -> None:
        answer = self.send("DELETE", self.url(resource_id, api_version), f"DELETE {resource_id}")
        if answer.status == 404:
            return
        if answer.status in (400, 405, 409):
            raise ServiceRefused(f"DELETE {resource_id}: {answer.error}")
        if answer.status >= 300:
            raise StepFailed(f"DELETE {resource_id}: {answer.error}")
        self.wait(answer, f"DELETE {resource_id}")

    def wait(self, answer: Answer, operation: str) -> None:
        """Follow a long-running operation to its end; StepFailed when it fails or times out."""
        status_url = answer.headers.get("azure-asyncoperation")
        location = answer.headers.get("location") if answer.status == 202 else None
        if not status_url and not location:
            return
        hint: Mapping[str, str] = answer.headers
        delay, deadline = self.options.poll_seconds, time.monotonic() + self.options.wait_timeout
        while True:
            pause = _retry_after(hint, delay, self.options.max_poll_seconds)
            if time.monotonic() + pause > deadline:
                raise StepFailed(f"{operation}: gave up waiting after {self.options.wait_timeout:.0f} s")
            time.sleep(pause)
            if status_url:
                polled = self.send("GET", self._followed(status_url, operation, "Azure-AsyncOperation"),
                                   f"{operation} (status)")
                if polled.status >= 300:
                    raise StepFailed(f"{operation}: status poll answered {polled.error}")
                state = str(polled.body.get("status", "")).lower() if isinstance(polled.body, dict) else ""
                if state == "succeeded":
                    return
                if state in ("failed", "canceled", "cancelled"):
                    raise StepFailed(f"{operation} ended {state}: {Answer(400, polled.body, {}).error}")
            else:
                assert location is not None
                polled = self.send("GET", self._followed(location, operation, "Location"), f"{operation} (result)")
                if polled.status != 202:
                    if polled.status >= 300:
                        raise StepFailed(f"{operation}: result poll answered {polled.error}")
                    return
            hint = polled.headers
            delay = min(delay * 2, self.options.max_poll_seconds)

    def _followed(self, url: str, operation: str, header: str) -> str:
        """The absolute URL an answer named (``nextLink``, ``Location``, ``Azure-AsyncOperation``) when it is on
        the endpoint; StepFailed, before anything is sent, when it points anywhere else (the token is never
        sent there; a write whose operation cannot be followed is not reported as done)."""
        absolute = urljoin(self.clients.endpoint + "/", url)
        if not same_origin(absolute, self.clients.endpoint):
            raise StepFailed(f"{operation}: " + refused_url_message(absolute, self.clients.endpoint,
                                                                      f"the answer's {header}"))
        return absolute

    # --- resources in the scan's shape ---------------------------------------------------------------

    def read(self, resource_type: str, resource_id: str, *, account: str = "", region: str = "") -> Resource | None:
        """The resource as the collectors build it: the document at the api-version its collector reads, and for an
        online endpoint the role assignments of its identities (``account``: the subscription they are listed in)."""
        if resource_type == ONLINE_ENDPOINT:
            return self.endpoint_with_roles(resource_id, account or resource_id.split("/")[2])
        if resource_type.startswith("azure.apim."):
            return self.resource(resource_type, resource_id, APIM_API_VERSION)
        if resource_type == LEGACY_SERVICE:
            return self.resource(resource_type, resource_id, LEGACY_API_VERSION)
        if resource_type.startswith("azure.ai."):
            return self.resource(resource_type, resource_id, AI_API_VERSION)
        return self.resource(resource_type, resource_id)

    def resource(self, resource_type: str, resource_id: str, api_version: str = ML_API_VERSION) -> Resource | None:
        found = self.get(resource_id, api_version)
        return None if found is None else arm_resource(resource_type, found[0])

    def role_assignments(self, subscription: str, principal: str) -> list[dict[str, Any]]:
        """The principal's assignments at, above and below the subscription, role names resolved (collector shape)."""
        return self.assignments_at(f"/subscriptions/{subscription}", f"principalId eq '{principal}'",
                                   f"list role assignments of principal {principal}")

    def assignments_at(self, scope: str, role_filter: str, operation: str) -> list[dict[str, Any]]:
        """The role assignments Resource Manager lists at ``scope`` with ``$filter=role_filter`` (``principalId eq
        '...'``: the principal's at, above and below it; ``atScope()``: every one at or above it), following
        ``nextLink``, role names resolved (collector shape); StepFailed when they cannot be read."""
        path = f"{scope.rstrip('/')}/providers/{AUTHZ}/roleAssignments"
        url: str | None = self.url(path, AUTHORIZATION_API_VERSION) + "&$filter=" + quote(role_filter, safe="()")
        found: list[dict[str, Any]] = []
        while url:
            answer = self.send("GET", url, operation)
            if answer.status != 200 or not isinstance(answer.body, dict):
                raise StepFailed(f"{operation}: {answer.error}")
            for item in answer.body.get("value") or []:
                props = item.get("properties")
                role = props.get("roleDefinitionId") if isinstance(props, dict) else None
                found.append(assignment_summary(item, self.role_name(str(role or ""))))
            link = answer.body.get("nextLink")
            url = self._followed(link, operation, "nextLink") if isinstance(link, str) and link else None
        return sorted_assignments(found)

    def role_name(self, role_definition_id: str) -> str | None:
        key = role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()
        if key not in self._role_names:
            found = self.get(role_definition_id, AUTHORIZATION_API_VERSION) if role_definition_id else None
            name = (found[0].get("properties") or {}).get("roleName") if found else None
            self._role_names[key] = str(name) if name else None
        return self._role_names[key]

    def endpoint_with_roles(self, resource_id: str, subscription: str) -> Resource | None:
        """An online endpoint with ``related.role_assignments`` of its identities, as the collector joins them."""
        found = self.get(resource_id, ML_API_VERSION)
        if found is None:
            return None
        document = found[0]
        workspace = resource_id.rsplit("/onlineEndpoints/", 1)[0]

        def assignments_of(principal: str) -> tuple[list[dict[str, Any]], str | None]:
            return self.role_assignments(subscription, principal), None

        related, unreadable = endpoint_related(document, workspace, [], None, assignments_of)
        return arm_resource(ONLINE_ENDPOINT, document, related, unreadable)


def connected(providers: Providers) -> AzureContext:
    """The run's Azure connection (set up on first use); StepFailed when it cannot be."""
    connection = providers.connection("azure")
    if not isinstance(connection, AzureContext):
        raise TypeError(f"the 'azure' provider connected as {type(connection).__name__}")
    return connection


def arm_resource(resource_type: str, document: Mapping[str, Any], related: Mapping[str, Any] | None = None,
                 unreadable: Mapping[str, str] | None = None) -> Resource:
    clean = redact(document)
    rid = str(clean.get("id") or "")
    parts = rid.split("/")
    return Resource(id=rid, type=resource_type, provider="azure", account=parts[2] if len(parts) > 2 else "",
                    region=str(clean.get("location") or ""), name=str(clean.get("name") or parts[-1]),
                    document=clean, related=dict(related or {}), unreadable=dict(unreadable or {}))


def _json(response: HttpResponse) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return None


def _retry_after(headers: Mapping[str, str], default: float, ceiling: float) -> float:
    for name, scale in (("retry-after-ms", 0.001), ("x-ms-retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return min(max(float(value) * scale, 0.01), ceiling)
            except ValueError:
                continue
    return default
