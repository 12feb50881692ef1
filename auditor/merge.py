"""``auditor merge``: the findings files of a sharded scan (``--shard K/N``) put back together into one result.

Each shard's findings.json is read in turn (:func:`~auditor.findings.read.read_findings`, streamed) and folded
into the merged result before the next is read, so the shards are never all in memory at once, and the
merged result shares the shards' objects rather than copying them. The result is then compared with a
baseline, appended to a history, written and gated exactly as a scan is (``auditor.cli`` calls the scan's own
:func:`~auditor.pipeline.compare` and :func:`~auditor.pipeline.finish`).

Before anything is merged, every file is checked against the first (a ConfigError, exit 3, naming the file and
the field): the tool version, N, the scan's arguments (providers and their options), and the digests of the
catalog, policy and waivers. A file written without a shard record (an older version) is shard 1/1 and merges
only alone.

What the shards have in common is merged, not counted twice: a global resource (an IAM role, an S3 bucket, a
KMS key, an Azure role definition) reached from scopes of several shards is one resource and one finding per
rule (same id). Its shards read it separately and may disagree if it changed between their runs: the worst
status stands (ERROR, then FAIL, MUTED, PASS, NOT_APPLICABLE), the finding's evidence records every shard's
status under ``shard_statuses``, and :attr:`Merged.disagreements` lists it for the console. A coverage row
several shards wrote (the account's IAM and S3 rows, a region's KMS row) is one row that keeps every shard's
error. A shard that is missing, or given more than once, is a failed coverage row ("shard 2/4 missing") per
provider: the merged result is incomplete (exit 2). Each shard records every scope it listed: a scope some
shard listed that no shard read (the shards listed different scopes, so their shares moved; see
:mod:`auditor.shard`) is a failed coverage row of its own, and the console names the scopes not every shard
listed. A scope two shards read is merged as a global resource is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.errors import ConfigError
from auditor.identity import resource_key
from auditor.model import CoverageRow, Finding, Resource, Rule, ScanResult, Severity, Status, Waiver
from auditor.scope_model import PolicyScope
from auditor.shard import WHOLE, Digests, Provenance, Shard, partition

if TYPE_CHECKING:
    from auditor.console import Console

FINDINGS_FILE = "findings.json"
SHARD_SERVICE = "shard"
# Worst first: a status disagreement between shards keeps the worse one (unknown is never PASS).
_SEVERITY_OF_STATUS = {Status.ERROR: 4, Status.FAIL: 3, Status.MUTED: 2, Status.PASS: 1, Status.NOT_APPLICABLE: 0}


@dataclass(frozen=True, slots=True)
class Disagreement:
    """A finding its shards gave different statuses (the resource changed between their runs)."""

    finding_id: str
    rule_id: str
    resource_id: str
    statuses: Mapping[str, str]  # shard ("2/4") -> status
    kept: Status


@dataclass(frozen=True)
class Merged:
    result: ScanResult
    shards: tuple[Shard, ...]  # as given, one per file
    missing: tuple[Shard, ...]
    duplicated: tuple[Shard, ...]
    disagreements: tuple[Disagreement, ...]
    partly_listed: tuple[str, ...] = ()  # scopes not every shard listed (the estate changed between their runs)


def findings_files(paths: Sequence[Path]) -> list[Path]:
    """Each argument's findings file: a directory's ``findings.json``, or the file itself."""
    return [path / FINDINGS_FILE if path.is_dir() else path for path in paths]


def merge_files(paths: Sequence[Path], fail_on: Severity) -> Merged:
    """The shards' findings files (or their directories) merged into one result gated at ``fail_on``."""
    from auditor.findings.read import read_findings

    if not paths:
        raise ConfigError("name the shards' findings.json files or the directories that hold them", field="DIR")
    fold = _Fold()
    for path in findings_files(paths):
        if not path.is_file():
            raise ConfigError(f"no findings file at {path} (a shard's --out directory holds findings.json)",
                              file=str(path))
        fold.add(read_findings(path), str(path))
    return fold.merged(fail_on)


def _shard_of(result: ScanResult) -> Shard:
    return result.provenance.shard if result.provenance is not None else WHOLE


@dataclass
class _Fold:
    """The merge so far: each shard's result is folded in, then let go."""

    first: ScanResult | None = None
    first_source: str = ""
    shards: list[Shard] = field(default_factory=list)
    sources: dict[Shard, list[str]] = field(default_factory=dict)
    findings: dict[str, Finding] = field(default_factory=dict)
    statuses: dict[str, dict[str, Status]] = field(default_factory=dict)  # id -> shard -> status (when >1 shard)
    coverage: dict[tuple[str, ...], list[CoverageRow]] = field(default_factory=dict)
    resources: dict[tuple[str, str], Resource] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)
    scopes: dict[str, None] = field(default_factory=dict)
    expired: dict[int, Waiver] = field(default_factory=dict)
    active: dict[int, Waiver] = field(default_factory=dict)
    used: set[int] = field(default_factory=set)
    scope_counts: list[PolicyScope] = field(default_factory=list)
    started: list[Any] = field(default_factory=list)
    finished: list[Any] = field(default_factory=list)
    listed: dict[str, set[Shard]] = field(default_factory=dict)  # every scope key some shard listed: by whom
    owned: dict[Shard, set[str]] = field(default_factory=dict)  # what each shard read

    def add(self, result: ScanResult, source: str) -> None:
        if self.first is None:
            self.first, self.first_source = result, source
        else:
            _check_compatible(self.first, result, source, self.first_source)
        shard = _shard_of(result)
        self.shards.append(shard)
        self.sources.setdefault(shard, []).append(source)
        if result.provenance is not None:
            for scope in map(_key, result.provenance.listed or result.provenance.owned):
                self.listed.setdefault(scope, set()).add(shard)
            self.owned.setdefault(shard, set()).update(map(_key, result.provenance.owned))
        label = str(shard) if len(self.sources[shard]) == 1 else f"{shard} ({source})"  # a duplicate: by file
        for f in result.findings:
            self._add_finding(f, label)
        for row in result.coverage:
            key = (row.provider, row.account.lower(), row.region, row.service, resource_key(row.provider, row.scope_id))
            self.coverage.setdefault(key, []).append(row)
        for r in result.resources:
            key2 = (r.type, resource_key(r.provider, r.id))
            seen = self.resources.get(key2)
            self.resources[key2] = r if seen is None else _merged_resource(seen, r)
        self.rules.update(result.rules)
        self.scopes.update(dict.fromkeys(result.scopes))
        self.expired.update((w.index, w) for w in result.expired_waivers)
        self.active.update((w.index, w) for w in result.active_waivers)
        unused = {w.index for w in result.unused_waivers}
        self.used.update(w.index for w in result.active_waivers if w.index not in unused)
        if result.policy_scope is not None:
            self.scope_counts.append(result.policy_scope)
        self.started.append(result.started_at)
        self.finished.append(result.finished_at)

    def _add_finding(self, f: Finding, label: str) -> None:
        seen = self.findings.get(f.id)
        if seen is None:
            self.findings[f.id] = f
            self.statuses[f.id] = {label: f.status}
            return
        self.statuses[f.id][label] = f.status
        if _SEVERITY_OF_STATUS[f.status] > _SEVERITY_OF_STATUS[seen.status]:
            self.findings[f.id] = f

    def merged(self, fail_on: Severity) -> Merged:
        first = self.first
        assert first is not None  # merge_files adds at least one
        total = self.shards[0].total
        missing = tuple(Shard(k, total) for k in range(1, total + 1) if Shard(k, total) not in self.sources)
        duplicated = tuple(s for s, found in sorted(self.sources.items()) if len(found) > 1)
        disagreements, findings = self._findings()
        resources = tuple(sorted(self.resources.values(), key=lambda r: (r.type, r.id)))
        coverage = [_merged_row(rows, resources) for rows in self.coverage.values()]
        providers = sorted({row.provider for row in coverage}) or sorted({r.provider for r in self.rules.values()})
        owners = self._owners(total)
        coverage += _shard_rows(missing, duplicated, self.sources, providers or ["aws"], owners)
        coverage += self._unread(owners, missing)
        provenance = first.provenance
        active = {i: w for i, w in sorted(self.active.items()) if i not in self.expired}
        result = ScanResult(
            tool_version=first.tool_version,
            started_at=min(self.started),
            finished_at=max(self.finished),
            scopes=tuple(sorted(self.scopes)),
            findings=findings,
            coverage=tuple(coverage),
            rules=dict(sorted(self.rules.items())),
            fail_on=fail_on,
            expired_waivers=tuple(w for _, w in sorted(self.expired.items())),
            unused_waivers=tuple(w for i, w in active.items() if i not in self.used),
            active_waivers=tuple(active.values()),
            resources=resources,
            frameworks=first.frameworks,
            excluded_rules=first.excluded_rules,
            policy_scope=_summed_scope(self.scope_counts) if self.scope_counts else None,
            provenance=Provenance(
                shard=WHOLE, owned=tuple(sorted(self.scopes)),
                arguments=dict(provenance.arguments) if provenance is not None else {},
                digests=provenance.digests if provenance is not None else None,
                merged_from=tuple(sorted(self.shards))),
        )
        return Merged(result, tuple(self.shards), missing, duplicated, disagreements, self._partly_listed())

    def _owners(self, total: int) -> dict[Shard, list[str]]:
        """The scopes some shard listed, by the shard whose share of them all they are (as every shard saw them
        when the shards listed the same scopes, the usual case)."""
        return {shard: sorted(share) for shard, share in partition(self.listed, total).items()}

    def _unread(self, owners: Mapping[Shard, Sequence[str]], missing: Sequence[Shard]) -> list[CoverageRow]:
        """A failed row for each scope a shard listed that no shard read (other than a missing shard's, which its
        own row reports): the shards listed different scopes (an account or subscription appeared or went between
        their runs), which moves the boundaries of their shares, so nobody read it. ``owners``: :meth:`_owners`."""
        reported = {scope for shard in missing for scope in owners[shard]}
        read = {scope for scopes in self.owned.values() for scope in scopes}
        rows = []
        for scope, listers in sorted(self.listed.items()):
            if scope in read or scope in reported:
                continue
            by = ", ".join(str(s) for s in sorted(listers))
            rows.append(_scope_row(scope, f"not read: listed by shard(s) {by}, read by none (the shards listed "
                                          "different scopes, the estate changed between their runs, so their "
                                          "shares moved); run every shard again"))
        return rows

    def _partly_listed(self) -> tuple[str, ...]:
        """The scopes some shard listed and another did not (each shard that recorded its listing)."""
        listers = set(self.owned)
        return tuple(sorted(scope for scope, by in self.listed.items() if by != listers))

    def _findings(self) -> tuple[tuple[Disagreement, ...], tuple[Finding, ...]]:
        disagreements: list[Disagreement] = []
        findings: list[Finding] = []
        for fid, f in self.findings.items():
            statuses = self.statuses[fid]
            if len(set(statuses.values())) > 1:
                shown = {label: status.value for label, status in sorted(statuses.items())}
                disagreements.append(Disagreement(fid, f.rule_id, f.resource_id, shown, f.status))
                f = replace(f, evidence={**f.evidence, "shard_statuses": shown})
            findings.append(f)
        return tuple(disagreements), tuple(findings)


def _check_compatible(first: ScanResult, other: ScanResult, source: str, first_source: str) -> None:
    """ConfigError (exit 3) naming the field in which ``other`` is not a shard of the same scan as ``first``."""
    def refuse(what: str, field_name: str, mine: object, theirs: object) -> ConfigError:
        return ConfigError(f"not a shard of the same scan as {first_source}: {what} differs ({theirs} here, "
                           f"{mine} there)", file=source, field=field_name)

    if other.tool_version != first.tool_version:
        raise refuse("the tool version", "$.tool.version", first.tool_version, other.tool_version)
    a, b = first.provenance, other.provenance
    if a is None or b is None:
        raise ConfigError("a findings file without a shard record (scan.shard: written by an older version, or "
                          "not by a scan) merges only alone", file=first_source if a is None else source,
                          field="$.scan.shard")
    if a.shard.total != b.shard.total:
        raise refuse("N (--shard K/N)", "$.scan.shard.total", a.shard.total, b.shard.total)
    for name in sorted(set(a.arguments) | set(b.arguments)):
        if a.arguments.get(name) != b.arguments.get(name):
            raise refuse(f"the scan argument '{name}'", f"$.scan.arguments.{name}", a.arguments.get(name),
                         b.arguments.get(name))
    _check_digests(a.digests, b.digests, refuse)


def _check_digests(a: Digests | None, b: Digests | None, refuse: Any) -> None:
    if a is None or b is None:
        if a is not b:
            raise refuse("the digests", "$.scan.digests", "present" if a else "absent", "present" if b else "absent")
        return
    for name, noun in (("catalog", "rule catalog"), ("policy", "policy (--policy and the rule filters)"),
                       ("waivers", "waivers file (--waivers)")):
        mine, theirs = getattr(a, name), getattr(b, name)
        if mine != theirs:
            raise refuse(f"the {noun} digest", f"$.scan.digests.{name}", mine[:12], theirs[:12])


def _merged_resource(a: Resource, b: Resource) -> Resource:
    """One resource two shards read: what each found it related to, together (unknown where either did not know)."""
    if a.related == b.related:
        return a
    related: dict[str, Any] = dict(a.related)
    for name, ids in b.related.items():
        mine = related.get(name, [])
        related[name] = None if ids is None or mine is None else list(dict.fromkeys([*mine, *ids]))
    unreadable = {**b.unreadable, **a.unreadable}
    return replace(a, related=related, unreadable=unreadable)


def _merged_row(rows: Sequence[CoverageRow], resources: Sequence[Resource]) -> CoverageRow:
    """One coverage row from the rows several shards wrote for one scope and service: every error kept."""
    if len(rows) == 1:
        return rows[0]
    first = rows[0]
    errors = list(dict.fromkeys(row.error for row in rows if row.error))
    return replace(first, error="; ".join(errors) if errors else None,
                   resources=max(_count(first, resources), *(row.resources for row in rows)),
                   found_through=tuple(dict.fromkeys(p for row in rows for p in row.found_through)))


def _count(row: CoverageRow, resources: Iterable[Resource]) -> int:
    """The merged resources a row covers: of its types, account and (unless global) region."""
    regional = row.region not in ("global", "*")
    return sum(1 for r in resources if r.provider == row.provider and r.type in row.resource_types
               and r.account.lower() == row.account.lower() and (not regional or r.region == row.region))


def _key(scope: str) -> str:
    """A scope key as :mod:`auditor.shard` hashes it (Azure subscription ids in lower case)."""
    return scope.lower() if scope.startswith("azure:") else scope


def _scope_row(scope: str, error: str) -> CoverageRow:
    provider, _, rest = scope.partition(":")
    account, _, region = rest.partition(":")
    return CoverageRow(provider=provider if provider in ("aws", "azure") else "aws", account=account or "*",
                       region=region or "*", service=SHARD_SERVICE, scope_id=scope, resource_types=(), resources=0,
                       error=error)


def _shard_rows(missing: Sequence[Shard], duplicated: Sequence[Shard], sources: Mapping[Shard, Sequence[str]],
                providers: Sequence[str], owners: Mapping[Shard, Sequence[str]]) -> list[CoverageRow]:
    """A failed row per provider for each missing or duplicated shard: the merged result is incomplete."""
    def owned(shard: Shard) -> str:
        scopes = owners.get(shard, ())
        return f" ({', '.join(scopes[:10])}{' ...' if len(scopes) > 10 else ''})" if scopes else ""

    problems = [(s, f"shard {s} missing: the scopes it owns were not read{owned(s)}; no findings file of "
                    f"shard {s} was given") for s in missing]
    problems += [(s, f"shard {s} given {len(sources[s])} times ({', '.join(sources[s])}): pass each shard's "
                     "findings once") for s in duplicated]
    return [CoverageRow(provider=p, account="*", region="*", service=SHARD_SERVICE, scope_id=f"shard {s}",
                        resource_types=(), resources=0, error=error)
            for s, error in problems for p in providers]


def _summed_scope(scopes: Sequence[PolicyScope]) -> PolicyScope:
    """What the policy's scope left out, over every shard (a global resource left out by two shards counts twice:
    the count may be higher than an unsharded run's, never lower)."""
    def total(key: str) -> dict[str, int]:
        summed: dict[str, int] = {}
        for scope in scopes:
            for name, n in getattr(scope, key).items():
                summed[name] = summed.get(name, 0) + n
        return dict(sorted(summed.items()))

    return PolicyScope(out_of_scope=sum(s.out_of_scope for s in scopes), by_rule=total("by_rule"),
                       by_resource_type=total("by_resource_type"), findings=sum(s.findings for s in scopes),
                       by_status=total("by_status"))


def check_not_input(out_dir: Path, paths: Sequence[Path]) -> None:
    """ConfigError (exit 3) when the merged findings.json would be written over one of the shards' files."""
    target = out_dir / FINDINGS_FILE
    for path in findings_files(paths):
        if target.exists() and path.exists() and target.samefile(path):
            raise ConfigError(f"--out {out_dir} would write the merged findings over the shard's {path}; choose "
                              "another --out", file=str(path), field="--out")


MAX_LISTED = 20


def report(console: Console, merged: Merged) -> None:
    """What the merge found: the shards, any missing or given twice, and every finding the shards disagree on."""
    shards = ", ".join(str(s) for s in sorted(set(merged.shards)))
    console.line(f"merged {len(merged.shards)} findings file(s): shard(s) {shards}", event="merge",
                 shards=[str(s) for s in merged.shards])
    for shard in merged.missing:
        console.line(f"shard {shard} missing: its scopes were not read; the merged result is incomplete",
                     event="shard_missing", level="warning", shard=str(shard))
    for shard in merged.duplicated:
        console.line(f"shard {shard} given more than once: the merged result is incomplete",
                     event="shard_duplicated", level="warning", shard=str(shard))
    if merged.partly_listed:
        more = " ..." if len(merged.partly_listed) > MAX_LISTED else ""
        shown = ", ".join(merged.partly_listed[:MAX_LISTED]) + more
        console.line(f"{len(merged.partly_listed)} scope(s) not listed by every shard (the estate changed between "
                     f"their runs): {shown}; a scope no shard read is a failed coverage row",
                     event="shard_listings_differ", level="warning", scopes=list(merged.partly_listed))
    if merged.disagreements:
        console.line(f"{len(merged.disagreements)} finding(s) differ between shards (the resource changed between "
                     "their runs): the worst status is kept, its evidence lists each shard's (shard_statuses)",
                     event="shard_disagreements", level="warning", count=len(merged.disagreements))
    for d in merged.disagreements[:MAX_LISTED]:
        statuses = ", ".join(f"{label}: {status}" for label, status in d.statuses.items())
        console.line(f"  {d.rule_id} on {d.resource_id}: {statuses}; kept {d.kept.value}", event="shard_disagreement",
                     level="warning", finding_id=d.finding_id, statuses=dict(d.statuses))
    if len(merged.disagreements) > MAX_LISTED:
        console.line(f"  and {len(merged.disagreements) - MAX_LISTED} more", event="shard_disagreement",
                     level="warning")
