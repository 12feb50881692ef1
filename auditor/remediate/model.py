"""The data of remediation: plan steps, step results, and the errors remediators raise.

A plan is a list of :class:`PlanStep`, one per FAIL finding selected. Every step is deterministic
given the finding (as the findings file recorded it) and its resolved ``inputs``: ``apply`` asks the
remediator to describe the step again and refuses a step whose file text differs (an edited plan,
or a plan made by another auditor version).

Values inside steps (changes, API calls, undo) are plain JSON data meant for a reviewer; the fields
``apply`` acts on are typed.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.errors import AuditorError
from auditor.fingerprint import Fingerprint
from auditor.model import Finding, Severity, Status


class Disruption(enum.StrEnum):
    """What applying a fix does to the workload."""

    NONE = "none"  # nothing a client or an instance notices
    ROLLING = "rolling"  # instances are replaced (SageMaker blue/green update); capacity stays
    BREAKING_CLIENTS = "breaking-clients"  # some clients lose access until they change (auth, network)


class Mode(enum.StrEnum):
    AUTOMATIC = "automatic"  # apply carries it out
    ACCESS_REMOVAL = "automatic-access-removal"  # apply carries it out only with --allow-access-removal
    PLAN_ONLY = "plan-only"  # shown for review; re-plan naming the rule (--rule) to make it applicable
    MANUAL = "manual"  # no safe automatic fix: a procedure for a person


class Outcome(enum.StrEnum):
    APPLIED = "applied"  # changed, re-read, and the rule now passes
    ALREADY_APPLIED = "already-applied"  # the after-state already held: nothing changed
    REFUSED = "refused"  # not attempted: changed since the plan, over --max-changes, a flag missing ...
    FAILED = "failed"  # an API call failed; the journal says what had changed before it
    VERIFICATION_FAILED = "verification-failed"  # changed, but the re-read resource does not pass
    NOT_APPLICABLE = "not-applied"  # manual or plan-only steps: apply never acts on them

    @property
    def ok(self) -> bool:
        return self in (Outcome.APPLIED, Outcome.ALREADY_APPLIED, Outcome.NOT_APPLICABLE)


class RemediationError(AuditorError):
    """A remediation input (plan, journal, parameter) that cannot be used."""


class StepRefused(Exception):  # noqa: N818 - an outcome, raised by remediators
    """The step is not attempted (or stops before its next change): the resource is not as planned."""


class StepFailed(Exception):  # noqa: N818 - an outcome, raised by remediators
    """An API call failed or a change did not take."""


@dataclass(frozen=True, slots=True)
class StepFinding:
    """The finding a step fixes, as the findings file recorded it (evidence is secret-free by contract)."""

    id: str
    rule_id: str
    severity: str
    provider: str
    resource_id: str
    resource_type: str
    resource_name: str
    region: str
    account: str
    message: str
    evidence: Mapping[str, Any]
    fingerprint: Fingerprint | None = None  # the resource as the scan read it (None: a findings file without one)

    @classmethod
    def of(cls, finding: Finding) -> StepFinding:
        return cls(id=finding.id, rule_id=finding.rule_id, severity=finding.severity.value,
                   provider=finding.provider, resource_id=finding.resource_id, resource_type=finding.resource_type,
                   resource_name=finding.resource_name, region=finding.region, account=finding.account,
                   message=finding.message, evidence=plain(finding.evidence), fingerprint=finding.fingerprint)

    def to_finding(self) -> Finding:
        return Finding(rule_id=self.rule_id, resource_id=self.resource_id, resource_type=self.resource_type,
                       provider=self.provider, account=self.account, region=self.region, status=Status.FAIL,
                       severity=Severity(self.severity), message=self.message, evidence=dict(self.evidence),
                       resource_name=self.resource_name, fingerprint=self.fingerprint)

    def to_json(self) -> dict[str, Any]:
        out = {"id": self.id, "rule_id": self.rule_id, "severity": self.severity, "provider": self.provider,
               "resource_id": self.resource_id, "resource_type": self.resource_type,
               "resource_name": self.resource_name, "region": self.region, "account": self.account,
               "message": self.message, "evidence": plain(self.evidence)}
        if self.fingerprint is not None:
            out["resource_fingerprint"] = self.fingerprint.to_json()
        return out

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> StepFinding:
        state = doc.get("resource_fingerprint")
        return cls(**{k: doc[k] for k in ("id", "rule_id", "severity", "provider", "resource_id", "resource_type",
                                           "resource_name", "region", "account", "message", "evidence")},
                   fingerprint=Fingerprint.from_json(state) if isinstance(state, Mapping) else None)


@dataclass(frozen=True, slots=True)
class PlanStep:
    """One finding's fix (or manual procedure), complete enough for a reviewer and for ``apply``.

    ``changes``: ``{"resource", "field", "before", "before_source", "after"}`` per value that changes
    (``before_source`` is ``evidence`` when the findings file gave it, ``read at apply`` when only
    the live resource can); ``api_calls``: ``{"call", "target", "params"?, "note"?}`` in order;
    ``undo``: ``{"description", "api_calls"}``.
    """

    id: str
    finding: StepFinding
    mode: Mode
    remediator: str | None
    title: str
    disruption: Disruption
    disruption_detail: str
    inputs: Mapping[str, Any] = field(default_factory=dict)
    changes: tuple[Mapping[str, Any], ...] = ()
    api_calls: tuple[Mapping[str, Any], ...] = ()
    permissions: tuple[str, ...] = ()
    precondition: str = ""
    verification: str = ""
    undo: Mapping[str, Any] = field(default_factory=dict)
    manual_procedure: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def executable(self) -> bool:
        return self.mode in (Mode.AUTOMATIC, Mode.ACCESS_REMOVAL)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "finding": self.finding.to_json(),
            "mode": self.mode.value,
            "remediator": self.remediator,
            "title": self.title,
            "disruption": {"class": self.disruption.value, "detail": self.disruption_detail},
            "inputs": plain(self.inputs),
            "changes": [plain(c) for c in self.changes],
            "api_calls": [plain(c) for c in self.api_calls],
            "permissions": list(self.permissions),
            "precondition": self.precondition,
            "verification": self.verification,
            "undo": plain(self.undo),
            "manual_procedure": list(self.manual_procedure),
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> PlanStep:
        return cls(
            id=doc["id"], finding=StepFinding.from_json(doc["finding"]), mode=Mode(doc["mode"]),
            remediator=doc["remediator"], title=doc["title"], disruption=Disruption(doc["disruption"]["class"]),
            disruption_detail=doc["disruption"]["detail"], inputs=dict(doc["inputs"]),
            changes=tuple(doc["changes"]), api_calls=tuple(doc["api_calls"]), permissions=tuple(doc["permissions"]),
            precondition=doc["precondition"], verification=doc["verification"], undo=dict(doc["undo"]),
            manual_procedure=tuple(doc["manual_procedure"]), notes=tuple(doc["notes"]),
        )


@dataclass(frozen=True, slots=True)
class RecordedChange:
    """A change as a journal records it: the kind, its target, the value before and the value set.

    Rollback asks the step's remediator whether the step makes such a change
    (``Remediator.change_problem``) before it writes ``before`` back.
    """

    kind: str
    target: Mapping[str, Any]
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class StepResult:
    step_id: str
    rule_id: str
    resource_id: str
    outcome: Outcome
    detail: str = ""


def step_id(finding_id: str, remediator: str | None) -> str:
    """Stable across plans: the same finding fixed by the same remediator has the same step id."""
    return hashlib.sha256(f"{finding_id}\n{remediator or 'manual'}".encode()).hexdigest()[:16]


def plain(value: Any) -> Any:
    """``value`` as plain JSON data (sorted keys need no help: json.dumps sorts them on output).

    What ``json.loads(json.dumps(value, default=str))`` gives; a value made only of JSON's own types (dicts
    with string keys, lists, tuples, strings, numbers, booleans, None) is copied directly, which gives the same
    without encoding it to text and parsing it again (a plan holds a value like this per step, thousands).
    """
    try:
        return _copy_plain(value)
    except (_NotPlain, RecursionError):
        return json.loads(json.dumps(value, default=str))


class _NotPlain(Exception):  # noqa: N818 - control flow: take the JSON round trip
    pass


_INT_DIGITS = 4000  # below the interpreter's limit on int-to-text conversion, which json.dumps would hit


def _copy_plain(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is bool or kind is float or value is None:
        return value  # a float's repr reads back as the same float (NaN and infinities as NaN and infinities)
    if kind is int:
        if value.bit_length() > _INT_DIGITS * 3:  # ~1 decimal digit per 3.3 bits: short of json.dumps' limit
            raise _NotPlain
        return value
    if kind is dict:
        copied = {}
        for key, item in value.items():
            if type(key) is not str:  # json.dumps would turn it into a string
                raise _NotPlain
            copied[key] = _copy_plain(item)
        return copied
    if kind is list or kind is tuple:
        return [_copy_plain(item) for item in value]
    raise _NotPlain


def same_json(a: Any, b: Any) -> bool:
    return json.dumps(plain(a), sort_keys=True) == json.dumps(plain(b), sort_keys=True)


@dataclass(frozen=True, slots=True)
class Plan:
    """A plan file's content. ``source``: the findings file (``file``, ``sha256``, ``scan_started``,
    ``scan_ended``, ``scopes``); ``selection``: the ``rules`` named and the ``params`` given;
    ``skipped``: how many findings got no step, and why (``muted``, ``error``, ``not_selected``)."""

    created: str
    tool_version: str
    source: Mapping[str, Any]
    selection: Mapping[str, Any]
    steps: tuple[PlanStep, ...]
    skipped: Mapping[str, int] = field(default_factory=dict)
    target: Mapping[str, Any] = field(default_factory=dict)  # where it applies (auditor.remediate.target)

    def summary(self) -> dict[str, Any]:
        by_mode = {m.value: sum(1 for s in self.steps if s.mode is m) for m in Mode}
        by_disruption = {d.value: sum(1 for s in self.steps if s.executable and s.disruption is d) for d in Disruption}
        return {"steps": len(self.steps), "by_mode": by_mode, "automatic_by_disruption": by_disruption,
                "skipped": dict(self.skipped)}
