"""`auditor rules list` and `auditor rules show` through ``auditor.cli.main``; README.md's rule catalog."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from auditor.catalog import load_catalog, pack_files
from auditor.cli import main
from auditor.model import Severity
from auditor.paths import rules_dir
from auditor.yamlio import load_yaml

README = Path(__file__).resolve().parents[2] / "README.md"
PUBLIC_SOURCES = ("Azure Policy ", "AWS Security Hub ", "AWS Config ", "Prowler ", "Checkov ", "Microsoft ")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["rules", *args])
    out, err = capsys.readouterr()
    return (exit_.value.code if isinstance(exit_.value.code, int) else 1), out, err


def listed_ids(out: str) -> list[str]:
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def test_list_filters_by_provider_and_by_severity_at_or_above(capsys):
    code, out, err = run(capsys, "list", "--provider", "azure", "--severity", "high")
    assert code == 0, err
    catalog = load_catalog()
    want = [rid for rid, r in catalog.items() if r.provider == "azure" and r.severity.rank >= Severity.HIGH.rank]
    assert listed_ids(out) == want
    assert "azure.apim.api.model_endpoint_protected" in want, "critical is above high"
    assert "azure.ml.workspace.private_link" not in want and not any(rid.startswith("aws.") for rid in want)
    code, out, _ = run(capsys, "list", "--provider", "aws", "--format", "json")
    assert code == 0 and {r["provider"] for r in json.loads(out)} == {"aws"}
    code, out, _ = run(capsys, "list", "--severity", "critical", "--format", "json")
    assert code == 0 and {r["severity"] for r in json.loads(out)} == {"critical"}


def test_list_help_says_what_severity_selects(capsys):
    code, out, _ = run(capsys, "list", "--help")
    assert code == 0
    assert "this severity or above" in " ".join(out.split())


def test_list_markdown_is_a_github_table_of_every_rule(capsys):
    code, out, err = run(capsys, "list", "--format", "markdown")
    assert code == 0, err
    tokens = MarkdownIt("commonmark").enable("table").parse(out)
    rows: list[list[str]] = []
    for i, token in enumerate(tokens):
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline" and tokens[i - 1].type in ("th_open", "td_open"):
            rows[-1].append(token.content)
    header, *body = rows
    assert header == ["rule", "severity", "resource", "PASS when", "public anchors", "auto-fix"]
    catalog = load_catalog()
    assert [row[0].strip("`") for row in body] == list(catalog)
    by_id = {row[0].strip("`"): row for row in body}
    assert by_id["aws.sagemaker.endpoint_config.multi_instance"][1:5] == [
        "medium", "`aws.sagemaker.endpoint_config`", catalog["aws.sagemaker.endpoint_config.multi_instance"].title,
        "AWS Security Hub SageMaker.4"]
    assert by_id["azure.ml.online_endpoint.auth_mode"][4] == "—", "a seeds note is not a public anchor"


def test_show_prints_the_whole_condition_readably(capsys):
    code, out, err = run(capsys, "show", "aws.sagemaker.endpoint_config.multi_instance")
    assert code == 0, err
    applies = out.index("Applies when (otherwise NOT_APPLICABLE):")
    passes = out.index("PASS when:")
    variants = "(ProductionVariants && [ProductionVariants, not_null(ShadowProductionVariants, `[]`)][])"
    assert f'"{variants}[?ServerlessConfig == null] | length(@)" gt 0' in out[applies:passes]
    assert f'"min({variants}[?ServerlessConfig == null].InitialInstanceCount)" gte parameter' in out[passes:]
    code, out, _ = run(capsys, "show", "aws.kms.key.rotation_enabled")
    assert code == 0
    assert "  all of:\n    - KeyMetadata.KeyManager eq \"CUSTOMER\"" in out
    assert "KeyRotationStatus.KeyRotationEnabled eq true   (when missing: ERROR)" in out


def test_show_prints_parameters_with_their_allowed_values_and_no_python_repr(capsys):
    code, out, err = run(capsys, "show", "azure.ml.online_endpoint.auth_mode")
    assert code == 0, err
    assert 'properties.authMode in parameter allowed_auth_modes = ["AADToken", "AMLToken"]' in out
    assert "allowed values: each item one of AADToken, AMLToken, Key" in out
    assert "['AADToken'" not in out and "<param" not in out
    code, out, _ = run(capsys, "show", "azure.ml.workspace.managed_network_isolation")
    assert "(when missing: FAIL)" in out


def test_show_prints_only_public_anchors(capsys):
    code, out, err = run(capsys, "show", "azure.ml.online_endpoint.auth_mode")
    assert code == 0, err
    assert "seeds" not in out and "(no public anchor)" in out
    code, out, _ = run(capsys, "show", "aws.sagemaker.endpoint_config.kms_volume_encryption")
    anchors = out[out.index("Anchors (public controls):"):out.index("Frameworks:")]
    assert "AWS Config sagemaker-endpoint-configuration-kms-key-configured" in anchors
    assert "Prowler sagemaker_endpoint_config_kms_encryption_enabled" in anchors
    code, out, _ = run(capsys, "list", "--format", "json")
    assert not [a for r in json.loads(out) for a in r["anchors"] if a.startswith("seeds")]


def test_every_shipped_anchor_is_a_public_control_or_a_seeds_note():
    """What ``rules show`` hides is exactly the ``seeds:`` notes: any other anchor must name a public source."""
    for rule in load_catalog().values():
        for anchor in rule.anchors:
            assert anchor.startswith(("seeds: ", *PUBLIC_SOURCES)), f"{rule.id}: unclassified anchor {anchor!r}"


# --- README.md ------------------------------------------------------------------------------------


def test_the_readme_rule_catalog_is_what_rules_list_markdown_prints(capsys):
    code, out, _ = run(capsys, "list", "--format", "markdown")
    assert code == 0
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- rule catalog: [^>]*-->\n(.*?)<!-- /rule catalog -->", text, re.S)
    assert block is not None, "README.md lost the rule catalog markers"
    assert block.group(1) == out, "README.md's rule catalog is stale: run python scripts/update_readme_catalog.py"


# Each resource type of the catalog and the words that name it in README.md's "It audits" list.
AUDITED = {
    "aws.sagemaker.endpoint": "endpoints",
    "aws.sagemaker.endpoint_config": "endpoint configs",
    "aws.sagemaker.model": "models",
    "aws.sagemaker.inference_component": "inference components",
    "aws.iam.role": "IAM\n  execution roles",
    "aws.kms.key": "customer-managed KMS keys",
    "aws.s3.bucket": "S3 buckets",
    "aws.bedrock.invocation_logging": "model invocation logging",
    "aws.bedrock.custom_model": "custom models",
    "aws.bedrock.guardrail": "guardrails",
    "azure.ml.workspace": "workspaces",
    "azure.ml.compute": "computes",
    "azure.ml.online_endpoint": "online endpoints",
    "azure.ml.online_deployment": "deployments",
    "azure.ml.serverless_endpoint": "serverless endpoints",
    "azure.ml.legacy_service": "legacy v1 ACI/AKS web services",
    "azure.apim.api": "APIs",
    "azure.apim.backend": "backends",
    "azure.apim.product": "products",
    "azure.ai.account": "accounts",
    "azure.ai.deployment": "model deployments",
}
SERVICES = {"aws.sagemaker": "AWS SageMaker", "aws.iam": "AWS SageMaker", "aws.kms": "AWS SageMaker",
            "aws.s3": "AWS SageMaker", "aws.bedrock": "Amazon Bedrock", "azure.ml": "Azure Machine Learning",
            "azure.apim": "Azure API Management", "azure.ai": "Azure AI Services"}


def test_the_readme_it_audits_list_names_every_resource_type_of_the_catalog():
    text = README.read_text(encoding="utf-8")
    audits = text[text.index("It audits:"):text.index("It is built to run")]
    bullets = {b.split("**")[1]: b for b in audits.split("\n- ")[1:]}
    files, _ = pack_files(rules_dir())  # the rule files: neither frameworks nor cases
    types = {load_yaml(p).data["resource_type"] for p in files}
    assert types <= AUDITED.keys(), f"add {sorted(types - AUDITED.keys())} to README.md's 'It audits' and to AUDITED"
    for resource_type in sorted(types):
        service = SERVICES[".".join(resource_type.split(".")[:2])]
        bullet = next((b for title, b in bullets.items() if title.startswith(service)), "")
        assert AUDITED[resource_type] in bullet, f"README.md's 'It audits' ({service}) omits {resource_type}"


POLICY = """\
rules: {exclude: ["azure.ml.legacy_service.*"]}
parameters:
  azure.ml.online_endpoint.auth_mode: {allowed_auth_modes: [AADToken]}
severity:
  aws.sagemaker.model.vpc: {severity: low, justification: "Network isolation on; VPC is defence in depth"}
custom_rules:
  - id: aws.acme.sagemaker.model.tagged
    title: Models carry an owner tag
    severity: low
    resource_type: aws.sagemaker.model
    rationale: Every model needs an owner who answers for it.
    expect: {path: ModelName, op: present}
    messages: {pass: "{name} ok", fail: "{name} not ok"}
    remediation: {guidance: Tag the model with its owner.}
"""


def test_list_and_show_with_a_policy_are_what_a_scan_under_it_evaluates(capsys, tmp_path: Path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    code, out, err = run(capsys, "list", "--policy", str(policy), "--format", "json")
    assert code == 0
    listed = {r["id"]: r for r in json.loads(out)}
    assert "aws.acme.sagemaker.model.tagged" in listed  # the policy's custom rule
    assert listed["aws.sagemaker.model.vpc"]["severity"] == "low"  # its override
    assert not any(rule_id.startswith("azure.ml.legacy_service.") for rule_id in listed)
    assert "3 rule(s) not evaluated under" in err and "azure.ml.legacy_service.retired" in err

    code, out, _ = run(capsys, "show", "aws.sagemaker.model.vpc", "--policy", str(policy))
    assert code == 0 and "severity: low" in out
    assert f"severity set by {policy} (was medium): Network isolation on" in out
    code, out, _ = run(capsys, "show", "azure.ml.online_endpoint.auth_mode", "--policy", str(policy))
    assert 'allowed_auth_modes = ["AADToken"]' in out
    code, out, _ = run(capsys, "show", "azure.ml.legacy_service.retired", "--policy", str(policy))
    assert code == 0 and f"Not evaluated under {policy}: not selected by the policy" in out
    code, out, _ = run(capsys, "show", "aws.acme.sagemaker.model.tagged", "--policy", str(policy))
    assert code == 0 and "Models carry an owner tag" in out
    code, _, err = run(capsys, "show", "aws.acme.sagemaker.model.tagged")
    assert code == 3 and "unknown rule id" in err  # without the policy, the custom rule does not exist
