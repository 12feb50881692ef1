"""Which of the tool's other files a file is, when it was given where a findings.json belongs.

``auditor report``, ``--baseline`` and ``remediate plan`` read a findings.json; handed report.sarif or
junit.xml instead, "not valid JSON" or a schema error about ``$.tool`` does not tell the user what went
wrong. :func:`recognise_document` (parsed JSON) and :func:`recognise_text` (anything else) name the
output by its content, not its file name: SARIF, OCSF, a remediation plan or journal, JUnit XML, CSV,
HTML, the Markdown summary, a ``--history`` database. Each answer ends "it looks like ..." in the message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from auditor.outputs.csv import COLUMNS
from auditor.remediate.planfile import KIND as PLAN_KIND

SARIF = "SARIF (report.sarif, --format sarif)"
OCSF = "OCSF findings (findings.ocsf.json, --format ocsf)"
PLAN = "a remediation plan (auditor remediate plan)"
JOURNAL = "a remediation journal (auditor remediate apply)"
JUNIT = "JUnit XML (junit.xml, --format junit)"
HTML = "an HTML report (report.html, --format html)"
CSV = "CSV (findings.csv, --format csv)"
MARKDOWN = "a Markdown summary (summary.md, --format markdown)"
HISTORY = "an SQLite database (an auditor --history file)"

SQLITE_MAGIC = "SQLite format 3\x00"
_JOURNAL_KEYS = frozenset({"schema_version", "seq", "time", "run", "event"})
_CSV_HEADER = ",".join(COLUMNS[:4])
_MARKDOWN_TITLE = re.compile(r"#{1,6} auditor\b")
_HEAD = 4096  # characters of a text file looked at


def recognise_document(doc: object) -> str | None:
    """What a parsed JSON document that is not a findings.json is, or None."""
    if isinstance(doc, list):
        return OCSF if any(isinstance(e, Mapping) and "class_uid" in e for e in doc[:10]) else None
    if not isinstance(doc, Mapping):
        return None
    schema = doc.get("$schema")
    if (isinstance(schema, str) and "sarif" in schema.lower()) or ("runs" in doc and "version" in doc):
        return SARIF
    if doc.get("kind") == PLAN_KIND:
        return PLAN
    if _JOURNAL_KEYS.issubset(doc.keys()):
        return JOURNAL
    if "class_uid" in doc:
        return OCSF
    return None


def recognise_text(text: str) -> str | None:
    """What a file that is not one JSON document is (its text, decoded leniently), or None."""
    if text.startswith(SQLITE_MAGIC):
        return HISTORY
    head = text[:_HEAD].lstrip("\ufeff \t\r\n")
    lowered = head.lower()
    if lowered.startswith(("<!doctype html", "<html")):
        return HTML
    if head.startswith("<") and "<testsuite" in head:
        return JUNIT
    first = head.split("\n", 1)[0].rstrip("\r")
    if first.startswith(_CSV_HEADER):
        return CSV
    if _MARKDOWN_TITLE.match(first):
        return MARKDOWN
    try:  # JSON lines: a journal holds one object per line
        return recognise_document(json.loads(first))
    except ValueError:
        return None
