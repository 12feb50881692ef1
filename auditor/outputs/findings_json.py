"""findings.json: the versioned record of one scan, and the input of ``auditor report``.

The contract is product-spec.md, "The findings file"; the published schema is
``auditor/schemas/findings.schema.json``. ``to_document`` writes it; ``from_document`` in
:mod:`auditor.findings.document` reads it back (after validating it against the schema) so every
other format can be re-rendered from a file. This module assembles the document and streams it; each
section is built in :mod:`auditor.outputs.findings_sections`.

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
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from auditor import frameworks as framework_summary
from auditor.identity import resource_key
from auditor.model import CoverageRow, Finding, Rule, ScanResult, Severity, Status
from auditor.outputs.findings_sections import (
    active_waiver_doc,
    baseline_doc,
    coverage_doc,
    coverage_order,
    finding_docs,
    history_doc,
    inventory_doc,
    planned,
    policy_scope_doc,
    provenance_doc,
    rule_document,
    shared_parts,
    timestamp,
)
from auditor.rule_parts import Remediation
from auditor.waiver_view import active_waivers, nearest_resources

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
    shared = {rule_id: shared_parts(rule) for rule_id, rule in rules.items()}
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": result.tool_version},
        "scan": {
            "started": timestamp(result.started_at),
            "ended": timestamp(result.finished_at),
            "scopes": list(result.scopes),
            "fail_on": result.fail_on.value,
            "complete": exit_code != 2,
            "exit_code": exit_code,
        },
        "coverage": [coverage_doc(c) for c in sorted(result.coverage, key=coverage_order)],
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
            "active": [active_waiver_doc(a) for a in active_waivers(result)],
        },
        "rules": {rule_id: rule_document(rule) for rule_id, rule in sorted(rules.items())},
        "frameworks": framework_summary.to_documents(result),
        "findings": finding_docs(findings, shared, gating, result.baseline, planned(result.resources)),
        "inventory": (inventory_doc(r) for r in sorted(result.resources, key=lambda r: (r.type, r.id))),
    }
    if result.owner_tag:
        document["scan"]["owner_tag"] = result.owner_tag
    if result.baseline is not None or result.fail_on_new:  # meaningful with a baseline only: written with one
        document["scan"]["fail_on_new"] = result.fail_on_new
    if result.provenance is not None:
        document["scan"].update(provenance_doc(result.provenance))
    if result.policy_scope is not None:
        document["policy_scope"] = policy_scope_doc(result.policy_scope)
    if result.baseline is not None:
        document["baseline"] = baseline_doc(result.baseline)
    if result.history is not None:
        document["history"] = history_doc(result.history)
    return document


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
