"""summary.md: rendered by a CommonMark + GFM-tables parser, under the PR-comment size, escaped."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import date

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from auditor.findings.document import from_document
from auditor.model import CoverageRow, Finding, ScanResult, Severity, Status, Waiver
from auditor.outputs.findings_json import to_document
from auditor.outputs.markdown import MAX_CHARS, render, size
from auditor.outputs.markdown_escape import code, escape_text

from .builders import (
    ACCOUNT,
    COVERAGE_OK,
    HOSTILE,
    HOSTILE_QUOTES,
    HOSTILE_SCRIPT,
    ISOLATION,
    KMS,
    REGION,
    SAGEMAKER_SCOPE,
    clean,
    empty,
    finding,
    hostile,
    incomplete_collection,
    make_result,
    sm_arn,
    undecided_rule,
)

# html=True: raw HTML would pass straight through, so any tag in the output proves an escaping bug.
PARSER = MarkdownIt("commonmark", {"html": True}).enable("table")
MORE = re.compile(r"… and (\d+) more \(see report\.html / findings\.json\)")


def tables(text: str) -> list[list[list[str]]]:
    """Each table as rows of cell texts (inline content as the parser saw it)."""
    found: list[list[list[str]]] = []
    row: list[str] = []
    in_cell = False
    for token in PARSER.parse(text):
        if token.type == "table_open":
            found.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type in ("th_open", "td_open"):
            in_cell = True
        elif token.type in ("th_close", "td_close"):
            in_cell = False
        elif token.type == "inline" and in_cell:
            row.append(_plain(token))
        elif token.type == "tr_close":
            found[-1].append(row)
    return found


def _plain(token: Token) -> str:
    return "".join(child.content for child in token.children or () if child.type in ("text", "code_inline"))


def test_every_variant_parses_with_consistent_tables(any_result: ScanResult) -> None:
    text = render(any_result)
    assert size(text) < MAX_CHARS
    html = PARSER.render(text)
    assert "<img" not in html and "<script" not in html
    for table in tables(text):
        assert len({len(row) for row in table}) == 1, table


def test_deterministic_and_identical_when_re_rendered_from_findings_json(any_result: ScanResult) -> None:
    text = render(any_result)
    assert render(any_result) == text
    assert render(from_document(to_document(any_result), "findings.json")) == text


@pytest.mark.parametrize(("build", "verdict"), [
    (make_result, "❌ **Failed** — complete scan; 2 findings at or above `high` failed the build. Exit code 1."),
    (clean, "✅ **Passed** — complete scan; nothing at or above `high` failed. Exit code 0."),
    (incomplete_collection, "⚠️ **Incomplete** — some verdicts are missing, so this scan cannot count as clean. "
                            "Exit code 2."),
])
def test_verdict_line(build: Callable[[], ScanResult], verdict: str) -> None:
    assert verdict in render(build()).splitlines()[:4]


def test_counts_table(result: ScanResult) -> None:
    counts = tables(render(result))[0]
    assert counts[0] == ["Severity", "FAIL", "ERROR", "MUTED", "PASS", "NOT_APPLICABLE", "Total"]
    assert counts[1] == ["critical", "1", "0", "0", "1", "1", "3"]
    assert counts[-1] == ["Total", "3", "0", "1", "3", "1", "8"]


def test_gating_findings_table(result: ScanResult) -> None:
    text = render(result)
    assert "### Findings that fail the build: FAIL at or above `high` (2)" in text
    gating = tables(text)[1]
    assert gating[0] == ["Severity", "Rule", "Resource", "Message"]
    where = f"({REGION}, account {ACCOUNT})"
    assert gating[1] == ["critical", ISOLATION, f"m-b {where}", "Model runs with network isolation: fail."]
    assert gating[2][:3] == ["high", KMS, f"ep-a {where}"]
    assert "Expired waivers (no longer applied) (1)" in text and "Unused waivers (matched no finding) (1)" in text


def test_incomplete_section_lists_failed_coverage_and_errors() -> None:
    text = render(incomplete_collection())
    assert "### ⚠️ INCOMPLETE: collection failed for 1 of 3 units" in text
    coverage = next(t for t in tables(text) if t[0][0] == "Provider")
    assert coverage[1] == ["aws", ACCOUNT, "eu-west-1", "sagemaker", "AccessDenied: sagemaker:ListEndpointConfigs"]
    assert "### ⚠️ INCOMPLETE: 3 verdicts could not be decided (ERROR)" in text
    assert text.count(SAGEMAKER_SCOPE) == 3

    undecided = render(undecided_rule())
    assert "collection failed" not in undecided  # nothing failed to collect: only the ERROR verdict is shown
    assert "### ⚠️ INCOMPLETE: 1 verdict could not be decided (ERROR)" in undecided


def test_empty_result() -> None:
    text = render(empty())
    assert "Exit code 0." in text and "No finding at or above `high` failed." in text
    assert size(text) < 2_000


def test_hostile_strings_cannot_inject_markup_or_break_tables() -> None:
    text = render(hostile())
    html = PARSER.render(text)
    for tag in ("<img", "<script", "</script", "<a "):
        assert tag not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # shown, as text
    gating = next(t for t in tables(text) if t[0] == ["Severity", "Rule", "Resource", "Message"])
    assert gating[1] == ["high", KMS, f"{HOSTILE} ({REGION}, account {ACCOUNT})",
                         f"Config {HOSTILE} is unencrypted {HOSTILE_SCRIPT}"]
    assert HOSTILE_QUOTES in html.replace("&quot;", '"')


@pytest.mark.parametrize("value", [
    "a | b", "`tick` and ``double``", "[click](javascript:alert(1))", "![img](http://x/y.png)", "line\nbreak",
    "<b>bold</b>", "**strong** _em_ ~~strike~~", "# heading", "- item", "1. item", "===", "> quote",
    "&lt; entity", "\\| escaped", "@octocat hello", "a\r\nb\u2028c",
])
def test_untrusted_strings_survive_literally_in_a_table(value: str) -> None:
    cells = ["x", code(value), escape_text(value)]
    text = "| a | b | c |\n| --- | --- | --- |\n| " + " | ".join(cells) + " |\n"
    [table] = tables(text)
    assert len(table) == 2 and len(table[1]) == 3
    flat = re.sub(r"[\r\n\u2028]+", " ", value)
    assert table[1][1] == flat
    assert table[1][2].replace("\u2060", "") == flat
    html = PARSER.render(text)
    for tag in ("<b>", "<a ", "<img", "<strong>", "<em>", "<s>", "<h1>", "<blockquote>", "<li>"):
        assert tag not in html


def test_mentions_are_neutralised_and_emails_kept_as_code() -> None:
    assert escape_text("ping @octocat") == "ping @\u2060octocat"
    assert escape_text("ops@example.com") == "`ops@example.com`"  # verbatim, but never a mailto: link


def _gating(i: int, name: str) -> Finding:
    return finding(KMS, sm_arn("endpoint-config", f"{name}-{i:05d}"), Status.FAIL, name=f"{name}-{i:05d}",
                   message=f"Config {name} number {i} is unencrypted | {HOSTILE} " + "x" * 400)


def test_size_cap_with_thousands_of_gating_findings() -> None:
    findings = tuple(_gating(i, HOSTILE) for i in range(3_000))
    text = render(make_result(findings=findings))
    assert size(text) < MAX_CHARS and len(text.encode("utf-8")) < 1024 * 1024
    [more] = MORE.findall(text)
    gating = next(t for t in tables(text) if t[0][0] == "Severity" and t[0][-1] == "Message")
    assert len(gating) - 1 + int(more) == 3_000
    assert len(gating) > 50  # the budget goes to the rows, not lost
    assert all(len(row) == 4 for row in gating)


def test_size_cap_when_every_section_is_huge() -> None:
    denied = tuple(
        CoverageRow("aws", f"{i:012d}", f"region-{i}", "sagemaker", f"arn:aws:sagemaker:r:{i:012d}:*",
                    ("aws.sagemaker.endpoint_config",), error=f"AccessDenied {HOSTILE} " + "y" * 300)
        for i in range(2_000)
    )
    errors = tuple(finding(KMS, f"arn:aws:sagemaker:r:{i:012d}:*", Status.ERROR, message="z" * 500)
                   for i in range(2_000))
    waivers = tuple(Waiver(rules=(f"rule-{i}-*",) * 8, resources=(HOSTILE_SCRIPT,) * 8, reason="r" * 400,
                           owner=f"@team-{i}", expires=date(2026, 1, 1), index=i) for i in range(2_000))
    gating = tuple(_gating(i, "ep") for i in range(2_000))
    result = make_result(coverage=(*COVERAGE_OK, *denied), findings=errors + gating,
                         expired_waivers=waivers, unused_waivers=waivers)
    text = render(result)
    assert size(text) < MAX_CHARS
    assert len(MORE.findall(text)) == 5  # coverage, errors, gating, expired, unused: each truncated, each present
    for table in tables(text):
        assert len(table) > 3  # every section got room for rows
        assert len({len(row) for row in table}) == 1


def test_astral_characters_count_twice(result: ScanResult) -> None:
    emoji = "😀" * 150
    findings = tuple(dataclasses.replace(_gating(i, "e"), message=emoji) for i in range(2_000))
    text = render(dataclasses.replace(result, findings=findings, fail_on=Severity.LOW))
    assert size(text) < MAX_CHARS
    assert size(text) > len(text) + 10_000  # the emoji were counted as two UTF-16 units each
