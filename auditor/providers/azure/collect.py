"""Collect the Azure Machine Learning estate an ML-serving audit needs: the public entry point of the Azure layer.

Workspaces of every subscription asked for (or every subscription the credential can list, or every one
under ``--management-group``: :mod:`auditor.providers.azure.scopes` decides, before anything else is read),
and under each workspace its computes, online endpoints with their deployments, serverless endpoints and
v1 web services; the role assignments of every online endpoint's managed identities, with role names
(pooled across every scanned subscription and management group when there are several:
:mod:`auditor.providers.azure.role_pool`); the API Management services of the same subscriptions with
their APIs, backends, products and policies (:mod:`auditor.providers.azure.apim`). The pipeline links
each API to the model endpoints it fronts once every cloud is collected
(:func:`auditor.providers.azure.apim_links.link_gateways`, through ``auditor.pipeline.link``), so a
gateway in front of SageMaker is linked too. Documents are the raw Resource Manager JSON (see
:mod:`auditor.providers.azure.ml` for the SDK decision), with secret values redacted.

One credential and one token serve the scan (a thread-safe cache in front of the azure-identity
credential), each SDK client is built once and shared, and one bounded pool runs the work with a
soft per-subscription bound, pipelined: children lists start as soon as their workspace is known.

Errors are data: a subscription or workspace whose lists fail becomes a CoverageRow with ``error``
(for a subscription, covering every ML resource type); an endpoint whose identity's role
assignments cannot be read says so in ``unreadable``. Only a credential that cannot get a token at
all stops the collection: every subscription asked for (or ``/subscriptions`` when none was) becomes
a failed coverage row naming the cause, so the scan still writes its findings (ERROR) and exits 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.errors import ConfigError
from auditor.model import CoverageRow, Inventory, Resource
from auditor.progress import Progress
from auditor.providers import CollectionSetupError
from auditor.providers.azure import resource_types as declared
from auditor.providers.azure import session as azure_session
from auditor.providers.azure.ai import AiSubscription
from auditor.providers.azure.apim import ApimClient, ApimSubscription
from auditor.providers.azure.arm import one_line
from auditor.providers.azure.management_groups import group_scope
from auditor.providers.azure.ml import WORKSPACES_SERVICE, MlSubscription
from auditor.providers.azure.resource_types import scan_actions
from auditor.providers.azure.role_pool import AssignmentPool
from auditor.providers.azure.roles import RoleCollector
from auditor.providers.azure.scopes import ScanScopes, ScopeError, plan_scopes
from auditor.providers.azure.session import CREDENTIAL_KINDS, AzureClients, CachingCredential
from auditor.providers.declared import ids
from auditor.providers.pool import TaskPool
from auditor.shard import WHOLE, Shard, azure_scope

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

__all__ = ["PERMISSIONS", "AzureOptions", "collect_azure"]

# The read actions of the scan, generated from the declared resource types.
PERMISSIONS: tuple[str, ...] = scan_actions()

_HINTS = {
    "default": "sign in with 'az login', set AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET, or run where a "
               "managed identity is available",
    "cli": "run 'az login' (the Azure CLI must be on PATH)",
    "managed-identity": "run on an Azure host with a managed identity (set AZURE_CLIENT_ID for a user-assigned one)",
    "workload-identity": "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE",
    "environment": "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH)",
}


@dataclass(frozen=True)
class AzureOptions:
    subscriptions: tuple[str, ...] = ()  # empty = every subscription the credential can list
    credential: str = "default"  # default|cli|managed-identity|workload-identity|environment
    arm_endpoint: str | None = None  # else env AUDITOR_ARM_ENDPOINT, else https://management.azure.com
    max_workers: int = 16
    management_group: str | None = None  # scan every subscription under it (nested groups included)
    shard: Shard = WHOLE  # --shard K/N: only the subscriptions this shard owns


def collect_azure(options: AzureOptions, progress: Progress | None = None, *,
                  credential: TokenCredential | None = None) -> Inventory:
    """Collect the Azure inventory described by ``options``.

    ``credential`` (keyword only, for tests and embedding) replaces the one ``options.credential``
    names. Raises ConfigError for a bad option. When no token can be had (or the SDK is missing),
    the inventory's coverage rows say so for every subscription asked for.
    """
    if options.max_workers < 1:
        raise ConfigError("must be at least 1", field="max_workers")
    if credential is None and options.credential not in CREDENTIAL_KINDS:
        raise ConfigError(f"unknown credential '{options.credential}' (choose from {', '.join(CREDENTIAL_KINDS)})",
                          field="--credential")
    endpoint = azure_session.arm_endpoint(options.arm_endpoint)
    asked = tuple(dict.fromkeys(s.strip() for s in options.subscriptions if s.strip()))
    try:
        session = azure_session.make_session(options.max_workers)
    except ImportError as exc:
        return _not_collected(asked, f"the Azure SDK is not installed: {exc}", options.management_group)

    owned = credential is None
    cache: CachingCredential | None = None
    clients: AzureClients | None = None
    try:
        scope = azure_session.token_scope(endpoint, session)
        kind = options.credential if credential is None else type(credential).__name__
        try:
            cache = CachingCredential(credential if credential is not None else _make_credential(options.credential))
            _first_token(cache, scope, kind)
        except CollectionSetupError as exc:
            return _not_collected(asked, str(exc), options.management_group)
        clients = AzureClients(cache, endpoint, scope, session)
        try:
            scopes = plan_scopes(clients, asked, (options.management_group or "").strip() or None)
        except ScopeError as exc:
            return _scope_failed(exc.scope, exc.reason)
        every = tuple(azure_scope(s) for s in (*scopes.subscriptions, *(m[0] for m in scopes.missing)))
        mine = options.shard.share(every)
        share = scopes.owned(lambda subscription: azure_scope(subscription) in mine)
        listed = () if options.shard.whole else every
        return _scan(clients, ApimClient(clients), share, options.max_workers, progress, listed)
    finally:
        if clients is not None:
            clients.close()
        else:
            session.close()
        if cache is not None and owned:
            cache.close()


def _make_credential(kind: str) -> TokenCredential:
    try:
        return azure_session.make_credential(kind)
    except ValueError as exc:  # e.g. WorkloadIdentityCredential without its environment
        raise CollectionSetupError(
            f"cannot set up the '{kind}' Azure credential: {one_line(str(exc), 600)}; {_HINTS.get(kind, '')}"
        ) from exc


def _first_token(cache: CachingCredential, scope: str, kind: str) -> None:
    """Get the scan's token up front: no token at all is a setup error, not a collection error."""
    from azure.core.exceptions import AzureError

    try:
        cache.get_token(scope)
    except (AzureError, ValueError, OSError) as exc:
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        hint = _HINTS.get(kind, "check the credential's configuration")
        raise CollectionSetupError(
            f"cannot get an Azure token for {scope} with the '{kind}' credential: "
            f"{one_line(str(message), 600)}; {hint}"
        ) from exc


def _not_collected(asked: tuple[str, ...], reason: str, group: str | None = None) -> Inventory:
    """Nothing could be read: one failed row per subscription asked for, or ``/subscriptions`` for all (the
    management group, when one was named)."""
    if group and group.strip():
        return _scope_failed(group_scope(group.strip()), reason)
    error = one_line(reason or "the collection could not start (no reason given)", 1000)
    types = ids(declared.TYPES)  # every type: what a subscription holds is unknown
    rows = tuple(CoverageRow("azure", sub, "*", WORKSPACES_SERVICE, f"/subscriptions/{sub}", types, 0, error)
                 for sub in asked) or (CoverageRow("azure", "*", "*", WORKSPACES_SERVICE, "/subscriptions", types, 0,
                                                   error),)
    return Inventory(resources=(), coverage=rows, scopes=tuple(f"azure:{sub}" for sub in asked) or ("azure:*",))


def _scope_failed(scope_id: str, reason: str) -> Inventory:
    """The scan's scopes could not be known: one failed row naming ``scope_id`` (``/subscriptions`` or a group)."""
    if scope_id == "/subscriptions":
        return _not_collected((), reason)
    error = one_line(reason or "the collection could not start (no reason given)", 1000)
    row = CoverageRow("azure", "*", "*", WORKSPACES_SERVICE, scope_id, ids(declared.TYPES), 0, error)
    return Inventory(resources=(), coverage=(row,), scopes=("azure:*",))


def _scan(clients: AzureClients, apim: ApimClient, scopes: ScanScopes, max_workers: int,
          progress: Progress | None, listed: tuple[str, ...] = ()) -> Inventory:
    subscriptions = scopes.subscriptions
    pool = TaskPool(max_workers, progress)
    roles = RoleCollector(clients, pool)
    # A shard that owns no subscription scans no endpoint: the pooled assignments would serve nothing.
    pooled = AssignmentPool(clients, pool, roles) if scopes.pools_assignments and subscriptions else None
    scanners: list[MlSubscription | ApimSubscription | AiSubscription] = [
        MlSubscription(subscription, clients, pool, roles) for subscription in subscriptions]
    scanners += [ApimSubscription(subscription, apim, pool) for subscription in subscriptions]
    scanners += [AiSubscription(subscription, clients, pool, roles) for subscription in subscriptions]
    try:
        if pooled is not None:
            pooled.start(scopes.pooled, scopes.group_scopes)
        for scanner in scanners:
            scanner.start()
    finally:
        pool.wait()

    resources: list[Resource] = []
    coverage: list[CoverageRow] = []
    for scanner in scanners:
        found = scanner.resources()
        resources.extend(found)
        coverage.extend(scanner.coverage(found))
    if pooled is not None:
        resources = pooled.apply(resources)
    types = ids(declared.TYPES)
    coverage += [CoverageRow("azure", sub, "*", WORKSPACES_SERVICE, f"/subscriptions/{sub}", types, 0,
                             one_line(reason, 1000)) for sub, reason in scopes.missing]
    return Inventory(
        resources=tuple(sorted(resources, key=lambda r: (r.type, r.id))),
        coverage=tuple(sorted(coverage, key=lambda c: (c.service, c.account, c.scope_id.lower()))),
        scopes=tuple(f"azure:{subscription}" for subscription in (*subscriptions, *(m[0] for m in scopes.missing))),
        listed=listed,
    )
