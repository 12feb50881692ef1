"""The baseline state of a finding (``--baseline``): what its status now and in the baseline make it.

For each finding of this scan, with ``before`` the
status of the baseline finding with the same id (absent when there is none):

============================  ==========================================  ===============
now                           before                                      state
============================  ==========================================  ===============
FAIL                          absent, or ERROR (not known to be failing)  ``new``
FAIL                          FAIL                                        ``still_failing``
FAIL                          PASS, NOT_APPLICABLE or MUTED               ``regressed``
PASS or NOT_APPLICABLE        FAIL                                        ``resolved``
ERROR                         anything but ERROR                          ``unknown``
ERROR                         ERROR                                       ``unchanged``
MUTED                         absent, or anything but MUTED               ``newly_waived``
MUTED                         MUTED                                       ``unchanged``
PASS or NOT_APPLICABLE        anything else                               ``unchanged``
============================  ==========================================  ===============

``newly_waived`` is risk accepted since the baseline: a FAIL that a waiver mutes now and did not mute
then, whether it failed before, is a resource the baseline did not have (muted on its first appearance),
was undecided (ERROR) or passed (it broke, and a waiver mutes it). Only MUTED before is ``unchanged``
(whatever the waiver's terms: a renewed or edited waiver is still the same accepted risk). MUTED never
gates, so ``--fail-on-new`` ignores it; every format shows it.

The comparison of a whole scan with a baseline, and what becomes of a baseline failure this scan has no
finding for, is :mod:`auditor.findings.compare`. This module is the table alone, on the model's types:
the outputs use it too.
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.model import BaselineComparison, BaselineState, Status

_DECIDED_ELSEWISE = (Status.PASS, Status.NOT_APPLICABLE, Status.MUTED)
_CLEARED = (Status.PASS, Status.NOT_APPLICABLE)


def state(now: Status, before: Status | None) -> BaselineState:
    """The state of a current finding with status ``now`` whose baseline status was ``before`` (None: absent)."""
    if now is Status.FAIL:
        if before is Status.FAIL:
            return BaselineState.STILL_FAILING
        if before in _DECIDED_ELSEWISE:
            return BaselineState.REGRESSED
        return BaselineState.NEW  # absent, or undecided (ERROR) before: not known to have failed
    if now is Status.ERROR:
        return BaselineState.UNCHANGED if before is Status.ERROR else BaselineState.UNKNOWN
    if now is Status.MUTED:  # a FAIL under a waiver: newly accepted risk unless a waiver muted it before too
        return BaselineState.UNCHANGED if before is Status.MUTED else BaselineState.NEWLY_WAIVED
    if now in _CLEARED and before is Status.FAIL:
        return BaselineState.RESOLVED
    return BaselineState.UNCHANGED


def state_counts(comparison: BaselineComparison) -> dict[str, int]:
    """The comparison's counts keyed by state value, in the order of ``BaselineState``."""
    return {s.value: n for s, n in comparison.counts().items()}


def summary_line(comparison: BaselineComparison, order: Sequence[BaselineState] | None = None) -> str:
    """``3 new, 1 regressed, 1 newly waived, 10 still failing, 2 resolved, 0 unknown, 40 unchanged``."""
    counts = comparison.counts()
    shown = order or (BaselineState.NEW, BaselineState.REGRESSED, BaselineState.NEWLY_WAIVED,
                      BaselineState.STILL_FAILING, BaselineState.RESOLVED, BaselineState.UNKNOWN,
                      BaselineState.UNCHANGED)
    return ", ".join(f"{counts[s]} {s.value.replace('_', ' ')}" for s in shown)
