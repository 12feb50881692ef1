"""What a hostile service answer or a hostile file system does to the outputs (issue 18, items 6, 10 and 13),
through ``auditor.cli.main`` in this process.

A scan of the Resource Manager stand-in (Northwind's estate, read through the real SDKs with the fake ``az``)
whose workspace names hold lone surrogates; ``auditor report`` on findings files written here; a history
file and an output directory spoiled before or while the scan runs (from inside the stand-in, when it
answers its first request).
"""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from outputs.builders import KMS, clean, finding, make_result, sm_arn

from auditor.cli import main
from auditor.demo.arm_server import ArmServer
from auditor.demo.azure_estate import build_estate
from auditor.demo.azure_northwind import northwind_spec
from auditor.demo.fake_az import write_fake_az
from auditor.demo.run import applied_environment, demo_azure_environment
from auditor.history import HistoryStore
from auditor.model import Status
from auditor.outputs.findings_json import to_document
from auditor.outputs.formats import FORMATS

EVERY_FORMAT = [arg for name in ("json", "html", "sarif", "junit", "markdown", "csv", "ocsf")
                for arg in ("--format", name)]
EVERY_FILE = sorted(f.filename for f in FORMATS)
SURROGATE_NAME = "mlw-\ud800-hostile"


def run(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str]:
    """``auditor ARGS`` in this process: the exit code and stderr (never a traceback)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(args)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return int(info.value.code or 0), err


def strict_texts(out: Path) -> dict[str, str]:
    """Every file in ``out``, decoded as strict UTF-8 (a lone surrogate cannot be in a UTF-8 file)."""
    return {p.name: p.read_bytes().decode("utf-8") for p in sorted(out.iterdir()) if p.is_file()}


def write_findings(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=True), encoding="ascii")  # \ud800 stays an escape
    return path


# --- a scan of the Resource Manager stand-in ---------------------------------------------------------------


@pytest.fixture
def arm(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ArmServer]:
    """Northwind's Azure estate, served and trusted; parametrised with "surrogates", a lone surrogate in the
    name and a tag of every workspace."""
    estate = build_estate(northwind_spec())
    documents = []
    for doc in estate.documents:
        doc = copy.deepcopy(doc)
        if getattr(request, "param", None) == "surrogates" and str(doc.get("type", "")).endswith("/workspaces"):
            doc["name"] = SURROGATE_NAME
            doc.setdefault("tags", {})["owner"] = "team-\udfff"
        documents.append(doc)
    with ArmServer([], page_size=2) as server:
        server.add_resources([*estate.subscription_documents, *documents])
        write_fake_az(tmp_path / "az")
        with applied_environment(demo_azure_environment(server.ca_bundle, str(tmp_path / "az"))):
            yield server


def scan_args(arm: ArmServer, out: Path | str, *extra: str) -> list[str]:
    return ["scan", "azure", "--credential", "cli", "--arm-endpoint", arm.url, "--out", str(out), *extra]


def on_first_request(arm: ArmServer, action: Callable[[], None]) -> None:
    """Run ``action`` once, when the stand-in answers the scan's first request: while the scan runs."""
    answer = arm.answer
    done: list[bool] = []

    def first(*args: Any) -> Any:
        if not done:
            done.append(True)
            action()
        return answer(*args)

    arm.answer = first  # type: ignore[method-assign]


# --- item 6: lone surrogates -------------------------------------------------------------------------------


@pytest.mark.parametrize("arm", ["surrogates"], indirect=True)
def test_a_lone_surrogate_from_the_service_is_written_as_a_replacement_character_in_every_format(
        arm: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code, err = run(capsys, scan_args(arm, out, *EVERY_FORMAT))
    assert code == 1, err  # the estate's FAILs: complete, and gated, as without the surrogate
    texts = strict_texts(out)
    assert sorted(texts) == EVERY_FILE
    for name in ("findings.json", "findings.ocsf.json", "report.sarif"):
        json.loads(texts[name])
    names = {f["resource_name"] for f in json.loads(texts["findings.json"])["findings"]}
    assert "mlw-\ufffd-hostile" in names  # the name, with U+FFFD where the surrogate was
    for name in ("findings.csv", "summary.md", "report.sarif", "findings.ocsf.json"):
        assert "mlw-\ufffd-hostile" in texts[name], name
    assert "mlw--hostile" in texts["junit.xml"]  # the JUnit writer drops what XML 1.0 cannot hold


def test_report_re_renders_a_findings_file_with_lone_surrogates(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    hostile = "ep-\ud800-\udc00\ud800-x"  # a lone high surrogate, then a reversed pair
    result = make_result(findings=(
        finding(KMS, sm_arn("endpoint-config", "ep-s"), Status.FAIL, name=hostile, message=f"{hostile} is open",
                evidence={f"key-{hostile}": hostile}),
    ))
    findings = write_findings(tmp_path / "findings.json", to_document(result))
    out = tmp_path / "out"
    code, err = run(capsys, ["report", str(findings), "--out", str(out), *EVERY_FORMAT])
    assert code == 1, err  # the exit code of the scan that wrote the file (a high FAIL)
    texts = strict_texts(out)
    assert sorted(texts) == EVERY_FILE
    [written] = json.loads(texts["findings.json"])["findings"]
    assert written["resource_name"] == "ep-\ufffd-\ufffd\ufffd-x"
    for name in ("findings.csv", "summary.md", "report.sarif", "findings.ocsf.json"):
        assert "ep-\ufffd-\ufffd\ufffd-x" in texts[name], name
    assert "ep---x" in texts["junit.xml"]  # the JUnit writer drops what XML 1.0 cannot hold


def test_a_crash_in_one_writer_costs_only_that_format_and_is_never_exit_0_or_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(result: object) -> str:
        raise RuntimeError("a bug in the SARIF writer")

    monkeypatch.setattr("auditor.outputs.sarif.render", broken)
    findings = write_findings(tmp_path / "findings.json", to_document(clean()))
    out = tmp_path / "out"
    code, err = run(capsys, ["report", str(findings), "--out", str(out), *EVERY_FORMAT])
    assert code == 2, err  # the clean scan's 0 must not be read: an asked output is missing
    assert sorted(strict_texts(out)) == sorted(set(EVERY_FILE) - {"report.sarif"})
    assert f"NOT written: {out / 'report.sarif'} (--format sarif) could not be rendered: RuntimeError" in err
    assert "exit 2: 1 asked output(s) were not written" in err


# --- item 10: temporary files and links -------------------------------------------------------------------


def test_a_link_planted_at_the_old_predictable_temporary_name_is_never_written_through(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    findings = write_findings(tmp_path / "findings.json", to_document(clean()))
    out = tmp_path / "shared-out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's own file", encoding="utf-8")
    for filename in EVERY_FILE:  # the name every output used to be written through
        (out / f".{filename}.{os.getpid()}.tmp").symlink_to(victim)
    code, err = run(capsys, ["report", str(findings), "--out", str(out), *EVERY_FORMAT])
    assert code == 0, err
    assert victim.read_text(encoding="utf-8") == "the user's own file"
    mask = os.umask(0)
    os.umask(mask)
    for filename in EVERY_FILE:
        path = out / filename
        assert path.is_file() and not path.is_symlink()
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask  # as open() makes it, not mkstemp's 0600
    leftovers = {p.name for p in out.iterdir()} - set(EVERY_FILE)
    assert leftovers == {f".{filename}.{os.getpid()}.tmp" for filename in EVERY_FILE}  # only the planted links


def test_a_link_at_an_outputs_name_is_replaced_and_said_never_written_through(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    findings = write_findings(tmp_path / "findings.json", to_document(clean()))
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.html"
    victim.write_text("<p>someone else's page</p>", encoding="utf-8")
    (out / "report.html").symlink_to(victim)
    code, err = run(capsys, ["report", str(findings), "--out", str(out)])
    assert code == 0, err
    assert victim.read_text(encoding="utf-8") == "<p>someone else's page</p>"
    assert (out / "report.html").is_file() and not (out / "report.html").is_symlink()
    assert f"{out / 'report.html'} was a symbolic link to {victim}: the link was replaced by the file" in err


# --- item 13: failures after the scan never lose it --------------------------------------------------------


def test_an_unusable_out_is_exit_3_before_any_api_call(arm: ArmServer, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    code, err = run(capsys, scan_args(arm, blocker / "out"))
    assert code == 3, err
    assert f"{blocker / 'out'}: field '--out': cannot hold the outputs: {blocker} is not a directory" in err
    # /proc takes no new directory, whoever asks (root included): checked by creating, not by permission bits
    code, err = run(capsys, scan_args(arm, "/proc/auditor-out/nightly"))
    assert code == 3, err
    assert "/proc/auditor-out/nightly: field '--out': cannot write the outputs there" in err
    assert not arm.requests  # nothing was asked of the cloud


def test_a_history_with_a_bad_row_is_exit_3_before_any_api_call(arm: ArmServer, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    history = tmp_path / "history.db"
    HistoryStore.open(history)
    spoil(history)
    code, err = run(capsys, scan_args(arm, tmp_path / "out", "--history", str(history)))
    assert code == 3, err
    assert "field '--history': runs row 1: column started holds 'yesterday'" in err
    assert not arm.requests and not (tmp_path / "out").exists()


def spoil(history: Path) -> None:
    """Add a run whose start is not a time, as a hand edit or another tool might."""
    db = sqlite3.connect(history)
    try:
        db.execute("INSERT INTO runs (started, ended, scopes, complete, exit_code, fail_on, fail_on_new, tool_version, "
                   "findings) VALUES ('yesterday', '2026-01-01T00:00:00Z', '[]', 1, 0, 'high', 0, '0', 0)")
        db.commit()
    finally:
        db.close()


def test_a_history_spoiled_during_the_scan_still_gets_the_findings_written_then_exit_3(
        arm: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    history = tmp_path / "history.db"
    out = tmp_path / "out"
    on_first_request(arm, lambda: spoil(history))
    code, err = run(capsys, scan_args(arm, out, "--history", str(history), "--format", "json", "--format", "csv"))
    assert code == 3, err  # never the scan's 1: the run is not in the history
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert document["scan"]["exit_code"] == 1 and len(document["findings"]) > 100  # the whole scan, kept
    assert "history" not in document
    assert (out / "findings.csv").is_file()
    assert "run NOT appended to the history" in err and "column started holds 'yesterday'" in err
    assert "exit 3: the history file failed after the scan" in err


def test_an_out_that_breaks_during_the_scan_gets_the_findings_rescued_then_exit_2(
        arm: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    out = tmp_path / "out"

    def break_out() -> None:  # the directory goes, and a file takes its name
        out.rmdir() if out.exists() else None
        out.write_text("not a directory any more", encoding="utf-8")

    on_first_request(arm, break_out)
    code, err = run(capsys, scan_args(arm, out, "--format", "json", "--format", "markdown"))
    assert code == 2, err
    [rescue] = list((tmp_path / "tmp").iterdir())
    assert rescue.name.startswith("auditor-unwritten-") and stat.S_IMODE(rescue.stat().st_mode) == 0o700
    assert sorted(p.name for p in rescue.iterdir()) == ["findings.json", "summary.md"]
    assert json.loads((rescue / "findings.json").read_text(encoding="utf-8"))["scan"]["exit_code"] == 1
    assert f"NOT written: {out / 'findings.json'} (--format json) could not be written" in err
    assert f"written to {rescue / 'findings.json'} instead" in err
