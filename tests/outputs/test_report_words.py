"""The endpoint inventory's words are data: each rule file's ``report:`` key, carried to report.html through
findings.json's ``rules``. A custom rule sets them the same way; a rule without them keeps the fallback (filed
under other, worded from its id)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from browser import scenario

from auditor.catalog import load_catalog
from auditor.errors import ConfigError
from auditor.outputs import html_aspects, html_endpoints
from auditor.outputs.findings_sections import rule_document
from auditor.policy import load_policy
from auditor.rule_parts import ReportWords

CAPTURE = "aws.sagemaker.endpoint.data_capture_enabled"
VOLUME = "aws.sagemaker.endpoint_config.kms_volume_encryption"


def lines(doc: dict[str, Any], name: str) -> dict[str, list[str]]:
    """The text of each aspect's lines in the row of endpoint ``name``."""
    row = next(r for r in html_endpoints.endpoint_inventory(doc) if r["name"] == name)
    return {aspect: [line["text"] for line in row["aspects"][aspect]] for aspect in html_aspects.ASPECTS}


def test_the_shipped_words_come_from_the_rule_files() -> None:
    catalog = load_catalog()
    assert catalog[VOLUME].report == ReportWords(aspect="encryption", order=70, label="volume", passed="KMS key",
                                                 failed="no KMS key", not_applicable="serverless, no volume",
                                                 noun="configs")
    assert rule_document(catalog[VOLUME])["report"] == {
        "aspect": "encryption", "order": 70, "label": "volume", "pass": "KMS key", "fail": "no KMS key",
        "not_applicable": "serverless, no volume", "noun": "configs"}
    assert "_RULES" not in vars(html_aspects) and "_NOUNS" not in vars(html_aspects)  # no table in the code


def test_a_rules_report_words_decide_its_line_and_without_them_the_fallback() -> None:
    doc = scenario.document()
    before = lines(doc, "churn-01")
    assert "capture: on" in before["capture"]
    changed = copy.deepcopy(doc)
    changed["rules"][CAPTURE]["report"] = {"aspect": "network", "label": "recording", "pass": "yes", "fail": "no"}
    after = lines(changed, "churn-01")
    assert "recording: yes" in after["network"] and "capture: on" not in after["capture"]
    del changed["rules"][CAPTURE]["report"]  # a findings file of an older version, or a rule with no report key
    fallback = lines(changed, "churn-01")
    assert fallback["other"][-1] == "data capture enabled: compliant"


def test_a_custom_rule_sets_its_words_in_a_policy_and_findings_json_carries_them(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("""\
custom_rules:
  - id: aws.acme.sagemaker.endpoint.tagged
    title: Endpoints carry a cost centre
    severity: low
    resource_type: aws.sagemaker.endpoint
    rationale: Finance charges each team for its endpoints.
    expect: {path: tags."cost-center", op: present}
    messages: {pass: "{name} is tagged", fail: "{name} has no cost centre"}
    remediation: {guidance: Tag the endpoint with its cost centre.}
    report: {aspect: other, order: 100, label: cost centre, pass: tagged, fail: missing}
""", encoding="utf-8")
    rule = load_policy(policy).rules["aws.acme.sagemaker.endpoint.tagged"]
    assert rule.report == ReportWords(aspect="other", order=100, label="cost centre", passed="tagged",
                                      failed="missing")
    words = html_aspects.Words({rule.id: json.loads(json.dumps(rule_document(rule)))})
    assert words.aspect_of(rule.id) == "other"
    assert words.describe(rule.id, [{"status": "FAIL", "evidence": {}, "resource_type": rule.resource_type}]) == \
        "cost centre: missing"


@pytest.mark.parametrize(("report", "field"), [
    ("{aspect: billing}", "report.aspect"),
    ("{label: x}", "report"),
    ("{aspect: other, colour: red}", "report"),
])
def test_a_bad_report_key_is_a_configuration_error_naming_the_field(tmp_path: Path, report: str, field: str) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"""\
custom_rules:
  - id: aws.acme.sagemaker.endpoint.tagged
    title: Endpoints carry a cost centre
    severity: low
    resource_type: aws.sagemaker.endpoint
    rationale: Finance charges each team for its endpoints.
    expect: {{path: tags.team, op: present}}
    messages: {{pass: "{{name}} is tagged", fail: "{{name}} has no team"}}
    remediation: {{guidance: Tag the endpoint with its team.}}
    report: {report}
""", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_policy(policy)
    assert raised.value.field is not None and raised.value.field.startswith(f"custom_rules[0].{field}")
