"""Planned inference components are judged with the planned model they run (its container environment, as
the collector links a component to its models), and never PASS on a model the plan does not show."""

from __future__ import annotations

from typing import Any

from auditor.catalog import load_catalog
from auditor.engine import evaluate
from auditor.iac.collect import plan_inventory
from auditor.iac.mapping import shipped_mappings
from auditor.iac.read import parse_plan
from auditor.model import Finding, Status

from .plans import address, pulumi_preview, terraform_plan, text, urn

CATALOG = load_catalog()
RULE = "aws.sagemaker.inference_component.no_plaintext_secrets"
COMPONENT = {"type": "aws_sagemaker_inference_component", "after": {
    "name": "ic", "endpoint_name": "ep", "variant_name": "main", "specification": [{"container": []}]},
    "unknown": {"specification": [{"model_name": True}]}, "refs": {"specification.model_name": ["llm"]}}


def model(environment: dict[str, str], actions: tuple[str, ...] = ("create",)) -> dict[str, Any]:
    after = {"name": "llm", "execution_role_arn": "arn:aws:iam::123456789012:role/r",
             "primary_container": [{"image": "tgi:2", "environment": environment}]}
    return {"type": "aws_sagemaker_model", "name": "llm", "after": after, "actions": list(actions),
            **({"before": after} if actions == ("no-op",) else {})}


def finding(document: dict[str, Any], resource_id: str) -> Finding:
    inventory = plan_inventory([parse_plan(text(document), "plan.json")], shipped_mappings())
    [found] = [f for f in evaluate(inventory, [CATALOG[RULE]]) if f.resource_id == resource_id]
    return found


def test_a_component_is_judged_with_the_environment_of_the_planned_model_it_runs() -> None:
    failed = finding(terraform_plan([COMPONENT, model({"HF_TOKEN": "hf-value-of-no-known-shape"})]),
                     address(COMPONENT))
    assert failed.status is Status.FAIL and "model llm" in failed.message
    assert finding(terraform_plan([COMPONENT, model({"MAX_TOTAL_TOKENS": "4096"})]),
                   address(COMPONENT)).status is Status.PASS


def test_an_unchanged_model_is_not_judged_so_the_component_is_not_passed_on_it() -> None:
    found = finding(terraform_plan([COMPONENT, model({"MAX_TOTAL_TOKENS": "4096"}, ("no-op",))]), address(COMPONENT))
    assert found.status is Status.ERROR


def test_pulumi_components_follow_their_specification_dependencies() -> None:
    component = {"type": "aws:sagemaker/inferenceComponent:InferenceComponent",
                 "inputs": {"name": "ic", "endpointName": "ep", "variantName": "main",
                            "specification": {"modelName": "UNKNOWN"}}, "refs": {"specification": ["llm"]}}
    planned_model = {"type": "aws:sagemaker/model:Model", "name": "llm",
                     "inputs": {"name": "llm", "primaryContainer": {"image": "tgi:2",
                                                                    "environment": {"DB_PASSWORD": "hunter2hunter2"}}}}
    assert finding(pulumi_preview([component, planned_model]), urn(component)).status is Status.FAIL
