"""report.html: self-contained, escaped, honest about incomplete scans, and its data block lossless.

The page is parsed with html.parser (what a browser's tokenizer would see); the script's behaviour in a
real browser is tested in tests/browser/.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import json
import re
import shutil
from collections.abc import Callable, Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from jinja2 import UndefinedError

from auditor.catalog import load_catalog
from auditor.findings.compare import with_baseline
from auditor.findings.document import from_document
from auditor.model import Finding, Resource, RunHistory, ScanResult, Severity, Status, TrendPoint
from auditor.outputs import html, html_data, html_endpoints, html_view
from auditor.outputs.findings_json import to_document
from auditor.paths import reports_dir

from .builders import (
    ACCOUNT,
    CAPTURE,
    HOSTILE,
    HOSTILE_QUOTES,
    HOSTILE_SCRIPT,
    ISOLATION,
    KMS,
    REGION,
    STARTED,
    SUBSCRIPTION,
    clean,
    empty,
    finding,
    hostile,
    incomplete_collection,
    make_result,
    sm_arn,
    undecided_rule,
)

RAW_ELEMENTS = {"script", "style"}


class Page(HTMLParser):
    """Every element with its attributes, the visible text (entities decoded), and each script's text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self._open: list[str] = []
        self._raw: tuple[str, dict[str, str | None]] | None = None
        self._raw_text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        if tag in RAW_ELEMENTS:
            self._raw, self._raw_text = (tag, attributes), []
        elif tag not in {"meta", "br", "hr", "img", "input", "link"}:
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._raw is not None and tag == self._raw[0]:
            body = "".join(self._raw_text)
            if tag == "script":
                self.scripts.append((self._raw[1], body))
            else:
                self.styles.append(body)
            self._raw = None
        elif tag in self._open:
            while self._open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self._raw is not None:
            self._raw_text.append(data)
        else:
            self.text.append(data)

    def tags(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.elements if tag == name]

    def ids(self) -> set[str]:
        return {value for _, a in self.elements if (value := a.get("id"))}

    @property
    def all_text(self) -> str:
        return "".join(self.text)

    def data_text(self) -> str:
        [text] = [body for attrs, body in self.scripts if attrs.get("id") == "data"]
        return text

    def data(self) -> Any:
        return json.loads(self.data_text())


def decode(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The findings the page's script sees, rebuilt the way report.js reads the data block."""
    f, r, strings = data["findings"], data["resources"], data["strings"]
    out = []
    for i, finding_id in enumerate(f["id"]):
        rule = data["rules"][f["rule"][i]]
        k = f["resource"][i]
        m = f["message"][i]
        message = strings[m] if m >= 0 else strings[-m - 1].replace("\x00", r["name"][k])
        evidence = data["evidence"][f["evidence"][i]] if f["evidence"][i] >= 0 else []
        waiver = data["waivers"][f["waiver"][i]] if f["waiver"][i] >= 0 else None
        decoded: dict[str, Any] = {
            "id": finding_id, "rule_id": rule["id"], "status": data["statuses"][f["status"][i]],
            "severity": data["severities"][f["severity"][i]], "provider": strings[r["provider"][k]],
            "resource_id": _resource_id(data, k), "resource_type": strings[r["type"][k]], "resource_name": r["name"][k],
            "region": strings[r["region"][k]], "account": strings[r["account"][k]], "message": message,
            "evidence": {key: json.loads(value) for key, value in evidence},
            "remediation": {"guidance": rule["guidance"], "automatic": rule["automatic"]},
            "frameworks": [{"framework": data["frameworks"][fw][0], "control": control}
                           for fw, control, _ in rule["frameworks"]],
            "title": rule["title"], "gating": bool(f["gating"][i]),
        }
        if waiver is not None:
            decoded["waiver"] = {"reason": waiver[0], "owner": waiver[1], "expires": waiver[2]}
            if waiver[3] is not None:
                decoded["waiver"]["number"] = waiver[3]
        if f["baseline"][i] >= 0:
            previous = data["statuses"][f["previous"][i]] if f["previous"][i] >= 0 else None
            decoded["baseline"] = {"state": data["baseline_states"][f["baseline"][i]], "previous_status": previous}
        out.append(decoded)
    return out


def _resource_id(data: Mapping[str, Any], k: int) -> str:
    stored = data["resources"]["id"][k]
    return stored if isinstance(stored, str) else str(data["strings"][stored] + data["resources"]["name"][k])


def _marked(doc: dict[str, Any], states: list[str]) -> dict[str, Any]:
    """``doc`` with hand-made baseline marks (the page must not depend on how they were made)."""
    marked = copy.deepcopy(doc)
    for f, state in zip(marked["findings"], states, strict=False):
        f["baseline"] = {"state": state, "previous_status": None}
    marked["baseline"] = {"file": "previous/findings.json", "resolved": 4}
    return marked


def _as_the_page_keeps_them(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The findings as the data block holds them: a baseline mark without the previous severity."""
    kept = copy.deepcopy(findings)
    for f in kept:
        if "baseline" in f:
            f["baseline"].pop("previous_severity", None)
    return kept


def _previous_scan() -> ScanResult:
    """The baseline: what builders.make_result()'s findings were the day before."""
    return make_result(
        started_at=STARTED.replace(day=1), finished_at=STARTED.replace(day=1, hour=4),
        findings=(
            finding(KMS, sm_arn("endpoint-config", "ep-a"), Status.FAIL),  # still failing
            finding(KMS, sm_arn("endpoint-config", "ep-b"), Status.PASS),  # unchanged
            finding(CAPTURE, sm_arn("endpoint-config", "ep-b"), Status.FAIL),  # resolved (PASS now)
            finding(ISOLATION, sm_arn("model", "m-b"), Status.PASS),  # regressed
            finding(ISOLATION, sm_arn("model", "m-gone"), Status.FAIL),  # resolved, gone
        ),
    )


def _compared(fail_on_new: bool = False) -> ScanResult:
    return with_baseline(make_result(), _previous_scan(), "previous/findings.json", fail_on_new)


# --- the data block ----------------------------------------------------------------------------------


def test_data_block_round_trips_and_rebuilds_every_finding(any_result: ScanResult) -> None:
    doc = to_document(any_result)
    page = Page(html.render_document(doc))
    data = page.data()
    assert data == json.loads(json.dumps(html_data.page_data(doc))) == html.embedded_data(html.render_document(doc))
    assert decode(data) == doc["findings"]


def test_data_block_carries_baseline_marks_when_present() -> None:
    doc = to_document(_compared())
    data = Page(html.render_document(doc)).data()
    assert decode(data) == _as_the_page_keeps_them(doc["findings"])
    assert data["baseline_states"] == ["new", "regressed", "newly_waived", "still_failing", "resolved", "unchanged"]
    assert {data["statuses"][p] for p in data["findings"]["previous"] if p >= 0} == {"FAIL", "PASS"}


def test_hostile_strings_are_intact_in_the_data_and_cannot_close_the_block() -> None:
    scanned = hostile()
    text = html.render(scanned)
    page = Page(text)
    raw = page.data_text()
    assert "<" not in raw and ">" not in raw and "&" not in raw
    assert "</script" not in raw.lower() and "<!--" not in raw
    assert "\\u003c/script\\u003e" in raw  # the hostile </script> is there, escaped
    data = page.data()
    decoded = decode(data)
    assert decoded == to_document(scanned)["findings"]
    kms = next(f for f in decoded if f["status"] == "FAIL")
    assert kms["resource_name"] == HOSTILE
    assert kms["message"] == f"Config {HOSTILE} is unencrypted {HOSTILE_SCRIPT}"
    assert kms["evidence"] == {HOSTILE: HOSTILE_SCRIPT, "Tags": {"owner": HOSTILE_QUOTES, "x": [HOSTILE]}}
    assert data["rules"][0]["title"] == HOSTILE or HOSTILE in [r["title"] for r in data["rules"]]
    assert [HOSTILE, HOSTILE_SCRIPT] in data["tagsets"][0] and ["owner", HOSTILE_QUOTES] in data["tagsets"][0]
    # Exactly two scripts: the data (never executed) and the tool's own script, pinned by the CSP.
    assert [attrs for attrs, _ in page.scripts] == [{"type": "application/json", "id": "data"}, {}]


def test_text_like_the_data_blocks_place_holder_stays_text() -> None:
    """The data block goes where the template printed a place-holder; the same characters in a finding are
    its text, in the summary and in the data, and never a second copy of the block."""
    slot = "<\x00data\x00>"
    findings = (finding("aws.sagemaker.endpoint_config.kms_key", sm_arn("endpoint-config", "slot"), Status.FAIL,
                        name=f"cfg{slot}", message=f"Config {slot} is unencrypted", evidence={slot: slot}),)
    scanned = make_result(findings=findings)
    text = html.render(scanned)
    assert slot not in text and text.count('<script type="application/json" id="data">') == 1
    page = Page(text)
    assert decode(page.data()) == to_document(scanned)["findings"]
    assert "Config <\x00data\x00> is unencrypted" in page.all_text


def test_embed_json_escapes_every_character_that_could_end_the_element() -> None:
    value = {"a": "</script><!-- <script>&amp;\u2028\u2029", "</SCRIPT>": ["\ud800", "é", "\x00"]}
    text = html.embed_json(value)
    assert not re.search(r"[<>&\u2028\u2029\ud800-\udfff]", text)
    assert json.loads(text) == value
    text.encode("utf-8")  # no lone surrogate left to break the file's encoding


def test_messages_share_templates_without_changing_a_character() -> None:
    name = "ep-a"
    findings = tuple(
        finding("aws.sagemaker.endpoint_config.kms_key", sm_arn("endpoint-config", f"{name}{i}"), Status.FAIL,
                name=f"{name}{i}", message=f"Endpoint config {name}{i} stores data with the AWS managed key.")
        for i in range(20)
    )
    doc = to_document(make_result(findings=findings))
    data = html_data.page_data(doc)
    assert decode(json.loads(json.dumps(data))) == doc["findings"]
    assert sum(1 for s in data["strings"] if "\x00" in s) == 1  # one template serves the twenty messages


# --- the page ------------------------------------------------------------------------------------------


def test_hostile_strings_come_out_as_text_only() -> None:
    scanned = hostile()
    text = html.render(scanned)
    page = Page(text)
    tags = {tag for tag, _ in page.elements}
    assert "img" not in tags
    for tag, attrs in page.elements:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
    assert HOSTILE not in text and "</script><script>" not in text
    body = page.all_text
    for payload in (HOSTILE, HOSTILE_QUOTES, "alert('x')"):
        assert payload in body
    # The gating list shows the hostile resource, its message and the rule title as text.
    assert f"Config {HOSTILE} is unencrypted {HOSTILE_SCRIPT}" in body
    assert all(a["id"] is None or re.fullmatch(r"[a-z][a-z0-9-]*", a["id"]) for _, a in page.elements if "id" in a)


def _csp_directives(content: str) -> dict[str, list[str]]:
    out = {}
    for part in content.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def test_no_external_loads_and_a_strict_csp(any_result: ScanResult) -> None:
    text = html.render(any_result)
    page = Page(text)
    metas = [m for m in page.tags("meta") if (m.get("http-equiv") or "").lower() == "content-security-policy"]
    assert len(metas) == 1
    csp = _csp_directives(metas[0]["content"] or "")
    [(_, script)] = [(a, body) for a, body in page.scripts if a.get("id") != "data"]
    [style] = page.styles
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == [_sha256(script)], "only the page's own script, by its hash"
    assert csp["style-src"] == [_sha256(style)]
    assert csp["img-src"] == ["data:"]
    assert csp["base-uri"] == ["'none'"] and csp["form-action"] == ["'none'"]
    assert csp["require-trusted-types-for"] == ["'script'"] and csp["trusted-types"] == ["'none'"]
    assert "unsafe" not in metas[0]["content"] and "http" not in metas[0]["content"]
    for _, attrs in page.elements:
        for name in ("src", "href", "action", "srcset", "poster", "data", "xlink:href", "formaction"):
            value = attrs.get(name)
            assert value is None or value.startswith("#"), (name, value)
    assert not page.tags("link") and not page.tags("iframe") and not page.tags("object")
    assert all("src" not in attrs for attrs, _ in page.scripts)
    assert "url(" not in style and "@import" not in style and "http" not in style
    assert "fetch(" not in script and "XMLHttpRequest" not in script and "innerHTML" not in script
    assert "http" not in script and "eval(" not in script


def test_the_shipped_script_and_stylesheet_are_inlined_verbatim(result: ScanResult) -> None:
    page = Page(html.render(result))
    assert page.styles == [(reports_dir() / html.STYLESHEET).read_text(encoding="utf-8")]
    assert page.scripts[1][1] == (reports_dir() / html.SCRIPT).read_text(encoding="utf-8")


def test_a_script_that_would_close_its_element_is_refused(tmp_path: Path, result: ScanResult) -> None:
    for source in reports_dir().iterdir():
        shutil.copy(source, tmp_path / source.name)
    (tmp_path / html.SCRIPT).write_text("var x = '</script>';", encoding="utf-8")
    with pytest.raises(ValueError, match="close its own element"):
        html.render(result, tmp_path)


def test_same_document_same_bytes(any_result: ScanResult) -> None:
    assert html.render(any_result) == html.render(dataclasses.replace(any_result))


def test_report_from_findings_file_is_the_same_page(any_result: ScanResult) -> None:
    reread = from_document(to_document(any_result), "findings.json")
    assert html.render(reread) == html.render(any_result)


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
    assert "complete scan" in page.all_text


def test_banner_says_why_and_lists_the_failed_collection() -> None:
    collection = Page(html.render(incomplete_collection())).all_text
    assert "1 collection unit failed" in collection and "3 checks could not be decided" in collection
    assert "AccessDenied: sagemaker:ListEndpointConfigs" in collection
    undecided = Page(html.render(undecided_rule())).all_text
    assert "1 check could not be decided" in undecided and "collection unit failed" not in undecided
    assert "3 collection units, all collected" in undecided


def test_gating_list_links_every_gating_finding_to_the_table(result: ScanResult) -> None:
    page = Page(html.render(result))
    gating_rows = [a for a in page.tags("tr") if a.get("class") == "gating-row"]
    links = {a["href"] for a in page.tags("a") if (a.get("href") or "").startswith("#finding-")}
    expected = {f"#finding-{f.id}" for f in result.gating()}
    assert len(gating_rows) == len(expected) == 2
    assert links == expected
    assert {target[len("#finding-"):] for target in expected} <= set(page.data()["findings"]["id"])


def test_the_summary_lists_the_most_severe_findings_as_sorting_them_all_would() -> None:
    """The summary keeps only the first of the gating and newly waived findings while the findings pass by;
    with hundreds of each, in any order, those are the ones (and the order) a sort of all of them gives."""
    from .large import large_result

    doc = to_document(large_result(4000))
    doc["findings"].reverse()  # worst-first is not the document's order
    view = html_view.build_view(doc)

    def first(findings: list[dict[str, Any]], n: int) -> list[str]:
        return [f["id"] for f in sorted(findings, key=html_view._severity_first)][:n]

    gating = [f for f in doc["findings"] if f["gating"]]
    waived = [f for f in doc["findings"] if f["baseline"]["state"] == "newly_waived"]
    assert len(gating) > 3 * html_view.GATING_SHOWN and len(waived) > 3 * html_view.PREVIOUS_SHOWN
    assert [row["finding"]["id"] for row in view["gating"]] == first(gating, html_view.GATING_SHOWN)
    assert view["gating_total"] == len(gating)
    newly = view["baseline"]["newly_waived"]
    assert newly["total"] == len(waived) and len(newly["rows"]) == html_view.PREVIOUS_SHOWN
    reference = sorted(waived, key=html_view._severity_first)[:html_view.PREVIOUS_SHOWN]
    assert [(r["rule_id"], r["resource_id"]) for r in newly["rows"]] == [(f["rule_id"], f["resource_id"])
                                                                         for f in reference]


def test_a_long_gating_list_is_capped_and_says_so() -> None:
    many = tuple(finding("aws.sagemaker.model.network_isolation", sm_arn("model", f"m-{i:03d}"), Status.FAIL)
                 for i in range(html_view.GATING_SHOWN + 30))
    page = Page(html.render(make_result(findings=many)))
    assert len([a for a in page.tags("tr") if a.get("class") == "gating-row"]) == html_view.GATING_SHOWN
    assert f"These {html_view.GATING_SHOWN + 30} findings failed the build" in page.all_text
    assert f"the {html_view.GATING_SHOWN} most severe are listed" in page.all_text


def test_no_gating_says_so() -> None:
    text = Page(html.render(clean())).all_text
    assert "No finding at or above high failed." in text
    assert "Passed" in text


def test_summary_counts_and_charts(result: ScanResult) -> None:
    page = Page(html.render(result))
    donut = [a for a in page.tags("circle") if (a.get("class") or "").startswith("arc ")]
    assert [a["class"] for a in donut] == ["arc status-fail", "arc status-muted", "arc status-pass",
                                           "arc status-not_applicable"]
    lengths = [float((a["stroke-dasharray"] or "").split()[0]) for a in donut]
    assert sum(lengths) == pytest.approx(2 * 3.14159265 * 48, abs=0.05)
    bars = [a for a in page.tags("rect") if (a.get("class") or "").startswith("bar sev-")]
    assert {a["class"]: a["width"] for a in bars} == {"bar sev-critical": "320", "bar sev-high": "320",
                                                      "bar sev-medium": "320"}
    assert "trend" not in page.ids(), "no baseline, no trend"


def test_baseline_trend_counts_and_previous_failures() -> None:
    doc = to_document(_compared())
    page = Page(html.render_document(doc))
    assert {"trend", "baseline-resolved"} <= page.ids()
    text = page.all_text
    counts = doc["baseline"]["counts"]
    assert counts["resolved"] == 2 and counts["new"] == 1 and counts["regressed"] == 1
    for state, n in counts.items():
        assert f"{n} {state.replace('_', ' ')}" in text, state
    assert "Resolved failures: 2" in text and "gone" in text and sm_arn("model", "m-gone") in text
    assert "previous/findings.json" in text


def test_newly_waived_findings_are_counted_listed_with_their_waiver_and_filterable() -> None:
    doc = to_document(_compared())  # the Azure endpoint was not in the baseline; a waiver mutes it now
    page = Page(html.render_document(doc))
    assert "baseline-newly_waived" in page.ids()
    text = page.all_text
    assert "1 newly waived" in text and "Newly waived: 1" in text
    assert "Partner integration still on keys; migration tracked in SEC-142" in text
    assert "ml-platform@example.com" in text and "2027-03-31" in text and "not in the baseline" in text
    # The count is a link that opens the findings table filtered to the newly waived findings.
    badges = [a for a in page.tags("a") if "bl-newly_waived" in (a.get("class") or "")]
    assert [(a["class"], a["data-baseline"], a["href"]) for a in badges] == [
        ("badge bl-newly_waived", "newly_waived", "#findings")]
    assert {a["class"] for a in page.tags("rect")} >= {"bar bl-newly_waived"}
    data = page.data()  # the findings table's baseline filter and badges read these
    [waived] = [i for i, b in enumerate(data["findings"]["baseline"]) if b >= 0
                and data["baseline_states"][b] == "newly_waived"]
    assert data["statuses"][data["findings"]["status"][waived]] == "MUTED"


def test_no_newly_waived_list_when_nothing_was_newly_waived() -> None:
    page = Page(html.render(with_baseline(make_result(), make_result(), "previous/findings.json", False)))
    assert "baseline-newly_waived" not in page.ids() and "0 newly waived" in page.all_text


def test_a_hostile_waiver_in_the_newly_waived_list_is_text() -> None:
    scanned = with_baseline(hostile(), make_result(findings=()), "previous/findings.json", False)
    listed = html.render(scanned).split('id="baseline-newly_waived"', 1)[1].split("</details>", 1)[0]
    text = Page(listed).all_text
    assert HOSTILE_SCRIPT in text and HOSTILE_QUOTES in text  # the reason; the owner and the name
    assert "<script" not in listed and "<img" not in listed and 'onmouseover="' not in listed


def test_hand_made_marks_are_counted_and_the_summary_count_wins(result: ScanResult) -> None:
    page = Page(html.render_document(_marked(to_document(result), ["new", "new", "still_failing", "regressed"])))
    text = page.all_text
    assert "2 new" in text and "1 still failing" in text and "1 regressed" in text
    assert "4 resolved" in text, "the summary's count of resolved findings (gone from this scan) wins"


def test_fail_on_new_says_which_failures_gate() -> None:
    scanned = _compared(fail_on_new=True)
    page = Page(html.render(scanned))
    assert "new or regressed FAIL at high or above" in page.all_text
    gating = {a["href"] for a in page.tags("a") if (a.get("href") or "").startswith("#finding-")}
    assert gating == {f"#finding-{f.id}" for f in scanned.gating()}
    assert len(gating) == 1, "only the regressed critical failure gates; the still-failing one does not"


def test_history_draws_failures_per_severity_per_run(result: ScanResult) -> None:
    runs = tuple(
        TrendPoint(started=STARTED.replace(day=day), ended=STARTED.replace(day=day, hour=4), complete=day != 2,
                   exit_code=2 if day == 2 else 1,
                   failures={Severity.CRITICAL: day % 2, Severity.HIGH: 3 + day, Severity.MEDIUM: 2})
        for day in (1, 2, 3)
    )
    scanned = dataclasses.replace(result, history=RunHistory(file="runs.sqlite", runs=runs, limit=30))
    page = Page(html.render(scanned))
    assert "history" in page.ids()
    groups = [a.get("class") for a in page.tags("g") if (a.get("class") or "").startswith("run")]
    assert groups == ["run", "run incomplete", "run"]
    bars = [a for a in page.tags("rect") if (a.get("class") or "").startswith("bar sev-")
            and a.get("x") not in (None, "100")]
    assert len(bars) == 3 + 2 + 3  # runs 1 and 3 have a critical failure, run 2 none
    assert "runs.sqlite" in page.all_text and "3 runs" in page.all_text


def test_coverage_rows_and_errors_are_all_shown() -> None:
    scanned = incomplete_collection()
    page = Page(html.render(scanned))
    rows = [a.get("class") for a in page.tags("tr") if a.get("class") in {"row-ok", "row-error"}]
    assert len(rows) == len(scanned.coverage)
    assert rows.count("row-error") == 1
    assert "AccessDenied: sagemaker:ListEndpointConfigs" in page.all_text


def test_waivers_listed_and_the_muted_finding_carries_its_waiver(result: ScanResult) -> None:
    page = Page(html.render(result))
    assert "Legacy endpoint being retired" in page.all_text  # expired
    assert "Vendor model, isolation breaks it" in page.all_text  # unused
    [muted] = [f for f in decode(page.data()) if f["status"] == "MUTED"]
    assert muted["waiver"] == {"reason": "Partner integration still on keys; migration tracked in SEC-142",
                               "owner": "ml-platform@example.com", "expires": "2027-03-31", "number": 1}


def test_rules_without_resources_are_visible(result: ScanResult) -> None:
    assert "0 resources evaluated" in Page(html.render(result)).all_text


def test_the_page_has_the_apps_and_says_what_needs_the_script(result: ScanResult) -> None:
    page = Page(html.render(result))
    apps = {"findings-app", "inventory-app", "gateways-app"}
    assert apps | {"summary", "gating", "coverage", "frameworks"} <= page.ids()
    assert len(page.tags("noscript")) == 3


def test_autoescape_does_not_depend_on_the_template_name(tmp_path: Path, result: ScanResult) -> None:
    for source in reports_dir().iterdir():
        shutil.copy(source, tmp_path / source.name)
    template = "{{ report.tool.version }}|{{ report.scan.scopes[0] }}"
    (tmp_path / html.TEMPLATE).write_text(template, encoding="utf-8")
    scanned = dataclasses.replace(result, tool_version=HOSTILE, scopes=(HOSTILE_SCRIPT,))
    out = html.render(scanned, tmp_path)
    assert out == (
        "&lt;img src=x onerror=alert(1)&gt;|&lt;/script&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
    )


def test_template_typos_fail_loudly(tmp_path: Path, result: ScanResult) -> None:
    for source in reports_dir().iterdir():
        shutil.copy(source, tmp_path / source.name)
    (tmp_path / html.TEMPLATE).write_text("{{ report.no_such_key }}", encoding="utf-8")
    with pytest.raises(UndefinedError, match="no_such_key"):
        html.render(result, tmp_path)


# --- the endpoint inventory and the gateway links ----------------------------------------------------

WS = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/ml/providers/Microsoft.MachineLearningServices"
      "/workspaces/ws")
ONLINE = f"{WS}/onlineEndpoints/scorer"
API = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/gw/providers/Microsoft.ApiManagement/service/apim/apis/score"
SM_ENDPOINT = sm_arn("endpoint", "churn")


CONFIG, MODEL = sm_arn("endpoint-config", "churn-cfg"), sm_arn("model", "churn-model")
ROLE = f"arn:aws:iam::{ACCOUNT}:role/exec"


def _estate() -> ScanResult:
    """An online endpoint with two deployments in a workspace, a SageMaker endpoint with its config, model
    and role, and a serverless endpoint with no finding of its own."""
    catalog = load_catalog()

    def make(rule_id: str, resource_id: str, status: Status, evidence: dict[str, Any], name: str) -> Finding:
        rule = catalog[rule_id]
        azure = rule.provider == "azure"
        return Finding(rule_id=rule_id, resource_id=resource_id, resource_type=rule.resource_type,
                       provider=rule.provider, account=SUBSCRIPTION if azure else ACCOUNT,
                       region="westeurope" if azure else REGION, status=status, severity=rule.severity,
                       message=f"{rule_id} on {name}", evidence=evidence, resource_name=name)

    def resource(resource_id: str, rtype: str, name: str, **related: Any) -> Resource:
        azure = rtype.startswith("azure.")
        return Resource(id=resource_id, type=rtype, provider="azure" if azure else "aws",
                        account=SUBSCRIPTION if azure else ACCOUNT, region="westeurope" if azure else REGION,
                        name=name, document={}, related=related)

    front = {"kind": "azure.ml.online_endpoint", "id": ONLINE, "name": "scorer",
             "host": "scorer.westeurope.inference.ml.azure.com", "via": "serviceUrl"}
    findings = (
        make("azure.ml.online_endpoint.auth_mode", ONLINE, Status.FAIL, {"properties.authMode": "Key"}, "scorer"),
        make("azure.ml.online_endpoint.identity_least_privilege", ONLINE.upper(), Status.FAIL,
             {"broad_assignments": ["Owner at subscription scope /subscriptions/x"], "principal_ids": ["p"]},
             "scorer"),
        make("azure.ml.online_endpoint.public_network_access_disabled", ONLINE, Status.PASS,
             {"properties.publicNetworkAccess": "Disabled"}, "scorer"),
        make("azure.ml.workspace.cmk_encryption", WS, Status.PASS, {"properties.encryption.status": "Enabled"}, "ws"),
        make("azure.ml.workspace.public_network_access_disabled", WS, Status.FAIL,
             {"properties.publicNetworkAccess": "Enabled"}, "ws"),
        make("azure.ml.online_deployment.data_collection_enabled", f"{ONLINE}/deployments/blue", Status.PASS, {},
             "blue"),
        make("azure.ml.online_deployment.data_collection_enabled", f"{ONLINE}/deployments/green", Status.FAIL, {},
             "green"),
        make("aws.sagemaker.endpoint.data_capture_enabled", SM_ENDPOINT, Status.PASS,
             {"DataCaptureConfig.EnableCapture": True}, "churn"),
        make("aws.sagemaker.endpoint.data_capture_encrypted", SM_ENDPOINT, Status.PASS,
             {"DataCaptureConfig.KmsKeyId": "alias/capture"}, "churn"),
        make("aws.sagemaker.endpoint_config.kms_volume_encryption", CONFIG, Status.FAIL, {"KmsKeyId": None},
             "churn-cfg"),
        make("aws.sagemaker.model.network_isolation", MODEL, Status.FAIL, {"EnableNetworkIsolation": False},
             "churn-model"),
        make("aws.iam.role.sagemaker_least_privilege", ROLE, Status.PASS, {"AttachedPolicies": []}, "exec"),
        make("azure.apim.api.model_endpoint_protected", API, Status.FAIL,
             {"fronts": [front], "protection": "none", "subscriptionRequired": False}, "score"),
    )
    deployments = [f"{ONLINE}/deployments/blue", f"{ONLINE}/deployments/green"]
    resources = (
        resource(f"{WS}/serverlessEndpoints/phi", "azure.ml.serverless_endpoint", "phi", workspace=WS),
        resource(ONLINE, "azure.ml.online_endpoint", "scorer", workspace=WS, deployments=deployments),
        *(resource(d, "azure.ml.online_deployment", d.rsplit("/", 1)[-1], endpoint=ONLINE) for d in deployments),
        resource(WS, "azure.ml.workspace", "ws"),
        resource(SM_ENDPOINT, "aws.sagemaker.endpoint", "churn", endpoint_config=CONFIG),
        resource(CONFIG, "aws.sagemaker.endpoint_config", "churn-cfg", models=[MODEL], kms_keys=[],
                 capture_bucket=None),
        resource(MODEL, "aws.sagemaker.model", "churn-model", execution_role=ROLE),
        resource(ROLE, "aws.iam.role", "exec"),
    )
    return make_result(findings=findings, rules=catalog, resources=resources, frameworks=())


def _lines(row: dict[str, Any], aspect: str) -> list[tuple[str, str]]:
    return [(line["text"], line["status"]) for line in row["aspects"][aspect]]


def test_an_endpoint_row_gathers_the_findings_of_what_serves_it() -> None:
    doc = to_document(_estate())
    rows = {row["name"]: row for row in html_endpoints.endpoint_inventory(doc)}
    assert set(rows) == {"scorer", "churn", "phi"}
    churn = rows["churn"]  # captures with a KMS key; its config fails volume encryption: the row says so
    assert _lines(churn, "encryption") == [("volume: no KMS key", "FAIL")]
    assert _lines(churn, "capture") == [("capture: on", "PASS"), ("capture KMS: alias/capture", "PASS")]
    assert _lines(churn, "identity") == [("execution role: least privilege", "PASS")]
    assert _lines(churn, "network") == [("network isolation: off", "FAIL")]
    assert _lines(churn, "auth") == [("IAM SigV4", "")]
    assert churn["status"] == "FAIL" and churn["unknown"] == []
    assert [(p["relation"], p["id"]) for p in churn["parts"]] == [
        ("endpoint_config", CONFIG), ("models", MODEL), ("execution_role", ROLE)]
    assert {doc["findings"][i]["resource_id"] for i in churn["findings"]} == {SM_ENDPOINT, CONFIG, MODEL, ROLE}
    assert churn["counts"] == {"FAIL": 2, "ERROR": 0, "MUTED": 0, "PASS": 3, "NOT_APPLICABLE": 0}
    scorer = rows["scorer"]
    assert _lines(scorer, "auth") == [("Key", "FAIL")]
    assert _lines(scorer, "identity") == [("broad role: Owner at subscription scope /subscriptions/x", "FAIL")], (
        "Azure ids match case-insensitively")
    assert _lines(scorer, "encryption") == [("workspace: customer-managed key", "PASS")]
    assert _lines(scorer, "capture") == [("data collection: off (1 of 2 deployments)", "FAIL")]
    assert _lines(scorer, "network") == [("public access: Disabled", "PASS"),
                                         ("workspace public access: enabled", "FAIL")]
    assert scorer["gateways"] == [{"api": "score", "protection": "none", "status": "FAIL"}]
    assert len(scorer["findings"]) == 7 and scorer["status"] == "FAIL"
    # Each line's findings are exactly those of its rule over the endpoint and its parts.
    [capture] = scorer["aspects"]["capture"]
    assert sorted(doc["findings"][i]["resource_name"] for i in capture["findings"]) == ["blue", "green"]
    phi = rows["phi"]  # in the inventory with no finding of its own: unknown, not a pass of its workspace's
    assert _lines(phi, "encryption") == [("workspace: customer-managed key", "PASS")]
    assert phi["status"] == html_endpoints.UNKNOWN
    assert phi["unknown"] == ["its own checks: no finding (not evaluated)"]


def test_what_cannot_be_known_makes_a_row_unknown_never_pass() -> None:
    doc = to_document(_estate())
    for entry in doc["inventory"]:
        if entry["id"] == CONFIG:
            entry["uses"]["models"] = [None]  # the served model no longer exists
    passing = [f for f in doc["findings"] if f["resource_id"] in (CONFIG, MODEL)]
    for f in passing:
        f["status"] = "PASS"
    [churn] = [row for row in html_endpoints.endpoint_inventory(doc) if row["name"] == "churn"]
    assert churn["unknown"] == ["model of churn-cfg: 1 no longer exists"]
    assert churn["status"] == html_endpoints.UNKNOWN
    # A findings file from before the relations were recorded: each row says so.
    old = to_document(_estate())
    for entry in old["inventory"]:
        entry.pop("uses", None)
    rows = {row["name"]: row for row in html_endpoints.endpoint_inventory(old)}
    assert rows["churn"]["unknown"] == ["what serves it: not recorded"]
    assert rows["churn"]["status"] == html_endpoints.UNKNOWN
    assert rows["scorer"]["status"] == "FAIL", "a known failure outranks what is not known"
    assert _lines(rows["churn"], "encryption") == []


def test_gateway_links_table_rows() -> None:
    doc = to_document(_estate())
    [link] = html_endpoints.gateway_links(doc)
    assert link["api_name"] == "score" and link["endpoint_id"] == ONLINE and link["protection"] == "none"
    assert link["via"] == "serviceUrl" and link["status"] == "FAIL"
    data = Page(html.render_document(doc)).data()
    assert data["gateways"] == [link]
    names = {data["resources"]["name"][row[0]] for row in data["inventory"]["rows"]}
    assert names == {"scorer", "churn", "phi"}
    [scorer] = [row for row in data["inventory"]["rows"] if data["resources"]["name"][row[0]] == "scorer"]
    assert data["inventory"]["kinds"][scorer[1]] == ["azure.ml.online_endpoint", "Azure ML online endpoint"]
    aspects, strings, statuses = data["inventory"]["aspects"], data["strings"], data["statuses"]
    rule_ids = [r["id"] for r in data["rules"]]
    first = scorer[2][0]
    assert aspects[first[0]] == "auth" and rule_ids[first[1]] == "azure.ml.online_endpoint.auth_mode"
    assert strings[first[2]] == "Key" and statuses[first[3]] == "FAIL"
    assert [data["findings"]["id"][i] for i in first[4]] == [
        f["id"] for f in doc["findings"] if f["rule_id"] == "azure.ml.online_endpoint.auth_mode"]
    assert scorer[3] == [[strings.index("score"), strings.index("none"), statuses.index("FAIL")]]
    assert statuses[scorer[6]] == "FAIL"
    [phi] = [row for row in data["inventory"]["rows"] if data["resources"]["name"][row[0]] == "phi"]
    assert phi[6] == -2 and [strings[t] for t in phi[5]] == ["its own checks: no finding (not evaluated)"]


def test_severity_order_is_worst_first() -> None:
    assert [s.value for s in html_view.SEVERITY_ORDER] == [s.value for s in sorted(Severity, key=lambda s: -s.rank)]
