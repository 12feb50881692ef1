"""`auditor demo`: the real collectors through boto3 against the embedded moto estate."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

from auditor.catalog import load_catalog
from auditor.paths import schemas_dir

from .helpers import Run, fake_aws_env, run_auditor


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Run:
    out = tmp_path_factory.mktemp("demo")
    # No endpoint in the environment: the demo serves its own estate on loopback.
    return run_auditor(["demo", "--out", str(out)], out, env=fake_aws_env(None))


def test_demo_exits_1_for_its_failing_findings_and_writes_both_outputs(demo):
    assert demo.code == 1, demo.stderr
    assert (demo.out / "findings.json").is_file() and (demo.out / "report.html").is_file()
    assert "report.html" in demo.stderr


def test_demo_findings_validate_against_the_shipped_schema(demo):
    schema = json.loads((schemas_dir() / "findings.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(demo.findings())


def test_every_aws_rule_has_pass_and_fail_and_na_where_it_can(demo):
    findings = demo.findings()["findings"]
    catalog = load_catalog(providers=("aws",))
    for rule in catalog.values():
        statuses = {f["status"] for f in findings if f["rule_id"] == rule.id}
        assert {"PASS", "FAIL"} <= statuses, (rule.id, statuses)
        if rule.applies_when is not None:
            assert "NOT_APPLICABLE" in statuses, (rule.id, statuses)
        assert "ERROR" not in statuses, rule.id


def test_demo_scan_is_complete(demo):
    doc = demo.findings()
    assert doc["scan"]["complete"] is True
    assert all(row["status"] == "collected" for row in doc["coverage"])


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_hostile_tag_is_shown_escaped_in_the_report(demo):
    html = (demo.out / "report.html").read_text()
    parser = _Collect()
    parser.feed(html)
    assert not [t for t, _ in parser.tags if t in ("img", "script")]
    assert not [a for _, attrs in parser.tags for a in attrs if a.startswith("on")]
    assert any("<img src=x onerror=alert(1)>" in t for t in parser.text), "the hostile text is shown literally"


def test_report_rerenders_from_the_findings_file(demo, tmp_path: Path):
    r = run_auditor(["report", str(demo.out / "findings.json"), "--format", "html", "--format", "json",
                     "--out", str(tmp_path)], tmp_path)
    assert r.code == 1
    again = json.loads((tmp_path / "findings.json").read_text())
    assert [f["id"] for f in again["findings"]] == [f["id"] for f in demo.findings()["findings"]]
