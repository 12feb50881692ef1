"""Headless Chromium for the report's browser tests, driven by Playwright over the DevTools protocol.

Debian's chromium (/usr/bin/chromium; ``.ci/run`` installs it) runs the page from a file:// URL, as a
reader opens a CI artifact. Playwright's Python package drives it through ``executable_path``: it
downloads no browser of its own. The test modules skip, saying why, only when that binary is absent.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from auditor.outputs import html

from . import scenario

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

CHROMIUM = Path(os.environ.get("AUDITOR_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
MISSING = f"{CHROMIUM} is absent (Debian's chromium package; .ci/run installs it)"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    # Playwright starts Chromium with a fresh, empty profile directory of its own and removes it after.
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(html.render_document(scenario.document()), encoding="utf-8")
    return path


@dataclass
class Opened:
    """A page on the report, with what it logged and every request it made."""

    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


def open_report(browser: Browser, path: Path, *, javascript: bool = True, width: int = 1400) -> Iterator[Opened]:
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": width, "height": 900})
    page = context.new_page()
    opened = Opened(page)

    def console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            opened.errors.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: opened.errors.append(f"pageerror: {error}"))
    page.on("request", lambda request: opened.requests.append(request.url))
    page.goto(path.as_uri())
    if javascript:
        page.wait_for_selector("#findings-app[data-state=ready]")
    try:
        yield opened
    finally:
        context.close()


@pytest.fixture
def report(browser: Browser, report_file: Path) -> Iterator[Opened]:
    yield from open_report(browser, report_file)
