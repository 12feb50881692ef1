"""Waivers in view (issue 19), through `auditor demo --waivers` and `auditor report`.

One demo run with a waivers file of four entries (a comment and blank lines make their file lines differ
from anything their position implies): #1 mutes the two S3 public-access failures, expires in 8 days and
carries hostile reason and owner strings; #2 names a SageMaker endpoint with a typo, so it is unused and
the nearest scanned endpoints are named; #3 mutes one IAM failure and expires in 120 days; #4 names an
endpoint that does not fail, so it is unused but names no nearest resource (its pattern is no typo). Each output is
parsed as its reader would: findings.json as JSON, summary.md with markdown-it, report.html with
html.parser; the console is the command's stderr. Last, `auditor report` re-renders a findings file of an
older version (without the new fields) and still numbers the waivers as people count them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from .helpers import Run, fake_aws_env, run_auditor

S3_RULE = "aws.s3.bucket.public_access_blocked"
CAPTURE_RULE = "aws.sagemaker.endpoint.data_capture_enabled"
IAM_RULE = "aws.iam.role.sagemaker_least_privilege"
ENDPOINT = "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/"
REASON = "</td><script>alert(1)</script> | **bold** [x](http://evil.example) `tick"
OWNER = "<img src=x onerror=alert(2)>data@example.com"
LINES = (4, 14, 19, 24)  # the line of each entry's first key in the waivers file


def _waivers(today: date) -> str:
    soon, later = (today + timedelta(days=8)).isoformat(), (today + timedelta(days=120)).isoformat()
    return f"""waivers:
  # 1: the two capture buckets, renewed weekly

  - rules: [{S3_RULE}]
    resources:
      - arn:aws:s3:::northwind-ds-capture-us-east-1
      - arn:aws:s3:::northwind-llm-transcripts-eu
    reason: {json.dumps(REASON)}
    owner: {json.dumps(OWNER)}
    expires: {soon}

  # 2: a typo in the endpoint's name

  - rules: [{CAPTURE_RULE}]
    resources: [{ENDPOINT}fraud-scorng-v2]
    reason: Capture waits for the new bucket
    owner: ml@example.com
    expires: {later}
  - rules: [{IAM_RULE}]
    resources: ["arn:aws:iam::123456789012:role/nw-ds-notebook-legacy"]
    reason: Notebook role retired in Q2
    owner: iam@example.com
    expires: {later}
  - rules: [{CAPTURE_RULE}]
    resources: [{ENDPOINT}fraud-scoring-v3]
    reason: Names an endpoint that captures already
    owner: ml@example.com
    expires: {later}
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Run:
    base = tmp_path_factory.mktemp("waiverview")
    waivers = base / "waivers.yaml"
    waivers.write_text(_waivers(datetime.now(UTC).date()))
    run = run_auditor(["demo", "--out", str(base / "out"), "--waivers", str(waivers), "--format", "json",
                       "--format", "markdown", "--format", "html"], base / "out", env=fake_aws_env(None))
    assert run.code == 1, run.stderr
    return run


def test_findings_json_lists_active_waivers_with_number_line_mutes_and_expiry(demo: Run) -> None:
    waivers = demo.findings()["waivers"]
    active = waivers["active"]
    assert [(w["number"], w["index"], w["line"]) for w in active] == [(n + 1, n, line) for n, line in enumerate(LINES)]
    assert [w["mutes"] for w in active] == [2, 0, 1, 0]
    assert [w["mutes_by_severity"] for w in active] == [{"high": 2}, {}, {"high": 1}, {}]
    assert [(w["days_left"], w["expiring_soon"]) for w in active] == [(8, True), *[(120, False)] * 3]
    assert active[0]["reason"] == REASON and active[0]["owner"] == OWNER
    muted = {f["resource_id"]: f["waiver"]["number"] for f in demo.findings()["findings"] if f["status"] == "MUTED"}
    assert muted == {"arn:aws:s3:::northwind-ds-capture-us-east-1": 1, "arn:aws:s3:::northwind-llm-transcripts-eu": 1,
                     "arn:aws:iam::123456789012:role/nw-ds-notebook-legacy": 3}


def test_an_unused_waiver_names_the_nearest_resources_of_its_rules_types(demo: Run) -> None:
    unused, matching = demo.findings()["waivers"]["unused"]
    assert (unused["number"], unused["line"]) == (2, LINES[1])
    assert (matching["number"], matching["nearest"]) == (4, [])  # it names a resource, which did not fail
    nearest = unused["nearest"]
    assert nearest[0] == f"{ENDPOINT}fraud-scoring-v2" and 1 <= len(nearest) <= 3
    assert all(n.startswith(ENDPOINT) for n in nearest)  # endpoints only: the rule's resource type


def test_the_console_numbers_waivers_and_calls_out_the_expiring_one(demo: Run) -> None:
    lines = demo.stderr.splitlines()
    assert "auditor: 4 active waiver(s) mute 3 finding(s); 1 expire(s) within 14 days" in lines
    [first] = [line for line in lines if line.startswith("auditor:   - waiver #1 at line 4 ")]
    assert "mutes 2 finding(s) (2 high); EXPIRES WITHIN 14 DAYS" in first and "(in 8 days)" in first
    [third] = [line for line in lines if line.startswith("auditor:   - waiver #3 at line 19 ")]
    assert "EXPIRES WITHIN" not in third and "mutes 1 finding(s) (1 high)" in third
    unused, matching = [line for line in lines if "matched no FAIL" in line]
    assert "nearest" not in matching and matching.startswith("auditor: waiver #4 at line 24 ")
    assert unused.startswith(f"auditor: waiver #2 at line 14 ({CAPTURE_RULE}; owner ml@example.com)")
    assert f"nearest scanned resources: {ENDPOINT}fraud-scoring-v2" in unused


# -- summary.md --------------------------------------------------------------------------------------------

PARSER = MarkdownIt("commonmark", {"html": True}).enable("table")  # raw HTML would show as html tokens


def _section_tables(text: str, title: str) -> tuple[str, list[list[str]]]:
    """The paragraph after the heading starting ``title`` (if any) and the table of that section."""
    tokens = PARSER.parse(text)
    start = next(i for i, t in enumerate(tokens) if t.type == "inline" and t.content.startswith(title))
    intro, rows, row, in_cell = "", [], [], False
    for token in tokens[start + 2:]:
        if token.type == "heading_open":
            break
        if token.type == "inline" and not in_cell and not rows:
            intro = _plain(token)
        elif token.type in ("th_open", "td_open"):
            in_cell = True
        elif token.type in ("th_close", "td_close"):
            in_cell = False
        elif token.type == "inline" and in_cell:
            row.append(_plain(token))
        elif token.type == "tr_close":
            rows.append(row)
            row = []
    return intro, rows


def _plain(token: Token) -> str:
    return "".join(child.content for child in token.children or () if child.type in ("text", "code_inline"))


def test_summary_md_lists_active_waivers_and_the_nearest_resources(demo: Run) -> None:
    text = (demo.out / "summary.md").read_text()
    assert not [t for t in PARSER.parse(text) if t.type in ("html_inline", "html_block")]
    intro, rows = _section_tables(text, "Active waivers (4; 1 expiring within 14 days)")
    assert "Expiring within 14 days of the scan: #1." in intro
    assert rows[0] == ["#", "Mutes", "Expires", "Reason", "Owner", "Rules", "Resources"]
    assert [r[0] for r in rows[1:]] == ["1 (line 4)", "2 (line 14)", "3 (line 19)", "4 (line 24)"]
    assert [r[1] for r in rows[1:]] == ["2 (2 high)", "0", "1 (1 high)", "0"]
    assert "⚠️" in rows[1][2] and "(in 8 days)" in rows[1][2] and "⚠️" not in rows[3][2]
    assert rows[1][3] == REASON and rows[1][4] == OWNER  # literal text: no markup, no link, no tag
    _, unused = _section_tables(text, "Unused waivers")
    assert unused[0][-1] == "Nearest scanned resources" and unused[1][0] == "2 (line 14)"
    assert unused[1][-1].startswith(f"{ENDPOINT}fraud-scoring-v2") and unused[2][-1] == "none near"


# -- report.html -------------------------------------------------------------------------------------------

@dataclass
class _Section(HTMLParser):
    """The #waivers section: its tags, each <tr> of the active table by id with its class and cell texts."""

    tags: list[str] = field(default_factory=list)
    rows: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)
    nearest: list[str] = field(default_factory=list)
    _depth: int = 0
    _row: str | None = None
    _cell: list[str] | None = None
    _in_nearest: bool = False

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self._depth = 1 if a.get("id") == "waivers" else 0
            return
        if not self._depth:
            return
        self.tags.append(tag)
        if tag == "tr" and (a.get("id") or "").startswith("waiver-"):
            self._row = a["id"]
            self.rows[self._row] = (a.get("class") or "", [])
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif tag == "td" and "waiver-nearest" in (a.get("class") or ""):
            self._in_nearest = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._depth = 0
        elif tag == "td" and self._cell is not None and self._row is not None:
            self.rows[self._row][1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "td":
            self._in_nearest = False
        elif tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        if not self._depth:
            return
        self.texts.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._in_nearest and data.strip():
            self.nearest.append(data.strip())


def _waivers_section(html: str) -> _Section:
    parser = _Section()
    parser.feed(html)
    return parser


def test_report_html_lists_active_waivers_with_the_expiring_one_called_out(demo: Run) -> None:
    section = _waivers_section((demo.out / "report.html").read_text())
    assert "script" not in section.tags and "img" not in section.tags
    assert list(section.rows) == ["waiver-1", "waiver-2", "waiver-3", "waiver-4"]
    soon_class, soon = section.rows["waiver-1"]
    assert soon_class == "expiring-soon" and section.rows["waiver-3"][0] == ""
    assert soon[0] == "1 line 4" and soon[1] == "2 (2 high)"
    assert "in 8 days" in soon[2] and "expires within 14 days" in soon[2]
    assert soon[5] == REASON and soon[6] == OWNER
    assert section.rows["waiver-2"][1][:2] == ["2 line 14", "0"]
    text = " ".join(" ".join(section.texts).split())
    assert "1 expiring within 14 days #1 (" + OWNER in text
    assert section.nearest[0] == f"{ENDPOINT}fraud-scoring-v2"


# -- auditor report on a findings file of an older version -------------------------------------------------

def _older(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` as a version before issue 19 wrote it: no active waivers, no numbers, lines or nearest."""
    old = json.loads(json.dumps(doc))
    del old["waivers"]["active"]
    for key in ("expired", "unused"):
        for w in old["waivers"][key]:
            for new in ("number", "line", "nearest"):
                w.pop(new, None)
    for f in old["findings"]:
        if "waiver" in f:
            f["waiver"].pop("number")
    return old


def test_report_rerenders_an_older_findings_file(demo: Run, tmp_path: Path) -> None:
    older = tmp_path / "older.json"
    older.write_text(json.dumps(_older(demo.findings())))
    run = run_auditor(["report", str(older), "--format", "json", "--format", "markdown", "--format", "html",
                       "--out", str(tmp_path / "out")], tmp_path / "out")
    assert run.code == 1 and "Traceback" not in run.stderr, run.stderr
    waivers = run.findings()["waivers"]
    assert waivers["active"] == []  # an older file does not say which waivers were in force
    assert [(w["number"], w["nearest"]) for w in waivers["unused"]] == [
        (w["number"], w["nearest"]) for w in demo.findings()["waivers"]["unused"]]  # numbers from the indexes
    assert "waiver #2 (" in run.stderr  # numbered as people count, without a line to name
    _, unused = _section_tables((run.out / "summary.md").read_text(), "Unused waivers")
    assert unused[1][0] == "2"
    section = _waivers_section((run.out / "report.html").read_text())
    assert section.rows == {} and "No active waivers." in " ".join(section.texts)
