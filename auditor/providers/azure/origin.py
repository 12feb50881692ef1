"""The last policy of every Resource Manager pipeline: nothing is sent anywhere but the endpoint the user named.

A Resource Manager answer can name URLs the SDKs follow on their own: a list's ``nextLink`` (the
generated pagers follow it), a redirect's ``Location``, a long-running operation's ``Location`` or
``Azure-AsyncOperation``. Each is untrusted input: a hostile or compromised answer pointing one at
another host would receive the scan's bearer token (and, in ``remediate apply``, a write-capable one).
:class:`EndpointOnlyPolicy` sits after the bearer-token policy, right before the transport, so it sees
every request as it is about to leave (retries, redirects and challenge re-sends included), and refuses
any whose scheme, host and port are not the endpoint's: the request is not sent, its ``Authorization``
header is dropped, and :class:`UntrustedUrlError` says where the answer pointed.

:class:`UntrustedUrlError` is a ``ClientAuthenticationError`` so that azure-core's retry policy gives up at
once (it retries every other error); :func:`auditor.providers.azure.arm.failure_from` reports it as a
failed read, never as a credential problem. This module imports azure-core: import it inside functions.
"""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import ClientAuthenticationError
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy

from auditor.untrusted import origin, refused_url_message, shown_origin


class UntrustedUrlError(ClientAuthenticationError):
    """A request to a URL outside the Resource Manager endpoint, refused before it was sent."""

    def __init__(self, url: str, endpoint: str) -> None:
        self.target = shown_origin(url)
        self.endpoint = endpoint
        super().__init__(message=refused_url_message(
            url, endpoint, "a URL from an answer (a nextLink, a redirect or an operation to poll)"))


class EndpointOnlyPolicy(SansIOHTTPPolicy[Any, Any]):
    """Refuse to send a request whose scheme, host and port are not the endpoint's (see the module doc)."""

    def __init__(self, endpoint: str) -> None:
        super().__init__()
        self.endpoint = endpoint
        self._origin = origin(endpoint)
        if self._origin is None:
            raise ValueError(f"not an absolute https URL: {endpoint!r}")

    def on_request(self, request: PipelineRequest[Any]) -> None:
        url = str(request.http_request.url)
        if origin(url) != self._origin:
            request.http_request.headers.pop("Authorization", None)
            raise UntrustedUrlError(url, self.endpoint)
