"""report.html: self-contained, escaped, honest about incomplete scans."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from auditor.model import ScanResult, Status
from auditor.outputs import html
from auditor.outputs.findings_json import from_document, to_document
from auditor.paths import reports_dir

from .builders import (
    HOSTILE,
    HOSTILE_QUOTES,
    HOSTILE_SCRIPT,
    clean,
    empty,
    hostile,
    incomplete_collection,
    undecided_rule,
)

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


class Page(HTMLParser):
    """Every element with its attributes, the text (entities decoded), and where things sit."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.ids_inside_details: set[str] = set()
        self._open: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        element_id = attributes.get("id")
        if element_id and "details" in self._open:
            self.ids_inside_details.add(element_id)
        if tag not in {"meta", "br", "hr", "img", "input", "link"}:
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            while self._open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def tags(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.elements if tag == name]

    def ids(self) -> set[str]:
        return {value for _, a in self.elements if (value := a.get("id"))}

    @property
    def all_text(self) -> str:
        return "".join(self.text)


def test_hostile_strings_come_out_as_text_only() -> None:
    scanned = hostile()
    text = html.render(scanned)
    page = Page(text)
    tags = {tag for tag, _ in page.elements}
    assert "img" not in tags
    assert "script" not in tags
    for tag, attrs in page.elements:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
    assert HOSTILE not in text and "</script><script>" not in text
    body = page.all_text
    for payload in (HOSTILE, HOSTILE_QUOTES, "alert('x')"):
        assert payload in body
    # Evidence values are JSON-dumped, then escaped: the JSON survives literally.
    assert '"</script><script>alert(\'x\')</script>"' in body
    assert f'"{HOSTILE_QUOTES.replace(chr(34), chr(92) + chr(34))}"' in body
    # Tags of the resource are shown, as text.
    assert f"{HOSTILE}={HOSTILE_SCRIPT}" in body and f"owner={HOSTILE_QUOTES}" in body
    # Attribute values cannot be broken out of: the id attribute carries only the finding hash.
    assert all(a["id"] is None or a["id"].startswith(("finding-", "severity-")) or a["id"].isalpha()
               for _, a in page.elements if "id" in a)


def test_no_external_loads_and_a_strict_csp(any_result: ScanResult) -> None:
    text = html.render(any_result)
    page = Page(text)
    metas = [m for m in page.tags("meta") if (m.get("http-equiv") or "").lower() == "content-security-policy"]
    assert [m["content"] for m in metas] == [CSP]
    for _, attrs in page.elements:
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            value = attrs.get(name)
            assert value is None or value.startswith("#"), (name, value)
    assert not page.tags("script") and not page.tags("link") and not page.tags("iframe")
    style = text[text.index("<style>"): text.index("</style>")]
    assert "url(" not in style and "@import" not in style and "http" not in style


def test_css_is_inlined_from_the_stylesheet(result: ScanResult) -> None:
    text = html.render(result)
    css = (reports_dir() / html.STYLESHEET).read_text(encoding="utf-8")
    assert css in text


@pytest.mark.parametrize(
    ("build", "banner"),
    [(incomplete_collection, True), (undecided_rule, True), (clean, False), (empty, False)],
)
def test_incomplete_banner_iff_incomplete(build: Callable[[], ScanResult], banner: bool) -> None:
    scanned = build()
    page = Page(html.render(scanned))
    assert ("incomplete" in page.ids()) is banner
    assert ("verdicts are missing" in page.all_text) is banner
    assert (scanned.exit_code() == 2) is banner
    if banner:
        assert "exits with code 2" in page.all_text


def test_complete_failing_scan_has_no_banner(result: ScanResult) -> None:
    page = Page(html.render(result))
    assert "incomplete" not in page.ids()
    assert "Failed" in page.all_text and "Exit code 1" in page.all_text


def test_banner_says_why(result: ScanResult) -> None:
    collection = Page(html.render(incomplete_collection())).all_text
    assert "1 collection unit failed" in collection and "3 checks could not be decided" in collection
    undecided = Page(html.render(undecided_rule())).all_text
    assert "1 check could not be decided" in undecided and "collection unit" not in undecided


def test_gating_list_links_every_gating_finding(result: ScanResult) -> None:
    page = Page(html.render(result))
    gating_rows = [a for a in page.tags("tr") if a.get("class") == "gating-row"]
    links = {a["href"] for a in page.tags("a") if (a.get("href") or "").startswith("#finding-")}
    expected = {f"#finding-{f.id}" for f in result.gating()}
    assert len(gating_rows) == len(expected) == 2
    assert links == expected
    assert {target[1:] for target in expected} <= page.ids()


def test_no_gating_says_so() -> None:
    text = Page(html.render(clean())).all_text
    assert "No finding at or above high failed." in text
    assert "Passed" in text


def test_pass_and_not_applicable_fold_into_details(result: ScanResult) -> None:
    page = Page(html.render(result))
    for f in result.findings:
        anchor = f"finding-{f.id}"
        assert anchor in page.ids()
        folded = f.status in (Status.PASS, Status.NOT_APPLICABLE)
        assert (anchor in page.ids_inside_details) is folded, f.status


def test_coverage_rows_and_errors_are_all_shown() -> None:
    scanned = incomplete_collection()
    page = Page(html.render(scanned))
    rows = [a.get("class") for a in page.tags("tr") if a.get("class") in {"row-ok", "row-error"}]
    assert len(rows) == len(scanned.coverage)
    assert rows.count("row-error") == 1
    assert "AccessDenied: sagemaker:ListEndpointConfigs" in page.all_text


def test_muted_finding_shows_its_waiver_and_waiver_lists(result: ScanResult) -> None:
    text = Page(html.render(result)).all_text
    assert "Partner integration still on keys; migration tracked in SEC-142" in text
    assert "2027-03-31" in text and "ml-platform@example.com" in text
    assert "Legacy endpoint being retired" in text  # expired
    assert "Vendor model, isolation breaks it" in text  # unused


def test_evidence_is_a_key_value_table_of_json(result: ScanResult) -> None:
    text = Page(html.render(result)).all_text
    assert "KmsKeyId" in text and "null" in text and '"ml.m5.large"' in text


def test_findings_are_grouped_critical_first(result: ScanResult) -> None:
    page = Page(html.render(result))
    sections = [a["id"] for a in page.tags("section") if (a.get("id") or "").startswith("severity-")]
    assert sections == ["severity-critical", "severity-high", "severity-medium"]


def test_rules_without_resources_are_visible(result: ScanResult) -> None:
    assert "0 resources evaluated" in Page(html.render(result)).all_text


def test_report_from_findings_file_is_the_same_page(any_result: ScanResult) -> None:
    reread = from_document(to_document(any_result), "findings.json")
    assert html.render(reread) == html.render(any_result)


def test_autoescape_does_not_depend_on_the_template_name(tmp_path: Path, result: ScanResult) -> None:
    for source in reports_dir().iterdir():
        shutil.copy(source, tmp_path / source.name)
    template = "{{ report.tool.version }}|{{ report.scan.scopes[0] }}"
    (tmp_path / html.TEMPLATE).write_text(template, encoding="utf-8")
    scanned = dataclasses.replace(result, tool_version=HOSTILE, scopes=(HOSTILE_SCRIPT,))
    out = html.HtmlFormatter(templates_dir=tmp_path).render(scanned)
    assert out == (
        "&lt;img src=x onerror=alert(1)&gt;|&lt;/script&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
    )


def test_template_typos_fail_loudly(tmp_path: Path, result: ScanResult) -> None:
    for source in reports_dir().iterdir():
        shutil.copy(source, tmp_path / source.name)
    (tmp_path / html.TEMPLATE).write_text("{{ report.no_such_key }}", encoding="utf-8")
    with pytest.raises(UndefinedError, match="no_such_key"):
        html.HtmlFormatter(templates_dir=tmp_path).render(result)
