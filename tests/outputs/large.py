"""A mid-size ScanResult with every section a findings file can carry, for the read-back tests.

``large_result(n)`` clones the complete variant's findings onto ``n // 8`` copies of its resources, with
an inventory (tags with non-ASCII and markup), a baseline comparison (every state), a history, a policy
scope, waivers and evidence of every JSON type.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from auditor.baseline import state as baseline_state
from auditor.model import (
    BaselineComparison,
    Finding,
    FindingBaseline,
    PreviousFailure,
    Resource,
    RunHistory,
    ScanResult,
    Severity,
    Status,
    TrendPoint,
    Waiver,
)
from auditor.scope_model import PolicyScope

from .builders import FINISHED, HOSTILE, HOSTILE_SCRIPT, STARTED, base_findings, make_result

_PREVIOUS = (Status.FAIL, Status.PASS, None, Status.NOT_APPLICABLE, Status.MUTED, Status.ERROR)


def _copy(f: Finding, copy: int) -> Finding:
    resource_id = f"{f.resource_id}-{copy:05d}"
    evidence = {**f.evidence, "copy": copy, "ratio": copy / 7, "nested": {"list": [copy, None, True, "é✓"]},
                "empty": {}, "text": f"{HOSTILE} {copy}"}
    status, waiver = f.status, f.waiver
    if status is Status.FAIL and copy % 5 == 0:
        status = Status.MUTED
        waiver = Waiver(rules=(f.rule_id,), resources=(resource_id,), reason=f"accepted in wave {copy}",
                        owner="platform@example.com", expires=date(2027, 6, 30) + timedelta(days=copy), index=copy)
    elif status is Status.MUTED and copy % 2:
        status, waiver = Status.ERROR, None
    return dataclasses.replace(f, resource_id=resource_id, resource_name=f"{f.resource_name or 'r'}-{copy}",
                               message=f"{f.message} (copy {copy}) ✓", evidence=evidence, status=status,
                               waiver=waiver)


def large_result(n: int, *, baseline: bool = True) -> ScanResult:
    """A result of ``n`` findings (a multiple of 8), an inventory of every resource, and (``baseline``) a
    comparison with a previous run, plus a history and a policy scope."""
    base = base_findings()
    findings = tuple(_copy(f, copy) for copy in range(n // len(base)) for f in base)
    resources = tuple(sorted({(f.provider, f.resource_id, f.resource_type, f.account, f.region, f.resource_name)
                              for f in findings}))
    inventory = tuple(Resource(id=rid, type=rtype, provider=provider, account=account, region=region, name=name,
                               document={}, tags={"team": f"ml-{i % 7}", "owner": "zoë", "note": HOSTILE_SCRIPT})
                      for i, (provider, rid, rtype, account, region, name) in enumerate(resources))
    result = make_result(findings=findings, resources=inventory)
    if not baseline:
        return result
    marks = {}
    for i, f in enumerate(findings):
        before = _PREVIOUS[i % len(_PREVIOUS)]
        marks[f.id] = FindingBaseline(baseline_state(f.status, before), previous_status=before,
                                      previous_severity=f.severity if before is not None else None)
    gone = PreviousFailure(id="0" * 32, rule_id=base[0].rule_id, resource_id="arn:gone", severity=Severity.HIGH,
                           status=None)
    unverified = PreviousFailure(id="1" * 32, rule_id=base[0].rule_id, resource_id="arn:unread",
                                 severity=Severity.LOW, reason="its scope could not be read")
    comparison = BaselineComparison(file="previous/findings.json", started=STARTED - timedelta(days=1),
                                    findings=marks, resolved=(gone,), unverified=(unverified,))
    runs = tuple(TrendPoint(started=STARTED - timedelta(days=d), ended=FINISHED - timedelta(days=d), complete=d != 2,
                            exit_code=2 if d == 2 else 1, failures={s: d + i for i, s in enumerate(Severity)})
                 for d in range(3, -1, -1))
    scope = PolicyScope(out_of_scope=3, by_rule={base[0].rule_id: 2}, by_resource_type={"aws.sagemaker.model": 3},
                        findings=4, by_status={"FAIL": 1, "PASS": 3})
    return dataclasses.replace(result, baseline=comparison, history=RunHistory(file="history.db", runs=runs, limit=4),
                               policy_scope=scope)
