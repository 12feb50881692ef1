"""Review and control of a plan, without a server: run order, the Markdown rendering, step selection."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from auditor import __version__
from auditor.catalog import load_catalog
from auditor.engine import evaluate
from auditor.errors import ConfigError
from auditor.model import Inventory, Resource, ScanResult, Severity
from auditor.outputs.findings_json import render
from auditor.remediate.planfile import read_plan
from auditor.remediate.select import select_steps

from .helpers import run_cli

PARSER = MarkdownIt("commonmark", {"html": True}).enable("table")

ACCOUNT, REGION, SUB = "123456789012", "eu-west-1", "eeeeeeee-5555-4555-8555-555555555555"
KEY_A = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-00000000000a"
KEY_B = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-00000000000b"
CONFIG = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/scorer-cfg"
ENDPOINT = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/scorer"
WS = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
HOSTILE = "x|y`z` <img src=x onerror=alert(1)> [click](https://evil.example/a) @admins **b**\n# heading\n- item"
EP_PLAIN, EP_HOSTILE = f"{WS}/onlineEndpoints/plain", f"{WS}/onlineEndpoints/{HOSTILE}"
SCOPES = (f"aws:{ACCOUNT}:{REGION}", f"azure:{SUB}")
VOLUME, CAPTURE = "aws.sagemaker.endpoint_config.kms_volume_encryption", "aws.sagemaker.endpoint.data_capture_encrypted"
ROTATION, AUTH = "aws.kms.key.rotation_enabled", "azure.ml.online_endpoint.auth_mode"


def _key(arn: str) -> Resource:
    return Resource(id=arn, type="aws.kms.key", provider="aws", account=ACCOUNT, region=REGION, name=arn[-1:],
                    document={"KeyMetadata": {"KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT",
                                              "Origin": "AWS_KMS", "KeyState": "Enabled", "Arn": arn},
                              "KeyRotationStatus": {"KeyRotationEnabled": False}})


def _azure_endpoint(rid: str, name: str) -> Resource:
    return Resource(id=rid, type="azure.ml.online_endpoint", provider="azure", account=SUB, region="westeurope",
                    name=name, document={"id": rid, "name": name, "identity": {"type": "None"},
                                         "properties": {"authMode": "Key", "publicNetworkAccess": "Disabled"}})


def _resources() -> tuple[Resource, ...]:
    variant = {"VariantName": "main", "ModelName": "m", "InitialInstanceCount": 2, "InstanceType": "ml.m5.large"}
    config = Resource(id=CONFIG, type="aws.sagemaker.endpoint_config", provider="aws", account=ACCOUNT,
                      region=REGION, name="scorer-cfg",
                      document={"EndpointConfigName": "scorer-cfg", "ProductionVariants": [variant]})
    endpoint = Resource(id=ENDPOINT, type="aws.sagemaker.endpoint", provider="aws", account=ACCOUNT, region=REGION,
                        name="scorer", document={"EndpointName": "scorer", "EndpointConfigName": "scorer-cfg",
                                                 "DataCaptureConfig": {"EnableCapture": True}})
    return (_key(KEY_B), _key(KEY_A), config, endpoint, _azure_endpoint(EP_PLAIN, "plain"),
            _azure_endpoint(EP_HOSTILE, HOSTILE))


def _findings(path: Path, severities: dict[str, Severity] | None = None) -> Path:
    """The catalog (with ``severities`` overriding rules' severities, as a policy does) evaluated and written."""
    catalog = load_catalog()
    for rule_id, severity in (severities or {}).items():
        catalog[rule_id] = replace(catalog[rule_id], severity=severity)
    inventory = Inventory(resources=_resources(), coverage=(), scopes=SCOPES)
    now = datetime.now(UTC)
    result = ScanResult(tool_version=__version__, started_at=now, finished_at=now, scopes=inventory.scopes,
                        findings=evaluate(inventory, catalog.values()), coverage=(), rules=catalog,
                        resources=inventory.resources)
    path.write_text(render(result), encoding="utf-8")
    return path


def _plan(capsys: pytest.CaptureFixture[str], findings: Path, out: Path, *extra: str) -> tuple[dict[str, Any], str]:
    run = run_cli(capsys, ["remediate", "plan", str(findings), "--out", str(out), "--param",
                           f"kms_key_id={KEY_A}", *extra])
    assert run.code == 0, run.err
    return json.loads(out.read_text(encoding="utf-8")), run.out


def _order(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(s["finding"]["severity"], s["finding"]["rule_id"], s["finding"]["resource_id"]) for s in document["steps"]]


def test_steps_are_ordered_by_severity_then_rule_then_resource(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    document, _ = _plan(capsys, _findings(tmp_path / "findings.json"), tmp_path / "plan.json")
    order = _order(document)
    rank = {s.value: s.rank for s in Severity}
    assert order == sorted(order, key=lambda o: (-rank[o[0]], o[1], o[2]))
    assert order[:3] == [("high", VOLUME, CONFIG), ("high", AUTH, EP_PLAIN), ("high", AUTH, EP_HOSTILE)]
    assert [o for o in order if o[0] == "medium"][:3] == [("medium", ROTATION, KEY_A), ("medium", ROTATION, KEY_B),
                                                         ("medium", CAPTURE, ENDPOINT)]


def test_a_volume_key_step_runs_before_a_capture_step_whatever_their_severities(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A policy making capture encryption critical must not let its fix copy the config before the volume fix."""
    findings = _findings(tmp_path / "findings.json", {CAPTURE: Severity.CRITICAL, VOLUME: Severity.LOW})
    document, _ = _plan(capsys, findings, tmp_path / "plan.json")
    order = _order(document)
    assert order[:2] == [("low", VOLUME, CONFIG), ("critical", CAPTURE, ENDPOINT)]
    rest = order[2:]  # everything else keeps severity, rule, resource order
    rank = {s.value: s.rank for s in Severity}
    assert rest == sorted(rest, key=lambda o: (-rank[o[0]], o[1], o[2]))


def test_the_markdown_plan_shows_every_step_with_hostile_names_defused(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    plan_file = tmp_path / "plan.json"
    document, out = _plan(capsys, _findings(tmp_path / "findings.json"), plan_file, "--format", "markdown")
    digest = read_plan(plan_file)[1]
    assert out.startswith("## auditor: remediation plan\n")
    assert f"--plan-sha256 {digest}" in out
    rows = [line for line in out.splitlines() if re.match(r"^\| \d+ \|", line)]
    assert len(rows) == len(document["steps"])
    for number, (row, step) in enumerate(zip(rows, document["steps"], strict=True), start=1):
        assert row.startswith(f"| {number} | {step['finding']['severity']} |")
        assert len(re.findall(r"(?<!\\)\|", row)) == 8  # 7 cells: no value added or ended one
        assert f"### {number}. " in out
    html = PARSER.render(out)  # html=True: a raw tag that got through would come out as a tag
    assert "<img" not in html and "<a " not in html and "<strong>b</strong>" not in html
    prose = re.sub(r"<code>.*?</code>", "", html, flags=re.S)  # a code span shows its text literally
    assert "@admins" not in prose and "evil.example" not in prose  # no mention, no link outside code
    assert html.count("<h2>") == 1 and html.count("<h3>") == len(document["steps"]) and "<h1>" not in html
    tokens = PARSER.parse(out)
    widths = {len(row) for table in _tables(tokens) for row in table}
    assert widths == {7, 4}  # the steps table, the changes tables: no value added or ended a cell
    cells = [row for table in _tables(tokens) for row in table if len(row) == 7]
    hostile = HOSTILE.replace("\n", " ")
    assert [row[3] for row in cells[1:]] == [s["finding"]["resource_id"].replace("\n", " ") for s in document["steps"]]
    assert f"{WS}/onlineEndpoints/{hostile}" in [row[3] for row in cells]  # whole, literally, in a code span


def test_plan_prints_text_by_default_and_refuses_an_unknown_format(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    findings = _findings(tmp_path / "findings.json")
    _, out = _plan(capsys, findings, tmp_path / "plan.json")
    assert out.startswith("Remediation plan from") and "[1] AUTOMATIC" in out
    bad = run_cli(capsys, ["remediate", "plan", str(findings), "--out", str(tmp_path / "p.json"), "--format", "html"])
    assert bad.code == 3


def test_steps_are_selected_by_number_id_and_rule_and_a_selection_only_narrows(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan_file = tmp_path / "plan.json"
    _plan(capsys, _findings(tmp_path / "findings.json"), plan_file)
    plan, _ = read_plan(plan_file)
    assert select_steps(plan) is plan
    assert [s.id for s in select_steps(plan, ["2"]).steps] == [plan.steps[1].id]
    assert [s.id for s in select_steps(plan, [plan.steps[3].id, "1"]).steps] == [plan.steps[0].id, plan.steps[3].id]
    rotation = [s.id for s in plan.steps if s.finding.rule_id == ROTATION]
    assert [s.id for s in select_steps(plan, rule_ids=[ROTATION]).steps] == rotation
    first_rotation = next(i for i, s in enumerate(plan.steps, start=1) if s.finding.rule_id == ROTATION)
    both = select_steps(plan, [str(first_rotation), "1"], [ROTATION])  # a step must match both
    assert [s.id for s in both.steps] == rotation[:1]
    for steps, rules, field in ((["0"], [], "--step"), ([str(len(plan.steps) + 1)], [], "--step"),
                                (["nosuchstep"], [], "--step"), ([], ["aws.sagemaker.model.vpc"], "--rule"),
                                (["1"], [ROTATION], "--step")):
        with pytest.raises(ConfigError) as raised:
            select_steps(plan, steps, rules)
        assert raised.value.field == field


def test_apply_with_a_selection_that_matches_nothing_changes_nothing(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    plan_file = tmp_path / "plan.json"
    _plan(capsys, _findings(tmp_path / "findings.json"), plan_file)
    for extra, said in ((["--step", "99"], "step 99 is not in the plan"),
                        (["--rule", "aws.sagemaker.model.vpc"], "no step of the plan fixes rule")):
        run = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes", *extra])
        assert run.code == 3 and said in run.err, run.err
        assert not (tmp_path / "journal.jsonl").exists()


def _tables(tokens: list[Token]) -> list[list[list[str]]]:
    """Each table as rows of cell texts (text and code spans as the parser saw them)."""
    found: list[list[list[str]]] = []
    row: list[str] = []
    in_cell = False
    for token in tokens:
        if token.type == "table_open":
            found.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type in ("th_open", "td_open"):
            in_cell = True
        elif token.type in ("th_close", "td_close"):
            in_cell = False
        elif token.type == "inline" and in_cell:
            row.append("".join(c.content for c in token.children or () if c.type in ("text", "code_inline")))
        elif token.type == "tr_close":
            found[-1].append(row)
    return found
