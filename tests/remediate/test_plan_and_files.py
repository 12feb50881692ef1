"""Plans, plan files, journals and the CLI's input errors: no server needed (a plan is pure, bad input stops early)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.catalog import load_catalog
from auditor.errors import ConfigError
from auditor.model import Inventory, Resource
from auditor.providers import get
from auditor.providers.aws.config_copy import MAX_NAME, derived_name
from auditor.remediate import available, fix_for_rule, load, write_permissions
from auditor.remediate.journal import Journal, changes, read_records, verify_chain
from auditor.remediate.journal_key import JournalKey
from auditor.remediate.model import RemediationError
from auditor.remediate.params import parse_params

from .helpers import journal_records, run_cli, write_findings

KEY_EU = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_US = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ff"
ENDPOINT = ("/subscriptions/eeeeeeee-5555-4555-8555-555555555555/resourceGroups/rg/providers/"
            "Microsoft.MachineLearningServices/workspaces/ws/onlineEndpoints/ep")
KEY = JournalKey(b"k" * 32, "a test key")
SCOPES = ("aws:123456789012:eu-west-1", "azure:eeeeeeee-5555-4555-8555-555555555555")


@pytest.fixture
def findings(tmp_path: Path) -> Path:
    """A findings file with an AWS key without rotation and an Azure endpoint on keys, evaluated by the engine."""
    key = Resource(id=KEY_EU, type="aws.kms.key", provider="aws", account="123456789012", region="eu-west-1",
                   name="legacy", document={"KeyMetadata": {"KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT",
                                                            "Origin": "AWS_KMS", "Arn": KEY_EU,
                                                            "KeyState": "Enabled"},
                                            "KeyRotationStatus": {"KeyRotationEnabled": False}})
    endpoint = Resource(id=ENDPOINT, type="azure.ml.online_endpoint", provider="azure",
                        account="eeeeeeee-5555-4555-8555-555555555555", region="westeurope", name="ep",
                        document={"id": ENDPOINT, "identity": {"type": "None"},
                                  "properties": {"authMode": "Key", "publicNetworkAccess": "Disabled"}})
    return write_findings(Inventory(resources=(key, endpoint), coverage=(), scopes=SCOPES), tmp_path / "findings.json")


def plan(capsys: pytest.CaptureFixture[str], findings: Path, out: Path, *extra: str) -> dict[str, Any]:
    run = run_cli(capsys, ["remediate", "plan", str(findings), "--out", str(out), *extra])
    assert run.code == 0, run.err
    loaded: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return loaded


def test_a_plan_records_source_changes_calls_permissions_disruption_and_undo(
        findings: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = plan(capsys, findings, tmp_path / "plan.json")
    assert document["schema_version"] == "1.0" and document["kind"] == "auditor.remediation-plan"
    assert document["source"]["file"] == str(findings) and len(document["source"]["sha256"]) == 64
    by_rule = {s["finding"]["rule_id"]: s for s in document["steps"]}
    rotation = by_rule["aws.kms.key.rotation_enabled"]
    assert rotation["changes"] == [{"resource": KEY_EU, "field": "KeyRotationStatus.KeyRotationEnabled",
                                    "before": False, "before_source": "evidence", "after": True}]
    assert [c["call"] for c in rotation["api_calls"]][-1] == "kms:EnableKeyRotation"
    assert rotation["undo"]["api_calls"][0]["call"] == "kms:DisableKeyRotation"
    assert rotation["disruption"]["class"] == "none" and "kms:EnableKeyRotation" in rotation["permissions"]
    auth = by_rule["azure.ml.online_endpoint.auth_mode"]
    assert auth["disruption"]["class"] == "breaking-clients" and auth["mode"] == "automatic"
    assert "azure.ml.online_endpoint.public_network_access_disabled" not in by_rule  # it passes
    assert document["summary"]["by_mode"]["automatic"] == 2


def test_a_malformed_plan_file_is_exit_3_naming_file_line_and_field(
        findings: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan_file = tmp_path / "plan.json"
    document = plan(capsys, findings, plan_file)
    document["steps"][1]["mode"] = "whenever"
    plan_file.write_text(json.dumps(document, indent=2), encoding="utf-8")
    run = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes"])
    assert run.code == 3
    line = next(i for i, text in enumerate(plan_file.read_text().splitlines(), 1) if '"whenever"' in text)
    assert f"{plan_file}:{line}" in run.err and "field '$.steps[1].mode'" in run.err, run.err
    assert "Traceback" not in run.err

    plan_file.write_text('{"schema_version": "1.0",\n  "steps": [}', encoding="utf-8")
    run = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes"])
    assert run.code == 3 and f"{plan_file}:2" in run.err and "not valid JSON" in run.err

    del document["source"]
    plan_file.write_text(json.dumps(document), encoding="utf-8")
    run = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes"])
    assert run.code == 3 and "'source' is a required property" in run.err and "field '$'" in run.err
    assert not (tmp_path / "journal.jsonl").exists()


def test_apply_needs_a_confirmation_and_refuses_an_edited_step(findings: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    plan_file = tmp_path / "plan.json"
    document = plan(capsys, findings, plan_file)
    run = run_cli(capsys, ["remediate", "apply", str(plan_file)])  # no --yes, no terminal
    assert run.code == 3 and "--yes" in run.err and not (tmp_path / "journal.jsonl").exists()

    rotation = next(s for s in document["steps"] if s["finding"]["rule_id"] == "aws.kms.key.rotation_enabled")
    rotation["changes"][0]["after"] = False  # hand-edited: the file no longer says what the step does
    auth = next(s for s in document["steps"] if s["finding"]["rule_id"] == "azure.ml.online_endpoint.auth_mode")
    auth["title"] = "Nothing to see here"
    plan_file.write_text(json.dumps(document), encoding="utf-8")
    run = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes", "--journal", str(tmp_path / "j.jsonl")])
    assert run.code == 1
    assert run.out.count("differs from what this auditor plans") == 2, run.out
    assert not [r for r in journal_records(tmp_path / "j.jsonl") if r["event"].startswith("change-")]

    # An edited finding is no longer a finding of the scan the plan names: the whole plan is refused.
    auth["finding"]["evidence"] = {"properties.authMode": "AMLToken"}
    plan_file.write_text(json.dumps(document, indent=2), encoding="utf-8")
    run = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes", "--journal", str(tmp_path / "k.jsonl")])
    index = document["steps"].index(auth)
    assert run.code == 3 and f"field '$.steps[{index}].finding.evidence'" in run.err, run.err
    assert "an edited plan; nothing was applied" in run.err and not (tmp_path / "k.jsonl").exists()


def test_bad_options_and_a_bad_journal_are_exit_3(findings: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "plan.json")
    run = run_cli(capsys, ["remediate", "plan", str(findings), "--out", out, "--param", "kms_key=x"])
    assert run.code == 3 and "unknown parameter 'kms_key'" in run.err and "--param" in run.err
    run = run_cli(capsys, ["remediate", "plan", str(findings), "--out", out, "--param", "kms_key_id=alias/aws/s3"])
    assert run.code == 3 and "AWS managed key" in run.err
    run = run_cli(capsys, ["remediate", "plan", str(findings), "--out", out, "--rule", "aws.no.such_rule"])
    assert run.code == 3 and "unknown rule id" in run.err
    run = run_cli(capsys, ["remediate", "plan", str(tmp_path / "missing.json"), "--out", out])
    assert run.code == 3 and "missing.json" in run.err

    journal = tmp_path / "journal.jsonl"
    chained = f'"schema_version": "2.0", "time": "t", "run": "r", "prev": "", "mac": "{"0" * 64}"'
    journal.write_text(f'{{{chained}, "seq": 1, "event": "run-started", "action": "rollback", "changes": [], '
                       f'"key_id": "{"0" * 16}"}}\n{{{chained}, "seq": 2, "event": "change-started"}}\n')
    run = run_cli(capsys, ["remediate", "rollback", str(journal), "--yes"])
    assert run.code == 3 and f"{journal}:2" in run.err and "'change' is a required property" in run.err
    run = run_cli(capsys, ["remediate", "rollback", str(tmp_path / "none.jsonl"), "--yes"])
    assert run.code == 3


def test_the_journal_refuses_secrets_and_survives_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    bound = {"plan": {"file": "plan.json", "sha256": "0" * 64}, "findings": {"file": "f.json", "sha256": "1" * 64},
             "scopes": []}
    with Journal(path, KEY) as journal:
        journal.record("run-started", action="apply", key_id=KEY.id, **bound)
        with pytest.raises(RemediationError, match="looks like a secret"):
            journal.record("change-started", change="c0", step="s", rule_id="r", resource_id="x", kind="k",
                           target={}, before="DefaultEndpointsProtocol=https;AccountKey=" + "A" * 40, after=None,
                           undo=None)
        withheld = journal.record("step-result", step="s", rule_id="r", resource_id="x", result="failed",
                                  detail="Server=db.example.com;Password=hunter2hunter2")
        assert withheld["detail"].startswith("(message withheld")
        journal.record("change-started", change="c1", step="s", rule_id="r", resource_id="x",
                       kind="aws.kms.key.rotation", target={"region": "eu-west-1", "key": KEY_EU}, before=False,
                       after=True,
                       undo={"kind": "aws.kms.key.rotation", "target": {}, "value": False})
    assert "AccountKey" not in path.read_text()
    with path.open("a") as handle:
        handle.write('{"schema_version": "2.0", "seq": 4, "ev')  # the process died mid-line
    with Journal(path, KEY) as journal:
        journal.record("run-started", action="rollback", key_id=KEY.id, changes=[])
    records = read_records(path)
    assert [r["event"] for r in records] == ["run-started", "step-result", "change-started", "torn-line",
                                             "run-started"]
    assert [(c.change, c.state, c.may_have_changed) for c in changes(records)] == [("c1", "started", True)]
    assert [number for number, _ in verify_chain(path, KEY).lines] == [1, 2, 3, 5, 6]  # line 4 is the torn one


def test_a_link_planted_at_the_journals_name_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    path = tmp_path / "journal.jsonl"
    path.symlink_to(victim)
    with pytest.raises(ConfigError, match="symbolic link"):
        Journal(path, KEY)
    assert victim.read_text() == "precious\n"


def test_kms_key_parameters_are_chosen_per_region_and_never_invented() -> None:
    params = parse_params([f"kms_key_id={KEY_EU}", f"kms_key_id={KEY_US}", "bucket_kms_key_id=alias/buckets"])
    assert params.kms_key("volume_kms_key_id", "eu-west-1") == (KEY_EU, "")
    assert params.kms_key("capture_kms_key_id", "us-east-1") == (KEY_US, "")
    assert params.kms_key("bucket_kms_key_id", "ap-south-1") == ("alias/buckets", "")
    key, why = params.kms_key("volume_kms_key_id", "ap-south-1")
    assert key is None and "no key in ap-south-1" in why
    assert parse_params([]).kms_key("volume_kms_key_id", "eu-west-1")[0] is None
    name = derived_name("x" * 63, "kms", "seed")
    assert len(name) == MAX_NAME and name == derived_name("x" * 63, "kms", "seed") and name.endswith(name[-8:])


def test_remediators_are_declared_consistently_and_never_delete() -> None:
    catalog = load_catalog()
    named = {r.remediation.remediator for r in catalog.values() if r.remediation.remediator}
    assert named == set(available())
    for name in available():
        fix = load(name)
        assert fix.provider in ("aws", "azure") and fix.permissions and list(fix.permissions) == sorted(fix.permissions)
        for rule_id in fix.rule_ids:
            assert catalog[rule_id].remediation.remediator == name
            assert fix_for_rule(catalog[rule_id]) == {"automatic": True, "remediator": name,
                                                      "disruption": fix.disruption.value,
                                                      "opt_in": name == "azure_endpoint_role_assignments"}
    deleting = [p for p in (*write_permissions("aws"), *write_permissions("azure")) if "delete" in p.lower()]
    # access removal (only with the flag), and the endpoint config a failed step created and nothing uses
    assert sorted(deleting) == ["Microsoft.Authorization/roleAssignments/delete", "sagemaker:DeleteEndpointConfig"]
    assert {"sagemaker:UpdateEndpoint", "kms:EnableKeyRotation", "s3:PutBucketPublicAccessBlock"} <= set(
        get("aws").permissions("remediate")["Statement"][0]["Action"])
    assert not any(p.startswith("kms:Create") or p.startswith("kms:Schedule") for p in write_permissions("aws"))


def test_a_secret_that_reached_a_findings_file_never_reaches_the_plan(
        findings: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sas = "https://acct.blob.core.windows.net/c?sv=2022-11-02&sig=Q2xhc3NpZmllZFNpZ25hdHVyZQ%3D%3D"
    document = json.loads(findings.read_text(encoding="utf-8"))
    leaky = next(f for f in document["findings"] if f["rule_id"] == "aws.kms.key.rotation_enabled")
    leaky["evidence"]["note"] = sas  # a collector bug upstream
    findings.write_text(json.dumps(document), encoding="utf-8")
    plan_file = tmp_path / "plan.json"
    written = plan(capsys, findings, plan_file, "--rule", "aws.kms.key.rotation_enabled")
    assert "sig=" not in plan_file.read_text(encoding="utf-8")
    assert "$.steps[0].finding.evidence.note" in written["redacted"]
    run = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes"])
    assert run.code == 1 and "differs from what this auditor plans" in run.out  # that step is not applied
