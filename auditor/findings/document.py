"""A findings document (parsed JSON) back into the ScanResult it records: ``auditor report``, ``--baseline``
and ``remediate plan`` start from a file (:mod:`auditor.findings.read` reads the file).

``from_document`` validates the document against the published schema
(``auditor/schemas/findings.schema.json``), then rebuilds the :class:`~auditor.model.ScanResult` it
records; :mod:`auditor.outputs.findings_json` (the writer) describes what is kept and what is derived.
Every problem is a ConfigError naming the file and the JSON path of the first problem. The pieces
(``finding_from``, ``rule_from``, ``assemble``, ...) are shared with :mod:`auditor.findings.stream`, which
reads a valid file item by item. Validation runs a check compiled from the schema
(:mod:`auditor.schemacheck`) and asks jsonschema only for the error message of an invalid document.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from auditor import frameworks as framework_summary
from auditor.errors import ConfigError
from auditor.fingerprint import Fingerprint
from auditor.identity import finding_id
from auditor.model import (
    BaselineComparison,
    BaselineState,
    CoverageRow,
    Finding,
    FindingBaseline,
    Owner,
    OwnerState,
    PreviousFailure,
    Resource,
    Rule,
    RunHistory,
    ScanResult,
    Severity,
    SeverityOverride,
    Status,
    TrendPoint,
    Waiver,
)
from auditor.paths import schemas_dir
from auditor.rule_parts import FrameworkRef, Remediation, ReportWords
from auditor.schemacheck import FastValidator, StreamChecks, UnsupportedSchemaError, stream_checks
from auditor.scope_model import PolicyScope
from auditor.shard import Digests, Provenance, Shard

SCHEMA_FILE = "findings.schema.json"
# Waivers rebuilt from a finding's {reason, owner, expires} of an older file, which does not record their number.
UNKNOWN_WAIVER_INDEX = -1
_MAX_MESSAGE = 240  # of a schema error's message
STREAMED = ("findings", "inventory")  # the top-level arrays read item by item


def from_document(doc: dict[str, Any], source: str) -> ScanResult:
    """Rebuild the ScanResult a findings document records.

    Raises ConfigError naming ``source`` and the JSON path of the first problem when the document
    does not match the schema or contradicts itself (a finding id that is not the hash of its rule
    and resource, a finding of a rule missing from ``rules``, an impossible date).
    """
    error = best_match(validation().validator.iter_errors(doc))
    if error is not None:
        raise ConfigError(_describe(error), file=source, field=_json_path(error.absolute_path))

    rules = {rule_id: rule_from(entry, rule_id, source) for rule_id, entry in doc["rules"].items()}
    findings = []
    for i, entry in enumerate(doc["findings"]):
        check_rule(entry, i, rules, source)
        findings.append(finding_from(entry, i, source))
    marks = (baseline_mark(entry["baseline"]) for entry in doc["findings"])
    resources = tuple(resource_from(r) for r in doc.get("inventory", ()))
    return assemble(doc, rules, tuple(findings), resources, marks, source)


def assemble(doc: Mapping[str, Any], rules: dict[str, Rule], findings: tuple[Finding, ...],
             resources: tuple[Resource, ...], marks: Iterable[FindingBaseline], source: str) -> ScanResult:
    """The ScanResult of a valid document whose findings, inventory and (with a ``baseline``) the findings'
    baseline marks were already read; ConfigError for the dates and times that are impossible."""
    scan = doc["scan"]
    waivers = doc["waivers"]
    frameworks, excluded_rules = framework_summary.from_documents(doc.get("frameworks", ()))
    return ScanResult(
        tool_version=doc["tool"]["version"],
        started_at=_parse_timestamp(scan["started"], source, ("scan", "started")),
        finished_at=_parse_timestamp(scan["ended"], source, ("scan", "ended")),
        scopes=tuple(scan["scopes"]),
        findings=findings,
        coverage=tuple(
            CoverageRow(
                provider=row["provider"],
                account=row["account"],
                region=row["region"],
                service=row["service"],
                scope_id=row["scope_id"],
                resource_types=tuple(row["resource_types"]),
                resources=row["resources"],
                error=row["error"],
                found_through=tuple(row.get("found_through", ())),
            )
            for row in doc["coverage"]
        ),
        rules=rules,
        fail_on=Severity(scan["fail_on"]),
        expired_waivers=tuple(
            _waiver_from(w, source, ("waivers", "expired", i)) for i, w in enumerate(waivers["expired"])
        ),
        unused_waivers=tuple(
            _waiver_from(w, source, ("waivers", "unused", i)) for i, w in enumerate(waivers["unused"])
        ),
        active_waivers=tuple(  # files of older versions have none: their view of active waivers is empty
            _waiver_from(w, source, ("waivers", "active", i)) for i, w in enumerate(waivers.get("active", ()))
        ),
        resources=resources,
        frameworks=frameworks,
        excluded_rules=excluded_rules,
        fail_on_new=bool(scan.get("fail_on_new", False)),
        baseline=_baseline_from(doc.get("baseline"), findings, marks, source),
        history=_history_from(doc.get("history"), source),
        policy_scope=_policy_scope_from(doc.get("policy_scope")),
        owner_tag=scan.get("owner_tag", ""),
        provenance=_provenance_from(scan),
    )


def _provenance_from(scan: Mapping[str, Any]) -> Provenance | None:
    """``scan.shard`` and what goes with it; None for a file written before shards were recorded."""
    shard = scan.get("shard")
    if shard is None:
        return None
    digests = scan.get("digests")
    return Provenance(
        shard=Shard(shard["index"], shard["total"]),
        owned=tuple(shard["scopes"]),
        arguments=dict(scan.get("arguments", {})),
        digests=Digests(digests["catalog"], digests["policy"], digests["waivers"]) if digests is not None else None,
        merged_from=tuple(Shard(s["index"], s["total"]) for s in scan.get("merged_from", ())),
        listed=tuple(shard.get("listed", ())),
    )


def _related_from(uses: Mapping[str, Any]) -> dict[str, Any]:
    """``related`` of an inventory entry's ``uses`` (``findings_sections._uses`` wrote it)."""
    return {name: None if ids is None else list(ids) for name, ids in uses.items()}


def _unread_from(uses: Mapping[str, Any]) -> dict[str, str]:
    """``unreadable`` of an inventory entry's ``uses``: the relations that could not be read."""
    return {f"related.{name}": "not known when the scan ran" for name, ids in uses.items() if ids is None}


def schema() -> dict[str, Any]:
    """The published findings.json schema (a fresh copy)."""
    loaded: dict[str, Any] = json.loads((schemas_dir() / SCHEMA_FILE).read_text(encoding="utf-8"))
    return loaded


# --- reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Validation:
    """The schema's checks: ``validator`` (jsonschema's errors, without walking what is proven valid) and
    ``stream`` (for reading a file in pieces; None when the schema cannot be split: read whole)."""

    validator: FastValidator
    stream: StreamChecks | None


@lru_cache(maxsize=1)
def validation() -> Validation:
    loaded = schema()
    jsonschema.Draft202012Validator.check_schema(loaded)
    try:
        stream = stream_checks(loaded, STREAMED)
    except UnsupportedSchemaError:
        stream = None
    return Validation(FastValidator(loaded), stream)


def rule_from(entry: Mapping[str, Any], rule_id: str, source: str) -> Rule:
    if entry["id"] != rule_id:
        raise ConfigError(f"rule id {entry['id']!r} differs from its key {rule_id!r}", file=source,
                          field=_json_path(("rules", rule_id, "id")))
    remediation = entry["remediation"]
    return Rule(
        id=rule_id,
        title=entry["title"],
        severity=Severity(entry["severity"]),
        provider=entry["provider"],
        resource_type=entry["resource_type"],
        rationale=entry["rationale"],
        remediation=Remediation(guidance=remediation["guidance"], remediator=remediation["remediator"]),
        anchors=tuple(entry["anchors"]),
        references=tuple(entry["references"]),
        frameworks=tuple(
            FrameworkRef(framework=r["framework"], control=r["control"], title=r["title"])
            for r in entry["frameworks"]
        ),
        source=source,
        severity_override=_override_from(entry.get("severity_override")),
        report=ReportWords.from_json(entry["report"]) if "report" in entry else None,
    )


def _override_from(entry: Mapping[str, Any] | None) -> SeverityOverride | None:
    if entry is None:
        return None
    return SeverityOverride(Severity(entry["original"]), entry["justification"], entry["policy"])


def check_rule(entry: Mapping[str, Any], index: int, rules: Mapping[str, Rule], source: str) -> None:
    if entry["rule_id"] not in rules:
        raise ConfigError(f"rule {entry['rule_id']!r} is not described under $.rules", file=source,
                          field=_json_path(("findings", index, "rule_id")))


def finding_from(entry: Mapping[str, Any], index: int, source: str) -> Finding:
    """A valid finding entry whose rule is described under $.rules (``check_rule``)."""
    where = ("findings", index)
    rule_id: str = entry["rule_id"]
    expected = finding_id(rule_id, entry["provider"], entry["resource_id"])
    if entry["id"] != expected:
        raise ConfigError(f"id {entry['id']!r} is not the id of this rule and resource ({expected})",
                          file=source, field=_json_path((*where, "id")))
    waiver = None
    if "waiver" in entry:
        w = entry["waiver"]
        waiver = Waiver(
            rules=(rule_id,), resources=(entry["resource_id"],), reason=w["reason"], owner=w["owner"],
            expires=_parse_date(w["expires"], source, (*where, "waiver", "expires")),
            index=w["number"] - 1 if "number" in w else UNKNOWN_WAIVER_INDEX,
        )
    return Finding(
        rule_id=rule_id,
        resource_id=entry["resource_id"],
        resource_type=entry["resource_type"],
        provider=entry["provider"],
        account=entry["account"],
        region=entry["region"],
        status=Status(entry["status"]),
        severity=Severity(entry["severity"]),
        message=entry["message"],
        evidence=entry["evidence"],
        resource_name=entry["resource_name"],
        waiver=waiver,
        fingerprint=Fingerprint.from_json(entry["resource_fingerprint"]) if "resource_fingerprint" in entry else None,
        owner=_owner_of(entry.get("owner")),
    )


def _owner_of(doc: Mapping[str, Any] | None) -> Owner | None:
    """The finding's recorded owner; the owners of 100,000 findings are a few dozen, shared."""
    if doc is None:
        return None
    return _owner_cached(doc["state"], doc.get("value", ""), doc.get("tag", ""), doc.get("reason", ""))


@lru_cache(maxsize=4096)
def _owner_cached(state: str, value: str, tag: str, reason: str) -> Owner:
    return Owner(OwnerState(state), value=value, tag=tag, reason=reason)


def resource_from(r: Mapping[str, Any], *, copy_tags: bool = True) -> Resource:
    """An inventory entry; ``copy_tags`` False: the entry's tags mapping is the resource's (read-only) own."""
    uses = r.get("uses", {})
    unreadable = _unread_from(uses)
    if "tags_unread" in r:
        unreadable["tags"] = r["tags_unread"]
    related = _related_from(uses)
    if "plan" in r:  # a planned resource (auditor scan plan): its findings' plan marks come from it
        related["plan"] = dict(r["plan"])
    return Resource(id=r["id"], type=r["type"], provider=r["provider"], account=r["account"], region=r["region"],
                    name=r["name"], document={}, tags=dict(r["tags"]) if copy_tags else r["tags"],
                    related=related, unreadable=unreadable)


def baseline_mark(mark: Mapping[str, Any]) -> FindingBaseline:
    return _mark_of(mark["state"], mark["previous_status"], mark["previous_severity"])


@lru_cache(maxsize=256)  # a few dozen combinations: the marks of 100,000 findings share them
def _mark_of(state: str, previous_status: str | None, previous_severity: str | None) -> FindingBaseline:
    return FindingBaseline(state=BaselineState(state),
                           previous_status=Status(previous_status) if previous_status else None,
                           previous_severity=Severity(previous_severity) if previous_severity else None)


def _baseline_from(summary: Mapping[str, Any] | None, findings: Sequence[Finding], marks: Iterable[FindingBaseline],
                   source: str) -> BaselineComparison | None:
    """The comparison the document records (its counts are derived, so they are recomputed, not read).

    ``marks``: each finding's baseline mark, in order (read only when there is a ``summary``)."""
    if summary is None:
        return None
    states = {f.id: mark for f, mark in zip(findings, marks, strict=True)}
    return BaselineComparison(
        file=summary["file"],
        started=_parse_timestamp(summary["started"], source, ("baseline", "started")),
        findings=states,
        resolved=tuple(
            PreviousFailure(id=p["id"], rule_id=p["rule_id"], resource_id=p["resource_id"],
                            severity=Severity(p["severity"]), status=Status(p["status"]) if p["status"] else None,
                            provider=p.get("provider", ""), account=p.get("account", ""),
                            region=p.get("region", ""), resource_name=p.get("resource_name", ""))
            for p in summary["resolved"]
        ),
        unverified=tuple(
            PreviousFailure(id=p["id"], rule_id=p["rule_id"], resource_id=p["resource_id"],
                            severity=Severity(p["severity"]), reason=p["reason"], provider=p.get("provider", ""),
                            account=p.get("account", ""), region=p.get("region", ""),
                            resource_name=p.get("resource_name", ""))
            for p in summary["unverified"]
        ),
    )


def _policy_scope_from(entry: Mapping[str, Any] | None) -> PolicyScope | None:
    if entry is None:
        return None
    return PolicyScope(out_of_scope=entry["out_of_scope"], by_rule=dict(entry["by_rule"]),
                       by_resource_type=dict(entry["by_resource_type"]), findings=entry["findings"],
                       by_status=dict(entry["by_status"]))


def _history_from(entry: Mapping[str, Any] | None, source: str) -> RunHistory | None:
    if entry is None:
        return None
    return RunHistory(
        file=entry["file"],
        limit=entry["limit"],
        runs=tuple(
            TrendPoint(
                started=_parse_timestamp(run["started"], source, ("history", "runs", i, "started")),
                ended=_parse_timestamp(run["ended"], source, ("history", "runs", i, "ended")),
                complete=run["complete"],
                exit_code=run["exit_code"],
                failures={s: run["failures"][s.value] for s in Severity},
            )
            for i, run in enumerate(entry["runs"])
        ),
    )


def _waiver_from(entry: Mapping[str, Any], source: str, where: tuple[str | int, ...]) -> Waiver:
    return Waiver(
        rules=tuple(entry["rules"]),
        resources=tuple(entry["resources"]),
        reason=entry["reason"],
        owner=entry["owner"],
        expires=_parse_date(entry["expires"], source, (*where, "expires")),
        index=entry["index"],
        line=entry.get("line", 0),
    )


def _parse_timestamp(text: str, source: str, where: tuple[str | int, ...]) -> datetime:
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError as exc:
        raise ConfigError(f"not a date and time: {text!r}", file=source, field=_json_path(where)) from exc


def _parse_date(text: str, source: str, where: tuple[str | int, ...]) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"not a date: {text!r}", file=source, field=_json_path(where)) from exc


def _json_path(parts: Iterable[str | int]) -> str:
    """``$.findings[3].status``; keys that are not identifiers are quoted: ``$.rules['aws.x']``."""
    path = "$"
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.isidentifier():
            path += f".{part}"
        else:
            path += "['" + part.replace("\\", "\\\\").replace("'", "\\'") + "']"
    return path


def _describe(error: ValidationError) -> str:
    """The validator's message, without pasting a whole finding into the terminal."""
    if error.validator == "not" and error.validator_value == {}:  # the schema's way of forbidding a key
        return "not allowed here"
    message = error.message
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 3] + "..."
    return message
