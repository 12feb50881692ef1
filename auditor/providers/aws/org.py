"""Scan many AWS accounts at once: an organisation (``--org``) or named accounts (``--account``), through a role.

The stages, each finished before the next starts:

1. who the caller is (``sts:GetCallerIdentity``) and, with ``--org``, the organisation's accounts
   (``organizations:ListAccounts``, every page), narrowed by ``--account`` and ``--exclude-account``;
2. per account, in the shared pool: the role ``arn:<partition>:iam::<account>:role/<NAME>`` assumed (the
   caller's own account is read with the caller's credentials) and its regions (``--region``, or the account's
   enabled SageMaker regions);
3. :func:`plan_scopes`: the (account, region) pairs to read, and the accounts that cannot be read, decided in
   one place before any resource is read (where a partition of the scan's scopes applies);
4. every account's collection (:func:`auditor.providers.aws.collect._scan`) in one :class:`TaskPool`, each
   account a :class:`TaskGroup` whose lanes are its own regions, so no account starves another.

An account that cannot be read (its role cannot be assumed, it is suspended, it is not in the organisation, its
regions cannot be listed) becomes one failed coverage row on ``arn:<partition>:sagemaker:*:<account>:*`` covering
every AWS resource type: one ERROR finding per rule, exit 2, never a PASS. The other accounts are read in full.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

from auditor.errors import ConfigError
from auditor.model import CoverageRow, Inventory, Resource
from auditor.progress import Progress
from auditor.providers.aws import accounts as aws_accounts
from auditor.providers.aws import session as aws_session
from auditor.providers.aws.accounts import DEFAULT_DURATION, Clock
from auditor.providers.aws.collect import MAX_ROW_ERROR, AwsOptions, _scan, start
from auditor.providers.aws.resource_types import TYPES
from auditor.providers.aws.session import AwsCallError, AwsClients, Identity, one_line
from auditor.providers.declared import ids
from auditor.providers.pool import TaskGroup, TaskPool
from auditor.shard import Shard, aws_scope

if TYPE_CHECKING:
    import boto3

__all__ = ["AwsOrgOptions", "ScanPlan", "collect_org", "plan_scopes"]

# Accounts collected at once: max_workers // 2 (8 by default) keep the pool's 16 workers busy, and bound the
# clients alive (measured: a 40-account scan peaked at 334-357 MB with every account's clients alive at once).
ACCOUNT_WINDOW_DIVISOR = 2


@dataclass(frozen=True)
class AwsOrgOptions:
    """``auditor scan aws --org`` / ``--account``: the single-account options plus how to reach the others."""

    base: AwsOptions
    role_name: str
    external_id: str | None = None
    org: bool = False  # list the organisation's accounts
    accounts: tuple[str, ...] = ()  # --account: only these (without --org: these, not listed)
    exclude: tuple[str, ...] = ()  # --exclude-account
    duration: int = DEFAULT_DURATION  # seconds an assumed role's credentials last before they are refreshed


@dataclass(frozen=True)
class ScanPlan:
    """What an organisation's scan reads, decided before any resource is read.

    ``pairs``: the (account, region) pairs to collect, sorted; ``failed``: (account, reason) of the accounts
    that cannot be read, sorted. Each is a scope of the scan: ``aws:<account>:<region>``, and ``aws:<account>:*``
    for a failed account (:attr:`scopes`).
    """

    pairs: tuple[tuple[str, str], ...]
    failed: tuple[tuple[str, str], ...]

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(sorted([f"aws:{a}:{r}" for a, r in self.pairs] + [f"aws:{a}:*" for a, _ in self.failed]))

    def regions(self, account: str) -> tuple[str, ...]:
        return tuple(r for a, r in self.pairs if a == account)

    @property
    def accounts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a for a, _ in self.pairs))


def plan_scopes(regions: Mapping[str, Sequence[str]], failed: Mapping[str, str]) -> ScanPlan:
    """The one place the (account, region) pairs of an organisation's scan are decided: every region of every
    readable account, and the accounts that cannot be read. A partition of the scan (one job of several) is a
    filter of what this returns."""
    pairs = sorted({(account, region) for account, names in regions.items() for region in names})
    return ScanPlan(pairs=tuple(pairs), failed=tuple(sorted(failed.items())))


def owned_by(plan: ScanPlan, shard: Shard) -> ScanPlan:
    """The share of ``plan`` shard ``shard`` reads: of the plan's scopes (its pairs ``aws:<account>:<region>`` and
    its failed accounts ``aws:<account>:*``, partitioned together), the pairs it owns, and the failed accounts it
    owns (each reported by exactly one shard)."""
    if shard.whole:
        return plan
    mine = shard.share(plan.scopes)
    return ScanPlan(pairs=tuple(pair for pair in plan.pairs if aws_scope(*pair) in mine),
                    failed=tuple(f for f in plan.failed if f"aws:{f[0]}:*" in mine))


@dataclass(frozen=True)
class _Reach:
    """An account reached: its clients (the caller's or the assumed role's), whom they act as, its regions."""

    clients: AwsClients
    identity: Identity
    regions: tuple[str, ...]


def collect_org(options: AwsOrgOptions, progress: Progress | None = None, *,
                session: boto3.Session | None = None, clock: Clock | None = None) -> Inventory:
    """Collect every account ``options`` name; what cannot be read is in the coverage rows (see the module)."""
    base = options.base
    started = start(base, session)
    if isinstance(started, Inventory):
        return started
    clients, home, caller, asked = started
    listed = None
    if options.org:
        try:
            listed = aws_accounts.list_accounts(clients, home)
        except AwsCallError as exc:
            error = (f"cannot list the organisation's accounts (organizations:ListAccounts, from the management "
                     f"or a delegated administrator account): {exc.failure.reason}")
            return _accounts_not_read(caller.partition, {"*": error}, ())
        if not listed:  # AWS lists the management account at least: say so rather than scan nothing
            return _accounts_not_read(caller.partition, {"*": "organizations:ListAccounts listed no account"}, ())
    wanted = aws_accounts.targets(options.accounts, options.exclude, listed)
    if not wanted:
        raise ConfigError("no account is left to scan once the excluded accounts are left out",
                          field="--exclude-account")

    pool = TaskPool(base.max_workers, progress)
    reached: dict[str, _Reach] = {}
    failed: dict[str, str] = {t.account: t.error for t in wanted if t.error}
    setup = TaskGroup(pool, "accounts")

    def reach(account: str) -> None:
        if account == caller.account:
            member, identity = clients, caller
        else:
            arn = aws_accounts.role_arn(caller.partition, account, options.role_name)
            try:
                assumed = aws_accounts.assumed_session(clients.session, clients, home, arn, options.external_id,
                                                       options.duration, clock)
            except AwsCallError as exc:
                failed[account] = aws_accounts.denial(account, arn, exc.failure)
                return
            member, identity = AwsClients(assumed, base.max_workers), Identity(account, arn, caller.partition)
        regions = asked
        if not regions:
            try:
                regions = aws_session.discover_regions(member, home, caller.partition)
            except AwsCallError as exc:
                failed[account] = (f"cannot discover the regions of account {account} (ec2:DescribeRegions): "
                                   f"{exc.failure.reason}; pass --region")
                return
            if not regions:
                failed[account] = f"no enabled region of account {account} offers SageMaker"
                return
        reached[account] = _Reach(member, identity, regions)

    try:
        setup.submit_many(("sts", home), [partial(reach, t.account) for t in wanted if not t.error])
        setup.wait()
        plan = plan_scopes({a: r.regions for a, r in reached.items()}, failed)
        listed_scopes = () if base.shard.whole else plan.scopes
        plan = owned_by(plan, base.shard)
        for account in reached.keys() - set(plan.accounts):  # another shard reads it: its clients are not needed
            if reached[account].clients is not clients:
                reached[account].clients.close()
        inventories = _collect_accounts(pool, plan, reached, home, base.max_workers, clients)
    finally:
        pool.wait()
    merged = _merge(inventories, _accounts_not_read(caller.partition, dict(plan.failed), plan.scopes))
    return replace(merged, listed=listed_scopes) if listed_scopes else merged


def _collect_accounts(pool: TaskPool, plan: ScanPlan, reached: Mapping[str, _Reach], home: str,
                      max_workers: int, caller: AwsClients) -> list[Inventory]:
    """Each planned account collected by ``collect._scan`` in a group of the shared pool; in account order.

    A member account's clients are closed once it is done; the ``caller``'s stay open (they assume the roles)."""
    accounts = plan.accounts
    if not accounts:
        return []

    lock = threading.Lock()
    finished = [0]

    def one(account: str) -> Inventory:
        reach = reached[account]
        try:
            return _scan(reach.clients, reach.identity, home, plan.regions(account), max_workers, None,
                         pool=TaskGroup(pool, account), many_accounts=True)
        finally:
            if reach.clients is not caller:
                reach.clients.close()
                with lock:
                    finished[0] += 1
                    sweep = finished[0] % window == 0
                if sweep:
                    # botocore clients hold reference cycles, and the scan's collector thresholds (cli._scan_gc)
                    # leave them to rare full collections: free the finished accounts' clients now.
                    gc.collect()

    # A coordinator per account in the window waits for its group while the pool's workers do the calls: at
    # most ``window`` accounts hold clients (measured: ~3.5 MB and up to a connection pool each) at once.
    window = max(1, min(len(accounts), max_workers // ACCOUNT_WINDOW_DIVISOR))
    with ThreadPoolExecutor(max_workers=window, thread_name_prefix="auditor-account") as coordinators:
        return list(coordinators.map(one, accounts))


def account_row(partition: str, account: str, error: str) -> CoverageRow:
    """The failed coverage row of an account that could not be read: every AWS resource type, so every rule
    gets one ERROR finding on ``arn:<partition>:sagemaker:*:<account>:*``."""
    return CoverageRow(provider="aws", account=account, region="*", service="account",
                       scope_id=f"arn:{partition}:sagemaker:*:{account}:*", resource_types=ids(TYPES),
                       resources=0, error=one_line(error, MAX_ROW_ERROR))


def _accounts_not_read(partition: str, failed: Mapping[str, str], scopes: Sequence[str]) -> Inventory:
    rows = tuple(account_row(partition, account, error) for account, error in sorted(failed.items()))
    extra = tuple(f"aws:{account}:*" for account in sorted(failed) if f"aws:{account}:*" not in scopes)
    return Inventory(resources=(), coverage=rows, scopes=(*scopes, *extra))


def _merge(inventories: Sequence[Inventory], failures: Inventory) -> Inventory:
    """One inventory of every account: resources by (type, id), coverage rows by (service, account, region),
    the plan's scopes. A resource two accounts read (a capture bucket or key shared across accounts) is kept
    once, as the first account in account order read it."""
    first: dict[tuple[str, str], Resource] = {}
    for inv in inventories:
        for r in inv.resources:
            first.setdefault((r.type, r.id), r)
    resources = list(first.values())
    coverage = [c for inv in (*inventories, failures) for c in inv.coverage]
    return Inventory(
        resources=tuple(sorted(resources, key=lambda r: (r.type, r.id))),
        coverage=tuple(sorted(coverage, key=lambda c: (c.service, c.account, c.region))),
        scopes=failures.scopes,
    )
