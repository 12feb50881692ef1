"""Shards: ``--shard K/N`` splits a scan's scopes over N jobs that together read everything exactly once.

A scope is what a provider lists before it reads any resource: an AWS account and region, an Azure
subscription. Its key (:func:`aws_scope`, :func:`azure_scope`) is the string findings.json records under
``scan.scopes``. The listed scopes are put in the order of their keys' SHA-256 (read as a number; the key
itself breaks a tie) and cut into N runs of consecutive scopes whose sizes differ by at most one: shard K owns
the K-th run. The hash is stable (never Python's ``hash()``, which changes with every process), so N jobs given
the same arguments, on any machine and in any order, partition the same scope list; and the shares are
balanced, where a hash taken modulo N leaves one shard with far more than its share about one time in ten
(82 scopes into 4: 29 for one shard, against 20 or 21 here).

The price of the balance is that a scope's shard depends on what else was listed. Cutting the hash order into
runs keeps that small: a scope that appears (or disappears) between the shards' runs moves at most one scope
across each boundary, where dealing the hash order round-robin would move most of them. Each shard records what
it listed beside what it read, and ``auditor merge`` (:mod:`auditor.merge`) reports any listed scope that no
shard read as a failed coverage row, so a changed listing is never a silent gap.

Each provider takes its share (:meth:`Shard.share`, :meth:`Shard.select`) where it decides its scopes, before any
resource is read.
:class:`Provenance` is what a scan records so that its shards can be checked before they are merged: the
shard, the scopes it owned and listed, the scan's arguments, and the digests of the catalog, policy and waivers
it evaluated (:mod:`auditor.digests`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from auditor.errors import ConfigError

T = TypeVar("T")

_SPEC = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")
MAX_SHARDS = 10_000


@dataclass(frozen=True, slots=True, order=True)
class Shard:
    """Shard ``index`` (1-based) of ``total``."""

    index: int
    total: int

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.total <= MAX_SHARDS:
            raise ValueError(f"not a shard: {self.index}/{self.total}")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``K/N`` with 1 <= K <= N; ConfigError (field ``--shard``) for anything else."""
        match = _SPEC.fullmatch(text)
        if match is None:
            raise ConfigError(f"'{text}' is not K/N (e.g. 2/4: the second of four shards)", field="--shard")
        index, total = int(match.group(1)), int(match.group(2))
        if total < 1 or total > MAX_SHARDS:
            raise ConfigError(f"'{text}': N must be between 1 and {MAX_SHARDS:,}", field="--shard")
        if not 1 <= index <= total:
            raise ConfigError(f"'{text}': K must be between 1 and N ({total})", field="--shard")
        return cls(index, total)

    @property
    def whole(self) -> bool:
        """The unsharded scan: 1/1 owns every scope."""
        return self.total == 1

    def share(self, keys: Iterable[str]) -> frozenset[str]:
        """The scope keys of ``keys`` (every scope the scan listed; duplicates count once) this shard owns: its
        run of the keys in hash order (see the module)."""
        if self.total == 1:
            return frozenset(keys)
        ordered = sorted(set(keys), key=_position)
        start, end = ((self.index - 1) * len(ordered)) // self.total, (self.index * len(ordered)) // self.total
        return frozenset(ordered[start:end])

    def select(self, items: Sequence[T], key: Callable[[T], str] | None = None) -> tuple[T, ...]:
        """The ``items`` (every item the scan listed) this shard owns, in order; ``key`` maps an item to its scope
        key (default: itself)."""
        keyed = [(item, key(item) if key is not None else str(item)) for item in items]
        mine = self.share(k for _, k in keyed)
        return tuple(item for item, k in keyed if k in mine)

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"


WHOLE = Shard(1, 1)


def partition(keys: Iterable[str], total: int) -> dict[Shard, frozenset[str]]:
    """Each of the ``total`` shards' share of ``keys``, as the providers decide them: each provider (the key's
    prefix, ``aws:`` or ``azure:``) partitions its own scopes, so ``keys`` of several providers are split per
    provider."""
    by_provider: dict[str, list[str]] = {}
    for key in keys:
        by_provider.setdefault(key.partition(":")[0], []).append(key)
    shards = [Shard(k, total) for k in range(1, total + 1)]
    return {shard: frozenset().union(*(shard.share(group) for group in by_provider.values())) for shard in shards}


def _position(key: str) -> tuple[int, str]:
    """Where a scope key falls in the hash order: its SHA-256 as a number, then the key itself."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest(), "big"), key


def aws_scope(account: str, region: str) -> str:
    """The scope key of an AWS account's region (as ``scan.scopes`` records it)."""
    return f"aws:{account}:{region}"


def azure_scope(subscription: str) -> str:
    """The scope key of an Azure subscription (its id compares case-insensitively: lower case)."""
    return f"azure:{subscription.lower()}"


@dataclass(frozen=True, slots=True)
class Digests:
    """SHA-256 (hex) of the canonical content of what decided the verdicts (:mod:`auditor.digests`)."""

    catalog: str
    policy: str
    waivers: str

    def as_dict(self) -> dict[str, str]:
        return {"catalog": self.catalog, "policy": self.policy, "waivers": self.waivers}


@dataclass(frozen=True)
class Provenance:
    """What a run records for ``auditor merge`` to check its shards against each other.

    ``owned``: the scope keys the shard read. ``arguments``: the providers and their scan options as given
    (``providers`` first; a value that could be sensitive recorded as its digest). ``merged_from``: for a
    merged result, the shards it was made from (a merged result is itself shard 1/1).
    """

    shard: Shard
    owned: tuple[str, ...]
    arguments: Mapping[str, Any]
    digests: Digests | None
    merged_from: tuple[Shard, ...] = field(default=())
    listed: tuple[str, ...] = ()  # sharded: every scope key the shard listed (its share is ``owned``)


# Options whose values are recorded as their digest: an external id is no secret, but nothing that might be one
# is ever written.
_DIGESTED = ("external_id", "secret", "token", "password")


def recorded_arguments(providers: Iterable[str], values: Mapping[str, Any]) -> dict[str, Any]:
    """The scan's arguments as findings.json records them: the providers, then each option's value (lists for
    repeated options) by parameter name, sorted; a possibly sensitive value as ``sha256:<hex>``."""
    recorded: dict[str, Any] = {"providers": list(providers)}
    for name in sorted(values):
        value = values[name]
        if isinstance(value, tuple | list):
            value = list(value)
        if value is not None and any(word in name for word in _DIGESTED):
            value = "sha256:" + hashlib.sha256(str(value).encode("utf-8")).hexdigest()
        elif isinstance(value, str):
            value = _without_userinfo(value)
        recorded[name] = value
    return recorded


def _without_userinfo(value: str) -> str:
    """A URL's ``user:password@`` replaced by ``<redacted>@`` (an endpoint option could carry one)."""
    scheme, sep, rest = value.partition("://")
    host, at, tail = rest.partition("@")
    if not sep or not at or "/" in host:
        return value
    return f"{scheme}://<redacted>@{tail}"
