"""`auditor demo`: the real collectors through boto3 against the embedded moto estate."""

from __future__ import annotations

import json
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

from auditor.catalog import load_catalog
from auditor.demo.azure_northwind import ACCOUNT_KEY, HOSTILE_TAG, SAS_SIGNATURE, seed_azure_demo
from auditor.outputs.html import embedded_data
from auditor.paths import schemas_dir

from .helpers import Run, fake_aws_env, run_auditor


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Run:
    out = tmp_path_factory.mktemp("demo")
    # No endpoint in the environment: the demo serves its own estate on loopback.
    return run_auditor(["demo", "--out", str(out)], out, env=fake_aws_env(None))


def test_demo_exits_1_for_its_failing_findings_and_writes_both_outputs(demo):
    assert demo.code == 1, demo.stderr
    assert (demo.out / "findings.json").is_file() and (demo.out / "report.html").is_file()
    assert "report.html" in demo.stderr


def test_demo_findings_validate_against_the_shipped_schema(demo):
    schema = json.loads((schemas_dir() / "findings.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(demo.findings())


def test_every_aws_rule_has_pass_and_fail_and_na_where_it_can(demo):
    findings = demo.findings()["findings"]
    catalog = load_catalog(providers=("aws",))
    for rule in catalog.values():
        statuses = {f["status"] for f in findings if f["rule_id"] == rule.id}
        assert {"PASS", "FAIL"} <= statuses, (rule.id, statuses)
        if rule.applies_when is not None:
            assert "NOT_APPLICABLE" in statuses, (rule.id, statuses)
        assert "ERROR" not in statuses, rule.id


def test_demo_covers_both_clouds_with_no_error(demo):
    doc = demo.findings()
    assert {f["provider"] for f in doc["findings"]} == {"aws", "azure"}
    assert {row["provider"] for row in doc["coverage"]} == {"aws", "azure"}
    assert not [f for f in doc["findings"] if f["status"] == "ERROR"]
    azure = seed_azure_demo()
    assert [s for s in doc["scan"]["scopes"] if s.startswith("azure:")] == [f"azure:{s}" for s in azure.subscriptions]


def test_every_azure_ml_rule_has_its_pass_fail_and_na_and_every_verdict_is_the_seeded_one(demo):
    findings = demo.findings()["findings"]
    got = {(f["rule_id"], f["resource_id"]): f["status"] for f in findings if f["rule_id"].startswith("azure.ml.")}
    assert got == dict(seed_azure_demo().expected)
    rules = [r for r in load_catalog(providers=("azure",)).values() if r.id.startswith("azure.ml.")]
    assert len(rules) == 16
    for rule in rules:
        statuses = {status for (rule_id, _), status in got.items() if rule_id == rule.id}
        wanted = {"FAIL"} if rule.id == "azure.ml.legacy_service.retired" else {"PASS", "FAIL"}
        if rule.applies_when is not None:
            wanted.add("NOT_APPLICABLE")
        assert statuses == wanted, (rule.id, statuses)


def test_no_seeded_azure_secret_reaches_an_output(demo):
    texts = [demo.stdout, demo.stderr, *(p.read_text() for p in demo.out.iterdir() if p.is_file())]
    for secret in (*seed_azure_demo().secrets, ACCOUNT_KEY, SAS_SIGNATURE):
        assert not [t for t in texts if secret in t], secret[:12]


def test_demo_scan_is_complete(demo):
    doc = demo.findings()
    assert doc["scan"]["complete"] is True
    assert all(row["status"] == "collected" for row in doc["coverage"])


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_hostile_tag_is_shown_escaped_in_the_report(demo):
    html = (demo.out / "report.html").read_text()
    parser = _Collect()
    parser.feed(html)
    assert not [t for t, _ in parser.tags if t == "img"]
    # The only scripts: the data block (never executed) and the report's own script, pinned by its CSP hash.
    assert [attrs for t, attrs in parser.tags if t == "script"] == [{"type": "application/json", "id": "data"}, {}]
    assert not [a for _, attrs in parser.tags for a in attrs if a.startswith("on")]
    assert "<img src=x onerror=alert(1)>" not in html
    tags = [value for tagset in embedded_data(html)["tagsets"] for _, value in tagset]
    assert "<img src=x onerror=alert(1)>" in tags, "the hostile text reaches the page intact, as data"


def test_hostile_azure_tag_is_shown_escaped_on_its_endpoint(demo):
    [(endpoint_id, where, value)] = seed_azure_demo().hostile
    assert where == "tags.notes" and value == HOSTILE_TAG
    html = (demo.out / "report.html").read_text()
    assert HOSTILE_TAG not in html
    parser = _Collect()
    parser.feed(html)
    assert not [t for t, _ in parser.tags if t == "img"]
    data = embedded_data(html)
    [k] = [k for k, rid in enumerate(data["resources"]["id"])
           if (rid if isinstance(rid, str) else data["strings"][rid] + data["resources"]["name"][k]) == endpoint_id]
    assert HOSTILE_TAG in [value for _, value in data["tagsets"][data["resources"]["tags"][k]]]


def test_report_rerenders_from_the_findings_file(demo, tmp_path: Path):
    r = run_auditor(["report", str(demo.out / "findings.json"), "--format", "html", "--format", "json",
                     "--out", str(tmp_path)], tmp_path)
    assert r.code == 1, r.stderr  # as the scan that wrote the findings: a re-render never looks cleaner
    again = json.loads((tmp_path / "findings.json").read_text())
    assert [f["id"] for f in again["findings"]] == [f["id"] for f in demo.findings()["findings"]]


def test_the_demo_gateway_fronts_models_of_both_clouds_and_every_apim_rule_decides(demo):
    findings = demo.findings()["findings"]
    apim = {f["rule_id"] for f in findings if f["rule_id"].startswith("azure.apim.")}
    assert len(apim) == 6
    for rule_id in apim:
        statuses = {f["status"] for f in findings if f["rule_id"] == rule_id}
        assert {"PASS", "FAIL"} <= statuses, (rule_id, statuses)
    protected = {f["resource_name"]: f for f in findings if f["rule_id"] == "azure.apim.api.model_endpoint_protected"}
    assert protected["churn-partner"]["status"] == "FAIL"  # a rate limit alone protects nothing
    assert protected["status"]["status"] == "NOT_APPLICABLE"
    fronts = protected["recsys-sagemaker"]["evidence"]["fronts"]
    assert fronts[0]["kind"] == "aws.sagemaker.endpoint" and fronts[0]["id"].startswith("arn:aws:sagemaker:")
    azure_fronted = protected["fraud-scoring"]["evidence"]["fronts"][0]
    assert azure_fronted["kind"] == "azure.ml.online_endpoint"
    assert "/onlineEndpoints/fraud-scoring-v3" in azure_fronted["id"]


def test_a_tag_scoped_policy_says_what_it_left_out_in_every_format(demo, tmp_path: Path):
    """The README's policy example on the demo: prod endpoints and what they use stay; the rest is counted."""
    policy = tmp_path / "prod.yaml"
    policy.write_text('scope:\n  - rules: ["*"]\n    tags: {env: prod}\n')
    out = tmp_path / "out"
    r = run_auditor(["demo", "--policy", str(policy), "--out", str(out), "--format", "json", "--format", "html",
                     "--format", "markdown"], out, env=fake_aws_env(None))
    doc = r.findings()
    scope = doc["policy_scope"]
    everything = demo.findings()["findings"]
    # Nothing vanishes silently: what is shown plus what is counted as left out is the whole estate.
    assert len(doc["findings"]) + scope["findings"] == len(everything)
    assert sum(scope["by_rule"].values()) == scope["findings"]
    left_out = {(f["rule_id"], f["resource_id"]) for f in everything} - {
        (f["rule_id"], f["resource_id"]) for f in doc["findings"]}
    assert len({resource for _, resource in left_out}) == scope["out_of_scope"] > 0
    statuses: dict[str, int] = {}
    for f in everything:
        if (f["rule_id"], f["resource_id"]) in left_out:
            statuses[f["status"]] = statuses.get(f["status"], 0) + 1
    assert scope["by_status"] == statuses
    # The scope follows each prod endpoint to the config, models, role, keys and bucket it uses: none of
    # those carries an env tag in the demo, so each kept finding of theirs was kept through an endpoint.
    inventory = {i["id"]: i for i in demo.findings()["inventory"]}
    kept_types = {f["resource_type"] for f in doc["findings"]}
    followed = {"aws.sagemaker.endpoint_config", "aws.sagemaker.model", "aws.iam.role", "aws.kms.key", "aws.s3.bucket"}
    assert followed <= kept_types
    assert all("env" not in inventory[f["resource_id"]]["tags"] for f in doc["findings"]
               if f["resource_type"] in followed)
    assert {inventory[f["resource_id"]]["tags"].get("env") for f in doc["findings"]
            if f["resource_type"] == "aws.sagemaker.endpoint"} == {"prod"}
    sentence = f"{scope['out_of_scope']} resources out of the policy's scope"
    assert f"auditor: {sentence}" in r.stderr
    assert sentence in (out / "summary.md").read_text(encoding="utf-8")
    page = _Collect()
    page.feed((out / "report.html").read_text(encoding="utf-8"))
    assert ("section", {"class": "scope-note", "id": "policy-scope"}) in page.tags
    assert any(sentence in text for text in page.text)


def test_every_azure_finding_of_the_demo_carries_the_resource_manager_name(demo):
    doc = demo.findings()
    regions = Counter((f["rule_id"].split(".")[1], f["region"]) for f in doc["findings"] if f["provider"] == "azure")
    # API Management returns "West Europe" for the demo's gateway; Azure ML returns "westeurope".
    assert regions[("apim", "westeurope")] > 0 and regions[("ml", "westeurope")] > 0
    assert all(region == region.lower() and " " not in region for _, region in regions)
    rows = {(c["service"], c["region"]) for c in doc["coverage"] if c["provider"] == "azure"}
    assert ("apim-service-children", "westeurope") in rows
