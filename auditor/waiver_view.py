"""What a scan's waivers did, for the reports: each active waiver with what it mutes and when it expires,
and each unused waiver with the scanned resources nearest its patterns (a typo in an id is the usual cause).

Derived from a :class:`~auditor.model.ScanResult` alone (its findings, rules and inventory), so a findings
file read back renders the same view as the scan that wrote it.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass

from auditor.identity import resource_key
from auditor.model import ScanResult, Severity, Status, Waiver

EXPIRING_SOON_DAYS = 14  # an active waiver expiring within this many days of the scan is called out
NEAREST = 3  # resources named for an unused waiver
_CUTOFF = 0.6  # difflib's default: below it a name is not "near"


@dataclass(frozen=True)
class ActiveWaiver:
    waiver: Waiver
    mutes_by_severity: Mapping[Severity, int]  # MUTED findings this waiver mutes, by severity (zeros left out)
    days_left: int  # from the scan's start date to the expiry (the expiry day itself mutes nothing)

    @property
    def mutes(self) -> int:
        return sum(self.mutes_by_severity.values())

    @property
    def expiring_soon(self) -> bool:
        return self.days_left <= EXPIRING_SOON_DAYS


def active_waivers(result: ScanResult) -> tuple[ActiveWaiver, ...]:
    """The waivers in force during the scan, in the file's order."""
    counts: dict[int, dict[Severity, int]] = {}
    for f in result.findings:
        if f.status is Status.MUTED and f.waiver is not None and f.waiver.index >= 0:
            by_severity = counts.setdefault(f.waiver.index, {})
            by_severity[f.severity] = by_severity.get(f.severity, 0) + 1
    today = result.started_at.date()
    return tuple(
        ActiveWaiver(w, {s: n for s in Severity if (n := counts.get(w.index, {}).get(s, 0))},
                     (w.expires - today).days)
        for w in sorted(result.active_waivers, key=lambda w: w.index)
    )


def nearest_resources(waiver: Waiver, result: ScanResult) -> tuple[str, ...]:
    """Up to ``NEAREST`` ids of scanned resources, of the resource types of the waiver's rules, nearest to its
    resource patterns (by id or by name), best first. Empty when none is near, and when a pattern matches some
    of those resources (the waiver is unused because they did not fail, not because it names nothing)."""
    types = {rule.resource_type for rule_id, rule in result.rules.items()
             if any(fnmatch.fnmatchcase(rule_id, p) for p in waiver.rules)}
    candidates = [r for r in result.resources if r.type in types]
    if any(fnmatch.fnmatchcase(resource_key(r.provider, r.id), resource_key(r.provider, p))
           for r in candidates for p in waiver.resources):
        return ()
    by_text: dict[str, str] = {}  # lowercased id or name -> the resource id shown
    for r in candidates:
        by_text.setdefault(r.id.lower(), r.id)
        if r.name:
            by_text.setdefault(r.name.lower(), r.id)
    scored: dict[str, float] = {}
    for pattern in waiver.resources:
        wanted = pattern.lower()
        for text in difflib.get_close_matches(wanted, by_text, n=NEAREST * 2, cutoff=_CUTOFF):
            ratio = difflib.SequenceMatcher(None, wanted, text).ratio()
            rid = by_text[text]
            scored[rid] = max(ratio, scored.get(rid, 0.0))
    return tuple(sorted(scored, key=lambda rid: (-scored[rid], rid))[:NEAREST])
