"""report.html in headless Chromium: each endpoint's whole posture, readable widths, counts that filter.

- The endpoint inventory aggregates what serves an endpoint (config, model, execution role; workspace,
  deployments) and each of its lines and counts opens exactly the findings behind it.
- At 1,024, 1,400 and 1,920 px no cell of any table spills into another and the message column holds at
  least 30 characters: measured on the element boxes the browser laid out.
- Every count of the summary is a link that filters the findings table to exactly the findings it counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import scenario
from .conftest import CHROMIUM, MISSING, Opened, open_report

if not CHROMIUM.exists():
    pytest.skip(MISSING, allow_module_level=True)

from playwright.sync_api import Browser, Page, expect

DOC = scenario.document()
FINDINGS = DOC["findings"]
WIDTHS = (1024, 1400, 1920)


def shown_ids(page: Page) -> set[str]:
    """The ids of every finding the table matches (all on one page of 500)."""
    page.select_option("#f-pagesize", "500")
    ids: list[str] = page.evaluate("""() => Array.from(document.querySelectorAll('#findings-body tr.frow'))
        .map(tr => tr.id.slice('finding-'.length))""")
    assert len(ids) == len(set(ids))
    return set(ids)


def ids(findings: list[dict[str, Any]]) -> set[str]:
    return {f["id"] for f in findings}


def of_resources(*resource_ids: str) -> set[str]:
    wanted = {r.lower() for r in resource_ids}
    return ids([f for f in FINDINGS if f["resource_id"].lower() in wanted])


def inventory_row(page: Page, name: str) -> Any:
    page.fill("#inventory-app input[type=search]", name)
    row = page.locator("#inventory-app tbody tr.data-row", has=page.locator(".res-name", has_text=name))
    expect(row).to_have_count(1)
    return row


def assert_clean(opened: Opened) -> None:
    assert opened.errors == [], opened.errors
    assert all(url.startswith("file://") for url in opened.requests), opened.requests


# --- the endpoint inventory ------------------------------------------------------------------------


def test_a_sagemaker_row_shows_its_config_model_and_role(report: Opened) -> None:
    """churn-01 captures with a KMS key, but its config fails the HIGH volume-encryption rule: the row says so."""
    page = report.page
    account = scenario.ACCOUNTS[1]
    endpoint = scenario.sm_arn(account, "endpoint", "churn-01")
    config = scenario.sm_arn(account, "endpoint-config", "churn-01-cfg")
    model = scenario.sm_arn(account, "model", "churn-01-model")
    role = scenario.role_arn(account, 1)
    row = inventory_row(page, "churn-01")
    encryption = row.locator("td.col-encryption .aspect")
    expect(encryption).to_have_text(["volume: no KMS key"])
    assert "st-fail" in (encryption.get_attribute("class") or "")
    expect(row.locator("td.col-capture .aspect")).to_have_text(["capture: on", "capture KMS: alias/capture"])
    assert "st-pass" in (row.locator("td.col-capture .aspect").nth(1).get_attribute("class") or "")
    expect(row.locator("td.col-identity .aspect")).to_have_text(["execution role: least privilege"])
    expect(row.locator("td.col-network .aspect")).to_have_text(["network isolation: off", "VPC: subnets set"])
    expect(row.locator("td.col-auth")).to_have_text("IAM SigV4")
    expect(row.locator("td.col-posture .badge")).to_have_text("FAIL")
    served = of_resources(endpoint, config, model, role)
    assert len(served) == 6
    button = row.locator("td.col-posture button.row-findings")
    expect(button).to_have_text("2 failed of 6 findings")
    # The row's count: the endpoint's findings and those of its config, model and role, nothing else.
    button.click()
    expect(page.locator("#f-only")).to_be_visible()
    assert shown_ids(page) == served
    # One line: exactly the config's finding.
    row = inventory_row(page, "churn-01")
    row.locator("td.col-encryption button.line-link").click()
    assert shown_ids(page) == ids([f for f in FINDINGS if f["resource_id"] == config
                                   and f["rule_id"] == "aws.sagemaker.endpoint_config.kms_volume_encryption"])
    page.click("#f-only-clear")
    expect(page.locator("#findings-count")).to_contain_text(f"of {len(FINDINGS)} matching")
    assert_clean(report)


def test_an_online_endpoint_row_gathers_its_deployments_and_workspace(report: Opened) -> None:
    page = report.page
    endpoint = f"{scenario.WS}/onlineEndpoints/scorer-04"
    row = inventory_row(page, "scorer-04")
    expect(row.locator("td.col-identity .aspect")).to_have_text(["broad role: Owner at subscription scope"])
    expect(row.locator("td.col-capture .aspect")).to_have_text(["data collection: off"])
    expect(row.locator("td.col-encryption .aspect")).to_have_text(["workspace: customer-managed key"])
    expect(row.locator("td.col-posture .badge")).to_have_text("FAIL")
    row.locator("td.col-posture button.row-findings").click()
    assert shown_ids(page) == of_resources(endpoint, f"{endpoint}/deployments/blue", scenario.WS)
    assert_clean(report)


def test_a_row_whose_config_could_not_be_read_is_unknown_not_pass(report: Opened) -> None:
    page = report.page
    row = inventory_row(page, f"churn-{scenario.UNREAD_CONFIG}")
    expect(row.locator("td.col-posture .badge")).to_have_text("UNKNOWN")
    expect(row.locator("td.col-posture .unknown-parts li")).to_have_text(
        ["not known: endpoint config: could not be read"])
    expect(row.locator("td.col-encryption")).to_have_text("\u2014")
    assert_clean(report)


# --- widths ----------------------------------------------------------------------------------------

# For every row of every visible table: the cells' boxes, and for each cell whatever it draws outside
# itself horizontally (an element's box, or a text run that no clipping ancestor inside the cell hides).
SPILLS_JS = """() => {
  const out = [];
  const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const clipper = (node, cell) => {
    for (let el = node.parentElement; el && el !== cell; el = el.parentElement) {
      if (getComputedStyle(el).overflowX !== 'visible') return el;
    }
    return null;
  };
  for (const table of document.querySelectorAll('table')) {
    if (!visible(table)) continue;
    const where = table.closest('[id]') ? table.closest('[id]').id : '?';
    for (const tr of table.rows) {
      const cells = Array.from(tr.cells).filter(visible);
      const boxes = cells.map(c => c.getBoundingClientRect());
      for (let a = 0; a < boxes.length; a++) {
        for (let b = a + 1; b < boxes.length; b++) {
          if (boxes[a].right > boxes[b].left + 0.5 && boxes[b].right > boxes[a].left + 0.5) {
            out.push(where + ': cells ' + a + ' and ' + b + ' overlap');
          }
        }
        const cell = cells[a], box = boxes[a];
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          if (node.nodeType === Node.ELEMENT_NODE && node.tagName === 'TABLE') continue;
          let rects;
          if (node.nodeType === Node.TEXT_NODE) {
            if (!node.textContent.trim() || clipper(node, cell)) continue;
            const range = document.createRange();
            range.selectNodeContents(node);
            rects = Array.from(range.getClientRects());
          } else {
            if (!visible(node)) continue;
            rects = [node.getBoundingClientRect()];
          }
          for (const r of rects) {
            if (r.width && (r.left < box.left - 0.5 || r.right > box.right + 0.5)) {
              out.push(where + ': "' + (node.textContent || '').slice(0, 40) + '" spills out of cell ' + a +
                       ' (' + Math.round(r.left) + '-' + Math.round(r.right) + ' outside ' + Math.round(box.left) +
                       '-' + Math.round(box.right) + ')');
              break;
            }
          }
        }
      }
    }
  }
  return out;
}"""

# The message column's text box, in widths of 'x' in its own font: at least 30 characters of text.
MESSAGE_CHARS_JS = """() => {
  const cell = document.querySelector('#findings-body tr.frow td.col-message');
  const style = getComputedStyle(cell);
  const inner = cell.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = style.fontWeight + ' ' + style.fontSize + ' ' + style.fontFamily;
  return inner / ctx.measureText('x'.repeat(30)).width * 30;
}"""


@pytest.fixture(params=WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def at_width(request: pytest.FixtureRequest, browser: Browser, report_file: Path) -> Iterator[Opened]:
    yield from open_report(browser, report_file, width=request.param)


def test_no_cell_spills_and_the_message_column_is_readable(at_width: Opened) -> None:
    page = at_width.page
    # Everything that can be open is open: every detail section, and a few findings with their details.
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    for i in range(3):
        page.click(f"#findings-body tr.frow >> nth={2 * i}")
    page.fill("#inventory-app input[type=search]", "churn-0")
    expect(page.locator("#inventory-app tbody tr.data-row")).to_have_count(10)
    spills: list[str] = page.evaluate(SPILLS_JS)
    assert spills == []
    assert page.evaluate(MESSAGE_CHARS_JS) >= 30
    # No table is wider than its box, and the page does not scroll sideways.
    widths = page.evaluate("""() => Array.from(document.querySelectorAll('.table-scroll'))
        .map(box => [box.scrollWidth, box.clientWidth])""")
    assert widths and all(scroll <= client for scroll, client in widths), widths
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert_clean(at_width)


def test_hostile_and_long_values_stay_in_their_cells_at_the_narrowest_width(browser: Browser,
                                                                            report_file: Path) -> None:
    for opened in open_report(browser, report_file, width=1024):
        page = opened.page
        page.fill("#f-search", "onerror")
        expect(page.locator("#findings-body tr.frow")).to_have_count(2)
        page.click("#findings-body tr.frow >> nth=0")
        assert page.evaluate(SPILLS_JS) == []
        assert_clean(opened)


# --- counts that filter ----------------------------------------------------------------------------


def by(**wanted: Any) -> set[str]:
    def ok(f: dict[str, Any]) -> bool:
        for key, value in wanted.items():
            have = f["baseline"]["state"] if key == "baseline" else f[key]
            if have not in (value if isinstance(value, tuple) else (value,)):
                return False
        return True
    return ids([f for f in FINDINGS if ok(f)])


def click_count(page: Page, selector: str, expected: set[str]) -> None:
    page.locator(selector).first.click()
    expect(page.locator("#findings-count")).to_contain_text(f" {len(expected)} matching finding")
    assert shown_ids(page) == expected
    assert page.evaluate("document.getElementById('findings').getBoundingClientRect().top") < 5


def test_every_count_of_the_summary_opens_exactly_its_findings(report: Opened) -> None:
    page = report.page
    click_count(page, "#summary a.card.status-fail", by(status="FAIL"))
    click_count(page, "#summary a.card.status-muted", by(status="MUTED"))
    click_count(page, "#summary a.card.status-not_applicable", by(status="NOT_APPLICABLE"))
    for severity in ("high", "medium"):
        click_count(page, f"#summary a.bar-link[data-severity={severity}]", by(status="FAIL", severity=severity))
    click_count(page, "#trend a.badge.bl-new", by(baseline="new"))
    click_count(page, "#trend a.badge.bl-still_failing", by(baseline="still_failing"))
    click_count(page, "#gating a.count-link", ids([f for f in FINDINGS if f["gating"]]))
    click_count(page, "#waivers a.count-link", by(status="MUTED"))
    rule = "aws.sagemaker.model.network_isolation"
    click_count(page, f"#rules a[data-rule='{rule}'][data-status=FAIL]", by(rule_id=rule, status="FAIL"))
    assert_clean(report)


def test_a_frameworks_failed_controls_open_the_findings_that_fail_them(report: Opened) -> None:
    page = report.page
    for framework in DOC["frameworks"]:
        failed = [c for c in framework["controls"] if c["status"] == "failed"]
        if not failed:
            continue
        rules = {r["rule_id"] for c in failed for r in c["rules"]}
        expected = ids([f for f in FINDINGS if f["rule_id"] in rules and f["status"] in ("FAIL", "MUTED")])
        click_count(page, f"#summary .fw-summary a[data-framework='{framework['id']}']", expected)
        # The detail of the framework, collapsed until asked for, has the same link.
        page.click(f"#{'framework-' + framework['id']} > summary")
        click_count(page, f"#framework-{framework['id']} a[data-framework]", expected)
    assert_clean(report)


def test_the_findings_table_is_near_the_top_and_detail_sections_start_collapsed(report: Opened) -> None:
    page = report.page
    assert page.evaluate("Array.from(document.querySelectorAll('details.framework')).every(d => !d.open)")
    assert page.evaluate("document.querySelectorAll('details.framework').length") == len(DOC["frameworks"])
    top = page.evaluate("document.getElementById('findings').getBoundingClientRect().top + scrollY")
    assert top < 4000, top
    # A framework link of the summary table opens its collapsed detail.
    first = DOC["frameworks"][0]["id"]
    page.click(f"#summary .fw-summary a[href='#framework-{first}']")
    assert page.evaluate(f"document.getElementById('framework-{first}').open")
    assert_clean(report)
