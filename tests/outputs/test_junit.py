"""junit.xml: parsed by ElementTree and validated against the Ant/Jenkins JUnit schema."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from auditor.findings.document import from_document
from auditor.identity import finding_id
from auditor.model import ScanResult, Status
from auditor.outputs.findings_json import to_document
from auditor.outputs.junit import COVERAGE_SUITE, clean, render

from .builders import (
    ACCOUNT,
    AUTH_MODE,
    AZURE_ENDPOINT,
    CAPTURE,
    HOSTILE,
    HOSTILE_QUOTES,
    HOSTILE_SCRIPT,
    ISOLATION,
    KEY_ROTATION,
    KMS,
    REGION,
    RULES,
    SAGEMAKER_SCOPE,
    finding,
    hostile,
    incomplete_collection,
    make_result,
    sm_arn,
    undecided_rule,
)

XSD = Path(__file__).parents[1] / "fixtures" / "junit" / "junit-10.xsd"
OUTCOMES = ("failure", "error", "skipped")


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(XSD)


def parse(result: ScanResult) -> ET.Element:
    return ET.fromstring(render(result).encode("utf-8"))


def suites(root: ET.Element) -> dict[str, ET.Element]:
    return {s.get("name", ""): s for s in root.findall("testsuite")}


def case(root: ET.Element, rule_id: str, resource_id: str) -> ET.Element:
    """The testcase of a finding, found by the finding id its system-out starts with."""
    line = f"finding {finding_id(rule_id, RULES[rule_id].provider, resource_id)}\n"
    [found] = [c for c in suites(root)[rule_id].findall("testcase")
               if (c.findtext("system-out") or "").startswith(line)]
    return found


def test_every_variant_is_valid_junit(any_result: ScanResult, schema: xmlschema.XMLSchema) -> None:
    text = render(any_result)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    schema.validate(text)
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites"


def test_counts_add_up(any_result: ScanResult) -> None:
    root = parse(any_result)
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(cases)
        for outcome, attribute in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            assert int(suite.get(attribute, "-1")) == sum(1 for c in cases if c.find(outcome) is not None)
        assert all(sum(1 for child in c if child.tag in OUTCOMES) <= 1 for c in cases)
    for attribute in ("tests", "failures", "errors"):
        assert int(root.get(attribute, "-1")) == sum(int(s.get(attribute, "0")) for s in root.findall("testsuite"))
    rule_suites = [s for s in root.findall("testsuite") if s.get("name") != COVERAGE_SUITE]
    assert sum(int(s.get("tests", "0")) for s in rule_suites) == len(any_result.findings)


def test_deterministic_and_identical_when_re_rendered_from_findings_json(any_result: ScanResult) -> None:
    text = render(any_result)
    assert render(any_result) == text
    assert render(from_document(to_document(any_result), "findings.json")) == text


def test_one_suite_per_rule_one_case_per_finding(result: ScanResult) -> None:
    root = parse(result)
    assert list(suites(root)) == [KEY_ROTATION, CAPTURE, KMS, ISOLATION, AUTH_MODE, COVERAGE_SUITE]
    kms = suites(root)[KMS]
    assert {p.get("name"): p.get("value") for p in kms.iter("property")}["severity"] == "high"
    ep_a = case(root, KMS, sm_arn("endpoint-config", "ep-a"))
    assert ep_a.get("classname") == "aws.sagemaker.endpoint_config"
    assert suites(root)[KEY_ROTATION].get("tests") == "0"  # evaluated, nothing in scope


def test_fail_error_muted_not_applicable_and_pass(result: ScanResult) -> None:
    root = parse(result)
    failure = case(root, KMS, sm_arn("endpoint-config", "ep-a")).find("failure")
    assert failure is not None
    assert failure.get("message") == "Endpoint config ep-a stores data with the AWS managed key."
    assert failure.get("type") == "high"
    text = failure.text or ""
    assert "(gates the build)" in text and "KmsKeyId = null" in text
    assert "Fix aws.sagemaker.endpoint_config.kms_key like this." in text and "Automatic fix: not available" in text

    skipped = case(root, AUTH_MODE, AZURE_ENDPOINT).find("skipped")
    assert skipped is not None and skipped.get("message") == (
        "waived: Partner integration still on keys; migration tracked in SEC-142 "
        "(ml-platform@example.com, expires 2027-03-31)"
    )
    not_applicable = case(root, ISOLATION, sm_arn("model", "m-serverless")).find("skipped")
    assert not_applicable is not None and not_applicable.get("message") == "not applicable"
    passed = case(root, KMS, sm_arn("endpoint-config", "ep-b"))
    assert [child.tag for child in passed] == ["system-out"]

    error_root = parse(undecided_rule())
    error = case(error_root, ISOLATION, sm_arn("model", "m-c")).find("error")
    assert error is not None and error.get("type") == "ERROR"
    assert error.get("message") == "could not be evaluated: EnableNetworkIsolation was not collected for model m-c."


def test_incomplete_collection_shows_as_errors() -> None:
    root = parse(incomplete_collection())
    coverage = suites(root)[COVERAGE_SUITE]
    assert coverage.get("errors") == "1" and coverage.get("tests") == "3"
    [failed] = [c for c in coverage.findall("testcase") if c.find("error") is not None]
    assert failed.get("name") == "123456789012/eu-west-1/sagemaker"
    error = case(root, KMS, SAGEMAKER_SCOPE).find("error")
    assert error is not None
    assert int(root.get("errors", "0")) == 4  # three ERROR findings and the coverage row


def test_hostile_strings_are_escaped_not_markup() -> None:
    text = render(hostile())
    assert "<img" not in text and "<script" not in text and "</script" not in text
    root = ET.fromstring(text.encode("utf-8"))
    arn = sm_arn("endpoint-config", HOSTILE)
    failure = case(root, KMS, arn).find("failure")
    assert failure is not None and failure.get("message") == f"Config {HOSTILE} is unencrypted {HOSTILE_SCRIPT}"
    skipped = case(root, AUTH_MODE, AZURE_ENDPOINT).find("skipped")
    assert skipped is not None and skipped.get("message") == (
        f"waived: {HOSTILE_SCRIPT} ({HOSTILE_QUOTES}, expires 2027-03-31)"
    )


def test_characters_illegal_in_xml_are_removed(schema: xmlschema.XMLSchema) -> None:
    nasty = "bad\x00\x01\x08\x0b\x0c\x1b\x7f\ufffe\uffff name\ttab\nline😀"
    # A lone surrogate (json.loads of "\ud800" makes one) cannot be hashed into a finding id: not in the id.
    surrogate = nasty.replace("\x7f", "\x7f\ud800")
    result = make_result(findings=(
        finding(KMS, sm_arn("endpoint-config", nasty), Status.FAIL, name=surrogate, message=f"message {surrogate}",
                evidence={surrogate: surrogate}),
    ))
    text = render(result)
    schema.validate(text)
    root = ET.fromstring(text.encode("utf-8"))
    [testcase] = suites(root)[KMS].findall("testcase")
    assert testcase.get("name") == f"bad\x7f name\ttab\nline😀 ({REGION}, account {ACCOUNT})"
    failure = testcase.find("failure")
    assert failure is not None and failure.get("message") == "message bad\x7f name\ttab\nline😀"
    assert clean("a\x00b\ud800c\U0001f600") == "abc\U0001f600"


def test_empty_result_is_an_empty_report(schema: xmlschema.XMLSchema) -> None:
    result = make_result(findings=(), coverage=(), rules={})
    root = parse(result)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("0", "0", "0")
    assert root.findall("testsuite") == []


def test_waiver_in_testcase_matches_finding(result: ScanResult) -> None:
    muted = [f for f in result.findings if f.status is Status.MUTED]
    renamed = dataclasses.replace(result, findings=tuple(
        dataclasses.replace(f, message="still on keys") if f.status is Status.MUTED else f for f in result.findings
    ))
    skipped = case(parse(renamed), AUTH_MODE, muted[0].resource_id).find("skipped")
    assert skipped is not None and skipped.text == "still on keys"
