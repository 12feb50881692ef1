"""Per-framework compliance summary: each control passed, failed, not evaluated or not covered.

A control's status comes from the findings of the rules it lists (the framework files in
``rules/frameworks/``), in this order:

- ``not_covered``: the control lists no rule of this catalog;
- ``failed``: some mapped rule has a FAIL, or a MUTED finding. A waiver accepts a failure, it does
  not make the control pass: a control failing only through MUTED findings is ``failed`` with
  ``waived: true`` (and counted under ``waived`` as well as ``failed``);
- ``not_evaluated``: some mapped rule had an ERROR, evaluated no resource at all (none in scope),
  was left out by the policy, or belongs to a provider the scan did not cover;
- ``passed``: every mapped rule evaluated at least one resource and all its findings are PASS or
  NOT_APPLICABLE.

So a control is never ``passed`` when one of its rules had an ERROR or saw no resource. A known
failure outranks an unknown: a control with a FAIL and an ERROR is ``failed``. Frameworks none of
whose rules belong to a scanned provider are left out of the summary (an AWS scan says nothing about
the Microsoft cloud security benchmark); frameworks marked ``informative`` are reported as such.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.model import ScanResult, Status
from auditor.rule_parts import Control, Framework


class ControlStatus(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_EVALUATED = "not_evaluated"
    NOT_COVERED = "not_covered"


class RuleState(enum.StrEnum):
    PASSED = "passed"  # every finding PASS (or NOT_APPLICABLE), at least one PASS
    NOT_APPLICABLE = "not_applicable"  # every finding NOT_APPLICABLE: nothing the rule governs exists
    FAILED = "failed"  # some FAIL
    WAIVED = "waived"  # some MUTED, no FAIL
    ERROR = "error"  # some ERROR, no FAIL or MUTED
    NO_RESOURCES = "no_resources"  # evaluated, but no resource of its type was in scope
    EXCLUDED = "excluded"  # left out by the policy (not selected, disabled)
    NOT_SCANNED = "not_scanned"  # its provider was not part of the scan


_UNDECIDED = frozenset({RuleState.ERROR, RuleState.NO_RESOURCES, RuleState.EXCLUDED, RuleState.NOT_SCANNED})


@dataclass(frozen=True)
class RuleOutcome:
    rule_id: str
    state: RuleState
    reason: str
    counts: Mapping[str, int]  # findings by status


@dataclass(frozen=True)
class ControlSummary:
    control: Control
    status: ControlStatus
    waived: bool  # failed only through MUTED findings
    rules: tuple[RuleOutcome, ...]


@dataclass(frozen=True)
class FrameworkSummary:
    framework: Framework
    controls: tuple[ControlSummary, ...]

    def counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in ControlStatus}
        for c in self.controls:
            counts[c.status.value] += 1
        counts["waived"] = sum(1 for c in self.controls if c.waived)
        counts["total"] = len(self.controls)
        return counts


def scanned_providers(result: ScanResult) -> frozenset[str]:
    return frozenset({c.provider for c in result.coverage} | {r.provider for r in result.resources}
                     | {f.provider for f in result.findings})


def summarise(result: ScanResult) -> tuple[FrameworkSummary, ...]:
    providers = scanned_providers(result)
    by_rule: dict[str, Counter[Status]] = {}
    types = {rid: rule.resource_type for rid, rule in result.rules.items()}
    for f in result.findings:
        by_rule.setdefault(f.rule_id, Counter())[f.status] += 1
    out = []
    for framework in result.frameworks:
        mapped = {rid for c in framework.controls for rid in c.rules}
        if mapped and not any(_provider(rid) in providers for rid in mapped):
            continue
        controls = []
        for control in framework.controls:
            outcomes = tuple(_outcome(rid, result, by_rule.get(rid, Counter()), providers, types)
                             for rid in control.rules)
            status, waived = control_status(outcomes)
            controls.append(ControlSummary(control, status, waived, outcomes))
        out.append(FrameworkSummary(framework, tuple(controls)))
    return tuple(out)


def _provider(rule_id: str) -> str:
    return rule_id.split(".", 1)[0]


def _outcome(rule_id: str, result: ScanResult, counts: Counter[Status], providers: frozenset[str],
             types: Mapping[str, str]) -> RuleOutcome:
    plain = {s.value: counts[s] for s in Status}
    if rule_id not in result.rules:
        if _provider(rule_id) not in providers:
            return RuleOutcome(rule_id, RuleState.NOT_SCANNED, f"the scan did not cover {_provider(rule_id)}", plain)
        reason = result.excluded_rules.get(rule_id, "not evaluated in this scan")
        return RuleOutcome(rule_id, RuleState.EXCLUDED, reason, plain)
    total = sum(counts.values())
    if counts[Status.FAIL]:
        return RuleOutcome(rule_id, RuleState.FAILED, f"{counts[Status.FAIL]} of {total} findings FAIL", plain)
    if counts[Status.MUTED]:
        return RuleOutcome(rule_id, RuleState.WAIVED, f"{counts[Status.MUTED]} of {total} findings FAIL under a "
                           "waiver", plain)
    if counts[Status.ERROR]:
        return RuleOutcome(rule_id, RuleState.ERROR, f"{counts[Status.ERROR]} of {total} findings could not be "
                           "decided (ERROR)", plain)
    if not total:
        return RuleOutcome(rule_id, RuleState.NO_RESOURCES,
                           f"no {types.get(rule_id, 'matching')} resource was in scope", plain)
    if not counts[Status.PASS]:
        return RuleOutcome(rule_id, RuleState.NOT_APPLICABLE, f"all {total} resources are out of the rule's "
                           "reach (NOT_APPLICABLE)", plain)
    return RuleOutcome(rule_id, RuleState.PASSED, f"{counts[Status.PASS]} of {total} findings PASS", plain)


def control_status(outcomes: Sequence[RuleOutcome]) -> tuple[ControlStatus, bool]:
    """(status, waived) of a control from its rules' outcomes; see the module docstring."""
    states = {o.state for o in outcomes}
    if not outcomes:
        return ControlStatus.NOT_COVERED, False
    if RuleState.FAILED in states:
        return ControlStatus.FAILED, False
    if RuleState.WAIVED in states:
        return ControlStatus.FAILED, True
    if states & _UNDECIDED:
        return ControlStatus.NOT_EVALUATED, False
    return ControlStatus.PASSED, False


# --- findings.json -------------------------------------------------------------------------------


def to_documents(result: ScanResult) -> list[dict[str, Any]]:
    """The ``frameworks`` key of findings.json."""
    return [
        {
            "id": s.framework.id,
            "title": s.framework.title,
            "version": s.framework.version,
            "informative": s.framework.informative,
            "source": s.framework.source,
            "counts": s.counts(),
            "controls": [
                {
                    "id": c.control.id,
                    "title": c.control.title,
                    "status": c.status.value,
                    "waived": c.waived,
                    "rules": [{"rule_id": o.rule_id, "state": o.state.value, "reason": o.reason,
                               "counts": dict(o.counts)} for o in c.rules],
                }
                for c in s.controls
            ],
        }
        for s in summarise(result)
    ]


def from_documents(docs: Sequence[Mapping[str, Any]]) -> tuple[tuple[Framework, ...], dict[str, str]]:
    """The framework definitions and policy exclusions a ``frameworks`` key records.

    Statuses and counts are derived from the findings again when the document is written back.
    """
    frameworks = tuple(
        Framework(
            id=d["id"], title=d["title"], version=d["version"], informative=d["informative"], source=d["source"],
            controls=tuple(Control(c["id"], c["title"], tuple(r["rule_id"] for r in c["rules"]))
                           for c in d["controls"]),
        )
        for d in docs
    )
    excluded = {r["rule_id"]: r["reason"] for d in docs for c in d["controls"] for r in c["rules"]
                if r["state"] == RuleState.EXCLUDED.value}
    return frameworks, excluded
