"""findings.json: the versioned record of one scan, and the input of ``auditor report``.

The contract is product-spec.md, "The findings file"; the published schema is
``auditor/schemas/findings.schema.json``. ``to_document`` writes it; ``from_document`` in
:mod:`auditor.findings.document` reads it back (after validating it against the schema) so every
other format can be re-rendered from a file.

Rules carry compiled conditions, which a file cannot hold: the document keeps each rule's metadata
under the top-level ``rules`` object, and ``from_document`` rebuilds ``Rule`` objects without
``expect`` / ``check``. Everything under ``summary``, ``scan.complete`` / ``scan.exit_code`` and the
per-finding ``title`` / ``remediation`` / ``frameworks`` / ``gating`` is derived, so reading ignores it
and writing recomputes it: ``to_document(from_document(to_document(r)))`` equals ``to_document(r)``.
The top-level ``frameworks`` summary (``auditor.frameworks``) likewise: reading keeps the framework
definitions and the rules the policy left out (with why), writing recomputes every status and count.

With ``--baseline`` (``auditor.findings.compare``) every finding carries ``baseline: {state, previous_status,
previous_severity}``, the top-level ``baseline`` names the baseline file and start and lists the previous
failures that are resolved or could not be re-checked, and ``scan.fail_on_new`` is written; reading keeps
all of it except ``baseline.counts``, which is derived. With ``--history`` (``auditor.history``) the
top-level ``history`` holds the trend of the stored runs, read back as it is. Every finding of a scan carries
its ``owner`` (``auditor.owners``; ``auditor.outputs.owner_view``) and ``scan.owner_tag`` names the tag.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from auditor import frameworks as framework_summary
from auditor.baseline import state as baseline_state
from auditor.identity import resource_key
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
    ScanResult,
    Severity,
    Status,
)
from auditor.outputs.owner_view import owner_doc
from auditor.rule_parts import Remediation
from auditor.scope_model import USES, PolicyScope
from auditor.shard import Provenance
from auditor.waiver_view import ActiveWaiver, active_waivers, nearest_resources

SCHEMA_VERSION = "1.0"
TOOL_NAME = "auditor"


_LINE_PER_ITEM = ("findings", "inventory")
_LINE_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False)  # one instance for every line


def render(result: ScanResult) -> str:
    """findings.json as text, deterministic so runs diff cleanly.

    Keys sorted, findings sorted; the small top-level sections are indented, and each finding and
    inventory entry is one line: a changed verdict is a one-line diff, ``grep`` finds a resource,
    and the C JSON encoder (which ``indent`` would disable) keeps 100,000 findings fast.
    """
    return "".join(chunks(result))


def chunks(result: ScanResult) -> Iterator[str]:
    """``render``'s text in pieces, a finding or an inventory entry at a time: written as it is built, 100,000
    findings never exist at once as documents or as one string (which alone would take 150 MB, or four
    times that when one character needs four bytes)."""
    doc = _document(result)
    yield "{\n"
    for n, key in enumerate(sorted(doc)):
        yield ("  " if n == 0 else ",\n  ") + json.dumps(key) + ": "
        if key in _LINE_PER_ITEM:
            empty = True
            for item in doc[key]:
                yield ("[\n    " if empty else ",\n    ") + _LINE_ENCODER.encode(item)
                empty = False
            yield "[]" if empty else "\n  ]"
        else:
            yield json.dumps(doc[key], indent=2, sort_keys=True, ensure_ascii=False).replace("\n", "\n  ")
    yield "\n}\n"


def to_document(result: ScanResult) -> dict[str, Any]:
    """The findings document of ``result``: plain JSON values only, valid against the schema.

    Read it, do not change it in place (copy it first): parts of it are shared, between findings (a rule's
    remediation and frameworks, equal baseline marks) and with ``result`` itself (evidence and tags that are
    plain already): 100,000 findings' document takes 80 MB instead of 180."""
    document = _document(result)
    for key in _LINE_PER_ITEM:
        document[key] = list(document[key])
    return document


def _document(result: ScanResult) -> dict[str, Any]:
    """``to_document``, with the findings and the inventory as iterators that build each entry when it is read."""
    rules = _rules_covering(result)
    findings = sorted(result.findings, key=lambda f: (f.rule_id, f.resource_id, f.id))
    gating = {f.id for f in result.gating()}
    exit_code = result.exit_code()
    shared = {rule_id: _rule_parts(rule) for rule_id, rule in rules.items()}
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": result.tool_version},
        "scan": {
            "started": _timestamp(result.started_at),
            "ended": _timestamp(result.finished_at),
            "scopes": list(result.scopes),
            "fail_on": result.fail_on.value,
            "complete": exit_code != 2,
            "exit_code": exit_code,
        },
        "coverage": [_coverage_doc(c) for c in sorted(result.coverage, key=_coverage_order)],
        "summary": {
            "by_status": _by_status(findings),
            "by_severity": _failures_by_severity(findings),
            "total": len(findings),
            "gating": [f.id for f in findings if f.id in gating],
            "rules_evaluated": len(rules),
            "resources": _resources_evaluated(findings, result.coverage),
        },
        "waivers": {
            "expired": [w.as_written() for w in sorted(result.expired_waivers, key=lambda w: w.index)],
            "unused": [{**w.as_written(), "nearest": list(nearest_resources(w, result))}
                       for w in sorted(result.unused_waivers, key=lambda w: w.index)],
            "active": [_active_waiver_doc(a) for a in active_waivers(result)],
        },
        "rules": {rule_id: rule_document(rule) for rule_id, rule in sorted(rules.items())},
        "frameworks": framework_summary.to_documents(result),
        "findings": _finding_docs(findings, shared, gating, result.baseline, _planned(result.resources)),
        "inventory": (_inventory_doc(r) for r in sorted(result.resources, key=lambda r: (r.type, r.id))),
    }
    if result.owner_tag:
        document["scan"]["owner_tag"] = result.owner_tag
    if result.baseline is not None or result.fail_on_new:  # meaningful with a baseline only: written with one
        document["scan"]["fail_on_new"] = result.fail_on_new
    if result.provenance is not None:
        document["scan"].update(provenance_doc(result.provenance))
    if result.policy_scope is not None:
        document["policy_scope"] = _policy_scope_doc(result.policy_scope)
    if result.baseline is not None:
        document["baseline"] = _baseline_doc(result.baseline)
    if result.history is not None:
        document["history"] = _history_doc(result.history)
    return document


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


def _active_waiver_doc(a: ActiveWaiver) -> dict[str, Any]:
    return {**a.waiver.as_written(), "mutes": a.mutes,
            "mutes_by_severity": {s.value: n for s, n in a.mutes_by_severity.items()},
            "days_left": a.days_left, "expiring_soon": a.expiring_soon}


def _planned(resources: Sequence[Resource]) -> dict[str, Mapping[str, Any]]:
    """A planned change's resources (``auditor scan plan``): id -> what the plan does to it and where."""
    return {r.id: r.related["plan"] for r in resources if isinstance(r.related.get("plan"), Mapping)}


def _finding_docs(findings: Sequence[Finding], shared: Mapping[str, Mapping[str, Any]], gating: set[str],
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


def _baseline_doc(comparison: BaselineComparison) -> dict[str, Any]:
    return {
        "file": comparison.file,
        "started": _timestamp(comparison.started),
        "counts": {state.value: n for state, n in comparison.counts().items()},
        "resolved": [_previous_doc(p, reason=False) for p in comparison.resolved],
        "unverified": [_previous_doc(p, reason=True) for p in comparison.unverified],
    }


def _history_doc(history: RunHistory) -> dict[str, Any]:
    return {
        "file": history.file,
        "limit": history.limit,
        "runs": [
            {
                "started": _timestamp(run.started),
                "ended": _timestamp(run.ended),
                "complete": run.complete,
                "exit_code": run.exit_code,
                "failures": {s.value: run.failures.get(s, 0) for s in Severity},
            }
            for run in history.runs
        ],
    }


def _inventory_doc(resource: Resource) -> dict[str, Any]:
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


# --- writing ---------------------------------------------------------------------------------------


def _rules_covering(result: ScanResult) -> dict[str, Rule]:
    """result.rules, plus a metadata-only stand-in for any rule a finding names but the map lacks."""
    rules = dict(result.rules)
    for f in result.findings:
        if f.rule_id not in rules:
            rules[f.rule_id] = Rule(
                id=f.rule_id, title="", severity=f.severity, provider=f.provider,
                resource_type=f.resource_type, rationale="", remediation=Remediation(guidance=""),
            )
    return rules


def _rule_parts(rule: Rule) -> dict[str, Any]:
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


def _policy_scope_doc(scope: PolicyScope) -> dict[str, Any]:
    return {"out_of_scope": scope.out_of_scope, "by_rule": dict(scope.by_rule),
            "by_resource_type": dict(scope.by_resource_type), "findings": scope.findings,
            "by_status": dict(scope.by_status)}


def _coverage_order(row: CoverageRow) -> tuple[str, str, str, str, str]:
    return row.provider, row.account, row.region, row.service, row.scope_id


def _coverage_doc(row: CoverageRow) -> dict[str, Any]:
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


def _by_status(findings: Iterable[Finding]) -> dict[str, int]:
    counts = dict.fromkeys((s.value for s in Status), 0)
    for f in findings:
        counts[f.status.value] += 1
    return counts


def _failures_by_severity(findings: Iterable[Finding]) -> dict[str, int]:
    counts = dict.fromkeys((s.value for s in Severity), 0)
    for f in findings:
        if f.status is Status.FAIL:
            counts[f.severity.value] += 1
    return counts


def _resources_evaluated(findings: Sequence[Finding], coverage: Sequence[CoverageRow]) -> int:
    """Distinct resources with a finding; a scope that could not be listed is not a resource."""
    scopes = {_resource_key(c.provider, c.scope_id) for c in coverage}
    keys = {_resource_key(f.provider, f.resource_id) for f in findings}
    return len(keys - scopes)


def _resource_key(provider: str, resource_id: str) -> tuple[str, str]:
    return provider, resource_key(provider, resource_id)


def _timestamp(moment: datetime) -> str:
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
    """Whether ``tags`` is a dict of strings in key order: what ``_inventory_doc`` would copy it into."""
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
        return _timestamp(value)
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


