"""Merging the shards of the demo estate's scan gives the unsharded scan's result, for N in 1..5; a missing,
duplicated or mismatched shard is caught; the merged result is written and gated as a scan is."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from shard_results import assert_merged_equals_full, merge, run
from shard_results import doc as _doc
from shard_results import statuses as _statuses

from auditor.outputs.formats import FORMATS

from .conftest import NS, Scans


def test_the_shards_of_every_n_own_each_scope_exactly_once(scans: Scans) -> None:
    every = _doc(scans.full)["scan"]["scopes"]
    assert len(every) == 4  # two AWS regions and two Azure subscriptions
    for n in NS:
        owned = [scope for d in scans.shards(n) for scope in _doc(d)["scan"]["shard"]["scopes"]]
        assert sorted(owned) == sorted(every), n
        assert [_doc(d)["scan"]["shard"]["index"] for d in scans.shards(n)] == list(range(1, n + 1))


@pytest.mark.parametrize("n", NS)
def test_merging_the_shards_equals_the_unsharded_scan(scans: Scans, tmp_path: Path, n: int) -> None:
    code, merged = merge(scans.shards(n), tmp_path)
    assert code == scans.full_exit == 1
    full = _doc(scans.full)
    assert_merged_equals_full(merged, full, exact_errors=False)  # rows, resource counts and whether they failed
    assert merged["scan"]["shard"]["total"] == 1 and len(merged["scan"]["merged_from"]) == n
    assert merged["scan"]["digests"] == full["scan"]["digests"]
    assert len(merged["inventory"]) == len(full["inventory"])


def test_a_single_unsharded_findings_file_merges_as_shard_1_of_1(scans: Scans, tmp_path: Path) -> None:
    assert run(["merge", str(scans.full / "findings.json"), "--out", str(tmp_path), "--quiet"]) == 1
    assert _statuses(_doc(tmp_path)) == _statuses(_doc(scans.full))
    assert (tmp_path / "report.html").is_file()  # the default formats


def test_a_missing_shard_is_a_failed_coverage_row_and_exit_2(scans: Scans, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    given = [d for d in scans.shards(4) if d != scans.shard(2, 4)]
    assert run(["merge", *map(str, given), "--out", str(tmp_path), "--format", "json"]) == 2
    merged = _doc(tmp_path)  # still written
    rows = [c for c in merged["coverage"] if c["service"] == "shard"]
    assert {c["provider"] for c in rows} == {"aws", "azure"}
    assert all(c["scope_id"] == "shard 2/4" and c["error"].startswith("shard 2/4 missing") for c in rows)
    its_own = _doc(scans.shard(2, 4))["scan"]["shard"]["scopes"]  # what the absent shard read, when it ran
    assert its_own and all(f"({', '.join(sorted(s.lower() for s in its_own))})" in c["error"] for c in rows)
    assert merged["scan"]["complete"] is False and merged["scan"]["exit_code"] == 2
    assert "shard 2/4 missing" in capsys.readouterr().err


def test_a_duplicated_shard_is_a_failed_coverage_row_and_exit_2(scans: Scans, tmp_path: Path) -> None:
    copy = tmp_path / "copy-of-1"
    shutil.copytree(scans.shard(1, 3), copy)
    assert run(["merge", *map(str, scans.shards(3)), str(copy), "--out", str(tmp_path / "out"), "--format",
                "json", "--quiet"]) == 2
    merged = _doc(tmp_path / "out")
    rows = [c for c in merged["coverage"] if c["service"] == "shard"]
    assert rows and all("shard 1/3 given 2 times" in c["error"] for c in rows)
    # the duplicate adds nothing twice
    assert _statuses(merged) == _statuses(_doc(scans.full))


def test_a_shard_of_another_policy_is_refused_naming_the_field(scans: Scans, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules:\n  exclude: [azure.ml.legacy_service.retired]\n", encoding="utf-8")
    other = tmp_path / "other-2-of-2"
    assert run(["scan", "all", *scans.arguments, "--shard", "2/2", "--policy", str(policy), "--out", str(other),
                "--format", "json", "--quiet"]) in (0, 1)
    capsys.readouterr()
    assert run(["merge", str(scans.shard(1, 2)), str(other), "--out", str(tmp_path / "out"), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "$.scan.digests.policy" in err and "policy" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "findings.json").exists()


def test_shards_of_another_n_or_other_arguments_are_refused(scans: Scans, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["merge", str(scans.shard(1, 2)), str(scans.shard(2, 3)), "--out", str(tmp_path)]) == 3
    assert "$.scan.shard.total" in capsys.readouterr().err
    doc = _doc(scans.shard(2, 2))
    doc["scan"]["arguments"]["regions"] = ["eu-west-1"]
    edited = tmp_path / "edited"
    edited.mkdir()
    (edited / "findings.json").write_text(json.dumps(doc), encoding="utf-8")
    assert run(["merge", str(scans.shard(1, 2)), str(edited), "--out", str(tmp_path / "out")]) == 3
    assert "$.scan.arguments.regions" in capsys.readouterr().err


def test_a_global_finding_the_shards_disagree_on_keeps_the_worst_status(scans: Scans, tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A resource that changed between two shards' runs: both findings seen, the worse kept, and said so."""
    one, two = _doc(scans.shard(1, 2)), _doc(scans.shard(2, 2))
    passing = next(f for f in one["findings"] if f["status"] == "PASS" and f["severity"] in ("critical", "high"))
    two["findings"].append({**passing, "status": "FAIL"})
    two["rules"].setdefault(passing["rule_id"], one["rules"][passing["rule_id"]])
    edited = tmp_path / "two"
    edited.mkdir()
    (edited / "findings.json").write_text(json.dumps(two), encoding="utf-8")
    assert run(["merge", str(scans.shard(1, 2)), str(edited), "--out", str(tmp_path / "out"), "--format",
                "json"]) == 1
    merged = {f["id"]: f for f in _doc(tmp_path / "out")["findings"]}
    kept = merged[passing["id"]]
    assert kept["status"] == "FAIL" and kept["evidence"]["shard_statuses"] == {"1/2": "PASS", "2/2": "FAIL"}
    assert passing["id"] in _doc(tmp_path / "out")["summary"]["gating"]
    err = capsys.readouterr().err
    assert "1 finding(s) differ between shards" in err and passing["rule_id"] in err


def test_an_error_in_any_shards_row_of_a_global_service_is_kept(scans: Scans, tmp_path: Path) -> None:
    two = _doc(scans.shard(2, 2))
    iam = next(c for c in two["coverage"] if c["service"] == "iam")
    iam.update(status="error", error="not collected: iam:GetRole throttled past retries")
    edited = tmp_path / "two"
    edited.mkdir()
    (edited / "findings.json").write_text(json.dumps(two), encoding="utf-8")
    assert run(["merge", str(scans.shard(1, 2)), str(edited), "--out", str(tmp_path / "out"), "--format", "json",
                "--quiet"]) == 2
    rows = [c for c in _doc(tmp_path / "out")["coverage"] if c["service"] == "iam"]
    assert len(rows) == 1 and "throttled past retries" in rows[0]["error"]


def test_the_merged_result_is_rendered_in_every_format_and_gated_as_a_scan(scans: Scans, tmp_path: Path) -> None:
    formats = [arg for f in FORMATS for arg in ("--format", f.name)]
    assert run(["merge", *map(str, scans.shards(3)), "--out", str(tmp_path), *formats, "--quiet"]) == 1
    assert all((tmp_path / f.filename).is_file() for f in FORMATS)
    # the scan's own gate: nothing critical fails in the demo? then --fail-on critical decides as a scan would
    critical = [f for f in _doc(scans.full)["findings"] if f["status"] == "FAIL" and f["severity"] == "critical"]
    assert run(["merge", *map(str, scans.shards(3)), "--out", str(tmp_path / "c"), "--fail-on", "critical",
                "--format", "json", "--quiet"]) == (1 if critical else 0)
    # a re-render of the merged file exits as the merge did
    assert run(["report", str(tmp_path / "findings.json"), "--out", str(tmp_path / "r"), "--quiet"]) == 1


def test_baseline_and_history_work_on_a_merge(scans: Scans, tmp_path: Path) -> None:
    history = tmp_path / "history.sqlite"
    assert run(["merge", *map(str, scans.shards(4)), "--out", str(tmp_path / "m"), "--baseline",
                str(scans.full / "findings.json"), "--fail-on-new", "--history", str(history), "--format", "json",
                "--quiet"]) == 0  # nothing new against the unsharded scan of the same estate
    merged = _doc(tmp_path / "m")
    assert {f["baseline"]["state"] for f in merged["findings"]} <= {"unchanged", "still_failing"}
    assert merged["history"]["runs"] and history.is_file()


def test_merge_refuses_to_write_over_a_shard(scans: Scans, tmp_path: Path) -> None:
    copy = tmp_path / "s"
    shutil.copytree(scans.full, copy)
    assert run(["merge", str(copy), "--out", str(copy), "--quiet"]) == 3


def test_merge_of_nothing_usable_is_exit_3(tmp_path: Path) -> None:
    assert run(["merge", str(tmp_path / "absent"), "--out", str(tmp_path / "out")]) == 3
    assert run(["merge", "--out", str(tmp_path / "out")]) == 3  # no DIR: a usage error


def test_a_scope_its_owner_did_not_list_is_caught(scans: Scans, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The shards listed different scopes (a subscription appeared between their runs): the scope only the other
    shard listed was read by nobody, and the merge says so (exit 2) instead of looking complete."""
    assert "listed" not in _doc(scans.full)["scan"]["shard"]  # 1/1: what it listed is what it read
    k = next(k for k in (1, 2) if _doc(scans.shard(k, 2))["scan"]["shard"]["scopes"])  # a shard that read something
    other = 3 - k
    doc = _doc(scans.shard(k, 2))
    assert doc["scan"]["shard"]["listed"] == _doc(scans.shard(other, 2))["scan"]["shard"]["listed"]
    unseen = doc["scan"]["shard"]["scopes"][0]
    doc["scan"]["shard"]["scopes"].remove(unseen)
    doc["scan"]["shard"]["listed"].remove(unseen)
    edited = tmp_path / "edited"
    edited.mkdir()
    (edited / "findings.json").write_text(json.dumps(doc), encoding="utf-8")
    assert run(["merge", str(scans.shard(other, 2)), str(edited), "--out", str(tmp_path / "out"), "--format",
                "json"]) == 2
    rows = [c for c in _doc(tmp_path / "out")["coverage"] if c["service"] == "shard"]
    assert [c["scope_id"] for c in rows] == [unseen.lower() if unseen.startswith("azure:") else unseen]
    assert f"listed by shard(s) {other}/2, read by none" in rows[0]["error"]
    assert f"1 scope(s) not listed by every shard (the estate changed between their runs): {rows[0]['scope_id']}" \
        in capsys.readouterr().err
