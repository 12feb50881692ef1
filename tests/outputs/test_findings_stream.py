"""Reading findings.json back in pieces: the same ScanResult as reading it whole, the same outputs byte for byte,
and the same error, naming the same field, for every file it does not accept."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jsonschema.exceptions import best_match

from auditor.cli import main
from auditor.errors import ConfigError
from auditor.findings.document import from_document, schema
from auditor.findings.read import read_findings
from auditor.findings.stream import stream_findings
from auditor.model import ScanResult
from auditor.outputs.findings_json import render
from auditor.outputs.formats import FORMATS

from .builders import VARIANTS
from .large import large_result

EVERY_FORMAT = ["json", "html", "sarif", "junit", "markdown", "csv", "ocsf"]


def whole(path: Path) -> ScanResult:
    """What reading the file whole gives (the reference the stream must equal)."""
    return from_document(json.loads(path.read_text(encoding="utf-8")), str(path))


def written(tmp_path: Path, text: str, name: str = "findings.json") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


RESULTS: dict[str, Callable[[], ScanResult]] = {
    **VARIANTS,
    "large with baseline, history and policy scope": lambda: large_result(240),
    "large without baseline": lambda: large_result(240, baseline=False),
}


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_the_stream_reads_what_the_whole_read_reads(tmp_path: Path, name: str) -> None:
    path = written(tmp_path, render(RESULTS[name]()))
    streamed = stream_findings(path, str(path))
    assert streamed is not None  # the file is read in pieces, not whole
    assert streamed == whole(path)
    assert read_findings(path) == streamed


LAYOUTS: dict[str, Callable[[dict[str, Any]], str]] = {
    "indented": lambda d: json.dumps(d, indent=2),
    "compact, ASCII escapes": lambda d: json.dumps(d, separators=(",", ":"), ensure_ascii=True),
    "keys reversed": lambda d: json.dumps(dict(reversed(list(d.items()))), ensure_ascii=False),
    "CRLF and tabs": lambda d: json.dumps(d, indent="\t").replace("\n", "\r\n"),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_any_json_layout_of_a_findings_file_streams_the_same(tmp_path: Path, layout: str) -> None:
    doc = json.loads(render(large_result(80)))
    path = written(tmp_path, LAYOUTS[layout](doc))
    streamed = stream_findings(path, str(path))
    assert streamed is not None
    assert streamed == whole(path)


def test_a_key_given_twice_is_read_as_json_loads_reads_it(tmp_path: Path) -> None:
    """json.loads keeps the last of two equal keys; the stream, which has passed the first, reads the file whole."""
    text = render(large_result(16))
    path = written(tmp_path, '{"findings": [], ' + text.lstrip()[1:])
    assert stream_findings(path, str(path)) is None
    assert read_findings(path) == whole(path)


def test_outputs_re_rendered_from_a_streamed_file_are_byte_identical(tmp_path: Path) -> None:
    """auditor report on a mid-size file: every format, byte for byte, is what rendering the whole read gives;
    findings.json is the input itself."""
    text = render(large_result(2400))
    source = written(tmp_path, text)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exited:
        main(["report", str(source), "--out", str(out), "--quiet", *(a for f in EVERY_FORMAT for a in ("--format", f))])
    assert exited.value.code == 2  # the file holds ERROR findings: incomplete, as its scan was
    reference = whole(source)
    for output in FORMATS:
        assert output.name in EVERY_FORMAT
        assert (out / output.filename).read_bytes() == output.render(reference).encode("utf-8"), output.name
    assert (out / "findings.json").read_bytes() == source.read_bytes()


def test_a_findings_file_through_a_pipe_is_read_whole(tmp_path: Path) -> None:
    text = render(large_result(16))
    fifo = tmp_path / "findings.fifo"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "wb") as f:  # blocks until the reader opens the pipe
            f.write(text.encode("utf-8"))

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    assert stream_findings(fifo, str(fifo)) is None  # a pipe is not even opened by the stream: read once, whole
    assert render(read_findings(fifo)) == text
    writer.join(timeout=10)


# --- files that are not accepted: the same error as reading whole ------------------------------------------


def _mutated(mutate: Callable[[dict[str, Any]], None]) -> Callable[[str], str]:
    def apply(text: str) -> str:
        doc = json.loads(text)
        mutate(doc)
        return json.dumps(doc, indent=2, ensure_ascii=False)
    return apply


def _set(*path: Any, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        node = doc
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return mutate


def _drop(*path: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        node = doc
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]
    return mutate


def _no_summary(doc: dict[str, Any]) -> None:
    del doc["baseline"]
    del doc["scan"]["fail_on_new"]


SCHEMA_ERRORS: dict[str, Callable[[str], str]] = {
    "status of a finding in the middle": _mutated(_set("findings", 1200, "status", value="BROKEN")),
    "a finding without its id": _mutated(_drop("findings", 2000, "id")),
    "a finding without its baseline mark": _mutated(_drop("findings", 7, "baseline")),
    "marks without a baseline summary": _mutated(_no_summary),
    "an inventory entry with a number for a tag": _mutated(_set("inventory", 30, "tags", "team", value=7)),
    "a fraction for a count": _mutated(_set("summary", "total", value=1.5)),
    "the rules missing": _mutated(_drop("rules")),
}

CONSISTENCY_ERRORS: dict[str, tuple[Callable[[str], str], str, str]] = {
    "wrong id": (_mutated(_set("findings", 999, "id", value="0" * 32)), "$.findings[999].id", "is not the id"),
    "undescribed rule": (_mutated(_set("findings", 5, "rule_id", value="aws.nope")), "$.findings[5].rule_id",
                         "not described under $.rules"),
    "impossible waiver date": (_mutated(lambda d: d["findings"][next(
        i for i, f in enumerate(d["findings"]) if "waiver" in f)]["waiver"].update(expires="2027-02-30")),
        "waiver.expires", "not a date"),
    "impossible scan start": (_mutated(_set("scan", "started", value="2025-13-01T00:00:00Z")), "$.scan.started",
                              "not a date"),
}


@pytest.fixture(scope="module")
def mid_size_text() -> str:
    return render(large_result(2400))


@pytest.mark.parametrize("case", sorted(SCHEMA_ERRORS))
def test_a_schema_error_is_the_one_jsonschema_gives(tmp_path: Path, mid_size_text: str, case: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    text = SCHEMA_ERRORS[case](mid_size_text)
    path = written(tmp_path, text)
    want = best_match(jsonschema.Draft202012Validator(schema()).iter_errors(json.loads(text)))
    assert want is not None
    with pytest.raises(ConfigError) as caught:
        read_findings(path)
    where = "$" + "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if p.isidentifier() else f"['{p}']")
                          for p in want.absolute_path)
    assert caught.value.field == where
    assert want.message[:200] in str(caught.value) or (want.validator == "not" and "not allowed here" in str(
        caught.value))
    with pytest.raises(SystemExit) as exited:  # and through the command: exit 3, no traceback
        main(["report", str(path), "--out", str(tmp_path / "out")])
    assert exited.value.code == 3
    err = capsys.readouterr().err
    assert f"field '{where}'" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", sorted(CONSISTENCY_ERRORS))
def test_a_contradiction_names_its_field(tmp_path: Path, mid_size_text: str, case: str) -> None:
    mutate, field, message = CONSISTENCY_ERRORS[case]
    path = written(tmp_path, mutate(mid_size_text))
    with pytest.raises(ConfigError) as caught:
        read_findings(path)
    assert field in str(caught.value.field) and message in str(caught.value)


@pytest.mark.parametrize(("damage", "line"), [
    (lambda t: t[: len(t) // 2], None),
    (lambda t: t.replace('"status": "FAIL"', '"status": FAIL', 1), "line"),
    (lambda t: t + "}", "line"),
    (lambda t: "\ufeff" + t, "line"),
])
def test_a_json_error_is_reported_with_its_line_as_before(tmp_path: Path, mid_size_text: str,
                                                         damage: Callable[[str], str], line: str | None) -> None:
    text = damage(mid_size_text)
    path = written(tmp_path, text)
    with pytest.raises(json.JSONDecodeError) as decoded:
        json.loads(text)
    with pytest.raises(ConfigError) as caught:
        read_findings(path)
    assert caught.value.line == decoded.value.lineno
    assert f"not valid JSON: {decoded.value.msg} (column {decoded.value.colno})" in str(caught.value)


def test_resources_with_equal_tags_share_one_mapping(tmp_path: Path) -> None:
    path = written(tmp_path, render(large_result(240)))
    streamed = stream_findings(path, str(path))
    assert streamed is not None
    distinct = {tuple(r.tags.items()) for r in streamed.resources}
    assert len({id(r.tags) for r in streamed.resources}) == len(distinct) < len(streamed.resources)


def test_findings_with_equal_evidence_share_one_mapping_and_only_those(tmp_path: Path) -> None:
    """Equal evidence is read into one mapping (100,000 findings record a few dozen distinct ones), but values
    Python calls equal and JSON does not (1, 1.0 and true; 0.0 and -0.0) stay apart, and every finding's
    evidence reads back as it was written."""
    from auditor.model import Status

    from .builders import KMS, finding, make_result, sm_arn

    kinds: list[dict[str, Any]] = [
        {"v": 1}, {"v": True}, {"v": 1.0}, {"v": "1"}, {"v": 0.0}, {"v": -0.0}, {"v": None}, {"v": [1]},
        {"v": [True]}, {"v": {"k": 1}}, {"v": {"k": True}}, {"v": "x", "w": False}, {"w": False, "v": "x"}, {},
    ]
    findings = tuple(finding(KMS, sm_arn("endpoint-config", f"c-{copy}-{i}"), Status.FAIL, evidence=evidence)
                     for copy in range(3) for i, evidence in enumerate(kinds))
    path = written(tmp_path, render(make_result(findings=findings)))
    streamed = stream_findings(path, str(path))
    assert streamed is not None and streamed == whole(path)
    by_id = {f.id: f for f in findings}
    read = {f.id: f.evidence for f in streamed.findings}
    for finding_id, evidence in read.items():  # every value of the type it was written with
        assert json.dumps(evidence, sort_keys=True) == json.dumps(by_id[finding_id].evidence, sort_keys=True)
    texts: dict[str, set[int]] = {}
    for evidence in read.values():
        texts.setdefault(json.dumps(evidence), set()).add(id(evidence))
    assert len(texts) == len(kinds) - 1  # the two orders of {"v": "x", "w": false} are written alike
    assert all(len(ids) == 1 for ids in texts.values()), "equal evidence is one mapping"
    assert len({id(evidence) for evidence in read.values()}) == len(texts), "and unequal evidence is never merged"
