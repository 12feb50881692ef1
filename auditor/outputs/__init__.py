"""Output formats: each renders a ScanResult to one file in the output directory.

A format is an object with a ``name`` (the ``--format`` value), a ``filename`` and ``render``.
The registry is built explicitly by ``formatters()``: adding a format means one module here and one
line there, with no import-time registration.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from auditor.errors import ConfigError
from auditor.model import ScanResult
from auditor.outputs.csv import CsvFormatter
from auditor.outputs.findings_json import JsonFormatter
from auditor.outputs.html import HtmlFormatter
from auditor.outputs.junit import JunitFormatter
from auditor.outputs.markdown import MarkdownFormatter
from auditor.outputs.ocsf import OcsfFormatter
from auditor.outputs.sarif import SarifFormatter


class Formatter(Protocol):
    name: str  # the --format value, e.g. "json"
    filename: str  # the file it writes in the output directory, e.g. "findings.json"

    def render(self, result: ScanResult) -> str:
        """The whole file as text; pure: no I/O beyond reading the tool's own templates."""
        ...


def formatters() -> dict[str, Formatter]:
    """Every output format, keyed by its ``--format`` name."""
    available: list[Formatter] = [
        JsonFormatter(),
        HtmlFormatter(),
        SarifFormatter(),
        JunitFormatter(),
        MarkdownFormatter(),
        CsvFormatter(),
        OcsfFormatter(),
    ]
    return {f.name: f for f in available}


def write_outputs(result: ScanResult, formats: Sequence[str], out_dir: Path) -> list[Path]:
    """Render each format (duplicates ignored) and write it into ``out_dir``; return the paths written.

    Every format is rendered before anything is written, and each file is replaced atomically, so a
    failure never leaves a half-written report beside a fresh one.
    """
    registry = formatters()
    unknown = [name for name in formats if name not in registry]
    if unknown:
        available = ", ".join(sorted(registry))
        raise ConfigError(f"unknown output format {unknown[0]!r}; available: {available}", field="--format")
    chosen = [registry[name] for name in dict.fromkeys(formats)]
    rendered = [(out_dir / f.filename, f.render(result)) for f in chosen]
    out_dir.mkdir(parents=True, exist_ok=True)
    for path, text in rendered:
        _write_atomically(path, text)
    return [path for path, _ in rendered]


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # same directory: os.replace stays atomic
    try:
        tmp.write_text(text, encoding="utf-8", newline="\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
