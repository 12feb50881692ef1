"""The output formats: one table of ``--format`` name, file and renderer, read without importing a renderer.

The command line builds its ``--format`` choice and its default from :data:`FORMATS`, and names the files an
earlier run left from it, importing nothing but this module; a renderer's module (and what it imports:
Jinja for the HTML report) is imported when that format is rendered. Each renderer module defines
``render(result) -> str``, the whole file as text, and a streaming one also ``chunks(result)``, the same
text in pieces that :func:`auditor.outputs.write_outputs` writes as they are built. Adding a format is one
module beside this one and one row here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.model import ScanResult


@dataclass(frozen=True, slots=True)
class OutputFormat:
    name: str  # the --format value, e.g. "json"
    filename: str  # the file it writes in the output directory, e.g. "findings.json"
    module: str  # its renderer, a module of auditor.outputs, e.g. "findings_json"
    streaming: bool = False  # the module also defines chunks(result): the file is written piece by piece
    default: bool = False  # written when no --format is given

    def render(self, result: ScanResult) -> str:
        """The whole file as text; pure: no I/O beyond reading the tool's own templates."""
        render: Callable[[ScanResult], str] = self._renderer().render
        return render(result)

    def chunks(self, result: ScanResult) -> Iterable[str]:
        """The file's text in pieces (``"".join`` of them is ``render``'s text): a streaming format only, whose
        file is too large to hold in memory as one string (findings.json: 150 MB for 100,000 findings)."""
        if not self.streaming:
            raise TypeError(f"the {self.name} format is not written in pieces")
        chunks: Callable[[ScanResult], Iterable[str]] = self._renderer().chunks
        return chunks(result)

    def _renderer(self) -> ModuleType:
        return import_module(f"auditor.outputs.{self.module}")


FORMATS: tuple[OutputFormat, ...] = (
    OutputFormat("json", "findings.json", "findings_json", streaming=True, default=True),
    OutputFormat("html", "report.html", "html", default=True),
    OutputFormat("sarif", "report.sarif", "sarif"),
    OutputFormat("junit", "junit.xml", "junit"),
    OutputFormat("markdown", "summary.md", "markdown"),
    OutputFormat("csv", "findings.csv", "csv"),
    OutputFormat("ocsf", "findings.ocsf.json", "ocsf"),
)

NAMES: tuple[str, ...] = tuple(f.name for f in FORMATS)
DEFAULTS: tuple[str, ...] = tuple(f.name for f in FORMATS if f.default)


def by_name() -> dict[str, OutputFormat]:
    """Every output format, keyed by its ``--format`` name."""
    return {f.name: f for f in FORMATS}
