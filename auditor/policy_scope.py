"""A policy's ``scope``: which resources each rule looks at, and an honest count of what it left out.

A scope entry governs the rules its ``rules`` globs (default: all) and ``providers`` name; it admits a
resource when the resource's account, region and tags match what the entry lists. Every entry governing a
rule must admit a resource, otherwise that rule gives the resource no finding, exactly as if the resource
were of another type.

The scope follows a serving endpoint to what it uses. Tags, accounts and regions are set on endpoints; the
configs, models, roles, keys, buckets, workspaces and deployments behind them rarely carry the same tags (an
IAM role is in no region at all). A user who scopes to ``env: prod`` endpoints means their models and keys
too, so an entry admits a resource when the resource itself matches, or when a resource that uses it
(directly or through others, :data:`~auditor.scope_model.USES`) matches: the role of a model of a config of
a prod endpoint is in a prod scope. A role that only dev endpoints use is not. Parts that cannot be tagged
(:data:`~auditor.scope_model.PART_OF`: an API Management API, backend or product) are in the scope of what
they are part of.

A scope-level ERROR (a region or subscription that could not be listed) is dropped only when its account or
region is known not to match; tags of resources never seen are unknown, so tag conditions never hide such an
ERROR.

Whatever an entry leaves out is counted (:class:`~auditor.scope_model.PolicyScope`): a scoped run never
looks cleaner than it is without saying so. findings.json writes it as ``policy_scope``; the console,
summary.md and the report say "N resources out of the policy's scope".
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from auditor.identity import folds_case, resource_key
from auditor.model import Finding, Inventory, Resource, Rule
from auditor.regions import canonical_azure_location
from auditor.scope_model import PART_OF, USES, PolicyScope


@dataclass(frozen=True)
class ScopeEntry:
    """One ``scope`` entry: the rules it governs and the resources it admits."""

    index: int
    rules: tuple[str, ...] = ("*",)
    providers: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    def governs(self, rule: Rule) -> bool:
        return any(fnmatch.fnmatchcase(rule.id, g) for g in self.rules) and (
            not self.providers or rule.provider in self.providers)

    def admits(self, provider: str, account: str, region: str, tags: Mapping[str, str] | None) -> bool:
        """``tags`` None: the resource was never seen (a scope-level ERROR); unknown values admit."""
        fold = folds_case(provider)  # Azure's subscription ids and tag names compare case-insensitively
        known = tags is not None
        if self.accounts and not _matches(account, self.accounts, str.lower if fold else str, known):
            return False
        # Azure locations compare canonically: a policy's ``West Europe`` is the findings' ``westeurope``.
        if self.regions and not _matches(region, self.regions, canonical_azure_location if fold else str, known):
            return False
        if not self.tags or tags is None:
            return True
        have = {(k.lower() if fold else k): v for k, v in tags.items()}
        return all(
            (key.lower() if fold else key) in have and fnmatch.fnmatchcase(have[key.lower() if fold else key], want)
            for key, want in self.tags.items()
        )

    def admits_resource(self, resource: Resource) -> bool:
        return self.admits(resource.provider, resource.account, resource.region, resource.tags)


def _matches(value: str, patterns: Sequence[str], spell: Callable[[str], str], known: bool) -> bool:
    if not known and (not value or "*" in value):
        return True
    v = spell(value)
    return any(fnmatch.fnmatchcase(v, spell(p)) for p in patterns)


def apply_scope(scope: Sequence[ScopeEntry], rules: Mapping[str, Rule], findings: Iterable[Finding],
                inventory: Inventory) -> tuple[tuple[Finding, ...], PolicyScope]:
    """The findings of resources in their rule's scope, and the count of what was left out."""
    if not scope:
        return tuple(findings), PolicyScope()
    users = _Users(inventory)
    kept: list[Finding] = []
    dropped: list[tuple[Finding, str]] = []
    for f in findings:
        rule = rules.get(f.rule_id)
        entries = [e for e in scope if rule is not None and e.governs(rule)]
        resource = users.resource(f.provider, f.resource_id)
        if resource is None:
            admitted = all(e.admits(f.provider, f.account, f.region, None) for e in entries)
        else:
            admitted = all(users.admitted(e, resource) for e in entries)
        if admitted:
            kept.append(f)
        else:
            dropped.append((f, resource_key(f.provider, f.resource_id)))
    return tuple(kept), _count(dropped)


def _count(dropped: Sequence[tuple[Finding, str]]) -> PolicyScope:
    resources: set[tuple[str, str]] = set()
    by_type: dict[str, set[str]] = {}
    by_rule: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    for f, key in dropped:
        resources.add((f.provider, key))
        by_type.setdefault(f.resource_type, set()).add(key)
        by_rule[f.rule_id] += 1
        by_status[f.status.value] += 1
    return PolicyScope(
        out_of_scope=len(resources),
        by_rule=dict(sorted(by_rule.items())),
        by_resource_type={t: len(ids) for t, ids in sorted(by_type.items())},
        findings=len(dropped),
        by_status=dict(sorted(by_status.items(), key=lambda item: (-item[1], item[0]))),
    )


class _Users:
    """The inventory indexed by id, with who uses each resource (the reverse of :data:`~auditor.scope_model.USES`)."""

    def __init__(self, inventory: Inventory) -> None:
        self._by_key = {(r.provider, resource_key(r.provider, r.id)): r for r in inventory.resources}
        self._users: dict[tuple[str, str], list[Resource]] = {}
        for r in inventory.resources:
            for name in USES.get(r.type, ()):
                for used in _ids(r.related.get(name)):
                    self._users.setdefault((r.provider, resource_key(r.provider, used)), []).append(r)
        for r in inventory.resources:  # a part's scope is its whole's: the whole counts as a user of the part
            whole_key = PART_OF.get(r.type)
            whole = self._by_key.get((r.provider, resource_key(r.provider, str(r.related.get(whole_key) or "")))) \
                if whole_key else None
            if whole is not None:
                self._users.setdefault((r.provider, resource_key(r.provider, r.id)), []).append(whole)
        self._chains: dict[tuple[str, str], tuple[Resource, ...]] = {}

    def resource(self, provider: str, resource_id: str) -> Resource | None:
        return self._by_key.get((provider, resource_key(provider, resource_id)))

    def admitted(self, entry: ScopeEntry, resource: Resource) -> bool:
        return entry.admits_resource(resource) or any(entry.admits_resource(u) for u in self._all_users(resource))

    def _all_users(self, resource: Resource) -> tuple[Resource, ...]:
        """Every resource that uses ``resource``, directly or through others."""
        start = (resource.provider, resource_key(resource.provider, resource.id))
        if start in self._chains:
            return self._chains[start]
        seen = {start}
        found: list[Resource] = []
        todo = [start]
        while todo:
            for user in self._users.get(todo.pop(), ()):
                key = (user.provider, resource_key(user.provider, user.id))
                if key not in seen:
                    seen.add(key)
                    found.append(user)
                    todo.append(key)
        self._chains[start] = tuple(found)
        return self._chains[start]


def _ids(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str)]
    return []

