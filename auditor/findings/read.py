"""Reading a findings file: ``auditor report``, ``--baseline`` and ``remediate plan`` start from one.

``read_findings`` first reads the file in pieces (:mod:`auditor.findings.stream`: linear, with about a
megabyte of text in memory at a time); a file that is not valid, or not a findings file, is read again
whole and rebuilt by :func:`auditor.findings.document.from_document`, which words the error. Another of
the tool's files given instead is named as such (:mod:`auditor.findings.recognise`).
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.errors import ConfigError
from auditor.findings.document import from_document
from auditor.findings.recognise import recognise_document, recognise_text
from auditor.findings.stream import stream_findings
from auditor.model import ScanResult


def read_findings(path: Path) -> ScanResult:
    """Read and validate a findings file (``auditor report FINDINGS.json``, ``--baseline``, ``remediate plan``).

    Another of the tool's files given instead (report.sarif, junit.xml, a plan, ...) is named as such:
    "this is not a findings.json: it looks like SARIF ...".
    """
    source = str(path)
    streamed = stream_findings(path, source)
    if streamed is not None:
        return streamed
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the findings file: {exc.strerror or exc}", file=source) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        _not_findings_if_recognised(source, text=data.decode("utf-8", errors="replace"))
        raise ConfigError(f"cannot read the findings file: {exc}", file=source) from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        _not_findings_if_recognised(source, text=text)
        message = f"not valid JSON: {exc.msg} (column {exc.colno})"
        raise ConfigError(message, file=source, line=exc.lineno) from exc
    if not isinstance(doc, dict):
        _not_findings_if_recognised(source, doc=doc)
        raise ConfigError("a findings file is a JSON object", file=source, field="$")
    try:
        return from_document(doc, source)
    except ConfigError:
        _not_findings_if_recognised(source, doc=doc)
        raise


def _not_findings_if_recognised(source: str, *, text: str | None = None, doc: object = None) -> None:
    """Raise "this is not a findings.json: it looks like ..." when the content is another of the tool's files."""
    kind = recognise_text(text) if text is not None else recognise_document(doc)
    if kind is not None:
        raise ConfigError(f"this is not a findings.json: it looks like {kind}; pass the findings.json a scan "
                          "wrote (--format json)", file=source)
