"""SageMaker serving features (issue 16): async inference output, shadow variants, inference components and
container secrets, collected from moto through real boto3 calls and judged by the shipped rules."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.catalog import load_catalog
from auditor.engine import evaluate
from auditor.model import Inventory, Resource
from auditor.providers.aws import s3 as aws_s3
from auditor.providers.aws import sagemaker as aws_sagemaker
from auditor.providers.aws.sagemaker_serving import INFERENCE_COMPONENT

from .conftest import CallLog, Moto
from .estates import PASSWORD_VALUE, SECRET_VALUE, serving
from .seeding import Seeder

Scan = Callable[..., tuple[Inventory, CallLog]]
WEST = ("us-west-2",)


def by_name(inventory: Inventory, resource_type: str) -> dict[str, Resource]:
    return {r.name: r for r in inventory.of_type(resource_type)}


def verdicts(inventory: Inventory) -> dict[tuple[str, str], str]:
    """(rule id, resource name) -> status, for every finding of the shipped AWS rules."""
    rules = load_catalog(providers=("aws",)).values()
    names = {r.id: r.name for r in inventory.resources}
    return {(f.rule_id, names.get(f.resource_id, f.resource_id)): f.status.value for f in evaluate(inventory, rules)}


def test_async_output_key_and_buckets_join_the_kms_and_s3_collectors(seed: Seeder, scan: Scan) -> None:
    s = serving(seed)

    inventory, log = scan(regions=WEST)

    assert inventory.complete, inventory.coverage
    configs = by_name(inventory, aws_sagemaker.ENDPOINT_CONFIG)
    results, failures = "arn:aws:s3:::async-results", "arn:aws:s3:::async-failures"
    assert configs["cfg-async"].related["async_output_buckets"] == [results, failures]
    assert configs["cfg-async"].related["kms_keys"] == [s.async_key]
    assert configs["cfg-async-plain"].related["async_output_buckets"] == [results]
    assert configs["cfg-ic"].related["async_output_buckets"] == []
    buckets = by_name(inventory, aws_s3.BUCKET)
    assert buckets["async-results"].related["async_output_for"] == sorted(
        [s.configs["cfg-async"], s.configs["cfg-async-plain"]])
    assert buckets["async-results"].related["capture_for"] == []  # the S3 collector's users, sorted out
    assert log.count("GetBucketEncryption") == 2 and log.count("GetKeyRotationStatus") == 1

    found = verdicts(inventory)
    assert found["aws.sagemaker.endpoint_config.async_output_encrypted", "cfg-async"] == "PASS"
    assert found["aws.sagemaker.endpoint_config.async_output_encrypted", "cfg-async-plain"] == "FAIL"
    assert found["aws.sagemaker.endpoint_config.async_output_encrypted", "cfg-ic"] == "NOT_APPLICABLE"
    assert found["aws.kms.key.rotation_enabled", "alias/async-results"] == "PASS"
    assert found["aws.s3.bucket.kms_default_encryption", "async-results"] == "PASS"
    assert found["aws.s3.bucket.kms_default_encryption", "async-failures"] == "FAIL"
    assert found["aws.s3.bucket.public_access_blocked", "async-failures"] == "FAIL"


def test_shadow_variants_are_judged_as_variants(seed: Seeder, scan: Scan) -> None:
    s = serving(seed)

    inventory, _ = scan(regions=WEST)

    config = by_name(inventory, aws_sagemaker.ENDPOINT_CONFIG)["cfg-async"]
    assert config.document["ShadowProductionVariants"][0]["ModelName"] == "m-leaky"
    assert config.related["models"] == [s.models["m-clean"], s.models["m-leaky"]]  # the shadow's model too
    found = verdicts(inventory)
    # The production variant runs on 2 instances; the shadow on 1: the config fails for its shadow.
    assert found["aws.sagemaker.endpoint_config.multi_instance", "cfg-async"] == "FAIL"
    assert found["aws.sagemaker.endpoint_config.multi_instance", "cfg-ic"] == "PASS"
    [kms] = [f for f in evaluate(inventory, [load_catalog(providers=("aws",))[
        "aws.sagemaker.endpoint_config.kms_volume_encryption"]]) if f.resource_id == s.configs["cfg-async"]]
    assert kms.status.value == "FAIL" and kms.evidence["ebs_variants"] == {
        "v0": "ml.m5.large", "shadow:shadow": "ml.m5.large"}


def test_inference_components_are_inventoried_and_linked(seed: Seeder, scan: Scan) -> None:
    s = serving(seed)

    inventory, log = scan(regions=WEST)

    assert inventory.complete
    components = by_name(inventory, INFERENCE_COMPONENT)
    assert set(components) == {"ic-model", "ic-own", "ic-orphan"}
    ic = components["ic-model"]
    assert ic.id == s.components["ic-model"] and ic.tags == {"team": "llm"}
    assert ic.related == {"endpoint": s.endpoints["ep-ic"], "models": [s.models["m-leaky"]],
                          "environment_variables": []}
    assert components["ic-orphan"].related["models"] == [None]  # its model was deleted: null, not a fake
    assert by_name(inventory, aws_sagemaker.ENDPOINT)["ep-ic"].related["inference_components"] == sorted(
        s.components.values())
    assert by_name(inventory, aws_sagemaker.ENDPOINT)["ep-async"].related["inference_components"] == []
    row = next(c for c in inventory.coverage if c.service == "sagemaker")
    assert INFERENCE_COMPONENT in row.resource_types and row.resources == len(inventory.of_type(INFERENCE_COMPONENT)) \
        + sum(len(inventory.of_type(t)) for t in (aws_sagemaker.ENDPOINT, aws_sagemaker.ENDPOINT_CONFIG,
                                                   aws_sagemaker.MODEL))
    assert log.count("ListInferenceComponents") == 1 and log.count("DescribeInferenceComponent") == 3

    found = verdicts(inventory)
    rule = "aws.sagemaker.inference_component.no_plaintext_secrets"
    assert found[rule, "ic-model"] == "FAIL"  # runs m-leaky, whose second container holds a key
    assert found[rule, "ic-own"] == "FAIL"  # a container of its own with a token
    assert found[rule, "ic-orphan"] == "ERROR"  # what it serves is unknown: never PASS


def test_container_secrets_are_named_never_kept(seed: Seeder, scan: Scan) -> None:
    serving(seed)

    inventory, _ = scan(regions=WEST)

    leaky = by_name(inventory, aws_sagemaker.MODEL)["m-leaky"]
    assert leaky.related["environment_variables"] == [
        {"container": "Containers[0]", "name": "MODEL_ID", "has_value": True, "secret_kinds": []},
        {"container": "Containers[1]", "name": "DB_PASSWORD", "has_value": True, "secret_kinds": []},
        {"container": "Containers[1]", "name": "OPENAI_KEY", "has_value": True, "secret_kinds": ["openai_style_key"]},
    ]
    assert leaky.document["Containers"][1]["Environment"] == {"OPENAI_KEY": "<redacted>", "DB_PASSWORD": "<redacted>"}
    own = by_name(inventory, INFERENCE_COMPONENT)["ic-own"]
    assert own.document["Specification"]["Container"]["Environment"] == {"HF_TOKEN": "<redacted>"}
    text = json.dumps([(r.document, r.related, r.tags) for r in inventory.resources], default=str)
    assert SECRET_VALUE not in text and PASSWORD_VALUE not in text

    rules = load_catalog(providers=("aws",))
    findings = {(f.rule_id, f.resource_id): f for f in evaluate(inventory, rules.values())}
    leaky_finding = findings["aws.sagemaker.model.no_plaintext_secrets", leaky.id]
    assert leaky_finding.status.value == "FAIL"
    assert leaky_finding.evidence["secret_variables"] == {
        "Containers[1]: DB_PASSWORD": ["name suggests a secret"],
        "Containers[1]: OPENAI_KEY": ["value looks like openai_style_key"]}
    clean = by_name(inventory, aws_sagemaker.MODEL)["m-clean"]  # MAX_TOTAL_TOKENS is a limit, not a token
    assert findings["aws.sagemaker.model.no_plaintext_secrets", clean.id].status.value == "PASS"


def test_a_denied_component_listing_leaves_endpoints_unknown_not_clean(moto: Moto, seed: Seeder,
                                                                       scan: Scan) -> None:
    from .test_aws_errors import least_privilege_session

    serving(seed)
    session = least_privilege_session(moto, seed, without=("sagemaker:ListInferenceComponents",))

    inventory, _ = scan(regions=WEST, session=session)

    assert not inventory.complete
    endpoint = by_name(inventory, aws_sagemaker.ENDPOINT)["ep-ic"]
    assert endpoint.related["inference_components"] == []
    assert endpoint.unreadable["related.inference_components"].startswith("access denied")
    assert inventory.of_type(INFERENCE_COMPONENT) == ()
    # No component could be listed: the rule on components says so with an ERROR for the region, never nothing.
    rule = load_catalog(providers=("aws",))["aws.sagemaker.inference_component.no_plaintext_secrets"]
    findings = evaluate(inventory, [rule])
    assert findings and all(f.status.value == "ERROR" for f in findings)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_container_secret_reaches_any_output_the_console_or_a_plan(moto: Moto, seed: Seeder, tmp_path: Path,
                                                                     log_format: str) -> None:
    serving(seed)
    out = tmp_path / "out"
    auditor = [sys.executable, "-m", "auditor"]
    formats = [a for f in ("json", "html", "sarif", "junit", "markdown", "csv", "ocsf") for a in ("--format", f)]
    scan = subprocess.run([*auditor, "scan", "aws", "--region", WEST[0], "--out", str(out), *formats, "--verbose",
                           "--log-format", log_format], capture_output=True, text=True, timeout=300)
    assert scan.returncode == 2, scan.stderr  # the orphaned component is ERROR: incomplete
    plan_file = tmp_path / "plan.json"
    plan = subprocess.run([*auditor, "remediate", "plan", str(out / "findings.json"), "--out", str(plan_file)],
                          capture_output=True, text=True, timeout=300)
    assert plan.returncode == 0, plan.stderr
    texts = {p.name: p.read_text(encoding="utf-8") for p in out.iterdir() if p.is_file()}
    assert {"findings.json", "report.html", "report.sarif", "junit.xml", "summary.md", "findings.csv",
            "findings.ocsf.json"} <= set(texts)
    texts.update({"scan stdout": scan.stdout, "scan stderr": scan.stderr, "plan.json": plan_file.read_text("utf-8"),
                  "plan stdout": plan.stdout, "plan stderr": plan.stderr})
    for name, text in texts.items():
        for secret in (SECRET_VALUE, PASSWORD_VALUE):
            assert secret not in text, (name, secret)
    doc = json.loads(texts["findings.json"])
    leaky = [f for f in doc["findings"] if f["rule_id"] == "aws.sagemaker.model.no_plaintext_secrets"
             and f["status"] == "FAIL"]
    assert leaky and "OPENAI_KEY" in json.dumps(leaky)  # the variable is named, its value is not


def test_the_endpoint_rows_show_what_components_and_async_output_add(seed: Seeder, scan: Scan,
                                                                     tmp_path: Path) -> None:
    from auditor.outputs.html_endpoints import endpoint_inventory

    serving(seed)
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "auditor", "scan", "aws", "--region", WEST[0], "--out", str(out),
                          "--format", "json", "--quiet"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 2, run.stderr
    rows = {row["name"]: row for row in endpoint_inventory(json.loads((out / "findings.json").read_text("utf-8")))}

    ic = rows["ep-ic"]
    other = {line["rule"]: line for line in ic["aspects"]["other"]}
    components = other["aws.sagemaker.inference_component.no_plaintext_secrets"]
    assert components["status"] == "ERROR" and len(components["findings"]) == 3  # the orphan is undecided
    assert other["aws.sagemaker.model.no_plaintext_secrets"]["status"] == "FAIL"  # m-leaky, through ic-model
    assert {p["relation"] for p in ic["parts"]} >= {"endpoint_config", "inference_components", "models"}
    assert ic["status"] == "ERROR" and "model of ic-orphan: 1 no longer exists" in ic["unknown"]

    encryption = {line["rule"]: line for line in rows["ep-async"]["aspects"]["encryption"]}
    assert encryption["aws.sagemaker.endpoint_config.async_output_encrypted"]["text"] == "async output: KMS key"
    assert {p["id"] for p in rows["ep-async"]["parts"]} >= {"arn:aws:s3:::async-results",
                                                           "arn:aws:s3:::async-failures"}
    assert not rows["ep-async"]["unknown"]  # every part is known: nothing hides behind a missing model list
    other = {line["rule"]: line for line in rows["ep-async"]["aspects"]["other"]}
    # The shadow variant's single instance, worded from the rule's evidence (its path counts shadow variants).
    assert other["aws.sagemaker.endpoint_config.multi_instance"]["text"] == "instances: 1 in a variant"
