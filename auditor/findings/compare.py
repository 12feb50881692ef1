"""Run-to-run comparison: every finding of a scan against a baseline findings file (``--baseline``).

Findings are matched by their stable id (a hash of rule id and resource key, :mod:`auditor.identity`:
Azure resource ids compare case-insensitively), and scopes hold resources by their keys. Each finding of
this scan gets the state the table of :mod:`auditor.baseline` gives for its status and the status of the
baseline finding with the same id.

A baseline FAIL with no finding in this scan is not a current finding; the comparison lists it:

- as ``resolved`` when this scan read the scope the resource lives in (a collected coverage row of its
  provider whose scope holds the resource id) and evaluated its rule: the resource is gone, or the rule
  no longer yields a finding for it;
- as ``unverified`` (counted ``unknown``, never resolved) when this scan could not re-check it: the
  scope holding it failed to collect (a coverage error for its resource type, or an ERROR finding of its
  rule on that scope), its rule was not evaluated, or no scope of this scan holds it; or the resource is
  one that is found through others (a row with ``found_through``: the IAM roles, KMS keys and S3 buckets
  that SageMaker models and configs reference) and some scope that could reference it was not read in
  this scan: a scope of the baseline or of this scan matching the ``found_through`` patterns of the rows
  holding it, in this scan or in the baseline (a ``--region eu-west-1`` scan against a baseline of two regions
  cannot say a bucket that us-east-1's endpoints used is gone; nor can an organisation's scan that read one
  account's S3 scope say a bucket is gone that an account it could not reach used).

An incomplete scan therefore never turns a previous failure into a resolved one. ``--fail-on-new`` gates
on FAIL findings at or above ``--fail-on`` unless they are ``still_failing`` (``ScanResult.gating``).
"""

from __future__ import annotations

import dataclasses
import re

from auditor.baseline import state
from auditor.identity import resource_key
from auditor.model import (
    BaselineComparison,
    BaselineState,
    Finding,
    FindingBaseline,
    PreviousFailure,
    ScanResult,
    Status,
)

NOT_COLLECTED = "its scope could not be collected in this scan"
NOT_EVALUATED = "its rule was not evaluated in this scan"
NOT_SCANNED = "no scope of this scan holds its resource"
NOT_REREAD = "it is found through scopes this scan did not read"


def compare(current: ScanResult, baseline: ScanResult, file: str) -> BaselineComparison:
    """``current`` against ``baseline`` (read from ``file``): the state of every current finding, and
    the previous failures that are resolved or could not be re-checked."""
    before = {f.id: f for f in baseline.findings}
    states: dict[str, FindingBaseline] = {}
    resolved: list[PreviousFailure] = []
    for f in current.findings:
        prev = before.get(f.id)
        entry = FindingBaseline(
            state=state(f.status, prev.status if prev else None),
            previous_status=prev.status if prev else None,
            previous_severity=prev.severity if prev else None,
        )
        states[f.id] = entry
        if entry.state is BaselineState.RESOLVED and prev is not None:
            resolved.append(_previous(prev, status=f.status))
    unverified: list[PreviousFailure] = []
    gone = [f for fid, f in before.items() if f.status is Status.FAIL and fid not in states]
    if gone:
        scopes = _Scopes(current, baseline)
        for prev in gone:
            reason = scopes.why_unverified(prev)
            if reason:
                unverified.append(_previous(prev, reason=reason))
            else:
                resolved.append(_previous(prev))
    return BaselineComparison(
        file=file,
        started=baseline.started_at,
        findings=states,
        resolved=tuple(sorted(resolved, key=_order)),
        unverified=tuple(sorted(unverified, key=_order)),
    )


def with_baseline(result: ScanResult, baseline: ScanResult, file: str, fail_on_new: bool) -> ScanResult:
    """``result`` carrying its comparison with ``baseline``; ``fail_on_new`` makes only new failures gate."""
    return dataclasses.replace(result, baseline=compare(result, baseline, file), fail_on_new=fail_on_new)


def _previous(f: Finding, *, status: Status | None = None, reason: str = "") -> PreviousFailure:
    return PreviousFailure(id=f.id, rule_id=f.rule_id, resource_id=f.resource_id, severity=f.severity,
                           status=status, reason=reason, provider=f.provider, account=f.account, region=f.region,
                           resource_name=f.resource_name)


def _order(p: PreviousFailure) -> tuple[int, str, str, str]:
    return -p.severity.rank, p.rule_id, p.resource_id, p.id


class _Scopes:
    """Which scopes the current scan read, could not read, or left out: decides a gone failure's fate."""

    def __init__(self, current: ScanResult, baseline: ScanResult) -> None:
        self._collected = [(_Scope(c.provider, c.scope_id), c.found_through)
                           for c in current.coverage if c.collected]
        self._read = {(c.provider, resource_key(c.provider, c.scope_id)) for c in current.coverage if c.collected}
        # Every real scope either scan knows of, once whatever its spelling (a "*" scope stands for regions that
        # were never known).
        known: dict[tuple[str, str], str] = {}
        for c in (*baseline.coverage, *current.coverage):
            if "*" not in c.scope_id.rstrip("*"):
                known.setdefault((c.provider, resource_key(c.provider, c.scope_id)), c.scope_id)
        self._known = sorted((provider, scope_id) for (provider, _), scope_id in known.items())
        self._failed = [(_Scope(c.provider, c.scope_id), frozenset(c.resource_types))
                        for c in current.coverage if not c.collected]
        # What found a resource before: a bucket the baseline found through an account this scan could not reach
        # is held by another account's S3 scope now (a bucket ARN names no account); its referrers are both's.
        self._found_before = [(_Scope(c.provider, c.scope_id), c.found_through, frozenset(c.resource_types))
                              for c in baseline.coverage if c.found_through]
        # ERROR findings on a scope (their resource id is the scope that could not be listed), by rule.
        scope_ids = {c.scope_id for c in current.coverage}
        self._errors = [(_Scope(f.provider, f.resource_id), f.rule_id) for f in current.findings
                        if f.status is Status.ERROR and (f.resource_id in scope_ids or "*" in f.resource_id)]
        self._evaluated = frozenset(current.rules)

    def why_unverified(self, prev: Finding) -> str:
        """Why this scan cannot say a gone previous failure is resolved; empty when it can."""
        if any(scope.holds(prev) and prev.resource_type in types for scope, types in self._failed):
            return NOT_COLLECTED
        if any(rule_id == prev.rule_id and scope.holds(prev) for scope, rule_id in self._errors):
            return NOT_COLLECTED
        if prev.rule_id not in self._evaluated:
            return NOT_EVALUATED
        holders = [found_through for scope, found_through in self._collected if scope.holds(prev)]
        if not holders:
            return NOT_SCANNED
        if all(holders):  # found only through references: every scope that could reference it was read?
            patterns = {p for found_through in holders for p in found_through}
            patterns.update(p for scope, found_through, types in self._found_before
                            if prev.resource_type in types and scope.holds(prev) for p in found_through)
            unread = self._unread_referrers(prev.provider, patterns)
            if unread:
                more = f" and {len(unread) - 3} more" if len(unread) > 3 else ""
                return f"{NOT_REREAD}: {', '.join(unread[:3])}{more}"
        return ""

    def _unread_referrers(self, provider: str, patterns: set[str]) -> list[str]:
        matchers = [_Scope(provider, pattern, exact=True) for pattern in sorted(patterns)]
        return [scope_id for p, scope_id in self._known
                if p == provider and (p, resource_key(p, scope_id)) not in self._read
                and any(m.matches(scope_id) for m in matchers)]


class _Scope:
    """A coverage scope id as a matcher of resource ids.

    ``arn:aws:sagemaker:eu-west-1:123456789012:*`` (``*`` matches anything, also ``/``) holds every ARN it
    matches; a Resource Manager id (``/subscriptions/S``, a workspace id) holds itself and every id under
    it; both compared by their resource keys (Azure's case-insensitively).

    An ARN that carries no account (an S3 bucket's, ``arn:aws:s3:::BUCKET``) cannot say which account's scope
    it is in: a scope that names an account (an organisation's ``arn:aws:s3::123456789012:*``) holds it when
    the rest of the ARN matches.
    """

    def __init__(self, provider: str, scope_id: str, *, exact: bool = False) -> None:
        self.provider = provider
        scope_id = resource_key(provider, scope_id)
        self._pattern = self._compile(scope_id, exact)
        fields = scope_id.split(":", 5)
        self._accountless = None
        if len(fields) == 6 and fields[0] == "arn" and fields[4] not in ("", "*"):
            self._accountless = self._compile(":".join((*fields[:4], "", fields[5])), exact)

    @staticmethod
    def _compile(scope_id: str, exact: bool) -> re.Pattern[str]:
        if "*" in scope_id:
            pattern = ".*".join(re.escape(part) for part in scope_id.split("*"))
        elif exact:
            pattern = re.escape(scope_id)
        else:
            pattern = re.escape(scope_id.rstrip("/")) + "(?:/.*)?"
        return re.compile(pattern, re.DOTALL)

    def holds(self, f: Finding) -> bool:
        if f.provider != self.provider:
            return False
        if self.matches(f.resource_id):
            return True
        fields = f.resource_id.split(":", 5)
        return (self._accountless is not None and len(fields) == 6 and fields[0] == "arn" and fields[4] == ""
                and self._accountless.fullmatch(resource_key(self.provider, f.resource_id)) is not None)

    def matches(self, resource_or_scope_id: str) -> bool:
        return self._pattern.fullmatch(resource_key(self.provider, resource_or_scope_id)) is not None


