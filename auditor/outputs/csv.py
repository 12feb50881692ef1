"""findings.csv: one row per finding, for spreadsheets and ad-hoc filtering.

Rendered from the findings document (``findings_json.to_document``), so a file re-rendered from
findings.json by ``auditor report`` is byte for byte the scan's. RFC 4180: a header row, CRLF line ends,
fields quoted when they hold a comma, a quote or a line break; UTF-8 without a byte-order mark.
``baseline_state`` (the last column) is the finding's state against ``--baseline`` (new, still_failing,
regressed, newly_waived, resolved, unknown, unchanged), empty when the scan was not compared with a baseline.
After it, appended so that readers by position keep working: ``owner`` (the value of the owner tag,
``unowned``, or ``unknown`` when the resource's tags could not be read: ``auditor.owners``), ``tags`` (the
resource's tags as a JSON object; empty when they could not be read or the resource is not in the inventory)
and ``evidence`` (the finding's evidence as a JSON object). Tags and evidence are as findings.json holds them:
redacted when the scan read them (``auditor.redaction``), so a secret-named tag or a secret-shaped value is
``<redacted>`` here too.

Formula injection (OWASP "CSV Injection"): a spreadsheet runs a cell that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return as a formula, and resource names, messages and waiver reasons
come from cloud APIs and files others write. Such a cell gets a leading single quote, which makes the
spreadsheet show it as text; the full-width forms of those signs (which some spreadsheets in CJK locales
also read as formulas) get the same. A spreadsheet whose locale's list separator is not the comma (``;``
in much of Europe, or a tab or ``|`` chosen on import) splits a cell at that separator, and the piece
after it is a cell of its own: ``x;=cmd|' /C calc'!A0;y`` holds a formula in such a locale. So a formula
sign after any of ``, ; TAB |`` or a line break (or after leading spaces and double quotes) gets the same
single quote, and every data cell is quoted, which keeps a separator inside it from splitting it at all.
NUL characters are dropped (many CSV readers stop at them).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from auditor.identity import resource_key
from auditor.model import ScanResult
from auditor.outputs.findings_json import to_document
from auditor.outputs.owner_view import owner_name

COLUMNS = (
    "id", "status", "severity", "rule_id", "title", "provider", "account", "region", "resource_type",
    "resource_id", "resource_name", "message", "gating", "waiver_reason", "waiver_owner", "waiver_expires",
    "remediation", "automatic_fix", "frameworks", "baseline_state", "owner", "tags", "evidence",
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# A formula sign where a spreadsheet may start a cell: at the start or after a list separator of some locale
# or import dialog, or a line break, with spaces and double quotes between.
_FORMULA_AFTER_SEPARATOR = re.compile("((?:^|[,;\t|\r\n])[ \"]*)(?=[=+\\-@\uff1d\uff0b\uff0d\uff20])")


def render(result: ScanResult) -> str:
    return render_document(to_document(result))


def render_document(doc: Mapping[str, Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerow(COLUMNS)  # the tool's own names
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_ALL)  # untrusted: every cell quoted
    tags = _tags_by_resource(doc.get("inventory", ()))
    for f in doc["findings"]:
        writer.writerow([defuse(cell) for cell in row(f, tags)])
    return buffer.getvalue()


def _tags_by_resource(inventory: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, str], str]:
    """Each resource's tags as the ``tags`` cell (JSON), by (provider, type, id key); "" when they were not read."""
    cells: dict[tuple[str, str, str], str] = {}
    for entry in inventory:
        key = (entry["provider"], entry["type"], resource_key(entry["provider"], entry["id"]))
        cells[key] = "" if "tags_unread" in entry else _json(entry["tags"])
    return cells


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def row(f: Mapping[str, Any], tags: Mapping[tuple[str, str, str], str] | None = None) -> list[str]:
    """The cells of one finding, in ``COLUMNS`` order, before defusing; ``tags``: the ``tags`` cell of each
    resource (``_tags_by_resource``)."""
    waiver = f.get("waiver") or {}
    return [
        f["id"],
        f["status"],
        f["severity"],
        f["rule_id"],
        f["title"],
        f["provider"],
        f["account"],
        f["region"],
        f["resource_type"],
        f["resource_id"],
        f["resource_name"],
        f["message"],
        _bool(f["gating"]),
        waiver.get("reason", ""),
        waiver.get("owner", ""),
        waiver.get("expires", ""),
        f["remediation"]["guidance"],
        _bool(f["remediation"]["automatic"]),
        "; ".join(f"{ref['framework']} {ref['control']}" for ref in f["frameworks"]),
        (f.get("baseline") or {}).get("state", ""),
        owner_name(f),
        (tags or {}).get((f["provider"], f["resource_type"], resource_key(f["provider"], f["resource_id"])), ""),
        _json(f["evidence"]),
    ]


def defuse(value: str) -> str:
    """A cell a spreadsheet shows as text: a would-be formula, at the start or after a separator, gets a
    single quote before it."""
    text = _FORMULA_AFTER_SEPARATOR.sub(r"\1'", value.replace("\x00", ""))
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _bool(value: bool) -> str:
    return "true" if value else "false"
