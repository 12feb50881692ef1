"""Shards: ``--shard K/N`` splits a scan's scopes over N jobs that together read everything exactly once.

A scope is what a provider lists before it reads any resource: an AWS account and region, an Azure
subscription. Its key (:func:`aws_scope`, :func:`azure_scope`) is the string findings.json records under
``scan.scopes``. Shard K of N owns the scopes whose key's SHA-256, read as a number, is K-1 modulo N: a
stable hash (never Python's ``hash()``, which changes with every process), so N jobs given the same
arguments, on any machine and in any order, partition the same scope list. Each provider applies
:meth:`Shard.select` where it decides its scopes, before any resource is read; ``auditor merge``
(:mod:`auditor.merge`) puts the N findings files back together.

:class:`Provenance` is what a scan records so that its shards can be checked before they are merged: the
shard, the scopes it owned, the scan's arguments, and the digests of the catalog, policy and waivers it
evaluated (:mod:`auditor.digests`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
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

    def owns(self, scope_key: str) -> bool:
        """Whether this shard reads the scope ``scope_key`` (:func:`aws_scope`, :func:`azure_scope`)."""
        if self.total == 1:
            return True
        digest = hashlib.sha256(scope_key.encode("utf-8")).digest()
        return int.from_bytes(digest, "big") % self.total == self.index - 1

    def select(self, items: Iterable[T], key: Callable[[T], str] | None = None) -> tuple[T, ...]:
        """The ``items`` this shard owns, in order; ``key`` maps an item to its scope key (default: itself)."""
        return tuple(item for item in items if self.owns(key(item) if key is not None else str(item)))

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"


WHOLE = Shard(1, 1)


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
