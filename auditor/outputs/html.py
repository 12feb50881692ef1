"""The HTML report: one self-contained file that opens offline (reports/report.html.j2 + report.js).

The report is rendered from the findings document (``findings_json.to_document``), not from the
ScanResult directly, so a report re-rendered later from findings.json is the same page as the one the
scan wrote. The executive summary is server-rendered (``html_view.build_view``) and reads without
JavaScript; the findings table, the endpoint inventory and the gateway links are drawn by the page's
script from a JSON data block (``html_data.page_data``), so 100,000 findings cost kilobytes of markup, not
hundreds of megabytes. The document's findings and inventory are read once, an entry at a time, as
findings_json builds them: the summary's counts, the data block's columns and the endpoint rows'
index are gathered in that one pass and each entry is dropped, so 100,000 findings' documents (70 MB)
never exist at once.

Escaping, by construction:

- markup: Jinja autoescape is on for every template (never ``select_autoescape``, which keys off file
  names) and undefined names fail loudly; the only strings marked safe are the tool's own stylesheet
  and script, read from the tool's template directory, and the data block below;
- data: ``embed_json`` writes the JSON with ``<``, ``>``, ``&``, U+2028, U+2029 and lone surrogates as
  ``\\u`` escapes, so nothing in it can close the ``<script type="application/json">`` element or open a
  comment, and ``JSON.parse`` returns exactly the strings Python held;
- in the page: the script builds every node with ``createElement`` / ``createTextNode`` and never
  parses markup; the policy's ``require-trusted-types-for 'script'`` makes the browser refuse any
  string assigned to ``innerHTML`` and the like, so that stays true.

The Content-Security-Policy forbids every network load (``default-src 'none'``) and allows exactly
the page's own script and stylesheet, by the SHA-256 of their text computed at render time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from auditor.model import ScanResult
from auditor.outputs import findings_json, html_view
from auditor.outputs.html_data import ENCODER, data_text
from auditor.paths import reports_dir

TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"
SCRIPT = "report.js"

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_UNSAFE_IN_JSON = re.compile("[<>&\u2028\u2029\ud800-\udfff]")
_DATA_SLOT = "<\x00data\x00>"  # where the template prints the data block (see render_document)


def render(result: ScanResult, templates_dir: Path | None = None) -> str:
    """The report page for ``result``; templates from ``templates_dir`` (default: the shipped ones)."""
    # The document with its findings and inventory built an entry at a time, as the page's data reads them.
    return render_document(findings_json._document(result), templates_dir)


def render_document(doc: Mapping[str, Any], templates_dir: Path | None = None) -> str:
    """The report page for a findings document (one ``to_document`` produced, or one whose ``findings`` and
    ``inventory`` are iterators: each entry is read once)."""
    directory = templates_dir if templates_dir is not None else reports_dir()
    css = (directory / STYLESHEET).read_text(encoding="utf-8")
    script = (directory / SCRIPT).read_text(encoding="utf-8")
    if "</style" in css.lower() or "</script" in script.lower() or "<!--" in script:
        raise ValueError("the report's stylesheet or script would close its own element")
    if _DATA_SLOT in css or _DATA_SLOT in script:
        raise ValueError("the report's stylesheet or script holds the data block's place-holder")
    template = environment(directory).get_template(TEMPLATE)
    seen = html_view.Seen(doc["rules"])
    pieces = data_text(doc, seen.add)  # the one pass over the findings, which also counts them for the summary
    report = html_view.build_view(doc, seen)
    del doc, seen
    for i, piece in enumerate(pieces):  # escaped piece by piece: the block exists once, not twice
        pieces[i] = _inert(piece)
    block = "".join(pieces)
    del pieces
    page = template.render(
        report=report,
        # The tool's own files, read from its template directory: marked safe, and pinned by the CSP.
        css=Markup(css),  # noqa: S704
        script=Markup(script),  # noqa: S704
        data=Markup(_DATA_SLOT),  # noqa: S704 - a constant; the block (escaped by _inert) takes its place
        csp=content_security_policy(script, css),
    )
    # The block goes where the template printed the place-holder: as ``data=Markup(block)`` would put it, without
    # Markup's copy of 15 MB at 100,000 findings. Nothing else on the page can hold the place-holder: every
    # other string is escaped ("<" is "&lt;"), the stylesheet and the script are checked above.
    return block.join(page.split(_DATA_SLOT))


def environment(directory: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(directory),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["n"] = _thousands
    return env


def _thousands(value: int) -> str:
    return f"{value:,}"


def content_security_policy(script: str, css: str) -> str:
    """No network loads at all; only this script and this stylesheet run; no markup from strings."""
    return (
        f"default-src 'none'; script-src '{sha256_source(script)}'; style-src '{sha256_source(css)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'; "
        "require-trusted-types-for 'script'; trusted-types 'none'"
    )


def sha256_source(text: str) -> str:
    """A CSP hash source for an inline element whose text is ``text``."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def embed_json(value: Any) -> str:
    """``value`` as JSON that is inert inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` occur in JSON only inside strings, where their ``\\u`` escapes mean the same
    characters: the text has no ``</script`` and no ``<!--``, and parses back to ``value``. U+2028/2029
    are escaped for older JavaScript parsers, lone surrogates because UTF-8 cannot carry them.
    """
    return _inert(ENCODER.encode(value))


def _inert(text: str) -> str:
    """JSON text with ``embed_json``'s escapes (each a single character's: the text may be escaped in pieces)."""
    return _UNSAFE_IN_JSON.sub(lambda m: _JSON_ESCAPES.get(m.group(), f"\\u{ord(m.group()):04x}"), text)


_DATA_BLOCK = re.compile(r'<script type="application/json" id="data">(.*?)</script>', re.DOTALL)


def embedded_data(page: str) -> Any:
    """The data block of a rendered report, parsed: what the page's script reads (for tests and tools)."""
    match = _DATA_BLOCK.search(page)
    if match is None:
        raise ValueError("the page has no data block")
    return json.loads(match.group(1))


