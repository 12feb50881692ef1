"""The data that flows between layers: collectors -> engine -> outputs (the parts of a rule: auditor.rule_parts).

Everything here is a frozen dataclass or an enum. Mappings held inside are read-only by
convention; nothing downstream of a collector mutates a resource document.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from auditor.identity import finding_id
from auditor.rule_parts import Framework, FrameworkRef, Remediation, ReportWords, Verdict
from auditor.untrusted import service_text

if TYPE_CHECKING:
    from auditor.fingerprint import Fingerprint
    from auditor.scope_model import PolicyScope
    from auditor.shard import Provenance


MAX_ERROR_TEXT = 2000  # a bound for error texts kept in the model; collectors keep theirs shorter


class Status(enum.StrEnum):
    PASS = "PASS"  # noqa: S105 - a status, not a password
    FAIL = "FAIL"
    ERROR = "ERROR"  # the rule could not be decided: data missing, access denied, rule crashed
    MUTED = "MUTED"  # a FAIL under a valid waiver
    NOT_APPLICABLE = "NOT_APPLICABLE"


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse: critical=4 ... info=0."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


@dataclass(frozen=True, slots=True)
class Resource:
    """One cloud resource as its service describes it.

    ``document`` is the service's own API document (the JSON of ``aws sagemaker describe-...``),
    so rules use the paths users already know. What the collector derives (the config an
    endpoint runs, the role a model assumes) lives in ``related``, never mixed into the document.
    ``unreadable`` names top-level document keys that could not be read (key -> reason); the
    key ``"*"`` means the whole document could not be read.
    """

    id: str  # AWS: ARN; Azure: Resource Manager id
    type: str  # e.g. "aws.sagemaker.endpoint"
    provider: str  # "aws" | "azure"
    account: str  # AWS account id / Azure subscription id
    region: str  # AWS region ("global" for IAM/S3 without a region) / Azure location
    name: str
    document: Mapping[str, Any]
    related: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    unreadable: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.unreadable:  # a service's words: kept redacted and escaped, whoever built the resource
            object.__setattr__(self, "unreadable", {str(k): service_text(str(v), MAX_ERROR_TEXT)
                                                    for k, v in self.unreadable.items()})


@dataclass(frozen=True, slots=True)
class CoverageRow:
    """What one (provider, account, region, service) unit of collection achieved.

    ``error`` is None when collected. ``scope_id`` is the resource id ERROR findings take when
    the resources themselves could not be listed (``arn:aws:sagemaker:REGION:ACCOUNT:*``).
    ``resource_types`` are the types whose rules this row decides coverage for.

    ``found_through``: empty when the row's resources were listed (every resource of its scope was
    seen). Otherwise the row holds only what other scopes reference (the IAM roles, KMS keys and S3
    buckets that SageMaker models and configs name), and these are the scope id patterns (``*``
    matches anything) of those referencing scopes: a resource gone from such a row is gone only when
    every scope matching them was read (``auditor.baseline``).
    """

    provider: str
    account: str
    region: str
    service: str
    scope_id: str
    resource_types: tuple[str, ...]
    resources: int = 0
    error: str | None = None
    found_through: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.error is not None:  # a service's words: kept redacted and escaped, whoever built the row
            object.__setattr__(self, "error", service_text(self.error, MAX_ERROR_TEXT))

    @property
    def collected(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Inventory:
    resources: tuple[Resource, ...]
    coverage: tuple[CoverageRow, ...]
    scopes: tuple[str, ...] = ()  # what was asked for, e.g. "aws:123456789012:eu-west-1"
    listed: tuple[str, ...] = ()  # with --shard: every scope key listed, before the shard kept its own (scopes)

    def of_type(self, resource_type: str) -> tuple[Resource, ...]:
        return tuple(r for r in self.resources if r.type == resource_type)

    def by_id(self) -> dict[str, Resource]:
        return {r.id: r for r in self.resources}

    def failed_coverage(self, resource_type: str) -> tuple[CoverageRow, ...]:
        return tuple(c for c in self.coverage if c.error is not None and resource_type in c.resource_types)

    @property
    def complete(self) -> bool:
        return all(c.collected for c in self.coverage)


@dataclass(frozen=True, slots=True)
class SeverityOverride:
    """A policy's change of a rule's severity: the original, the mandatory justification, the policy file."""

    original: Severity
    justification: str
    policy: str


class Condition(Protocol):
    """A compiled rule condition (see auditor.conditions)."""

    def evaluate(self, resource: Resource, params: Mapping[str, Any]) -> Verdict: ...

    def paths(self) -> tuple[str, ...]: ...

    def describe(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        """The condition as lines of text a person reads (``rules show``), parameters shown with their values."""
        ...


@dataclass(frozen=True, slots=True)
class Rule:
    """One catalog entry, loaded from rules/<provider>/<id>.yaml.

    Exactly one of ``expect`` (declarative) and ``check`` (a named Python check in
    auditor/checks/) decides PASS or FAIL; ``applies_when`` decides NOT_APPLICABLE.
    """

    id: str
    title: str
    severity: Severity
    provider: str
    resource_type: str
    rationale: str
    remediation: Remediation
    expect: Condition | None = None
    check: str | None = None
    applies_when: Condition | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    param_values: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)  # enumerated params: allowed values
    anchors: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    frameworks: tuple[FrameworkRef, ...] = ()
    messages: Mapping[str, str] = field(default_factory=dict)  # "pass"/"fail"/"not_applicable" -> template
    source: str = ""  # the file it was loaded from
    severity_override: SeverityOverride | None = None  # set when a policy changed ``severity``
    report: ReportWords | None = None  # how report.html's endpoint inventory words it; None: from its id


@dataclass(frozen=True, slots=True)
class Waiver:
    rules: tuple[str, ...]  # ids or globs
    resources: tuple[str, ...]  # ids or globs
    reason: str
    owner: str
    expires: date
    index: int  # 0-based position in the waivers file (``number`` is what people read: index + 1)
    source: str = ""  # file name
    line: int = 0  # 1-based line of the entry in the file; 0 when unknown (read from an older findings file)

    @property
    def number(self) -> int:
        """The waiver's number as a person counts the file's entries: the first is 1."""
        return self.index + 1

    def as_written(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "index": self.index,
            "number": self.number,
            "rules": list(self.rules),
            "resources": list(self.resources),
            "reason": self.reason,
            "owner": self.owner,
            "expires": self.expires.isoformat(),
        }
        if self.line > 0:
            doc["line"] = self.line
        return doc


class OwnerState(enum.StrEnum):
    """Whose a finding's resource is, by its owner tag (``--owner-tag``; :mod:`auditor.owners` decides it)."""

    OWNED = "owned"  # the resource carries the tag, with a value
    UNOWNED = "unowned"  # its tags were read and it carries no such tag (or an empty one)
    UNKNOWN = "unknown"  # its tags could not be read (or disagree): never presented as a fact


@dataclass(frozen=True, slots=True)
class Owner:
    state: OwnerState
    value: str = ""  # the tag's value (OWNED only)
    tag: str = ""  # the tag's key as the resource spells it (OWNED only: ``Owner`` for --owner-tag owner)
    reason: str = ""  # why it is UNKNOWN


@dataclass(frozen=True, slots=True)
class Finding:
    rule_id: str
    resource_id: str
    resource_type: str
    provider: str
    account: str
    region: str
    status: Status
    severity: Severity
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    resource_name: str = ""
    waiver: Waiver | None = None  # set iff status is MUTED
    fingerprint: Fingerprint | None = None  # the resource's state as the scan read it (auditor.fingerprint)
    owner: Owner | None = None  # None: not resolved (a findings file of an older version): shown as unknown

    @property
    def id(self) -> str:
        return finding_id(self.rule_id, self.provider, self.resource_id)


class BaselineState(enum.StrEnum):
    """Where a finding stands against a baseline scan (``--baseline``), keyed by finding id.

    ``auditor.baseline`` decides it; the rules are in that module's docstring.
    """

    NEW = "new"  # FAIL now; not a FAIL, PASS, NOT_APPLICABLE or MUTED finding before
    STILL_FAILING = "still_failing"  # FAIL now and before
    REGRESSED = "regressed"  # FAIL now; PASS, NOT_APPLICABLE or MUTED before
    NEWLY_WAIVED = "newly_waived"  # MUTED now (a FAIL a waiver mutes); not MUTED before, or absent: accepted risk
    RESOLVED = "resolved"  # FAIL before; PASS or NOT_APPLICABLE now, or gone from a scope this scan read
    UNKNOWN = "unknown"  # cannot be compared: ERROR now, or a previous FAIL this scan could not re-check
    UNCHANGED = "unchanged"  # everything else (PASS stays PASS, MUTED before and now, ERROR before and now)


@dataclass(frozen=True, slots=True)
class FindingBaseline:
    """One current finding against the baseline: its state, and its status and severity there (None: absent)."""

    state: BaselineState
    previous_status: Status | None = None
    previous_severity: Severity | None = None


@dataclass(frozen=True, slots=True)
class PreviousFailure:
    """A finding that was FAIL in the baseline and is not FAIL now.

    ``status`` is its status in this scan (PASS or NOT_APPLICABLE), None when this scan has no such finding;
    ``reason`` says why a gone finding could not be re-checked (only for the unverified ones).
    """

    id: str
    rule_id: str
    resource_id: str
    severity: Severity
    status: Status | None = None
    reason: str = ""
    # What the baseline said of its resource, to name it (auditor.outputs.names); "" in files of older versions.
    provider: str = ""
    account: str = ""
    region: str = ""
    resource_name: str = ""


@dataclass(frozen=True, slots=True)
class BaselineComparison:
    """A scan compared with a baseline findings file.

    ``findings`` maps every current finding id to its state. ``resolved`` lists the previous failures that
    are resolved, present now (PASS / NOT_APPLICABLE) or gone; ``unverified`` the previous failures with no
    current finding that this scan could not re-check (state unknown, never resolved).
    """

    file: str
    started: datetime
    findings: Mapping[str, FindingBaseline]
    resolved: tuple[PreviousFailure, ...] = ()
    unverified: tuple[PreviousFailure, ...] = ()

    def state_of(self, finding: Finding) -> BaselineState | None:
        entry = self.findings.get(finding.id)
        return entry.state if entry is not None else None

    def counts(self) -> dict[BaselineState, int]:
        """Findings by state; ``resolved`` and ``unknown`` also count previous failures that are gone."""
        counts = dict.fromkeys(BaselineState, 0)
        for entry in self.findings.values():
            if entry.state is not BaselineState.RESOLVED:  # counted once, from the resolved list
                counts[entry.state] += 1
        counts[BaselineState.RESOLVED] = len(self.resolved)
        counts[BaselineState.UNKNOWN] += len(self.unverified)
        return counts


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One stored run of a history database (``--history``): when, how it ended, its FAIL count per severity."""

    started: datetime
    ended: datetime
    complete: bool
    exit_code: int
    failures: Mapping[Severity, int]


@dataclass(frozen=True, slots=True)
class RunHistory:
    """The trend of the last ``limit`` runs stored in ``file``, oldest first (this run included, last)."""

    file: str
    runs: tuple[TrendPoint, ...]
    limit: int


@dataclass(frozen=True, slots=True)
class ScanResult:
    """Everything an output format needs; outputs see nothing else."""

    tool_version: str
    started_at: datetime
    finished_at: datetime
    scopes: tuple[str, ...]
    findings: tuple[Finding, ...]
    coverage: tuple[CoverageRow, ...]
    rules: Mapping[str, Rule]
    fail_on: Severity = Severity.HIGH
    expired_waivers: tuple[Waiver, ...] = ()
    unused_waivers: tuple[Waiver, ...] = ()
    active_waivers: tuple[Waiver, ...] = ()  # neither expired nor (for a file read back) unknown
    resources: tuple[Resource, ...] = ()
    frameworks: tuple[Framework, ...] = ()
    excluded_rules: Mapping[str, str] = field(default_factory=dict)  # rule id -> why the policy left it out
    fail_on_new: bool = False  # gate only on FAIL findings that are new or regressed against the baseline
    baseline: BaselineComparison | None = None  # set by auditor.baseline.compare (--baseline)
    history: RunHistory | None = None  # set by auditor.history (--history)
    policy_scope: PolicyScope | None = None  # with --policy: what its scope left out
    owner_tag: str = ""  # the tag the findings' owners were read from (--owner-tag); "": none was
    provenance: Provenance | None = None  # the shard, its scopes, arguments and digests (auditor.shard)

    @property
    def complete(self) -> bool:
        return all(c.collected for c in self.coverage)

    def gating(self) -> tuple[Finding, ...]:
        """The FAIL findings at or above ``fail_on``: the ones that fail the build.

        With ``fail_on_new`` only those whose baseline state is new or regressed; without a baseline
        to compare with, every FAIL counts as new.
        """
        failing = (f for f in self.findings if f.status is Status.FAIL and f.severity.rank >= self.fail_on.rank)
        if not self.fail_on_new or self.baseline is None:
            return tuple(failing)
        baseline = self.baseline  # a FAIL gates unless it is known to have failed before
        return tuple(f for f in failing if baseline.state_of(f) is not BaselineState.STILL_FAILING)

    def exit_code(self) -> int:
        if not self.complete or any(f.status is Status.ERROR for f in self.findings):
            return 2
        return 1 if self.gating() else 0
