"""report.html in headless Chromium: filter, sort, group, expand, navigate; hostile strings stay text."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from auditor.model import Severity

from . import scenario
from .conftest import CHROMIUM, MISSING, Opened, open_report

if not CHROMIUM.exists():
    pytest.skip(MISSING, allow_module_level=True)

from playwright.sync_api import Browser, Page, expect

DOC = scenario.document()
FINDINGS = DOC["findings"]
SEVERITY_RANK = {s.value: s.rank for s in Severity}
COLUMNS = 9  # toggle, status, severity, rule, resource, type, account / region, message, baseline

ROWS_JS = """() => Array.from(document.querySelectorAll('#findings-body tr.frow')).map(tr => ({
    status: tr.querySelector('.badge').textContent,
    severity: tr.querySelector('.pill').textContent,
    rule: tr.querySelector('.col-rule code').textContent,
    name: (tr.querySelector('.col-resource .res-name') || {textContent: ''}).textContent,
    resource: tr.querySelector('.col-resource .res-id').textContent,
    cells: tr.children.length,
}))"""


def rows(page: Page) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = page.evaluate(ROWS_JS)
    return result


def count_line(page: Page) -> str:
    return page.text_content("#findings-count") or ""


def check(page: Page, facet: str, value: str) -> None:
    page.click(f"details[data-facet={facet}] > summary")
    page.locator(f"details[data-facet={facet}] label.facet-item", has_text=value).locator("input").check()


def assert_clean(opened: Opened) -> None:
    assert opened.errors == [], opened.errors
    assert opened.page.evaluate("typeof window.__pwned") == "undefined"
    assert all(url.startswith("file://") for url in opened.requests), opened.requests


def test_opens_offline_and_shows_the_first_page(report: Opened) -> None:
    page = report.page
    assert len(rows(page)) == 100
    assert f"of {len(FINDINGS)} matching findings ({len(FINDINGS)} in all)" in count_line(page)
    assert page.text_content("#summary .card.status-fail .card-count") == str(
        sum(1 for f in FINDINGS if f["status"] == "FAIL"))
    page.click("#findings-pager [data-page=next]")
    assert page.text_content("#findings-pager .page-of") == "Page 2 of 3"
    assert len(rows(page)) == 100
    page.click("#findings-pager [data-page=last]")
    assert len(rows(page)) == len(FINDINGS) - 200
    assert_clean(report)


def test_filter_by_status_and_search(report: Opened) -> None:
    page = report.page
    failed = [f for f in FINDINGS if f["status"] == "FAIL"]
    check(page, "status", "FAIL")
    shown = rows(page)
    assert {r["status"] for r in shown} == {"FAIL"}
    assert f"of {len(failed)} matching findings" in count_line(page)
    # Facet counts answer "how many if I also picked this": the other statuses keep their totals.
    counts = Counter(f["status"] for f in FINDINGS)
    label = page.locator("details[data-facet=status] label.facet-item", has_text="PASS")
    assert label.locator(".facet-count").text_content() == str(counts["PASS"])
    page.fill("#f-search", "scorer-04")
    expect(page.locator("#findings-count")).to_contain_text("Showing 2 on this page of 2 matching")
    assert {r["rule"] for r in rows(page)} == {"azure.ml.online_endpoint.identity_least_privilege",
                                               "azure.ml.online_deployment.data_collection_enabled"}
    page.click("#f-clear")
    assert f"of {len(FINDINGS)} matching" in count_line(page)
    assert_clean(report)


def test_sort_by_severity_both_ways(report: Opened) -> None:
    page = report.page
    page.click("th.col-severity button.sort")
    ranks = [SEVERITY_RANK[r["severity"]] for r in rows(page)]
    assert ranks == sorted(ranks, reverse=True) and ranks[0] == max(SEVERITY_RANK[f["severity"]] for f in FINDINGS)
    assert page.get_attribute("th.col-severity", "aria-sort") == "ascending"
    page.click("th.col-severity button.sort")
    ranks = [SEVERITY_RANK[r["severity"]] for r in rows(page)]
    assert ranks == sorted(ranks) and ranks[0] == min(SEVERITY_RANK[f["severity"]] for f in FINDINGS)
    assert page.get_attribute("th.col-severity", "aria-sort") == "descending"
    assert_clean(report)


def test_group_by_rule_and_collapse_a_group(report: Opened) -> None:
    page = report.page
    page.select_option("#f-group", "rule")
    page.select_option("#f-pagesize", "500")
    per_rule = Counter(f["rule_id"] for f in FINDINGS)
    groups = page.evaluate("""() => Array.from(document.querySelectorAll('#findings-body tr.group-row')).map(tr =>
        [tr.querySelector('.group-label').textContent, tr.querySelector('.group-count').textContent])""")
    assert [label for label, _ in groups] == sorted(per_rule)
    for label, text in groups:
        assert text.strip().startswith(f"{per_rule[label]} finding"), (label, text)
    assert [r["rule"] for r in rows(page)] == sorted(r["rule"] for r in rows(page))
    first = sorted(per_rule)[0]
    page.click("#findings-body tr.group-row >> nth=0")
    assert first not in {r["rule"] for r in rows(page)}
    assert len(rows(page)) == len(FINDINGS) - per_rule[first]
    assert_clean(report)


def test_expand_a_finding_to_see_evidence_remediation_and_controls(report: Opened) -> None:
    page = report.page
    page.fill("#f-search", "scorer-03 auth_mode")
    expect(page.locator("#findings-body tr.frow")).to_have_count(1)
    page.click("#findings-body tr.frow")
    detail = page.locator("#findings-body tr.fdetail")
    assert detail.count() == 1
    assert page.get_attribute("#findings-body tr.frow button.toggle", "aria-expanded") == "true"
    evidence = detail.locator("table.kv").first
    assert evidence.locator("th").first.text_content() == "properties.authMode"
    assert evidence.locator("td").first.text_content() == '"Key"'
    text = detail.text_content() or ""
    assert "automatic fix available" in text or "manual fix" in text
    assert "Framework controls" in text and "Why this matters" in text
    mark = next(f["baseline"] for f in FINDINGS
                if f["resource_name"] == "scorer-03" and f["rule_id"].endswith("auth_mode"))
    was = f" (was {mark['previous_status']})" if mark["previous_status"] else " (not in the baseline)"
    assert f"{mark['state'].replace('_', ' ')} since the baseline{was}" in text
    page.click("#findings-body tr.frow")
    assert page.locator("#findings-body tr.fdetail").count() == 0
    assert_clean(report)


def test_hostile_strings_are_shown_as_text_and_nothing_runs(report: Opened) -> None:
    page = report.page
    page.fill("#f-search", "onerror")
    expect(page.locator("#findings-count")).to_contain_text(" 2 matching")
    shown = rows(page)
    assert [r["name"] for r in shown] == [scenario.HOSTILE_NAME] * 2
    assert all(r["cells"] == COLUMNS for r in shown)
    for i in range(2):
        page.click(f"#findings-body tr.frow >> nth={i}")
    text = page.text_content("#findings-body") or ""
    assert scenario.HOSTILE_MESSAGE in text
    assert f"notes={scenario.HOSTILE_TAG}" in text
    assert scenario.HOSTILE_KEY in text and f'"{scenario.HOSTILE_VALUE}"' in text
    # The table keeps its shape: two finding rows, each followed by one detail row of one cell.
    shape = page.evaluate("""() => Array.from(document.querySelectorAll('#findings-body > tr')).map(tr =>
        [tr.className.split(' ')[0], tr.children.length])""")
    assert shape == [["frow", COLUMNS], ["fdetail", 1], ["frow", COLUMNS], ["fdetail", 1]]
    assert page.evaluate("document.querySelectorAll('#findings-table thead th').length") == COLUMNS
    assert page.evaluate("document.querySelectorAll('img, svg script, #findings-body script, [onerror]').length") == 0
    page.fill("#inventory-app input[type=search]", "onerror")
    expect(page.locator("#inventory-app tbody tr.data-row")).to_have_count(1)
    assert page.text_content("#inventory-app tbody .res-name") == scenario.HOSTILE_NAME
    assert_clean(report)


def test_waived_finding_shows_its_hostile_reason_as_text(report: Opened) -> None:
    page = report.page
    check(page, "status", "MUTED")
    page.click("#findings-body tr.frow >> nth=0")
    assert scenario.HOSTILE_REASON in (page.text_content("#findings-body .waiver-box") or "")
    assert page.locator("#findings-body .waiver-box b").count() == 0
    assert_clean(report)


def test_markup_sinks_and_injected_scripts_are_refused(report: Opened) -> None:
    page = report.page
    outcome = page.evaluate("""() => {
        const results = [];
        try { document.body.insertAdjacentHTML('beforeend', '<img src=x onerror="window.__pwned=7">');
              results.push('markup accepted'); } catch (e) { results.push(e.name); }
        try { const s = document.createElement('script'); s.textContent = 'window.__pwned = 8';
              document.body.appendChild(s); results.push('script appended'); } catch (e) { results.push(e.name); }
        return results;
    }""")
    assert outcome[0] == "TypeError", "Trusted Types refuse strings in markup sinks"
    page.wait_for_timeout(100)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert report.errors, "the browser reports the refusals"
    assert all("Trusted" in e or "Content Security Policy" in e for e in report.errors), report.errors


def test_endpoint_inventory_and_gateway_links(report: Opened) -> None:
    page = report.page
    count = page.text_content("#inventory-app .count-line") or ""
    assert count.startswith(f"{scenario.SAGEMAKER_ENDPOINTS + scenario.ONLINE_ENDPOINTS} of ")
    page.fill("#inventory-app input[type=search]", "scorer-00")
    expect(page.locator("#inventory-app tbody tr.data-row")).to_have_count(1)
    row = page.locator("#inventory-app tbody tr.data-row")
    assert row.locator("td.col-auth").text_content() == "Key"
    assert row.locator("td.col-encryption").text_content() == "workspace: customer-managed key"
    assert row.locator("td.col-gateways").text_content() == "score-api: none"
    gateway = page.evaluate("""() => Array.from(document.querySelectorAll('#gateways-app tbody tr.data-row td'))
        .map(td => td.textContent)""")
    assert gateway[0].startswith("score-api") and gateway[1].startswith("scorer-00")
    assert "scorer-00.westeurope.inference.ml.azure.com" in gateway[1] and gateway[2] == "serviceUrl"
    assert gateway[3].startswith("none")
    # From the inventory to the findings of the endpoint and of what serves it.
    row.locator("button.row-findings").click()
    assert {r["resource"] for r in rows(page)} == {f"{scenario.WS}/onlineEndpoints/scorer-00",
                                                   f"{scenario.WS}/onlineEndpoints/scorer-00/deployments/blue",
                                                   scenario.WS}
    assert_clean(report)


def test_a_gating_link_reveals_its_finding(report: Opened) -> None:
    page = report.page
    gating = [f for f in FINDINGS if f["gating"]]
    assert gating
    href = page.get_attribute("#gating tr.gating-row a", "href") or ""
    page.click("#gating tr.gating-row a >> nth=0")
    row = page.locator(f"tr{href}")
    assert row.is_visible()
    assert row.get_attribute("class") and "open" in (row.get_attribute("class") or "")
    assert_clean(report)


def test_the_summary_reads_without_javascript(browser: Browser, report_file: Path) -> None:
    for opened in open_report(browser, report_file, javascript=False):
        page = opened.page
        assert page.is_visible("#summary svg.donut")
        assert page.text_content("#summary .card.status-fail .card-count") == str(
            sum(1 for f in FINDINGS if f["status"] == "FAIL"))
        assert page.evaluate("document.getElementById('findings-app').children.length") == 0
        assert page.is_visible("#trend")


def test_every_facet_filters_to_what_it_names(report: Opened) -> None:
    page = report.page
    for facet in ("severity", "rule", "provider", "account", "type", "region", "framework", "baseline"):
        page.click(f"details[data-facet={facet}] > summary")
        first = page.locator(f"details[data-facet={facet}] label.facet-item").first
        expected = int(first.locator(".facet-count").text_content() or "0")
        assert expected > 0, facet
        first.locator("input").check()
        assert f"of {expected} matching finding" in count_line(page), facet
        page.click("#f-clear")
        page.click(f"details[data-facet={facet}] > summary")
    assert f"of {len(FINDINGS)} matching" in count_line(page)
    assert_clean(report)
