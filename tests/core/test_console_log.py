"""The console is a CI log: the summary names each ERROR and what the exit code means, waivers that need care,
one line per finished lane and a heartbeat without a terminal, and JSON lines for log pipelines."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from datetime import UTC, date, datetime

import pytest

from auditor.console import Console, LineProgress
from auditor.console_summary import SHOWN, exit_meaning, summarise
from auditor.model import CoverageRow, Finding, Rule, ScanResult, Severity, Status, Waiver
from auditor.rule_parts import Remediation

NOW = datetime(2025, 6, 2, 3, 0, tzinfo=UTC)

RULE = Rule(id="aws.sagemaker.model.vpc", title="t", severity=Severity.HIGH, provider="aws",
            resource_type="aws.sagemaker.model", rationale="", remediation=Remediation(guidance="fix"))


def finding(i: int, status: Status) -> Finding:
    return Finding(rule_id=RULE.id, resource_id=f"arn:aws:sagemaker:eu-west-1:123456789012:model/m{i:02d}",
                   resource_type=RULE.resource_type, provider="aws", account="123456789012", region="eu-west-1",
                   status=status, severity=Severity.HIGH, message=f"reason {i}")


def result(*findings: Finding, coverage: tuple[CoverageRow, ...] = (), **kwargs: object) -> ScanResult:
    return ScanResult(tool_version="0.1.0", started_at=NOW, finished_at=NOW, scopes=(), findings=findings,
                      coverage=coverage, rules={RULE.id: RULE}, **kwargs)  # type: ignore[arg-type]


def waiver(index: int, expires: date) -> Waiver:
    return Waiver(rules=(RULE.id,), resources=("*",), reason="accepted", owner="ml@example.com", expires=expires,
                  index=index)


def lines(run: ScanResult, **console: object) -> list[str]:
    stream = io.StringIO()
    summarise(Console(stream=stream, **console), run, ())  # type: ignore[arg-type]
    return stream.getvalue().splitlines()


def test_each_error_is_named_up_to_a_limit_then_counted_and_exit_2_is_explained() -> None:
    errors = [finding(i, Status.ERROR) for i in range(SHOWN + 5)]
    out = lines(result(*errors, finding(99, Status.FAIL)))
    named = [line for line in out if line.startswith("auditor:   - ERROR ")]
    assert len(named) == SHOWN
    assert named[0] == f"auditor:   - ERROR {RULE.id} on {errors[0].resource_id}: reason 0"
    assert "auditor:   ... and 5 more ERROR finding(s) (see findings.json)" in out
    assert out[-1].startswith("auditor: exit 2: incomplete (25 verdict(s) ERROR): some verdicts are missing")
    assert "never read this run as clean" in out[-1]


def test_expired_and_unused_waivers_are_named() -> None:
    run = result(finding(1, Status.FAIL), expired_waivers=(waiver(0, date(2020, 1, 1)),),
                 unused_waivers=(waiver(2, date(2030, 1, 1)),))
    out = lines(run)  # numbered as people count the file's entries (issue 19): index 0 is waiver #1
    assert any(line.startswith(f"auditor: waiver #1 ({RULE.id}; owner ml@example.com) expired on 2020-01-01")
               for line in out)
    assert any(line.startswith(f"auditor: waiver #3 ({RULE.id}; owner ml@example.com) matched no FAIL")
               for line in out)


@pytest.mark.parametrize(("statuses", "code", "meaning"), [
    ((Status.PASS,), 0, "complete; no FAIL at or above high"),
    ((Status.FAIL,), 1, "complete; 1 FAIL finding(s) at or above high gate the build"),
    ((Status.FAIL, Status.ERROR), 2, "incomplete (1 verdict(s) ERROR)"),
])
def test_the_last_line_is_the_exit_code_and_its_meaning(statuses: tuple[Status, ...], code: int,
                                                         meaning: str) -> None:
    run = result(*(finding(i, s) for i, s in enumerate(statuses)))
    assert exit_meaning(run)[0] == code == run.exit_code()
    assert lines(run)[-1].startswith(f"auditor: exit {code}: {meaning}")


def test_a_failed_scope_counts_in_the_exit_meaning() -> None:
    row = CoverageRow("aws", "123456789012", "eu-west-1", "sagemaker", "arn:aws:sagemaker:eu-west-1:1:*",
                      (RULE.resource_type,), 0, "access denied")
    assert "1 scope(s) not collected" in exit_meaning(result(coverage=(row,)))[1]


def test_json_lines_carry_the_event_and_its_fields() -> None:
    out = lines(result(finding(1, Status.ERROR)), log_format="json")
    records = [json.loads(line) for line in out]
    assert all({"time", "level", "event", "message"} <= set(r) for r in records)
    [error] = [r for r in records if r["event"] == "error_finding"]
    assert error["rule_id"] == RULE.id and error["resource_id"].endswith("model/m01") and error["level"] == "warning"
    assert records[-1]["event"] == "exit" and records[-1]["exit_code"] == 2


def test_quiet_prints_nothing_of_the_summary() -> None:
    assert lines(result(finding(1, Status.ERROR)), quiet=True) == []


def test_line_progress_prints_finished_lanes_and_a_heartbeat_naming_the_lanes_at_work() -> None:
    stream = io.StringIO()
    progress = LineProgress("aws", Console(stream=stream), heartbeat=0.05)
    progress.lane_open(("sagemaker", "eu-west-1"))
    progress.lane_open(("kms", "eu-west-1"))
    progress.add_total(3)
    progress.lane_done(("kms", "eu-west-1"), 2)
    deadline = time.monotonic() + 5
    while "still working" not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    progress.close()
    text = stream.getvalue()
    assert "auditor: aws: kms eu-west-1 done: 2 calls (" in text
    beat = next(line for line in text.splitlines() if "still working" in line)
    assert beat.endswith("(0/3 calls done) on: sagemaker eu-west-1")
    assert not any(t.name == "auditor-heartbeat" for t in threading.enumerate())


def test_sdk_logging_goes_through_the_console_errors_always_warnings_only_when_verbose() -> None:
    for verbose, shown in ((False, ["boom"]), (True, ["retrying", "boom"])):
        stream = io.StringIO()
        console = Console(stream=stream, verbose=verbose)
        with console.capturing_logs():
            logging.getLogger("azure.identity").warning("retrying")
            logging.getLogger("botocore").error("boom")
        assert [line.rsplit(": ", 1)[1] for line in stream.getvalue().splitlines()] == shown
    logging.getLogger("botocore").error("after: not ours")  # the handler is gone again
    assert "after" not in stream.getvalue()
