"""Hostile strings in the cells of findings.csv and the text of summary.md (issue 18, items 11 and 12), through
``auditor report`` (``auditor.cli.main`` in this process) on findings files written here.

findings.csv is read as a spreadsheet would read it under each list separator in use (``,``; ``;`` in much of
Europe; a tab or ``|`` picked on import): with a CSV reader, and split naively. summary.md is rendered by
markdown-it-py with GitHub's table extension and linkify (bare URLs, ``www.`` hosts and addresses become
links, as GitHub makes them): no untrusted text may come out as a link.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from outputs.builders import KMS, UNUSED_WAIVER, finding, make_result, sm_arn

from auditor.cli import main
from auditor.model import Finding, Status
from auditor.outputs.findings_json import to_document

FORMULA_SIGNS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
CSV_PAYLOADS = ("x;=cmd|' /C calc'!A0;y", "a\t+HYPERLINK(\"http://evil.example\")", "ok|@SUM(1+1)*cmd|' /C calc'!A0",
                "first line\n-2+3", "a, =1+1", "p; \"=1+1")
LINKS = ("see https://evil.example/login?next=1 now", "or www.evil.example", "mail admin@evil.example",
         "try evil.example/reset", "(http://evil.example/x).", "//evil.example/y", "HTTPS://EVIL.EXAMPLE",
         "mailto:root@evil.example")
MARKDOWN = MarkdownIt("commonmark", {"html": True, "linkify": True}).enable(["table", "linkify"])


def report(tmp_path: Path, capsys: pytest.CaptureFixture[str], findings: list[Finding], fmt: str,
           **changes: Any) -> Path:
    result = make_result(findings=tuple(findings), **changes)
    source = tmp_path / "findings.json"
    source.write_text(json.dumps(to_document(result)), encoding="utf-8")
    out = tmp_path / "out"
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(["report", str(source), "--out", str(out), "--format", fmt])
    assert info.value.code == 1, capsys.readouterr().err  # the high FAILs gate, as in the scan that wrote them
    return out


def test_no_cell_starts_a_formula_under_any_list_separator(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    findings = [finding(KMS, sm_arn("endpoint-config", f"ep-{i}"), Status.FAIL, name=payload, message=payload)
                for i, payload in enumerate(CSV_PAYLOADS)]
    text = (report(tmp_path, capsys, findings, "csv") / "findings.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert sorted(r["message"].replace("'", "") for r in rows) == sorted(p.replace("'", "") for p in CSV_PAYLOADS)
    for separator in (",", ";", "\t", "|"):
        cells = [cell for row in csv.reader(io.StringIO(text, newline=""), delimiter=separator) for cell in row]
        cells += [cell for line in text.splitlines() for cell in line.split(separator)]
        started = [c for c in cells if c.lstrip(' "').startswith(FORMULA_SIGNS)]
        assert not started, (separator, started[:3])


def test_untrusted_text_in_summary_md_never_becomes_a_link(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    unused = dataclasses.replace(UNUSED_WAIVER, reason=" ".join(LINKS), owner="admin@evil.example")
    findings = [finding(KMS, sm_arn("endpoint-config", f"ep-{i}"), Status.FAIL, message=text)
                for i, text in enumerate(LINKS)]
    out = report(tmp_path, capsys, findings, "markdown", unused_waivers=(unused,))
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert summary.lower().count("evil.example") > 2 * len(LINKS)  # the messages, the waiver's reason and owner
    html = MARKDOWN.render(summary)
    assert "<a " not in html and "href" not in html
    for text in ("https://evil.example/login?next=1", "www.evil.example", "admin@evil.example",
                 "evil.example/reset", "http://evil.example/x"):
        assert f"<code>{text}</code>" in html  # shown verbatim, as code
