"""A finding's owner (``auditor.owners`` decides it) as findings.json records it and as the views name it.

findings.json: ``{"state": "owned", "value", "tag"}``, ``{"state": "unowned"}`` or ``{"state": "unknown",
"reason"}``; a finding of an older file has none. The views (CSV, HTML, Markdown, SARIF, JUnit) name an owner
by its value, and the others ``unowned`` and ``unknown``: a finding without a recorded owner is unknown too,
never unowned, since nothing says its tags were read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from auditor.model import Owner, OwnerState

UNOWNED = OwnerState.UNOWNED.value
UNKNOWN = OwnerState.UNKNOWN.value


def owner_doc(owner: Owner) -> dict[str, Any]:
    doc: dict[str, Any] = {"state": owner.state.value}
    if owner.state is OwnerState.OWNED:
        doc.update(value=owner.value, tag=owner.tag)
    elif owner.state is OwnerState.UNKNOWN:
        doc["reason"] = owner.reason or "not known"
    return doc


def owner_name(finding: Mapping[str, Any]) -> str:
    """What a view calls the owner of a finding document: its owner's value, ``unowned`` or ``unknown``."""
    owner = finding.get("owner")
    if not isinstance(owner, Mapping):
        return UNKNOWN
    if owner.get("state") == OwnerState.OWNED.value:
        return str(owner.get("value", ""))
    return UNOWNED if owner.get("state") == UNOWNED else UNKNOWN


def is_owned(finding: Mapping[str, Any]) -> bool:
    owner = finding.get("owner")
    return isinstance(owner, Mapping) and owner.get("state") == OwnerState.OWNED.value


def failures_by_owner(findings: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each owner's FAIL findings (``owner``, ``failed``, ``gating``: how many fail the build), most gating first,
    then most failed, then by name; ``unowned`` and ``unknown`` are owners like the others (never merged)."""
    counts: dict[tuple[str, bool], list[int]] = {}
    for f in findings:
        if f["status"] != "FAIL":
            continue
        key = (owner_name(f), is_owned(f))
        n = counts.setdefault(key, [0, 0])
        n[0] += 1
        n[1] += 1 if f["gating"] else 0
    rows = [{"owner": name, "owned": owned, "failed": n[0], "gating": n[1]} for (name, owned), n in counts.items()]
    return sorted(rows, key=lambda r: (-r["gating"], -r["failed"], not r["owned"], r["owner"].casefold(), r["owner"]))
