"""The output format table and writing the output directory."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest

from auditor.errors import ConfigError
from auditor.model import ScanResult
from auditor.outputs import write_outputs
from auditor.outputs.findings_json import to_document
from auditor.outputs.formats import DEFAULTS, FORMATS, NAMES, OutputFormat, by_name


def test_the_table_names_each_format_and_its_file() -> None:
    filenames = {f.name: f.filename for f in FORMATS}
    assert filenames == {"json": "findings.json", "html": "report.html", "sarif": "report.sarif",
                         "junit": "junit.xml", "markdown": "summary.md", "csv": "findings.csv",
                         "ocsf": "findings.ocsf.json"}
    assert tuple(filenames) == NAMES and set(by_name()) == set(NAMES)
    assert DEFAULTS == ("json", "html")


@pytest.mark.parametrize("output", FORMATS, ids=NAMES)
def test_each_renderer_module_defines_what_its_row_says(output: OutputFormat) -> None:
    """render(result) in every renderer module; chunks(result) exactly in the streaming one."""
    module = import_module(f"auditor.outputs.{output.module}")
    assert next(iter(inspect.signature(module.render).parameters)) == "result"
    assert callable(getattr(module, "chunks", None)) == output.streaming


def test_only_a_streaming_format_is_written_in_pieces(result: ScanResult) -> None:
    with pytest.raises(TypeError):
        by_name()["sarif"].chunks(result)


def test_building_the_command_line_imports_no_renderer() -> None:
    """The CLI reads the table; a renderer (and Jinja behind the HTML one) is imported when it renders."""
    code = ("import sys, auditor.cli; "
            "print(sorted(m for m in sys.modules if m.startswith('auditor.outputs') or m == 'jinja2'))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(run.stdout.replace("'", '"')) == ["auditor.outputs", "auditor.outputs.formats"]


def test_write_outputs_writes_each_format_once(tmp_path: Path, result: ScanResult) -> None:
    out = tmp_path / "audit-out" / "nightly"
    outputs = write_outputs(result, ["json", "html", "json"], out)
    assert outputs.written == (out / "findings.json", out / "report.html") and not outputs.failed
    assert sorted(p.name for p in out.iterdir()) == ["findings.json", "report.html"]  # no temporary files
    assert json.loads((out / "findings.json").read_text(encoding="utf-8")) == to_document(result)
    assert (out / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_write_outputs_replaces_previous_files(tmp_path: Path, result: ScanResult) -> None:
    (tmp_path / "findings.json").write_text("stale", encoding="utf-8")
    write_outputs(result, ["json"], tmp_path)
    assert json.loads((tmp_path / "findings.json").read_text(encoding="utf-8"))["schema_version"] == "1.0"


def test_unknown_format_is_a_usage_error_and_writes_nothing(tmp_path: Path, result: ScanResult) -> None:
    out = tmp_path / "out"
    with pytest.raises(ConfigError) as caught:
        write_outputs(result, ["json", "pdf"], out)
    assert caught.value.field == "--format"
    assert "'pdf'" in str(caught.value) and "html, json" in str(caught.value)
    assert not out.exists()
