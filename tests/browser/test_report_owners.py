"""report.html in headless Chromium: each finding shows its owner, and the findings table filters and groups by owner.

The scenario's SageMaker endpoints carry an ``owner`` tag (one hostile), every fifth none; half the online
endpoints spell it ``Owner``; one endpoint's tags could not be read (unknown, not unowned); everything else
has no such tag (unowned).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from . import scenario
from .conftest import CHROMIUM, MISSING, Opened

if not CHROMIUM.exists():
    pytest.skip(MISSING, allow_module_level=True)

from playwright.sync_api import Page, expect

DOC = scenario.document()
FINDINGS = DOC["findings"]


def owner_of(f: dict[str, Any]) -> str:
    owner = f["owner"]
    return str(owner["value"]) if owner["state"] == "owned" else str(owner["state"])


PER_OWNER = Counter(owner_of(f) for f in FINDINGS)


def shown(page: Page) -> list[tuple[str, str]]:
    """(finding id, the owner its row shows) of every row the table matches (all on one page of 500)."""
    page.select_option("#f-pagesize", "500")
    rows: list[tuple[str, str]] = [tuple(r) for r in page.evaluate(
        """() => Array.from(document.querySelectorAll('#findings-body tr.frow')).map(tr =>
            [tr.id.slice('finding-'.length), tr.querySelector('.col-resource .owner-name').textContent])""")]
    return rows


def test_the_scenario_has_every_kind_of_owner() -> None:
    assert {"ml-platform", "recsys", "scoring-team", scenario.HOSTILE_OWNER, "unowned", "unknown"} <= set(PER_OWNER)
    endpoint = scenario.sm_arn(scenario.ACCOUNTS[scenario.UNREAD_TAGS % 2], "endpoint",
                               f"churn-{scenario.UNREAD_TAGS:02d}")
    assert {owner_of(f) for f in FINDINGS if f["resource_id"] == endpoint} == {"unknown"}


def test_a_click_on_an_owner_shows_exactly_that_owners_findings(report: Opened) -> None:
    page = report.page
    page.click("details[data-facet=owner] > summary")
    items = page.locator("details[data-facet=owner] label.facet-item")
    labels = [items.nth(k).locator(".facet-label").text_content() for k in range(items.count())]
    assert labels[-2:] == ["unowned", "unknown"]
    assert sorted(labels[:-2], key=str.lower) == labels[:-2]
    assert set(labels) == set(PER_OWNER)
    for k, label in enumerate(labels):
        item = items.nth(k)
        assert item.locator(".facet-count").text_content() == str(PER_OWNER[label]), label
        item.locator("input").check()
        rows = shown(page)
        assert {i for i, _ in rows} == {f["id"] for f in FINDINGS if owner_of(f) == label}, label
        assert {o for _, o in rows} == {label}
        item.locator("input").uncheck()
    assert len(shown(page)) == len(FINDINGS)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert report.errors == []


def test_group_by_owner_counts_each_owner_with_unowned_and_unknown_last(report: Opened) -> None:
    page = report.page
    page.select_option("#f-group", "owner")
    page.select_option("#f-pagesize", "500")
    groups = page.evaluate("""() => Array.from(document.querySelectorAll('#findings-body tr.group-row')).map(tr =>
        [tr.querySelector('.group-label').textContent, tr.querySelector('.group-count').textContent])""")
    assert [label for label, _ in groups][-2:] == ["unowned", "unknown"]
    assert {label for label, _ in groups} == set(PER_OWNER)
    failed = Counter(owner_of(f) for f in FINDINGS if f["status"] == "FAIL")
    for label, text in groups:
        expected = f"{PER_OWNER[label]} finding{'' if PER_OWNER[label] == 1 else 's'}"
        if failed[label]:
            expected += f", {failed[label]} failed"
        assert text.strip() == expected, label
    assert report.errors == []


def test_an_expanded_finding_names_its_owner(report: Opened) -> None:
    page = report.page
    page.fill("#f-search", "scorer-01 auth_mode")
    expect(page.locator("#findings-body tr.frow")).to_have_count(1)
    assert page.text_content("#findings-body tr.frow .owner-name") == "scoring-team"
    page.click("#findings-body tr.frow")
    owner_row = page.locator("#findings-body tr.fdetail table.kv tr", has=page.locator("th", has_text="owner"))
    assert owner_row.locator("td").text_content() == "scoring-team"
    assert report.errors == []
