"""auditor.baseline and auditor.findings.compare: every state transition, gone failures, Azure ids,
--fail-on-new gating and exit codes."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from auditor.baseline import state, summary_line
from auditor.errors import ConfigError
from auditor.findings.compare import (
    NOT_COLLECTED,
    NOT_EVALUATED,
    NOT_REREAD,
    NOT_SCANNED,
    compare,
    with_baseline,
)
from auditor.findings.document import from_document, schema
from auditor.findings.read import read_findings
from auditor.model import BaselineState, Finding, ScanResult, Severity, Status
from auditor.outputs.findings_json import render, to_document
from auditor.pipeline import open_tracking

from .scans import (
    AUTH,
    AZURE_ROW,
    AZURE_SCOPE,
    BEFORE,
    BUCKET,
    CAPTURE,
    ISOLATION,
    KMS,
    RULES,
    S3_ROW,
    SAGEMAKER_ROW,
    SAGEMAKER_SCOPE,
    arn,
    endpoint_id,
    finding,
    scan,
)

S = BaselineState
ABSENT = None

# (now, before) -> state: every combination of the five statuses and "no such finding".
TRANSITIONS: dict[tuple[Status, Status | None], BaselineState] = {
    (Status.FAIL, ABSENT): S.NEW,
    (Status.FAIL, Status.ERROR): S.NEW,  # undecided before: not known to have failed
    (Status.FAIL, Status.FAIL): S.STILL_FAILING,
    (Status.FAIL, Status.PASS): S.REGRESSED,
    (Status.FAIL, Status.NOT_APPLICABLE): S.REGRESSED,
    (Status.FAIL, Status.MUTED): S.REGRESSED,  # the waiver expired or was removed
    (Status.PASS, Status.FAIL): S.RESOLVED,
    (Status.NOT_APPLICABLE, Status.FAIL): S.RESOLVED,
    (Status.PASS, ABSENT): S.UNCHANGED,
    (Status.PASS, Status.PASS): S.UNCHANGED,
    (Status.PASS, Status.NOT_APPLICABLE): S.UNCHANGED,
    (Status.PASS, Status.MUTED): S.UNCHANGED,
    (Status.PASS, Status.ERROR): S.UNCHANGED,
    (Status.NOT_APPLICABLE, ABSENT): S.UNCHANGED,
    (Status.NOT_APPLICABLE, Status.PASS): S.UNCHANGED,
    (Status.NOT_APPLICABLE, Status.NOT_APPLICABLE): S.UNCHANGED,
    (Status.NOT_APPLICABLE, Status.MUTED): S.UNCHANGED,
    (Status.NOT_APPLICABLE, Status.ERROR): S.UNCHANGED,
    # MUTED now: newly accepted risk unless a waiver muted it before too
    (Status.MUTED, ABSENT): S.NEWLY_WAIVED,  # a new resource, failing and muted on its first appearance
    (Status.MUTED, Status.FAIL): S.NEWLY_WAIVED,  # a waiver accepted it: not resolved, not unchanged
    (Status.MUTED, Status.PASS): S.NEWLY_WAIVED,  # it broke, and a waiver mutes it
    (Status.MUTED, Status.NOT_APPLICABLE): S.NEWLY_WAIVED,
    (Status.MUTED, Status.ERROR): S.NEWLY_WAIVED,  # undecided before: not known to have been accepted
    (Status.MUTED, Status.MUTED): S.UNCHANGED,
    (Status.ERROR, Status.FAIL): S.UNKNOWN,  # never resolved
    (Status.ERROR, Status.MUTED): S.UNKNOWN,
    (Status.ERROR, Status.PASS): S.UNKNOWN,
    (Status.ERROR, Status.NOT_APPLICABLE): S.UNKNOWN,
    (Status.ERROR, ABSENT): S.UNKNOWN,
    (Status.ERROR, Status.ERROR): S.UNCHANGED,
}


def test_the_table_covers_every_combination() -> None:
    assert set(TRANSITIONS) == {(now, before) for now in Status for before in (*Status, None)}


@pytest.mark.parametrize(("now", "before"), sorted(TRANSITIONS, key=str))
def test_state_of_each_transition(now: Status, before: Status | None) -> None:
    assert state(now, before) is TRANSITIONS[now, before]


@pytest.mark.parametrize(("now", "before"), sorted(TRANSITIONS, key=str))
def test_compare_gives_each_transition_with_the_previous_status_and_severity(now: Status,
                                                                             before: Status | None) -> None:
    resource = arn("model", "m")
    old = scan(*([finding(ISOLATION, resource, before)] if before else []), started=BEFORE)
    comparison = compare(scan(finding(ISOLATION, resource, now)), old, "old.json")
    [entry] = comparison.findings.values()
    assert entry.state is TRANSITIONS[now, before]
    assert entry.previous_status is before
    assert entry.previous_severity is (Severity.CRITICAL if before else None)
    assert comparison.started == BEFORE and comparison.file == "old.json"
    resolved = [p.id for p in comparison.resolved]
    assert resolved == ([finding(ISOLATION, resource, now).id] if entry.state is S.RESOLVED else [])
    assert not comparison.unverified


def test_azure_ids_compare_case_insensitively_through_finding_ids() -> None:
    shouted = endpoint_id("Scorer").upper().replace("/SUBSCRIPTIONS/", "/subscriptions/")
    old = scan(finding(AUTH, shouted, Status.FAIL), started=BEFORE)
    now = scan(finding(AUTH, endpoint_id("scorer"), Status.FAIL))
    comparison = compare(now, old, "old.json")
    assert [e.state for e in comparison.findings.values()] == [S.STILL_FAILING]
    assert not comparison.resolved and not comparison.unverified


def test_aws_ids_are_case_sensitive() -> None:
    old = scan(finding(ISOLATION, arn("model", "Model"), Status.FAIL), started=BEFORE)
    comparison = compare(scan(finding(ISOLATION, arn("model", "model"), Status.FAIL)), old, "old.json")
    assert [e.state for e in comparison.findings.values()] == [S.NEW]
    assert [p.resource_id for p in comparison.resolved] == [arn("model", "Model")]


class TestGoneFailures:
    """A baseline FAIL with no finding now: resolved only when this scan read its scope and evaluated its rule."""

    GONE = arn("model", "deleted")

    def old(self) -> ScanResult:
        return scan(finding(ISOLATION, self.GONE, Status.FAIL), finding(ISOLATION, arn("model", "kept"), Status.PASS),
                    started=BEFORE)

    def test_gone_from_a_collected_scope_is_resolved_and_listed(self) -> None:
        comparison = compare(scan(finding(ISOLATION, arn("model", "kept"), Status.PASS)), self.old(), "old.json")
        [gone] = comparison.resolved
        assert (gone.resource_id, gone.rule_id, gone.severity, gone.status) == (self.GONE, ISOLATION,
                                                                                 Severity.CRITICAL, None)
        assert comparison.counts()[S.RESOLVED] == 1 and comparison.counts()[S.UNCHANGED] == 1

    def test_gone_while_its_scope_failed_to_collect_is_unknown(self) -> None:
        denied = dataclasses.replace(SAGEMAKER_ROW, error="AccessDenied")
        errors = [finding(rule_id, SAGEMAKER_SCOPE, Status.ERROR) for rule_id in (ISOLATION, KMS, CAPTURE)]
        comparison = compare(scan(*errors, coverage=(denied, AZURE_ROW)), self.old(), "old.json")
        assert not comparison.resolved
        assert [(p.resource_id, p.reason) for p in comparison.unverified] == [(self.GONE, NOT_COLLECTED)]
        counts = comparison.counts()
        assert counts[S.UNKNOWN] == 4 and counts[S.RESOLVED] == 0  # three ERROR findings and the gone failure

    def test_an_error_finding_on_the_scope_is_enough_even_without_a_coverage_row(self) -> None:
        error = finding(ISOLATION, SAGEMAKER_SCOPE, Status.ERROR)
        comparison = compare(scan(error, coverage=()), self.old(), "old.json")
        assert [p.reason for p in comparison.unverified] == [NOT_COLLECTED]

    def test_gone_when_its_rule_was_not_evaluated_is_unknown(self) -> None:
        rules = {k: v for k, v in RULES.items() if k != ISOLATION}
        comparison = compare(scan(rules=rules), self.old(), "old.json")
        assert [p.reason for p in comparison.unverified] == [NOT_EVALUATED] and not comparison.resolved

    def test_gone_from_a_scope_this_scan_did_not_read_is_unknown(self) -> None:
        elsewhere = dataclasses.replace(SAGEMAKER_ROW, region="us-east-1",
                                        scope_id=SAGEMAKER_SCOPE.replace(SAGEMAKER_ROW.region, "us-east-1"))
        comparison = compare(scan(coverage=(elsewhere,)), self.old(), "old.json")
        assert [p.reason for p in comparison.unverified] == [NOT_SCANNED] and not comparison.resolved

    def test_an_azure_scope_holds_ids_under_it_whatever_their_case(self) -> None:
        old = scan(finding(AUTH, endpoint_id("gone").upper(), Status.FAIL), started=BEFORE)
        comparison = compare(scan(), old, "old.json")
        assert len(comparison.resolved) == 1 and not comparison.unverified
        other = dataclasses.replace(AZURE_ROW, scope_id="/subscriptions/11111111-1111-1111-1111-111111111111")
        comparison = compare(scan(coverage=(other,)), old, "old.json")
        assert [p.reason for p in comparison.unverified] == [NOT_SCANNED]

    def test_a_subscription_scope_does_not_hold_a_longer_subscription_id(self) -> None:
        old = scan(finding(AUTH, endpoint_id("x").replace(AZURE_SCOPE, AZURE_SCOPE + "9"), Status.FAIL))
        assert [p.reason for p in compare(scan(), old, "old.json").unverified] == [NOT_SCANNED]

    def test_gone_passes_and_waived_findings_are_not_listed(self) -> None:
        old = scan(finding(ISOLATION, arn("model", "p"), Status.PASS), finding(AUTH, endpoint_id("m"), Status.MUTED),
                   finding(KMS, arn("endpoint-config", "e"), Status.ERROR), started=BEFORE)
        comparison = compare(scan(), old, "old.json")
        assert not comparison.resolved and not comparison.unverified
        assert all(n == 0 for n in comparison.counts().values())


class TestGoneResourcesFoundThroughOthers:
    """A bucket (role, key) is found through the SageMaker scopes that reference it: it is gone only when every
    scope that could reference it was read in this scan, not merely the S3 scope."""

    BUCKET_ARN = "arn:aws:s3:::capture-east"
    EAST = dataclasses.replace(SAGEMAKER_ROW, region="us-east-1",
                               scope_id=SAGEMAKER_SCOPE.replace(SAGEMAKER_ROW.region, "us-east-1"))

    def old(self) -> ScanResult:
        return scan(finding(BUCKET, self.BUCKET_ARN, Status.FAIL), coverage=(SAGEMAKER_ROW, self.EAST, S3_ROW),
                    started=BEFORE)

    def test_a_scan_of_one_region_leaves_it_unknown_naming_the_unread_scope(self) -> None:
        comparison = compare(scan(coverage=(SAGEMAKER_ROW, S3_ROW)), self.old(), "old.json")
        assert not comparison.resolved
        [unverified] = comparison.unverified
        assert unverified.resource_id == self.BUCKET_ARN
        assert unverified.reason == f"{NOT_REREAD}: {self.EAST.scope_id}"
        assert comparison.counts()[S.UNKNOWN] == 1 and comparison.counts()[S.RESOLVED] == 0

    def test_a_scan_of_every_region_the_baseline_read_resolves_it(self) -> None:
        comparison = compare(scan(coverage=(SAGEMAKER_ROW, self.EAST, S3_ROW)), self.old(), "old.json")
        assert [p.resource_id for p in comparison.resolved] == [self.BUCKET_ARN] and not comparison.unverified

    def test_a_region_this_scan_read_that_the_baseline_did_not_must_be_read(self) -> None:
        baseline = scan(finding(BUCKET, self.BUCKET_ARN, Status.FAIL), coverage=(SAGEMAKER_ROW, S3_ROW))
        denied_east = dataclasses.replace(self.EAST, error="AccessDenied")
        comparison = compare(scan(coverage=(SAGEMAKER_ROW, denied_east, S3_ROW)), baseline, "old.json")
        assert [p.reason for p in comparison.unverified] == [f"{NOT_REREAD}: {self.EAST.scope_id}"]

    def test_a_listed_resource_of_the_scanned_region_is_still_resolved(self) -> None:
        old = scan(finding(ISOLATION, arn("model", "gone"), Status.FAIL), coverage=(SAGEMAKER_ROW, self.EAST),
                   started=BEFORE)
        comparison = compare(scan(coverage=(SAGEMAKER_ROW,)), old, "old.json")
        assert len(comparison.resolved) == 1 and not comparison.unverified

    def test_a_baseline_scope_of_unknown_regions_is_not_a_scope_to_read(self) -> None:
        unknown = dataclasses.replace(self.EAST, region="*", scope_id=f"arn:aws:sagemaker:*:{SAGEMAKER_ROW.account}:*",
                                      error="DescribeRegions denied")
        baseline = scan(finding(BUCKET, self.BUCKET_ARN, Status.FAIL), coverage=(SAGEMAKER_ROW, unknown, S3_ROW))
        comparison = compare(scan(coverage=(SAGEMAKER_ROW, S3_ROW)), baseline, "old.json")
        assert len(comparison.resolved) == 1


def test_counts_add_up_and_lists_are_sorted_worst_first() -> None:
    old = scan(
        finding(KMS, arn("endpoint-config", "a"), Status.FAIL),
        finding(CAPTURE, arn("endpoint", "b"), Status.FAIL),
        finding(ISOLATION, arn("model", "c"), Status.FAIL),
        finding(ISOLATION, arn("model", "d"), Status.PASS),
        started=BEFORE,
    )
    now = scan(
        finding(KMS, arn("endpoint-config", "a"), Status.FAIL),  # still failing
        finding(CAPTURE, arn("endpoint", "b"), Status.PASS),  # resolved, present
        finding(ISOLATION, arn("model", "d"), Status.FAIL),  # regressed
        finding(ISOLATION, arn("model", "e"), Status.FAIL),  # new
        finding(KMS, arn("endpoint-config", "f"), Status.ERROR),  # unknown
    )  # model c: gone from a collected scope -> resolved
    comparison = compare(now, old, "old.json")
    assert {s.value: n for s, n in comparison.counts().items()} == {
        "new": 1, "still_failing": 1, "regressed": 1, "newly_waived": 0, "resolved": 2, "unknown": 1, "unchanged": 0}
    assert [(p.rule_id, p.status) for p in comparison.resolved] == [(ISOLATION, None), (CAPTURE, Status.PASS)]


def test_the_summary_line_counts_newly_waived_findings() -> None:
    old = scan(finding(ISOLATION, arn("model", "accepted"), Status.FAIL), finding(KMS, arn("endpoint-config", "a"),
               Status.MUTED), started=BEFORE)
    now = scan(finding(ISOLATION, arn("model", "accepted"), Status.MUTED),  # newly waived
               finding(ISOLATION, arn("model", "fresh"), Status.MUTED),  # newly waived on its first appearance
               finding(KMS, arn("endpoint-config", "a"), Status.MUTED))  # muted both times: unchanged
    line = summary_line(compare(now, old, "old.json"))
    assert line == "0 new, 0 regressed, 2 newly waived, 0 still failing, 0 resolved, 0 unknown, 1 unchanged"


class TestFailOnNew:
    OLD = scan(finding(KMS, arn("endpoint-config", "old"), Status.FAIL),
               finding(ISOLATION, arn("model", "fixed-then-broken"), Status.PASS), started=BEFORE)

    def result(self, *extra: Finding, fail_on_new: bool = True) -> ScanResult:
        now = scan(finding(KMS, arn("endpoint-config", "old"), Status.FAIL), *extra)
        return with_baseline(now, self.OLD, "old.json", fail_on_new)

    def test_only_still_failing_findings_do_not_gate(self) -> None:
        result = self.result()
        assert result.gating() == () and result.exit_code() == 0
        assert self.result(fail_on_new=False).exit_code() == 1  # without the flag the old failure gates

    def test_a_new_failure_at_or_above_fail_on_gates(self) -> None:
        new = finding(KMS, arn("endpoint-config", "new"), Status.FAIL)
        result = self.result(new)
        assert [f.id for f in result.gating()] == [new.id] and result.exit_code() == 1

    def test_a_regression_gates(self) -> None:
        regressed = finding(ISOLATION, arn("model", "fixed-then-broken"), Status.FAIL)
        result = self.result(regressed)
        assert [f.id for f in result.gating()] == [regressed.id] and result.exit_code() == 1

    def test_a_new_failure_below_fail_on_does_not_gate(self) -> None:
        result = self.result(finding(CAPTURE, arn("endpoint", "new"), Status.FAIL))
        assert result.gating() == () and result.exit_code() == 0

    @pytest.mark.parametrize("fail_on_new", [True, False])
    def test_a_newly_waived_failure_never_gates(self, fail_on_new: bool) -> None:
        waived = (finding(ISOLATION, arn("model", "fixed-then-broken"), Status.MUTED),  # critical, PASS before
                  finding(KMS, arn("endpoint-config", "fresh"), Status.MUTED))  # high, absent before
        now = scan(*waived)
        result = with_baseline(now, self.OLD, "old.json", fail_on_new)
        assert result.baseline is not None
        assert [result.baseline.state_of(f) for f in waived] == [S.NEWLY_WAIVED, S.NEWLY_WAIVED]
        assert result.gating() == () and result.exit_code() == 0

    def test_an_incomplete_scan_still_exits_2(self) -> None:
        result = self.result(finding(ISOLATION, arn("model", "x"), Status.ERROR))
        assert result.exit_code() == 2
        denied = dataclasses.replace(self.result(), coverage=(dataclasses.replace(SAGEMAKER_ROW, error="denied"),))
        assert denied.exit_code() == 2

    def test_without_a_baseline_every_failure_counts_as_new(self) -> None:
        result = dataclasses.replace(scan(finding(KMS, arn("endpoint-config", "old"), Status.FAIL)), fail_on_new=True)
        assert len(result.gating()) == 1 and result.exit_code() == 1

    def test_findings_json_says_which_gated_and_that_fail_on_new_was_on(self) -> None:
        new = finding(KMS, arn("endpoint-config", "new"), Status.FAIL)
        doc = to_document(self.result(new))
        assert doc["scan"]["fail_on_new"] is True
        assert doc["summary"]["gating"] == [new.id]
        gating = {f["id"]: f["gating"] for f in doc["findings"]}
        assert gating == {new.id: True, finding(KMS, arn("endpoint-config", "old"), Status.FAIL).id: False}

    def test_fail_on_new_without_baseline_is_a_usage_error(self) -> None:
        with pytest.raises(ConfigError, match="--fail-on-new needs --baseline") as info:
            open_tracking(None, True, None)
        assert info.value.exit_code == 3


class TestFindingsDocument:
    def compared(self) -> ScanResult:
        old = scan(finding(ISOLATION, arn("model", "a"), Status.PASS), finding(ISOLATION, arn("model", "gone"),
                   Status.FAIL), finding(KMS, arn("endpoint-config", "c"), Status.FAIL), started=BEFORE)
        now = scan(finding(ISOLATION, arn("model", "a"), Status.FAIL), finding(KMS, arn("endpoint-config", "c"),
                   Status.ERROR), finding(AUTH, endpoint_id("e"), Status.MUTED))
        return with_baseline(now, old, "previous/findings.json", True)

    def test_marks_summary_and_schema(self) -> None:
        doc = to_document(self.compared())
        jsonschema.Draft202012Validator(schema()).validate(doc)
        marks = {f["rule_id"]: f["baseline"] for f in doc["findings"]}
        assert marks[ISOLATION] == {"state": "regressed", "previous_status": "PASS", "previous_severity": "critical"}
        assert marks[KMS] == {"state": "unknown", "previous_status": "FAIL", "previous_severity": "high"}
        assert marks[AUTH] == {"state": "newly_waived", "previous_status": None, "previous_severity": None}
        assert doc["baseline"] == {
            "file": "previous/findings.json",
            "started": "2025-06-01T03:00:00Z",
            "counts": {"new": 0, "still_failing": 0, "regressed": 1, "newly_waived": 1, "resolved": 1, "unknown": 1,
                       "unchanged": 0},
            "resolved": [{"id": finding(ISOLATION, arn("model", "gone"), Status.FAIL).id, "rule_id": ISOLATION,
                          "resource_id": arn("model", "gone"), "severity": "critical", "status": None,
                          "provider": "aws", "account": "123456789012", "region": "eu-west-1", "resource_name": ""}],
            "unverified": [],
        }

    def test_round_trips_through_findings_json(self) -> None:
        result = self.compared()
        doc = to_document(result)
        again = from_document(json.loads(render(result)), "findings.json")
        assert again.baseline is not None and again.fail_on_new
        assert to_document(again) == doc
        assert render(again) == render(result)

    def test_without_a_baseline_nothing_is_added(self) -> None:
        doc = to_document(scan(finding(ISOLATION, arn("model", "a"), Status.FAIL)))
        assert "baseline" not in doc and "history" not in doc and "fail_on_new" not in doc["scan"]
        assert all("baseline" not in f for f in doc["findings"])

    @pytest.mark.parametrize(("where", "change"), [
        ("a mark without a summary", lambda d: d.pop("baseline")),
        ("a summary without marks", lambda d: d["findings"][0].pop("baseline")),
        ("a state that contradicts the status", lambda d: d["findings"][0]["baseline"].update(state="resolved")),
        ("a regression from nothing", lambda d: d["findings"][0]["baseline"].update(previous_status=None)),
        ("an unknown state", lambda d: d["findings"][0]["baseline"].update(state="fixed")),
        ("newly waived on a FAIL", lambda d: d["findings"][0]["baseline"].update(state="newly_waived")),
        ("newly waived when muted before", lambda d: d["findings"][-1]["baseline"].update(previous_status="MUTED")),
    ])
    def test_schema_rejects_inconsistent_marks(self, where: str, change: Callable[[dict[str, Any]], object]) -> None:
        doc = to_document(self.compared())
        doc["findings"].sort(key=lambda f: f["rule_id"] != ISOLATION)  # the regressed FAIL first
        change(doc)
        with pytest.raises(ConfigError, match=r"findings\.json"):
            from_document(doc, "findings.json")


    def test_a_newly_waived_mark_round_trips(self) -> None:
        doc = to_document(self.compared())
        again = from_document(json.loads(json.dumps(doc)), "findings.json")
        assert again.baseline is not None
        [muted] = [f for f in again.findings if f.status is Status.MUTED]
        assert again.baseline.state_of(muted) is S.NEWLY_WAIVED
        assert again.baseline.counts()[S.NEWLY_WAIVED] == 1

    def test_a_file_written_before_newly_waived_existed_still_loads(self, tmp_path: Path) -> None:
        """Last night's findings.json, compared with its own baseline by an older auditor, has no such count."""
        doc = to_document(self.compared())
        del doc["baseline"]["counts"]["newly_waived"]
        for f in doc["findings"]:
            if f["baseline"]["state"] == "newly_waived":
                f["baseline"]["state"] = "unchanged"  # what an older auditor wrote for a MUTED finding
        path = tmp_path / "old.json"
        path.write_text(json.dumps(doc))
        assert len(read_findings(path).findings) == 3


class TestBadBaselineFile:
    def test_not_json(self, tmp_path: Path) -> None:
        bad = tmp_path / "old.json"
        bad.write_text('{"schema_version": "1.0",\n  oops}')
        with pytest.raises(ConfigError) as info:
            open_tracking(bad)
        assert info.value.file == str(bad) and info.value.line == 2 and info.value.exit_code == 3

    def test_schema_violation_names_the_field(self, tmp_path: Path) -> None:
        doc = to_document(scan(finding(ISOLATION, arn("model", "a"), Status.FAIL)))
        doc["findings"][0]["status"] = "BROKEN"
        bad = tmp_path / "old.json"
        bad.write_text(json.dumps(doc))
        with pytest.raises(ConfigError) as info:
            open_tracking(bad, True, None)
        assert info.value.file == str(bad) and info.value.field == "$.findings[0].status"
        assert str(bad) in str(info.value)

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError) as info:
            open_tracking(tmp_path / "nope.json")
        assert info.value.file == str(tmp_path / "nope.json")

    def test_a_good_file_loads(self, tmp_path: Path) -> None:
        path = tmp_path / "old.json"
        result = scan(finding(ISOLATION, arn("model", "a"), Status.FAIL))
        path.write_text(render(result))
        tracking = open_tracking(path, True, None)
        assert tracking.baseline is not None and tracking.fail_on_new and tracking.baseline_file == str(path)
        assert [f.id for f in tracking.baseline.findings] == [f.id for f in result.findings]


def test_a_scan_compared_with_itself_is_all_still_failing_or_unchanged() -> None:
    result = scan(finding(ISOLATION, arn("model", "a"), Status.FAIL), finding(KMS, arn("endpoint-config", "b"),
                  Status.PASS), finding(AUTH, endpoint_id("c"), Status.MUTED), finding(CAPTURE, arn("endpoint", "d"),
                  Status.ERROR))
    comparison = compare(result, result, "same.json")
    assert {e.state for e in comparison.findings.values()} == {S.STILL_FAILING, S.UNCHANGED}
    assert not comparison.resolved and not comparison.unverified


def test_scope_ids_are_matched_literally_apart_from_the_star() -> None:
    odd = "arn:aws:sagemaker:eu-west-1:123456789012:model/a.b+c"
    old = scan(finding(ISOLATION, odd, Status.FAIL), started=BEFORE)
    literal = dataclasses.replace(SAGEMAKER_ROW, scope_id="arn:aws:sagemaker:eu-west-1:123456789012:model/a.b+c")
    assert len(compare(scan(coverage=(literal,)), old, "old.json").resolved) == 1
    dotted = dataclasses.replace(SAGEMAKER_ROW, scope_id="arn:aws:sagemaker:eu-west-1:123456789012:model/aXb+c")
    assert compare(scan(coverage=(dotted,)), old, "old.json").unverified
