"""Reading plans: the format told from the content, malformed input named by file and JSON path, values known
only after apply, references, deleted and replaced resources, types no mapping covers."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from auditor.catalog import load_catalog
from auditor.engine import evaluate
from auditor.errors import ConfigError
from auditor.iac.collect import plan_inventory
from auditor.iac.mapping import load_mappings, shipped_mappings
from auditor.iac.read import parse_plan, read_plan
from auditor.model import Finding, Inventory, Status
from auditor.planned import AFTER_APPLY, AfterApply

from .plans import pulumi_preview, terraform_plan, text, urn

FIXTURES = Path(__file__).with_name("fixtures")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plans"  # the samples double as fixtures
CATALOG = load_catalog()


def inventory_of(document: dict[str, Any]) -> Inventory:
    return plan_inventory([parse_plan(text(document), "plan.json")], shipped_mappings())


def findings_of(document: dict[str, Any]) -> dict[tuple[str, str], Finding]:
    return {(f.rule_id, f.resource_id): f for f in evaluate(inventory_of(document), CATALOG.values())}


# -- the format ----------------------------------------------------------------------------------------------

def test_the_format_is_told_from_the_content() -> None:
    assert read_plan(EXAMPLES / "sagemaker-kms-capture.terraform.json").format == "terraform"
    assert read_plan(EXAMPLES / "sagemaker-kms-capture.pulumi.json").format == "pulumi"


@pytest.mark.parametrize("content", ['{"resources": []}', "[]", '{"version": 3, "deployment": {}}'])
def test_anything_else_names_what_was_expected(content: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_plan(content, "state.json")
    assert "state.json" in str(e.value)
    assert "terraform show -json" in str(e.value) and "pulumi preview --json" in str(e.value)


def test_text_that_is_not_json_names_the_line() -> None:
    with pytest.raises(ConfigError) as e:
        parse_plan('{\n  "format_version": "1.2",\n  "resource_changes": [,]\n}', "plan.json")
    assert e.value.file == "plan.json" and e.value.line == 3


def test_a_format_version_this_auditor_does_not_read() -> None:
    with pytest.raises(ConfigError, match=r"format version '2\.0'"):
        parse_plan('{"format_version": "2.0", "resource_changes": []}', "plan.json")


@pytest.mark.parametrize(("change", "field"), [
    (lambda p: p["resource_changes"][1]["change"].__setitem__("actions", ["explode"]),
     "resource_changes[1].change.actions"),
    (lambda p: p["resource_changes"][0].__setitem__("address", 7), "resource_changes[0].address"),
    (lambda p: p["resource_changes"][1]["change"].__setitem__("after", [1, 2]), "resource_changes[1].change.after"),
    (lambda p: p.__setitem__("resource_changes", {}), "resource_changes"),
])
def test_malformed_terraform_names_file_and_json_path(change: Any, field: str) -> None:
    plan = json.loads((EXAMPLES / "sagemaker-kms-capture.terraform.json").read_text())
    change(plan)
    with pytest.raises(ConfigError) as e:
        parse_plan(json.dumps(plan), "tf.json")
    assert e.value.file == "tf.json" and e.value.field == field


@pytest.mark.parametrize(("change", "field"), [
    (lambda p: p["steps"][2].__setitem__("op", "teleport"), "steps[2].op"),
    (lambda p: p["steps"][2].__setitem__("urn", "arn:aws:x"), "steps[2].urn"),
    (lambda p: p["steps"][2].pop("newState"), "steps[2].newState"),
])
def test_malformed_pulumi_names_file_and_json_path(change: Any, field: str) -> None:
    plan = json.loads((EXAMPLES / "sagemaker-kms-capture.pulumi.json").read_text())
    change(plan)
    with pytest.raises(ConfigError) as e:
        parse_plan(json.dumps(plan), "preview.json")
    assert e.value.file == "preview.json" and e.value.field == field


def test_each_entry_has_its_line_in_the_plan_file() -> None:
    plan = read_plan(EXAMPLES / "sagemaker-kms-capture.terraform.json")
    lines = (EXAMPLES / "sagemaker-kms-capture.terraform.json").read_text().splitlines()
    for planned in plan.changes:
        assert f'"address": "{planned.address}"' in lines[planned.line - 1]


# -- values known only after apply ---------------------------------------------------------------------------

def test_terraform_after_unknown_and_pulumi_unknowns_become_after_apply() -> None:
    tf = read_plan(EXAMPLES / "sagemaker-kms-capture.terraform.json").changes
    config = next(p for p in tf if p.address == "aws_sagemaker_endpoint_configuration.scoring")
    assert config.values["kms_key_arn"] is AFTER_APPLY
    assert config.values["data_capture_config"][0]["kms_key_id"] is AFTER_APPLY
    assert config.values["data_capture_config"][0]["enable_capture"] is True
    pulumi = read_plan(EXAMPLES / "sagemaker-kms-capture.pulumi.json").changes
    config = next(p for p in pulumi if p.address.endswith("EndpointConfiguration::scoring"))
    assert isinstance(config.values["kmsKeyArn"], AfterApply)


def test_presence_operators_count_an_unknown_as_present() -> None:
    """The config's key is the ARN of a key the same plan creates: set, whatever its value will be."""
    found = findings_of(terraform_plan([{"type": "aws_sagemaker_endpoint_configuration", "after": {
        "name": "c", "production_variants": [{"variant_name": "a", "instance_type": "ml.m5.large",
                                              "initial_instance_count": 2}]},
        "unknown": {"kms_key_arn": True}}]))
    assert found[("aws.sagemaker.endpoint_config.kms_volume_encryption",
                  "aws_sagemaker_endpoint_configuration.main")].status is Status.PASS


def test_value_operators_answer_error_known_only_after_apply() -> None:
    found = findings_of(pulumi_preview([{"type": "aws:sagemaker/model:Model", "inputs": {
        "name": "m", "enableNetworkIsolation": "UNKNOWN", "vpcConfig": "UNKNOWN"}}]))
    isolation = found[("aws.sagemaker.model.network_isolation", urn({"type": "aws:sagemaker/model:Model"}))]
    assert isolation.status is Status.ERROR and "known only after apply" in isolation.message
    vpc = found[("aws.sagemaker.model.vpc", urn({"type": "aws:sagemaker/model:Model"}))]
    assert vpc.status is Status.ERROR  # VpcConfig.Subnets inside an unknown block: not known to be set
    assert "known only after apply" in vpc.message


def test_an_unknown_inside_a_function_is_known_only_after_apply() -> None:
    found = findings_of(terraform_plan([{"type": "aws_sagemaker_endpoint_configuration", "after": {
        "name": "c", "production_variants": [{"variant_name": "a", "instance_type": "ml.m5.large"}]},
        "unknown": {"production_variants": [{"initial_instance_count": True}]}}]))
    multi = found[("aws.sagemaker.endpoint_config.multi_instance", "aws_sagemaker_endpoint_configuration.main")]
    assert multi.status is Status.ERROR and "known only after apply" in multi.message


def test_a_mapping_may_say_what_an_unknown_becomes(tmp_path: Path) -> None:
    source = Path(shipped_mappings().by_source[("terraform", "aws_sagemaker_model")][0].file).read_text()
    changed = source.replace("EnableNetworkIsolation: {from: enable_network_isolation, default: false}",
                             "EnableNetworkIsolation: {from: enable_network_isolation, unknown_as: false}")
    assert changed != source
    (tmp_path / "m.yaml").write_text(changed)
    plan = parse_plan(text(terraform_plan([{"type": "aws_sagemaker_model", "after": {"name": "m"},
                                            "unknown": {"enable_network_isolation": True}}])), "p.json")
    inventory = plan_inventory([plan], load_mappings([tmp_path / "m.yaml"]))
    [finding] = evaluate(inventory, [CATALOG["aws.sagemaker.model.network_isolation"]])
    assert finding.status is Status.FAIL


# -- references ----------------------------------------------------------------------------------------------

def test_a_config_names_the_planned_keys_it_references_and_each_key_is_judged_as_planned() -> None:
    inventory = plan_inventory([read_plan(EXAMPLES / "sagemaker-kms-capture.terraform.json")], shipped_mappings())
    config = inventory.by_id()["aws_sagemaker_endpoint_configuration.scoring"]
    assert config.related["kms_keys"] == ["aws_kms_key.volume", "aws_kms_key.capture"]
    assert config.related["models"] == ["aws_sagemaker_model.scoring"]
    found = {(f.rule_id, f.resource_id): f.status for f in evaluate(inventory, CATALOG.values())}
    assert found[("aws.kms.key.rotation_enabled", "aws_kms_key.capture")] is Status.PASS
    assert found[("aws.kms.key.rotation_enabled", "aws_kms_key.volume")] is Status.FAIL


def test_an_endpoint_is_judged_with_the_data_capture_of_the_planned_config_it_references() -> None:
    found = findings_of(json.loads((EXAMPLES / "sagemaker-kms-capture.terraform.json").read_text()))
    assert found[("aws.sagemaker.endpoint.data_capture_encrypted", "aws_sagemaker_endpoint.scoring")].status \
        is Status.PASS  # the config's capture key is aws_kms_key.capture's ARN, known after apply


def test_an_endpoint_whose_config_is_not_in_the_plan_is_not_guessed() -> None:
    found = findings_of(terraform_plan([{"type": "aws_sagemaker_endpoint",
                                         "after": {"name": "e", "endpoint_config_name": "existing-config"}}]))
    capture = found[("aws.sagemaker.endpoint.data_capture_enabled", "aws_sagemaker_endpoint.main")]
    assert capture.status is Status.ERROR and "not part of this plan" in capture.message


def test_planned_role_assignments_feed_identity_least_privilege() -> None:
    found = findings_of(json.loads((FIXTURES / "terraform_azure_ml.json").read_text()))
    least = found[("azure.ml.online_endpoint.identity_least_privilege", "azapi_resource.scorer")]
    assert least.status is Status.FAIL and "Contributor at resource_group" in least.message


def test_assignments_of_an_identity_that_exists_before_the_plan_are_not_known() -> None:
    entry = {"type": "azapi_resource", "actions": ["update"], "before": {}, "after": {
        "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints@2024-04-01", "name": "e",
        "body": {"properties": {"authMode": "AADToken"}}, "identity": [{"type": "SystemAssigned"}]}}
    reader = {"type": "azurerm_role_assignment", "name": "reader", "refs": {"principal_id": ["main"]},
              "after": {"role_definition_name": "Reader",
                        "scope": "/subscriptions/s/resourceGroups/ml/providers/x/y/z"}}
    least = findings_of(terraform_plan([entry, reader]))[
        ("azure.ml.online_endpoint.identity_least_privilege", "azapi_resource.main")]
    assert least.status is Status.ERROR and "outside this plan" in least.message


# -- deleted, replaced, unsupported --------------------------------------------------------------------------

def test_deleted_resources_get_no_finding_and_replaced_ones_are_judged_as_planned() -> None:
    for fixture in ("sagemaker-kms-capture.terraform.json", "sagemaker-kms-capture.pulumi.json"):
        inventory = plan_inventory([read_plan(EXAMPLES / fixture)], shipped_mappings())
        ids = {r.id: r for r in inventory.resources}
        assert not [i for i in ids if i.endswith(("legacy", "::legacy"))], fixture
        batch = next(r for i, r in ids.items() if i.endswith(("batch", "::batch")))
        assert batch.related["plan"]["action"] == "replace"
        assert batch.document["ProductionVariants"][0]["ModelName"] == "batch-model"  # the new state
        found = {f.rule_id: f.status for f in evaluate(inventory, CATALOG.values()) if f.resource_id == batch.id}
        assert found["aws.sagemaker.endpoint_config.multi_instance"] is Status.FAIL


def test_unchanged_resources_are_not_judged() -> None:
    plan = copy.deepcopy(terraform_plan([{"type": "aws_kms_key", "after": {"enable_key_rotation": False},
                                          "actions": ["no-op"], "before": {"enable_key_rotation": False}}]))
    assert findings_of(plan) == {}


def test_types_no_mapping_covers_are_listed_in_a_coverage_row_and_never_judged() -> None:
    inventory = plan_inventory([read_plan(EXAMPLES / "sagemaker-kms-capture.terraform.json")], shipped_mappings())
    [row] = [c for c in inventory.coverage if "not judged" in c.service]
    assert "aws_iam_role_policy_attachment" in row.service and row.resources == 1 and row.collected
    assert row.resource_types == ()
    assert not [r for r in inventory.resources if r.id.startswith("aws_iam_role_policy_attachment")]


def test_pulumi_secrets_are_read_from_their_plaintext() -> None:
    preview = pulumi_preview([{"type": "aws:sagemaker/model:Model", "inputs": {"name": "m"}}])
    preview["steps"][1]["newState"]["inputs"]["enableNetworkIsolation"] = {
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "plaintext": "true"}
    found = findings_of(preview)
    assert found[("aws.sagemaker.model.network_isolation", urn({"type": "aws:sagemaker/model:Model"}))].status \
        is Status.PASS


def test_an_apim_api_in_front_of_a_planned_endpoint_is_linked_as_at_run_time() -> None:
    from auditor.pipeline import link

    inventory = link(plan_inventory([read_plan(EXAMPLES / "apim-front.terraform.json")], shipped_mappings()))
    by_id = inventory.by_id()
    for api in ("azurerm_api_management_api.score", "azurerm_api_management_api.score_secure"):
        [front] = by_id[api].related["fronts"]
        assert front["id"] == "azapi_resource.scorer" and front["host"] == "scorer.westeurope.inference.ml.azure.com"
    assert by_id["azurerm_api_management_api.score_secure"].related["fronts"][0]["via"] == "backend:scorer-backend"
    assert by_id["azurerm_api_management_api.score"].related["products"][0]["subscriptionRequired"] is False
    found = {(f.rule_id, f.resource_id): f.status for f in evaluate(inventory, CATALOG.values())}
    assert found[("azure.apim.api.model_endpoint_protected", "azurerm_api_management_api.score")] is Status.FAIL
    assert found[("azure.apim.api.model_endpoint_protected", "azurerm_api_management_api.score_secure")] \
        is Status.PASS  # validate-jwt in its planned policy
    assert found[("azure.apim.backend.https_url", "azurerm_api_management_backend.scorer")] is Status.PASS


def test_an_api_of_a_service_outside_the_plan_has_an_unknown_service_policy() -> None:
    from auditor.pipeline import link

    plan = terraform_plan([{"type": "azurerm_api_management_api", "refs": {"service_url": ["fraud"]},
                            "after": {"name": "score", "api_management_name": "existing-gw", "path": "score",
                                      "protocols": ["https"], "subscription_required": False},
                            "unknown": {"service_url": True}},
                           {"type": "azapi_resource", "name": "fraud", "after": {
                               "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints@2024-04-01",
                               "name": "fraud", "location": "westeurope",
                               "body": {"properties": {"authMode": "Key"}}}}])
    inventory = link(inventory_of(plan))
    [finding] = list(evaluate(inventory, [CATALOG["azure.apim.api.model_endpoint_protected"]]))
    assert finding.status is Status.ERROR and "service-level policy" in finding.message


def test_an_endpoint_whose_planned_config_is_deleted_is_not_judged_with_it() -> None:
    plan = terraform_plan([
        {"type": "aws_sagemaker_endpoint", "after": {"name": "e"}, "unknown": {"endpoint_config_name": True},
         "refs": {"endpoint_config_name": ["old"]}},
        {"type": "aws_sagemaker_endpoint_configuration", "name": "old", "actions": ["delete"],
         "before": {"name": "old", "data_capture_config": [{"enable_capture": True}]}}])
    capture = findings_of(plan)[("aws.sagemaker.endpoint.data_capture_enabled", "aws_sagemaker_endpoint.main")]
    assert capture.status is Status.ERROR and "not part of this plan" in capture.message


def test_an_azapi_resource_of_an_unmapped_type_is_named_by_its_resource_manager_type() -> None:
    deployments = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments"
    inventory = inventory_of(terraform_plan([{"type": "azapi_resource", "after": {
        "type": f"{deployments}@2024-04-01", "name": "blue", "body": {"properties": {}}}}]))
    [row] = inventory.coverage
    assert row.service.endswith(f"azapi_resource ({deployments})") and row.provider == "azure"
    assert inventory.resources == ()


def test_references_inside_a_module_name_the_module_s_own_resources() -> None:
    plan = terraform_plan([
        {"type": "aws_sagemaker_endpoint", "after": {"name": "e"}, "unknown": {"endpoint_config_name": True}},
        {"type": "aws_sagemaker_endpoint_configuration", "name": "c", "after": {
            "name": "c", "data_capture_config": [{"enable_capture": False}]}}])
    for change in plan["resource_changes"]:
        change["address"] = f"module.serving.{change['address']}"
        change["module_address"] = "module.serving"
    resources = plan["configuration"]["root_module"].pop("resources")
    resources[0]["expressions"] = {"endpoint_config_name": {
        "references": ["aws_sagemaker_endpoint_configuration.c.name", "aws_sagemaker_endpoint_configuration.c"]}}
    plan["configuration"]["root_module"]["module_calls"] = {
        "serving": {"source": "./serving", "module": {"resources": resources}}}
    found = findings_of(plan)
    capture = found[("aws.sagemaker.endpoint.data_capture_enabled", "module.serving.aws_sagemaker_endpoint.main")]
    assert capture.status is Status.FAIL  # judged with the module's config: capture off
