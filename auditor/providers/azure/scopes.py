"""What an Azure scan covers, decided in one place before any resource is read.

:func:`plan_scopes` turns the options into a :class:`ScanScopes`: the subscriptions to scan, the subscriptions
whose role assignments are pooled for the least-privilege rule, and the management-group scopes whose role
assignments are read. Without ``--management-group`` the subscriptions are those asked for, else every one the
credential lists; with it, every subscription under the group at any depth (``--subscription`` then narrows
the scan to those of the group's subscriptions it names; a named one that is not under the group is a failed
coverage row). A shard (``--shard K/N``) filters :attr:`ScanScopes.subscriptions` here, with
:meth:`ScanScopes.owned`: the pooled role assignments stay those of every subscription, because an identity
scanned by one shard may hold a role in a subscription another shard scans.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from auditor.providers.azure.arm import AzureCallError, failure_from
from auditor.providers.azure.management_groups import GroupTree, group_scope, read_group
from auditor.providers.azure.session import AzureClients


@dataclass(frozen=True)
class ScanScopes:
    subscriptions: tuple[str, ...]  # scanned: every resource of these is read
    pooled: tuple[str, ...]  # whose role assignments count for an identity wherever it is scanned
    group_scopes: tuple[str, ...] = ()  # management-group scopes whose role assignments count
    missing: tuple[tuple[str, str], ...] = ()  # (subscription asked for, why it is not scanned)
    tree: GroupTree | None = None

    def owned(self, keep: Callable[[str], bool]) -> ScanScopes:
        """The scopes a shard owns: the subscriptions ``keep`` accepts; pooled assignments unchanged."""
        return replace(self, subscriptions=tuple(s for s in self.subscriptions if keep(s)),
                       missing=tuple(m for m in self.missing if keep(m[0])))

    @property
    def pools_assignments(self) -> bool:
        """Whether role assignments beyond an identity's own subscription are read (several subscriptions or
        a management group): one subscription scanned alone reads only its own, as it always did."""
        return len(self.pooled) > 1 or bool(self.group_scopes)


class ScopeError(Exception):
    """The scan's scopes cannot be known: ``scope`` (an id, or ``/subscriptions``) and why."""

    def __init__(self, scope: str, reason: str) -> None:
        super().__init__(reason)
        self.scope = scope
        self.reason = reason


def list_subscriptions(clients: AzureClients) -> tuple[str, ...]:
    """Every subscription the credential can list (deleted ones excepted); AzureCallError on failure."""
    try:
        found = [(str(s.subscription_id), str(s.state or "")) for s in clients.subscriptions.subscriptions.list()
                 if s.subscription_id]
    except Exception as exc:
        failure = failure_from("list subscriptions", exc)
        if failure is None:
            raise
        raise AzureCallError(failure) from exc
    return tuple(dict.fromkeys(sid for sid, state in found if state.lower() != "deleted"))


def plan_scopes(clients: AzureClients, asked: tuple[str, ...], group: str | None) -> ScanScopes:
    """The scan's scopes; ScopeError when the subscriptions (or the management group) cannot be read."""
    if group:
        return _group_scopes(clients, asked, group)
    if asked:
        return ScanScopes(asked, asked)
    try:
        listed = list_subscriptions(clients)
    except AzureCallError as exc:
        reason = exc.failure.reason
        if exc.failure.kind == "unreachable":
            reason = f"could not connect to the Resource Manager at {clients.endpoint}: {reason}"
        raise ScopeError("/subscriptions", f"cannot list subscriptions: {reason}; pass --subscription") from exc
    if not listed:
        raise ScopeError("/subscriptions", "cannot list subscriptions: the credential can list no subscription; "
                                           "pass --subscription")
    return ScanScopes(listed, listed)


def _group_scopes(clients: AzureClients, asked: tuple[str, ...], group: str) -> ScanScopes:
    try:
        tree = read_group(clients, group)
    except AzureCallError as exc:
        reason = exc.failure.reason
        if exc.failure.kind == "unreachable":
            reason = f"could not connect to the Resource Manager at {clients.endpoint}: {reason}"
        raise ScopeError(group_scope(group), f"cannot read management group {group}: {reason}") from exc
    if not tree.subscriptions:
        raise ScopeError(group_scope(group), f"management group {group} holds no subscription, nested groups "
                                             "included")
    under = {s.lower(): s for s in tree.subscriptions}
    scanned = tuple(under[s.lower()] for s in asked if s.lower() in under) if asked else tree.subscriptions
    missing = tuple((s, f"subscription {s} is not under management group {tree.group} (nested groups included)")
                    for s in asked if s.lower() not in under)
    return ScanScopes(scanned, tree.subscriptions, tree.scopes(), missing, tree)
