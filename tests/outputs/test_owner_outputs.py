"""Owners in every output (findings.json, CSV, SARIF, JUnit), the CSV's tags and evidence columns, and
summary.md naming resolved baseline failures as it names every other resource."""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from auditor.cli import main
from auditor.findings.compare import with_baseline
from auditor.findings.document import from_document, schema
from auditor.model import Resource, Status
from auditor.outputs import csv as csv_format
from auditor.outputs import junit, markdown, sarif
from auditor.outputs.findings_json import render, to_document
from auditor.owners import assign

from .builders import AZURE_ENDPOINT, ISOLATION, KMS, SUBSCRIPTION, finding, make_result, sm_arn

CONFIG_A, CONFIG_B = sm_arn("endpoint-config", "ep-a"), sm_arn("endpoint-config", "ep-b")


def resource(rid: str, rtype: str, tags: dict[str, str], unreadable: dict[str, str] | None = None) -> Resource:
    azure = rid.startswith("/subscriptions/")
    return Resource(id=rid, type=rtype, provider="azure" if azure else "aws", account="a", region="r",
                    name=rid.rsplit("/", 1)[-1], document={}, tags=tags, unreadable=unreadable or {})


def owned_result():  # type: ignore[no-untyped-def]
    """The builders' scan with owners: ep-a tagged (a formula-like tag value), ep-b's tags unreadable, the models
    untagged, the Azure endpoint tagged ``Owner``."""
    resources = (
        resource(CONFIG_A, "aws.sagemaker.endpoint_config", {"owner": "ml-platform", "+a": "1", "=cmd": "2"}),
        resource(CONFIG_B, "aws.sagemaker.endpoint_config", {}, {"tags": "AccessDeniedException"}),
        resource(sm_arn("model", "m-a"), "aws.sagemaker.model", {"env": "prod"}),
        resource(AZURE_ENDPOINT, "azure.ml.online_endpoint", {"Owner": "scoring"}),
    )
    result = make_result(resources=resources, owner_tag="owner")
    return dataclasses.replace(result, findings=assign(result.findings, resources, "owner"))


def csv_rows(result) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    return list(csv.DictReader(io.StringIO(csv_format.render(result), newline="")))


def test_findings_json_records_each_owner_and_the_tag_and_reads_them_back() -> None:
    result = owned_result()
    doc = to_document(result)
    jsonschema.Draft202012Validator(schema()).validate(doc)
    assert doc["scan"]["owner_tag"] == "owner"
    owners = {(f["rule_id"], f["resource_id"]): f["owner"] for f in doc["findings"]}
    assert owners[(KMS, CONFIG_A)] == {"state": "owned", "value": "ml-platform", "tag": "owner"}
    assert owners[(KMS, CONFIG_B)] == {"state": "unknown",
                                       "reason": "its tags could not be read: AccessDeniedException"}
    assert owners[(ISOLATION, sm_arn("model", "m-a"))] == {"state": "unowned"}
    assert owners[(ISOLATION, sm_arn("model", "m-b"))]["state"] == "unknown"  # not in the inventory
    assert [e.get("tags_unread") for e in doc["inventory"] if e["id"] == CONFIG_B] == ["AccessDeniedException"]
    again = from_document(json.loads(render(result)), "findings.json")
    assert again.owner_tag == "owner" and to_document(again) == doc


def test_the_schema_refuses_an_owner_that_contradicts_its_state() -> None:
    doc = to_document(owned_result())
    validator = jsonschema.Draft202012Validator(schema())
    for bad in ({"state": "unowned", "value": "x", "tag": "owner"}, {"state": "owned"}, {"state": "unknown"},
                {"state": "nobody"}):
        broken = copy.deepcopy(doc)
        broken["findings"][0]["owner"] = bad
        assert not validator.is_valid(broken), bad


def test_csv_appends_owner_tags_and_evidence_after_the_old_columns() -> None:
    assert csv_format.COLUMNS[:20][-1] == "baseline_state" and csv_format.COLUMNS[20:] == ("owner", "tags", "evidence")
    rows = {(r["rule_id"], r["resource_id"]): r for r in csv_rows(owned_result())}
    a = rows[(KMS, CONFIG_A)]
    assert a["owner"] == "ml-platform"
    # JSON in the cell, defused like every other cell: a formula sign after a separator gets a quote.
    assert a["tags"] == '{"+a":"1","\'=cmd":"2","owner":"ml-platform"}'
    assert json.loads(a["evidence"]) == {"KmsKeyId": None, "ProductionVariants[0].InstanceType": "ml.m5.large"}
    b = rows[(KMS, CONFIG_B)]
    assert (b["owner"], b["tags"]) == ("unknown", "")  # tags that could not be read are not "no tags"
    m = rows[(ISOLATION, sm_arn("model", "m-a"))]
    assert (m["owner"], json.loads(m["tags"])) == ("unowned", {"env": "prod"})
    assert rows[(ISOLATION, sm_arn("model", "m-b"))]["owner"] == "unknown"
    assert rows[("azure.ml.online_endpoint.auth_mode", AZURE_ENDPOINT)]["owner"] == "scoring"


def test_a_findings_file_without_owners_shows_them_unknown() -> None:
    rows = csv_rows(make_result())  # no owner recorded: an older file
    assert {r["owner"] for r in rows} == {"unknown"}


def test_sarif_and_junit_name_the_owner() -> None:
    result = owned_result()
    results = json.loads(sarif.render(result))["runs"][0]["results"]
    by_id = {r["properties"]["finding_id"]: r["properties"]["owner"] for r in results}
    a = next(f for f in result.findings if f.rule_id == KMS and f.resource_id == CONFIG_A)
    assert by_id[a.id] == "ml-platform"
    assert "Owner: ml-platform" in junit.render(result)


def _gone_deployments_compared():  # type: ignore[no-untyped-def]
    """Two deployments called main under different endpoints failed in the baseline and are gone now."""
    base = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/ml/providers/Microsoft.MachineLearningServices/workspaces/ws"
    rule = "azure.ml.online_deployment.egress_public_network_disabled"
    from .builders import RULES

    rules = {**RULES, rule: dataclasses.replace(RULES["azure.ml.online_endpoint.auth_mode"], id=rule,
                                               resource_type="azure.ml.online_deployment")}
    gone = [dataclasses.replace(finding("azure.ml.online_endpoint.auth_mode",
                                        f"{base}/onlineEndpoints/{e}/deployments/main", Status.FAIL, name="main"),
                                rule_id=rule, resource_type="azure.ml.online_deployment")
            for e in ("fraud", "churn")]
    old = make_result(findings=(*make_result().findings, *gone), rules=rules,
                      started_at=datetime(2025, 6, 1, tzinfo=UTC))
    return with_baseline(make_result(rules=rules), old, "previous/findings.json", False)


def test_resolved_rows_of_summary_md_name_resources_unambiguously() -> None:
    compared = _gone_deployments_compared()
    text = markdown.render(compared)
    resolved = text.split("### Resolved since baseline (2)", 1)[1].split("###", 1)[0]
    assert "`main (onlineEndpoints/churn, workspaces/ws; resource group ml, subscription" in resolved
    assert "`main (onlineEndpoints/fraud, workspaces/ws; resource group ml, subscription" in resolved
    assert "/providers/Microsoft.MachineLearningServices" not in resolved
    # The names survive findings.json: a re-rendered summary is the same.
    again = from_document(json.loads(render(compared)), "findings.json")
    assert markdown.render(again) == text


def test_resolved_rows_of_an_older_file_keep_the_raw_id() -> None:
    doc = to_document(_gone_deployments_compared())
    for p in doc["baseline"]["resolved"]:
        for key in ("provider", "account", "region", "resource_name"):
            del p[key]
    text = markdown.render_document(doc)
    resolved = text.split("### Resolved since baseline (2)", 1)[1].split("###", 1)[0]
    assert "| `/subscriptions/" in resolved and "main (" not in resolved


def test_summary_md_counts_failures_by_owner_and_keeps_unknown_apart() -> None:
    result = owned_result()
    text = markdown.render(result)
    section = text.split("### Failures by owner (tag `owner`)", 1)[1].split("###", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
    failed = [f for f in result.findings if f.status is Status.FAIL]
    gating = {f.id for f in result.gating()}
    expected = {}
    for f in failed:
        assert f.owner is not None
        name = f.owner.value if f.owner.value else f.owner.state.value
        n = expected.setdefault(name, [0, 0])
        n[0] += 1
        n[1] += f.id in gating
    got = {row.split(" | ")[0][2:]: [int(row.split(" | ")[1]), int(row.split(" | ")[2].rstrip(" |"))] for row in rows}
    assert {k.split(" ")[0].strip("_"): v for k, v in got.items()} == expected
    assert "Failures by owner" not in markdown.render(make_result())  # a file that recorded no owners


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    return (exit_.value.code if isinstance(exit_.value.code, int) else 1), capsys.readouterr().err


def test_report_reads_owners_again_by_another_tag_and_keeps_unknown(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "findings.json"
    source.write_text(render(owned_result()), encoding="utf-8")
    out = tmp_path / "out"
    code, err = _run(capsys, "report", str(source), "--out", str(out), "--format", "csv", "--format", "json",
                     "--owner-tag", "+A", "--quiet")
    assert code == 1, err  # the scan's own exit code
    rows = {(r["rule_id"], r["resource_id"]): r["owner"]
            for r in csv.DictReader(io.StringIO((out / "findings.csv").read_text(encoding="utf-8"), newline=""))}
    assert rows[(KMS, CONFIG_A)] == "1"  # the tag +a, in another case
    assert rows[(KMS, CONFIG_B)] == "unknown"  # its tags were not read: still unknown
    assert rows[(ISOLATION, sm_arn("model", "m-a"))] == "unowned"
    assert json.loads((out / "findings.json").read_text(encoding="utf-8"))["scan"]["owner_tag"] == "+A"
    code, err = _run(capsys, "report", str(source), "--out", str(out), "--owner-tag", " ", "--quiet")
    assert code == 3 and "--owner-tag" in err
