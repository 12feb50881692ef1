"""Azure credentials, the token cache, the Resource Manager endpoint and audience, the shared clients.

One credential and one token serve a whole scan: :class:`CachingCredential` sits in front of the
azure-identity credential, so ``AzureCliCredential`` (which caches nothing) starts ``az`` once per scan
instead of once per client or thread. Every SDK client is built once (:class:`AzureClients`) and shared by
all threads, over one HTTP connection pool sized for the scan's workers, with a retry policy that
survives sustained throttling (10 retries of 429/5xx, honouring ``Retry-After``). TLS trust follows the
standard ``REQUESTS_CA_BUNDLE`` variable, which azure-core's requests transport reads. The reads
themselves and their failures are :mod:`auditor.providers.azure.arm`.

The Azure SDKs are imported inside functions only, so importing this module works without them.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from auditor.errors import ConfigError
from auditor.providers.azure.arm import pages_through

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, TokenCredential
    from azure.mgmt.authorization import AuthorizationManagementClient
    from azure.mgmt.machinelearningservices import MachineLearningServicesMgmtClient
    from azure.mgmt.resource.subscriptions import SubscriptionClient
    from requests import Session

PUBLIC_ARM_ENDPOINT = "https://management.azure.com"
PUBLIC_SCOPE = "https://management.azure.com/.default"
ARM_ENDPOINT_ENV = "AUDITOR_ARM_ENDPOINT"
METADATA_API_VERSION = "2022-09-01"
CREDENTIAL_KINDS: tuple[str, ...] = ("default", "cli", "managed-identity", "workload-identity", "environment")

RETRY_TOTAL = 10
RETRY_STATUS = 10  # azure-core's default (3) loses reads at 15 % throttling
REFRESH_MARGIN_SECONDS = 300
# A placeholder for the clients' required subscription id: every request they send names its own
# scope (absolute URLs, role-assignment scopes, role-definition ids), so it never reaches a URL.
UNUSED_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
_PATH_SAFE = "/:@-._~!$&'()*+,;="


# --- the token cache ------------------------------------------------------------------------------


class CachingCredential:
    """A thread-safe ``TokenCredential`` caching the tokens of another one.

    A token is reused until five minutes before it expires (for short-lived tokens, until half of
    their remaining life), so concurrent clients and threads share one token and the wrapped
    credential is asked once per token lifetime. A request with ``claims`` (a Continuous Access
    Evaluation challenge) always goes to the wrapped credential.
    """

    def __init__(self, credential: TokenCredential) -> None:
        self.wrapped = credential
        self._lock = threading.Lock()
        self._tokens: dict[tuple[tuple[str, ...], str | None, bool], tuple[AccessToken, float]] = {}

    def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                  enable_cae: bool = False, **kwargs: Any) -> AccessToken:
        key = (tuple(scopes), tenant_id, enable_cae)
        with self._lock:  # held while fetching: concurrent callers wait for the one fetch
            cached = self._tokens.get(key)
            now = time.time()
            if cached is not None and claims is None and now < cached[1]:
                return cached[0]
            extra: dict[str, Any] = dict(kwargs)
            if claims is not None:
                extra["claims"] = claims
            if tenant_id is not None:
                extra["tenant_id"] = tenant_id
            if enable_cae:
                extra["enable_cae"] = True
            token = self.wrapped.get_token(*scopes, **extra)
            remaining = token.expires_on - now
            refresh_at = token.expires_on - REFRESH_MARGIN_SECONDS if remaining > 2 * REFRESH_MARGIN_SECONDS \
                else now + max(remaining, 0) / 2
            self._tokens[key] = (token, refresh_at)
            return token

    def close(self) -> None:
        close = getattr(self.wrapped, "close", None)
        if callable(close):
            close()


def make_credential(kind: str) -> TokenCredential:
    """The azure-identity credential ``--credential`` names; ConfigError for an unknown kind.

    Constructors that find their configuration missing raise ValueError (the caller reports it).
    """
    from azure.identity import (
        AzureCliCredential,
        DefaultAzureCredential,
        EnvironmentCredential,
        ManagedIdentityCredential,
        WorkloadIdentityCredential,
    )

    if kind == "default":
        return DefaultAzureCredential()
    if kind == "cli":
        return AzureCliCredential()
    if kind == "managed-identity":
        client_id = os.environ.get("AZURE_CLIENT_ID")
        return ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
    if kind == "workload-identity":
        return WorkloadIdentityCredential()
    if kind == "environment":
        return EnvironmentCredential()
    raise ConfigError(f"unknown credential '{kind}' (choose from {', '.join(CREDENTIAL_KINDS)})",
                      field="--credential")


# --- endpoint and audience ------------------------------------------------------------------------


def arm_endpoint(option: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The Resource Manager endpoint: the option, else ``AUDITOR_ARM_ENDPOINT``, else the public cloud."""
    env = os.environ if environ is None else environ
    raw = (option or env.get(ARM_ENDPOINT_ENV) or PUBLIC_ARM_ENDPOINT).strip()
    parts = urlsplit(raw)
    if parts.scheme.lower() != "https" or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"the Resource Manager endpoint must be an https:// URL without a query, got '{raw}' "
                          "(bearer tokens are never sent over plain HTTP)", field="--arm-endpoint")
    return raw.rstrip("/")


def is_public_cloud(endpoint: str) -> bool:
    return (urlsplit(endpoint).hostname or "").lower() == "management.azure.com"


def token_scope(endpoint: str, session: Session | None = None) -> str:
    """The token scope for ``endpoint``: the public cloud's, or the audience its metadata names.

    Another endpoint (a sovereign cloud, Azure Stack) publishes its audiences at
    ``/metadata/endpoints``; when that cannot be read the scope falls back to ``{endpoint}/.default``.
    """
    if is_public_cloud(endpoint):
        return PUBLIC_SCOPE
    from azure.core import PipelineClient
    from azure.core.exceptions import AzureError
    from azure.core.pipeline.policies import HeadersPolicy, RetryPolicy, UserAgentPolicy
    from azure.core.pipeline.transport import RequestsTransport
    from azure.core.rest import HttpRequest

    transport = RequestsTransport(session=session, session_owner=False) if session is not None \
        else RequestsTransport()
    client: PipelineClient[Any, Any] = PipelineClient(
        base_url=endpoint, transport=transport,
        policies=[HeadersPolicy(), UserAgentPolicy(sdk_moniker="auditor"),
                  RetryPolicy(retry_total=2, retry_backoff_factor=0.2)])
    url = f"{endpoint}/metadata/endpoints?api-version={METADATA_API_VERSION}"
    try:
        response = client.send_request(HttpRequest("GET", url), connection_timeout=10, read_timeout=30)
        if response.status_code == 200:
            body = response.json()
            audiences = body.get("authentication", {}).get("audiences") if isinstance(body, dict) else None
            if isinstance(audiences, list) and audiences and isinstance(audiences[0], str) and audiences[0]:
                return f"{audiences[0]}/.default"
    except (AzureError, ValueError):
        pass
    return f"{endpoint}/.default"


# --- clients --------------------------------------------------------------------------------------


def arm_policies(credential: TokenCredential, scope: str, endpoint: str, *, models: bool = False) -> list[Any]:
    """The scan's pipeline, in azure-core's standard order, without what a read-only audit must not have.

    Kept: request id, headers, user agent (``azsdk-python-auditor/VERSION``), proxies, redirects (the
    ``Authorization`` header dropped on a cross-host hop), the retry policy (``RETRY_TOTAL`` /
    ``RETRY_STATUS``, honouring ``Retry-After``) and ARM's bearer-token policy with its CAE challenge.
    Added last, right before the transport: :class:`~auditor.providers.azure.origin.EndpointOnlyPolicy`,
    which refuses to send anything (a ``nextLink``, a redirect, an operation poll) to any scheme, host or
    port but ``endpoint``'s, so the token goes nowhere else.
    Left out: ``ARMAutoResourceProviderRegistrationPolicy``, which answers a 409 by *registering* a resource
    provider (a write), and the network-trace, HTTP-logging and tracing policies, which cost CPU on every
    request and log nothing the auditor uses. ``models``: the SDK clients that deserialize into models also
    get ``ContentDecodePolicy``; raw reads parse the body once themselves.
    """
    from azure.core.pipeline import policies
    from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy

    from auditor import __version__
    from auditor.providers.azure.origin import EndpointOnlyPolicy

    chain: list[Any] = [
        policies.RequestIdPolicy(), policies.HeadersPolicy(),
        policies.UserAgentPolicy(sdk_moniker=f"auditor/{__version__}"), policies.ProxyPolicy(),
    ]
    if models:
        chain.append(policies.ContentDecodePolicy())
    chain += [
        policies.RedirectPolicy(), policies.RetryPolicy(retry_total=RETRY_TOTAL, retry_status=RETRY_STATUS),
        ARMChallengeAuthenticationPolicy(credential, scope), policies.SensitiveHeaderCleanupPolicy(),
        EndpointOnlyPolicy(endpoint),
    ]
    return chain


class AzureClients:
    """The SDK clients of a scan, each built once, on first use, and shared by every thread.

    ``ml``: azure-mgmt-machinelearningservices, whose pipeline carries the raw JSON reads (and the
    remediation writes); ``authorization``: azure-mgmt-authorization; ``subscriptions``: the
    subscription listing. All share one credential and one HTTP connection pool, and run the pipeline
    of :func:`arm_policies`. Built lazily because importing a generated SDK costs 30-140 ms of CPU: a
    client a scan never needs (the subscription listing when subscriptions are given) is never
    imported, and the others are imported by the worker that first needs them, while the rest wait
    on the network.
    """

    def __init__(self, credential: CachingCredential, endpoint: str, scope: str, session: Session) -> None:
        self.endpoint = endpoint
        self.scope = scope
        self.credential = credential
        self._session = session
        self._lock = threading.Lock()  # guards the two maps
        self._building: dict[str, threading.Lock] = {}  # one lock per client: building one blocks no other
        self._built: dict[str, Any] = {}

    def options(self, *, models: bool) -> dict[str, Any]:
        """Keyword arguments for a generated management client of this scan."""
        from azure.core.pipeline.transport import RequestsTransport

        return {"base_url": self.endpoint, "credential_scopes": [self.scope],
                "policies": arm_policies(self.credential, self.scope, self.endpoint, models=models),
                "transport": RequestsTransport(session=self._session, session_owner=False)}

    def shared(self, name: str, build: Callable[[], Any]) -> Any:
        """The client called ``name``, built by ``build`` the first time (once, whichever thread asks).

        A built client is returned without taking a lock (every request asks for one); while a client
        is being built (its SDK imported, ~30-140 ms), only the threads asking for that same client wait.
        """
        client = self._built.get(name)
        if client is not None:
            return client
        with self._lock:
            building = self._building.setdefault(name, threading.Lock())
        with building:
            client = self._built.get(name)
            if client is None:
                client = build()
                with self._lock:
                    self._built[name] = client
            return client

    @property
    def ml(self) -> MachineLearningServicesMgmtClient:
        def build() -> MachineLearningServicesMgmtClient:
            from azure.mgmt.machinelearningservices import MachineLearningServicesMgmtClient

            return MachineLearningServicesMgmtClient(self.credential, UNUSED_SUBSCRIPTION,
                                                     **self.options(models=False))

        client: MachineLearningServicesMgmtClient = self.shared("ml", build)
        return client

    @property
    def authorization(self) -> AuthorizationManagementClient:
        def build() -> AuthorizationManagementClient:
            from azure.mgmt.authorization import AuthorizationManagementClient

            return AuthorizationManagementClient(self.credential, UNUSED_SUBSCRIPTION, **self.options(models=True))

        client: AuthorizationManagementClient = self.shared("authorization", build)
        return client

    @property
    def subscriptions(self) -> SubscriptionClient:
        def build() -> SubscriptionClient:
            from azure.mgmt.resource.subscriptions import SubscriptionClient

            return SubscriptionClient(self.credential, **self.options(models=True))

        client: SubscriptionClient = self.shared("subscriptions", build)
        return client

    def url(self, path: str, api_version: str) -> str:
        """The absolute URL of ``path`` (a resource id or collection path) at ``api_version``."""
        return f"{self.endpoint}{quote(path, safe=_PATH_SAFE)}?api-version={api_version}"

    def list_pages(self, path: str, api_version: str, operation: str,
                   query: str = "") -> Iterator[list[dict[str, Any]]]:
        """Pages of a collection list (``query``: e.g. ``&$filter=...``), following every ``nextLink``."""
        return pages_through(self.ml, self.endpoint, self.url(path, api_version) + query, operation)

    def close(self) -> None:
        with self._lock:
            built, self._built = list(self._built.values()), {}
        for client in built:
            client.close()
        self._session.close()


def make_session(max_workers: int) -> Session:
    """One requests session whose connection pool holds a connection per worker.

    Retries stay with azure-core's RetryPolicy (urllib3's are off, as azure-core sets them); the
    session trusts the environment (``REQUESTS_CA_BUNDLE``, proxies) like azure-core's own.
    """
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    session = requests.Session()
    session.trust_env = True
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(max_workers, 10),
                          max_retries=Retry(total=False, redirect=False, raise_on_status=False))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
