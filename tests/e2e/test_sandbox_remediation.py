"""Acceptance (issue 13): every automatic fix of the demo, rehearsed end to end on ``auditor demo --serve``.

The sandbox runs in one subprocess; every ``auditor`` command runs in another, with nothing but the
environment the port file describes (as a shell that sourced the export lines): both clouds are scanned,
every rule with an automatic fix that FAILs somewhere is planned (the access removal of endpoint identities
too, named with --rule), applied, verified by a rescan, rolled back, and rescanned.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import boto3

from auditor.demo.aws_northwind import demo_spec

from .sandbox import Served, served_demo

# What a rescan after rollback is compared on: every key of a finding the product spec requires, and the name.
# (A finding's fingerprint of its resource's state is left out: the rollback rewrote each changed resource,
# so its ETag or LastModifiedTime is new even though every value is back.)
COMPARED = ("id", "rule_id", "status", "severity", "provider", "resource_id", "resource_type", "region", "account",
            "resource_name", "message", "evidence", "remediation", "frameworks")


def _rehearse(served: Served, tmp: Path) -> dict[str, Any]:
    before = served.scan(tmp / "before")
    automatic = sorted({f["rule_id"] for f in before["findings"]
                        if f["status"] == "FAIL" and f["remediation"].get("automatic")})
    keys = _key_arns(served, ("nw-ml-volumes", "nw-ml-capture"))
    params = [f"{name}={arn}" for name, alias in (("volume_kms_key_id", "nw-ml-volumes"),
                                                  ("capture_kms_key_id", "nw-ml-capture"),
                                                  ("bucket_kms_key_id", "nw-ml-capture"))
              for arn in keys[alias]]
    plan = served.auditor(["remediate", "plan", str(tmp / "before" / "findings.json"), "--out", str(tmp / "plan.json"),
                           "--quiet", *(a for rule in automatic for a in ("--rule", rule)),
                           *(a for p in params for a in ("--param", p))], tmp)
    assert plan.returncode == 0, plan.stderr
    apply = served.auditor(["remediate", "apply", str(tmp / "plan.json"), "--yes", "--allow-access-removal",
                            "--max-changes", "500"], tmp)
    after = served.scan(tmp / "after")
    rollback = served.auditor(["remediate", "rollback", str(tmp / "journal.jsonl"), "--yes"], tmp)
    rolled_back = served.scan(tmp / "rolled-back")
    journal = [json.loads(line) for line in (tmp / "journal.jsonl").read_text().splitlines()]
    return {"before": before, "automatic": automatic, "plan": json.loads((tmp / "plan.json").read_text()),
            "apply": apply, "after": after, "rollback": rollback, "rolled_back": rolled_back, "journal": journal}


def _key_arns(served: Served, aliases: Iterable[str]) -> dict[str, list[str]]:
    """Each alias's key ARN in every region of the estate (a key ARN is usable in its own region only)."""
    found: dict[str, list[str]] = {alias: [] for alias in aliases}
    env = served.document["set"]
    for region in served.document["aws_regions"]:
        kms = boto3.client("kms", region_name=region, endpoint_url=served.document["aws_endpoint"],
                           aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                           aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                           aws_session_token=env["AWS_SESSION_TOKEN"])
        for alias in kms.list_aliases()["Aliases"]:
            name = alias["AliasName"].removeprefix("alias/")
            if name in found:
                found[name].append(kms.describe_key(KeyId=alias["TargetKeyId"])["KeyMetadata"]["Arn"])
    return found


def _by_key(findings: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["rule_id"], f["resource_id"].lower()): f for f in findings["findings"]}


def _results(journal: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    return {(r["rule_id"], r["resource_id"].lower()): r["result"] for r in journal if r["event"] == "step-result"}


def _orphaned_configs() -> set[str]:
    spec = demo_spec()
    used = {e.config for e in spec.endpoints}
    return {c.name for c in spec.configs if c.name not in used}


def _check_both_clouds_have_automatic_fixes_to_rehearse(rehearsal: dict[str, Any]) -> None:
    automatic = rehearsal["automatic"]
    assert any(r.startswith("aws.") for r in automatic) and any(r.startswith("azure.") for r in automatic)
    assert "azure.ml.online_endpoint.identity_least_privilege" in automatic  # the access removal too
    assert not [f for f in rehearsal["before"]["findings"] if f["status"] == "ERROR"]


def _check_every_automatic_fix_is_planned_and_applied(rehearsal: dict[str, Any]) -> None:
    failing = {k for k, f in _by_key(rehearsal["before"]).items()
               if f["status"] == "FAIL" and k[0] in rehearsal["automatic"]}
    planned = {(s["finding"]["rule_id"], s["finding"]["resource_id"].lower()) for s in rehearsal["plan"]["steps"]
               if s["mode"].startswith("automatic")}
    assert planned == failing
    results = _results(rehearsal["journal"])
    assert set(results) == planned
    not_applied = {k: v for k, v in results.items() if v != "applied"}
    # Only endpoint configs no endpoint runs are refused: a config is immutable and an unused one serves nothing.
    assert {(rule, rid.rsplit("/", 1)[-1]) for rule, rid in not_applied} <= {
        ("aws.sagemaker.endpoint_config.kms_volume_encryption", name) for name in _orphaned_configs()}
    assert set(not_applied.values()) <= {"refused"}
    for rule in rehearsal["automatic"]:
        assert any(v == "applied" for (r, _), v in results.items() if r == rule), rule
    assert rehearsal["apply"].returncode == (1 if not_applied else 0), rehearsal["apply"].stderr


def _check_the_rescan_after_apply_passes_every_applied_fix(rehearsal: dict[str, Any]) -> None:
    after = _by_key(rehearsal["after"])
    journal = rehearsal["journal"]
    applied = [k for k, v in _results(journal).items() if v == "applied"]
    assert applied
    for rule, resource in applied:
        # An endpoint config is immutable: its fix is a copy with the setting, which the endpoints now run (the
        # original is kept for rollback, unchanged): the rescan must pass the copy. Other fixes change the resource
        # itself (an endpoint's capture key moves it to a copy of its config: the endpoint must pass).
        created = {r["created"].lower() for r in journal if r["event"] == "resource-created"
                   and (r["rule_id"], r["resource_id"].lower()) == (rule, resource)}
        for fixed in created if ":endpoint-config/" in resource else {resource}:
            assert after[(rule, fixed)]["status"] == "PASS", (rule, fixed, after[(rule, fixed)]["message"])
    assert not [f for f in rehearsal["after"]["findings"] if f["status"] == "ERROR"]


def _check_the_rescan_after_rollback_equals_the_first_scan(rehearsal: dict[str, Any]) -> None:
    rollback = rehearsal["rollback"]
    assert rollback.returncode == 0, rollback.stderr
    kept = _kept(rehearsal["journal"])
    before, rolled_back = _by_key(rehearsal["before"]), _by_key(rehearsal["rolled_back"])
    # Rollback keeps the endpoint configs apply created (it never deletes; it lists them as kept): the only
    # findings the first scan does not have are theirs. Everything else is exactly as it was.
    extra = {k for k in rolled_back if k not in before}
    assert {rid for _, rid in extra} == kept
    assert set(before) <= set(rolled_back)
    for key, finding in before.items():
        assert {f: finding.get(f) for f in COMPARED} == {f: rolled_back[key].get(f) for f in COMPARED}, key
    assert not [f for f in rehearsal["rolled_back"]["findings"] if f["status"] == "ERROR"]


def _kept(journal: list[dict[str, Any]]) -> set[str]:
    """The resources the rollback reported as created by apply and kept."""
    finished = [r for r in journal if r["event"] == "run-finished" and "kept" in r]
    return {str(rid).lower() for rid in finished[-1]["kept"]} if finished else set()


def test_every_automatic_fix_is_planned_applied_verified_and_rolled_back(tmp_path: Path) -> None:
    # One test (not one per check over a module fixture): under xdist a module's tests can land on both
    # workers, and each would rehearse the whole thing again.
    with served_demo(tmp_path) as served:
        rehearsal = _rehearse(served, tmp_path)
    _check_both_clouds_have_automatic_fixes_to_rehearse(rehearsal)
    _check_every_automatic_fix_is_planned_and_applied(rehearsal)
    _check_the_rescan_after_apply_passes_every_applied_fix(rehearsal)
    _check_the_rescan_after_rollback_equals_the_first_scan(rehearsal)
