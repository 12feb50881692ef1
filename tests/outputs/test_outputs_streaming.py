"""findings.json is written as it is built, with the same bytes as the whole-document rendering, and a failure
while it streams replaces no file."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.model import ScanResult
from auditor.outputs import findings_json, write_outputs
from auditor.outputs.findings_json import chunks, render, to_document
from auditor.outputs.formats import FORMATS

from .builders import VARIANTS
from .large import large_result

RESULTS: dict[str, Callable[[], ScanResult]] = {**VARIANTS, "large": lambda: large_result(400)}


def whole_document_rendering(result: ScanResult) -> str:
    """findings.json as it was rendered from the whole document at once (before it was streamed)."""
    doc = to_document(result)
    encoder = json.JSONEncoder(sort_keys=True, ensure_ascii=False)
    parts = []
    for key in sorted(doc):
        if key in ("findings", "inventory"):
            items = ",\n".join("    " + encoder.encode(item) for item in doc[key])
            text = f"[\n{items}\n  ]" if items else "[]"
        else:
            text = json.dumps(doc[key], indent=2, sort_keys=True, ensure_ascii=False).replace("\n", "\n  ")
        parts.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_the_streamed_text_is_the_whole_document_rendering(name: str) -> None:
    result = RESULTS[name]()
    pieces = list(chunks(result))
    assert len(pieces) > len(result.findings)  # a piece per finding at least: never one big string
    assert "".join(pieces) == render(result) == whole_document_rendering(result)


def test_write_outputs_streams_findings_json_and_writes_the_same_bytes(tmp_path: Path) -> None:
    result = large_result(400)
    assert [f.name for f in FORMATS if f.streaming] == ["json"]
    outputs = write_outputs(result, ["html", "json"], tmp_path)
    assert outputs.written == (tmp_path / "report.html", tmp_path / "findings.json") and not outputs.failed
    assert (tmp_path / "findings.json").read_bytes() == whole_document_rendering(result).encode("utf-8")


def test_a_renderer_failing_while_findings_json_streams_costs_only_findings_json(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The half-written temporary file is removed, yesterday's findings.json stays, the other format is
    written, and the failure is reported as the renderer's."""
    for name in ("findings.json", "report.html"):
        (tmp_path / name).write_text("yesterday's", encoding="utf-8")

    def broken(result: ScanResult) -> Iterator[str]:
        produced = chunks(result)
        for _ in range(50):
            yield next(produced)
        raise ValueError("a bug in the middle of the findings")

    monkeypatch.setattr(findings_json, "chunks", broken)
    outputs = write_outputs(large_result(400), ["html", "json"], tmp_path)
    assert outputs.written == (tmp_path / "report.html",)
    [failure] = outputs.failed
    assert failure.name == "json" and failure.rescued is None
    assert failure.reason == "could not be rendered: ValueError: a bug in the middle of the findings"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.json", "report.html"]  # no temporary file
    assert (tmp_path / "findings.json").read_text(encoding="utf-8") == "yesterday's"
    assert (tmp_path / "report.html").read_text(encoding="utf-8") != "yesterday's"


def test_a_disk_failing_while_findings_json_streams_rescues_the_whole_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file the output directory could not take is rendered again, whole, into the rescue directory."""
    import auditor.outputs as outputs_module

    real = outputs_module.write_atomically

    def full_disk(path: Path, data: bytes | Iterable[bytes]) -> str | None:
        if path.parent == tmp_path and path.name == "findings.json":
            pieces = iter([data] if isinstance(data, bytes) else data)
            next(pieces)
            raise OSError(28, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(outputs_module, "write_atomically", full_disk)
    result = large_result(400)
    outputs = write_outputs(result, ["json"], tmp_path)
    [failure] = outputs.failed
    assert failure.reason.startswith("could not be written: OSError") and failure.rescued is not None
    try:
        assert failure.rescued.read_bytes() == whole_document_rendering(result).encode("utf-8")
        assert not (tmp_path / "findings.json").exists()
    finally:
        shutil.rmtree(failure.rescued.parent)


def test_the_document_shares_evidence_and_tags_only_when_they_are_plain_already() -> None:
    result = large_result(16)
    doc = to_document(result)
    by_id = {f.id: f for f in result.findings}
    assert all(d["evidence"] is by_id[d["id"]].evidence for d in doc["findings"])
    tags = {(r.provider, r.id): r.tags for r in result.resources}
    for entry in doc["inventory"]:  # the builder's tags are not in key order: copied, in order
        original = tags[(entry["provider"], entry["id"])]
        assert entry["tags"] is not original and list(entry["tags"]) == sorted(original) and entry["tags"] == original
    ordered = dataclasses.replace(result, resources=tuple(dataclasses.replace(r, tags=dict(sorted(r.tags.items())))
                                                          for r in result.resources))
    assert all(entry["tags"] is r.tags for entry, r in zip(to_document(ordered)["inventory"],
                                                           sorted(ordered.resources, key=lambda r: (r.type, r.id)),
                                                           strict=True))
    unusual = {"when": (1, 2), "ratio": float("nan")}
    odd = dataclasses.replace(result, findings=(dataclasses.replace(result.findings[1], evidence=unusual),))
    [entry] = to_document(odd)["findings"]
    assert entry["evidence"] == {"when": [1, 2], "ratio": "nan"} and entry["evidence"] is not unusual


def test_endpoint_rows_are_built_in_the_order_their_keys_promise() -> None:
    """report.html reads the endpoint rows one at a time; the keys it indexes them by come first, in row order."""
    from auditor.outputs import html_data, html_endpoints

    doc = to_document(large_result(240))
    rows = html_endpoints.EndpointRows(doc)
    built = list(rows)
    assert len(built) > 1
    assert rows.keys == [html_data._endpoint_key(row) for row in built]
    assert built == html_endpoints.endpoint_inventory(doc)


def test_report_html_reads_each_finding_document_once_and_keeps_few_of_them() -> None:
    """report.html is built in one pass over the finding documents, which it does not keep: the page made from
    iterators (each document built when it is read, as ``html.render`` reads them) is the page of the whole
    document, and at most a few hundred documents (the summary's most severe gating and newly waived
    findings) are alive at once, not 2,400."""
    from auditor.outputs import html

    result = large_result(2400)
    doc = to_document(result)
    alive = [0, 0]  # now, and the most at once

    class Counted(dict[str, Any]):
        def __init__(self, entry: dict[str, Any]) -> None:
            super().__init__(entry)
            alive[0] += 1
            alive[1] = max(alive[1], alive[0])

        def __del__(self) -> None:
            alive[0] -= 1

    once = {**doc, "findings": (Counted(f) for f in doc["findings"]), "inventory": iter(doc["inventory"])}
    page = html.render_document(once)
    assert page == html.render_document(doc) == html.render(result)
    assert alive[0] == 0 and 0 < alive[1] <= 500 < len(doc["findings"])


def test_evidence_found_by_identity_or_by_its_text_makes_the_same_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """report.html finds evidence it has met by the mapping itself, keeping at most a few thousand: a page
    that has to start anew every other finding is the same page."""
    from auditor.outputs import html, html_data

    result = large_result(400)
    page = html.render(result)
    monkeypatch.setattr(html_data, "_KNOWN", 2)
    assert html.render(result) == page
