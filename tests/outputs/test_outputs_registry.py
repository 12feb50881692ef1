"""The formatter registry and writing the output directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.errors import ConfigError
from auditor.model import ScanResult
from auditor.outputs import formatters, write_outputs
from auditor.outputs.findings_json import to_document


def test_registry_names_and_files() -> None:
    registry = formatters()
    assert sorted(registry) == ["csv", "html", "json", "junit", "markdown", "ocsf", "sarif"]
    filenames = {name: f.filename for name, f in registry.items()}
    assert filenames == {"json": "findings.json", "html": "report.html", "sarif": "report.sarif",
                         "junit": "junit.xml", "markdown": "summary.md", "csv": "findings.csv",
                         "ocsf": "findings.ocsf.json"}
    assert all(f.name == name for name, f in registry.items())
    from auditor.cli import FORMATS

    assert sorted(FORMATS) == sorted(registry), "the CLI offers exactly the registered formats"


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
