"""findings.json's sections: each part of a scan as the plain JSON values the findings file holds.

:mod:`auditor.outputs.findings_json` assembles and streams the document from these: a finding (with its rule's
shared parts, owner, plan and baseline mark), an inventory entry (with the ids it ``uses``), a rule's metadata
(which ``auditor rules list --format json`` publishes too), a coverage row, the baseline comparison, the run
history, the shard's provenance, the policy's scope and an active waiver. Values an SDK returned (evidence,
tags) become JSON values here, shared with the model rather than copied where they are plain already.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from auditor.baseline import state as baseline_state
from auditor.model import (
    BaselineComparison,
    CoverageRow,
    Finding,
    FindingBaseline,
    Owner,
    PreviousFailure,
    Resource,
    Rule,
    RunHistory,
    Severity,
    Status,
)
from auditor.outputs.owner_view import owner_doc
from auditor.scope_model import USES, PolicyScope
from auditor.shard import Provenance
from auditor.waiver_view import ActiveWaiver


def provenance_doc(provenance: Provenance) -> dict[str, Any]:
    """``scan.shard``, ``scan.arguments``, ``scan.digests`` (and ``scan.merged_from``): what ``auditor merge``
    checks shards against (:mod:`auditor.shard`)."""
    shard = provenance.shard
    doc: dict[str, Any] = {"shard": {"index": shard.index, "total": shard.total, "scopes": list(provenance.owned)},
                           "arguments": dict(provenance.arguments)}
    if provenance.listed:
        doc["shard"]["listed"] = list(provenance.listed)
    if provenance.digests is not None:
        doc["digests"] = provenance.digests.as_dict()
    if provenance.merged_from:
        doc["merged_from"] = [{"index": s.index, "total": s.total} for s in provenance.merged_from]
    return doc


def active_waiver_doc(a: ActiveWaiver) -> dict[str, Any]:
    return {**a.waiver.as_written(), "mutes": a.mutes,
            "mutes_by_severity": {s.value: n for s, n in a.mutes_by_severity.items()},
            "days_left": a.days_left, "expiring_soon": a.expiring_soon}


def planned(resources: Sequence[Resource]) -> dict[str, Mapping[str, Any]]:
    """A planned change's resources (``auditor scan plan``): id -> what the plan does to it and where."""
    return {r.id: r.related["plan"] for r in resources if isinstance(r.related.get("plan"), Mapping)}


def finding_docs(findings: Sequence[Finding], shared: Mapping[str, Mapping[str, Any]], gating: set[str],
                  baseline: BaselineComparison | None,
                  planned: Mapping[str, Mapping[str, Any]] | None = None) -> Iterator[dict[str, Any]]:
    states = baseline.findings if baseline is not None else None
    marks: dict[tuple[str, str | None, str | None], dict[str, Any]] = {}  # a few dozen, shared (read-only)
    owners: dict[Owner, dict[str, Any]] = {}  # likewise: one per owner
    for f in findings:
        doc = _finding_doc(f, shared[f.rule_id], f.id in gating)
        if f.owner is not None:
            doc["owner"] = owners.get(f.owner) or owners.setdefault(f.owner, owner_doc(f.owner))
        if planned and f.resource_id in planned:
            doc["plan"] = planned[f.resource_id]
        if states is not None:
            mark = _finding_baseline_doc(f, states.get(f.id))
            doc["baseline"] = marks.setdefault((mark["state"], mark["previous_status"], mark["previous_severity"]),
                                               mark)
        yield doc


def _finding_baseline_doc(f: Finding, entry: FindingBaseline | None) -> dict[str, Any]:
    if entry is None:  # a finding the comparison did not see (built by hand): as if absent from the baseline
        entry = FindingBaseline(baseline_state(f.status, None))
    return {
        "state": entry.state.value,
        "previous_status": entry.previous_status.value if entry.previous_status else None,
        "previous_severity": entry.previous_severity.value if entry.previous_severity else None,
    }


def _previous_doc(p: PreviousFailure, *, reason: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": p.id, "rule_id": p.rule_id, "resource_id": p.resource_id,
                           "severity": p.severity.value}
    if p.provider:  # what names the resource (an older baseline comparison read back has none)
        doc.update(provider=p.provider, account=p.account, region=p.region, resource_name=p.resource_name)
    if reason:
        doc["reason"] = p.reason
    else:
        doc["status"] = p.status.value if p.status else None
    return doc


def baseline_doc(comparison: BaselineComparison) -> dict[str, Any]:
    return {
        "file": comparison.file,
        "started": timestamp(comparison.started),
        "counts": {state.value: n for state, n in comparison.counts().items()},
        "resolved": [_previous_doc(p, reason=False) for p in comparison.resolved],
        "unverified": [_previous_doc(p, reason=True) for p in comparison.unverified],
    }


def history_doc(history: RunHistory) -> dict[str, Any]:
    return {
        "file": history.file,
        "limit": history.limit,
        "runs": [
            {
                "started": timestamp(run.started),
                "ended": timestamp(run.ended),
                "complete": run.complete,
                "exit_code": run.exit_code,
                "failures": {s.value: run.failures.get(s, 0) for s in Severity},
            }
            for run in history.runs
        ],
    }


def inventory_doc(resource: Resource) -> dict[str, Any]:
    """What the report shows of a resource: identity and tags, never the document (it may hold secrets).

    A resource of a type of :data:`auditor.scope_model.USES` also records ``uses``: under each of
    those relations (an endpoint's config; a config's models, keys and capture bucket; a model's
    execution role; an online endpoint's workspace and deployments) the ids of what it uses, so the
    report can show an endpoint's whole posture. ``[]``: none; ``null`` in the list: one that no longer
    exists; ``null`` for the relation: it could not be read.
    """
    doc: dict[str, Any] = {
        "id": resource.id,
        "type": resource.type,
        "provider": resource.provider,
        "account": resource.account,
        "region": resource.region,
        "name": resource.name,
        "tags": resource.tags if _sorted_strings(resource.tags) else {
            str(k): str(v) for k, v in sorted(resource.tags.items())},
    }
    unread = resource.unreadable.get("tags") or resource.unreadable.get("*")
    if unread is not None:
        doc["tags_unread"] = unread
    relations = USES.get(resource.type)
    if relations:
        doc["uses"] = {name: _uses(resource, name) for name in relations}
    if isinstance(resource.related.get("plan"), Mapping):  # auditor scan plan: what the plan does to it
        doc["plan"] = resource.related["plan"]
    return doc


def _uses(resource: Resource, relation: str) -> list[str | None] | None:
    value = resource.related.get(relation)
    if value is None and ("*" in resource.unreadable or f"related.{relation}" in resource.unreadable):
        return None
    if isinstance(value, list | tuple):
        return [v if isinstance(v, str) else None for v in value]
    return [value] if isinstance(value, str) else []


def shared_parts(rule: Rule) -> dict[str, Any]:
    """What every finding of ``rule`` repeats, built once and shared by their documents (read-only)."""
    return {
        "remediation": {"guidance": rule.remediation.guidance, "automatic": rule.remediation.automatic},
        "frameworks": [{"framework": ref.framework, "control": ref.control} for ref in rule.frameworks],
        "title": rule.title,
    }


def _finding_doc(f: Finding, rule_parts: Mapping[str, Any], gating: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": f.id,
        "rule_id": f.rule_id,
        "status": f.status.value,
        "severity": f.severity.value,
        "provider": f.provider,
        "resource_id": f.resource_id,
        "resource_type": f.resource_type,
        "resource_name": f.resource_name,
        "region": f.region,
        "account": f.account,
        "message": f.message,
        "evidence": f.evidence if _is_plain(f.evidence) else {str(k): _plain(v) for k, v in f.evidence.items()},
        **rule_parts,
        "gating": gating,
    }
    if f.fingerprint is not None:
        doc["resource_fingerprint"] = f.fingerprint.to_json()
    if f.status is Status.MUTED:
        if f.waiver is None:
            raise ValueError(f"finding {f.id} ({f.rule_id} on {f.resource_id}) is MUTED without a waiver")
        doc["waiver"] = {"reason": f.waiver.reason, "owner": f.waiver.owner,
                         "expires": f.waiver.expires.isoformat()}
        if f.waiver.index >= 0:  # which entry of the file muted it (unknown in an older findings file)
            doc["waiver"]["number"] = f.waiver.number
    return doc


def rule_document(rule: Rule) -> dict[str, Any]:
    """A rule's metadata as findings.json and `auditor rules list --format json` publish it."""
    doc: dict[str, Any] = {
        "id": rule.id,
        "title": rule.title,
        "severity": rule.severity.value,
        "provider": rule.provider,
        "resource_type": rule.resource_type,
        "rationale": rule.rationale,
        "remediation": {
            "guidance": rule.remediation.guidance,
            "automatic": rule.remediation.automatic,
            "remediator": rule.remediation.remediator,
        },
        "anchors": list(rule.anchors),
        "references": list(rule.references),
        "frameworks": [
            {"framework": ref.framework, "control": ref.control, "title": ref.title}
            for ref in rule.frameworks
        ],
    }
    if rule.report is not None:
        doc["report"] = rule.report.to_json()
    if rule.severity_override is not None:
        doc["severity_override"] = {
            "original": rule.severity_override.original.value,
            "justification": rule.severity_override.justification,
            "policy": rule.severity_override.policy,
        }
    return doc


def policy_scope_doc(scope: PolicyScope) -> dict[str, Any]:
    return {"out_of_scope": scope.out_of_scope, "by_rule": dict(scope.by_rule),
            "by_resource_type": dict(scope.by_resource_type), "findings": scope.findings,
            "by_status": dict(scope.by_status)}


def coverage_order(row: CoverageRow) -> tuple[str, str, str, str, str]:
    return row.provider, row.account, row.region, row.service, row.scope_id


def coverage_doc(row: CoverageRow) -> dict[str, Any]:
    return {
        "provider": row.provider,
        "account": row.account,
        "region": row.region,
        "service": row.service,
        "scope_id": row.scope_id,
        "resource_types": list(row.resource_types),
        "resources": row.resources,
        "status": "collected" if row.collected else "error",
        "error": row.error,
        "found_through": list(row.found_through),
    }


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``; a naive datetime is taken to be UTC already."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.isoformat(timespec="seconds").replace("+00:00", "Z")


def _is_plain(value: Any) -> bool:
    """Whether ``_plain`` would give ``value`` back unchanged: then the document holds that very object (as it
    holds a rule's shared parts), read-only, rather than a copy: 100,000 findings' evidence is 40 MB."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        return all(type(k) is str and _is_plain(v) for k, v in value.items())
    if kind is list:
        return all(_is_plain(v) for v in value)
    return False


def _sorted_strings(tags: Mapping[Any, Any]) -> bool:
    """Whether ``tags`` is a dict of strings in key order: what ``inventory_doc`` would copy it into."""
    if type(tags) is not dict:
        return False
    previous = None
    for key, value in tags.items():
        if type(key) is not str or type(value) is not str or (previous is not None and key < previous):
            return False
        previous = key
    return True


def _plain(value: Any) -> Any:
    """Evidence as JSON values: SDK documents may hold datetimes, tuples, sets or Decimals."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        items = [_plain(v) for v in value]
        try:
            return sorted(items)
        except TypeError:  # mixed types: any stable order will do
            return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return str(value)
