"""`auditor demo` with Northwind's Azure AI Services / Azure OpenAI accounts: every azure.ai rule reaches the seeded
verdict, PASS and FAIL each somewhere; the account behind the gateway is linked and shown in the report's inventory."""

from __future__ import annotations

import pytest

from auditor.catalog import load_catalog
from auditor.demo.ai_estate import build_ai_estate, northwind_ai_spec
from auditor.demo.azure_northwind import DEV, PROD
from auditor.outputs.html import embedded_data

from .helpers import Run, fake_aws_env, run_auditor

GATEWAY_RULE = "azure.apim.api.model_endpoint_protected"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("demo-ai")
    return run_auditor(["demo", "--out", str(out)], out, env=fake_aws_env(None))


def test_every_ai_rule_has_pass_and_fail_and_each_verdict_is_the_seeded_one(demo: Run) -> None:
    expected = build_ai_estate(northwind_ai_spec(PROD, DEV)).expected
    findings = demo.findings()["findings"]
    got = {(f["rule_id"], f["resource_id"]): f["status"] for f in findings if f["rule_id"].startswith("azure.ai.")}
    assert got == dict(expected)
    rules = [r for r in load_catalog(providers=("azure",)).values() if r.id.startswith("azure.ai.")]
    assert len(rules) == 5
    for rule in rules:
        statuses = {s for (rule_id, _), s in got.items() if rule_id == rule.id}
        assert {"PASS", "FAIL"} <= statuses, (rule.id, statuses)
        assert ("NOT_APPLICABLE" in statuses) == (rule.applies_when is not None), (rule.id, statuses)


def test_the_gateway_fronts_the_locked_down_openai_account_and_the_report_lists_ai_accounts(demo: Run) -> None:
    account = build_ai_estate(northwind_ai_spec(PROD, DEV)).ids["account"]["oai-nw-prod-weu"]
    links = [(f["resource_name"], front["id"], f["status"]) for f in demo.findings()["findings"]
             if f["rule_id"] == GATEWAY_RULE for front in f["evidence"].get("fronts", [])
             if front["kind"] == "azure.ai.account"]
    assert links == [("openai-oai-nw-prod-weu", account, "PASS")]
    data = embedded_data((demo.out / "report.html").read_text(encoding="utf-8"))
    text = repr(data)
    assert "Azure AI Services / OpenAI account" in text and "ais-nw-prod-eus" in text
