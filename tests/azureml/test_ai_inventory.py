"""Azure AI Services / Azure OpenAI accounts through the real collector and SDK pipeline against the stand-in.

Northwind's AI estate (``auditor.demo.ai_estate``): four accounts in two subscriptions, one of a kind that serves
no deployable model (Face), five deployments and two custom content filter policies.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from auditor.catalog import load_catalog
from auditor.demo.ai_estate import AiDemoEstate, build_ai_estate, northwind_ai_spec
from auditor.demo.arm_model import subscription_document
from auditor.demo.arm_server import ArmServer
from auditor.model import CoverageRow, Inventory, Resource
from auditor.pipeline import ScanInputs, evaluate_inventory
from auditor.providers.azure.collect import AzureOptions, collect_azure

from .conftest import RecordingCredential

PROD, DEV = "7a1e0c2d-3b4f-4a5e-8c6d-000000a10001", "7a1e0c2d-3b4f-4a5e-8c6d-000000a10002"
ESTATE: AiDemoEstate = build_ai_estate(northwind_ai_spec(PROD, DEV))
OPEN = ESTATE.ids["account"]["ais-nw-prod-eus"]
LOCKED = ESTATE.ids["account"]["oai-nw-prod-weu"]
FACE = ESTATE.ids["account"]["face-nw-dev"]
SECRET_KEY = "0123456789abcdef0123456789abcdef"
HUB = ("Endpoint=sb://nw-metrics.servicebus.windows.net/;SharedAccessKeyName=send;"
       "SharedAccessKey=bm9ydGh3aW5kLWZha2UtZXZlbnQtaHViLWtleS0wMDAwMA==")


@pytest.fixture
def arm(monkeypatch: pytest.MonkeyPatch) -> Iterator[ArmServer]:
    docs = [copy.deepcopy(d) for d in ESTATE.documents]
    for doc in docs:  # a QnA-style apiProperties block with secrets, on the open account
        if doc["id"] == OPEN:
            doc["properties"]["apiProperties"] = {"qnaAzureSearchEndpointKey": SECRET_KEY,
                                                  "eventHubConnectionString": HUB, "statisticsEnabled": True}
    with ArmServer(docs, subscriptions=[subscription_document(PROD, "ai-prod"), subscription_document(DEV, "ai-dev")],
                   page_size=1) as server:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_bundle)
        yield server


def scan(arm: ArmServer) -> Inventory:
    return collect_azure(AzureOptions(arm_endpoint=arm.url), credential=RecordingCredential())


def ai_verdicts(inventory: Inventory) -> dict[tuple[str, str], str]:
    result = evaluate_inventory(ScanInputs(rules=load_catalog(providers=("azure",))), inventory, datetime.now(UTC))
    return {(f.rule_id, f.resource_id): f.status.value for f in result.findings if f.rule_id.startswith("azure.ai.")}


def rows(inventory: Inventory, service: str) -> dict[str, CoverageRow]:
    return {c.scope_id: c for c in inventory.coverage if c.service == service}


def by_id(inventory: Inventory) -> dict[str, Resource]:
    return {r.id: r for r in inventory.resources}


def test_every_account_is_inventoried_and_each_rule_reaches_the_seeded_verdict(arm: ArmServer) -> None:
    inventory = scan(arm)
    assert inventory.complete, [c.error for c in inventory.coverage if c.error]
    accounts = {r.name: r for r in inventory.of_type("azure.ai.account")}
    assert set(accounts) == {"oai-nw-prod-weu", "ais-nw-prod-eus", "oai-nw-dev", "face-nw-dev"}
    assert accounts["face-nw-dev"].related == {"serves_models": False, "deployments": []}  # its rules: N/A
    assert len(inventory.of_type("azure.ai.deployment")) == 5
    assert ai_verdicts(inventory) == dict(ESTATE.expected)
    statuses = {rule: {s for (r, _), s in ESTATE.expected.items() if r == rule} for rule, _ in ESTATE.expected}
    for rule, seen in statuses.items():
        assert {"PASS", "FAIL"} <= seen, (rule, seen)
    # the joins: deployments under their account, each policy matched by name, the identity's roles resolved
    locked = accounts["oai-nw-prod-weu"]
    assert [d.rsplit("/", 1)[-1] for d in locked.related["deployments"]] == ["gpt-4o-mini-batch", "gpt-4o-support"]
    assert [a["roleName"] for a in locked.related["role_assignments"]] == ["Storage Blob Data Reader"]
    batch = by_id(inventory)[ESTATE.ids["deployment"]["oai-nw-prod-weu/gpt-4o-mini-batch"]]
    assert batch.related["account"] == LOCKED and batch.related["rai_policy"]["name"] == "nw-strict"
    assert len(rows(inventory, "ai-account-children")) == 3  # the Face account has no children to list


def test_each_distinct_thing_is_read_once_and_no_key_is_ever_listed(arm: ArmServer) -> None:
    scan(arm)
    calls = arm.requests
    ns = "Microsoft.CognitiveServices"
    assert calls[("GET", f"/subscriptions/{{}}/providers/{ns}/accounts")] == 4  # 2 subscriptions, 4 pages of one
    deployments = calls[("GET", f"/subscriptions/{{}}/resourceGroups/{{}}/providers/{ns}/accounts/{{}}/deployments")]
    policies = calls[("GET", f"/subscriptions/{{}}/resourceGroups/{{}}/providers/{ns}/accounts/{{}}/raiPolicies")]
    assert deployments == 2 + 2 + 1 and policies == 1 + 1 + 1  # one item a page; none for the Face account
    assert not [shape for _, shape in calls if "listkeys" in shape.lower() or "regeneratekey" in shape.lower()]
    assert {version for shape, version in arm.api_versions if ns in shape} == {"2025-06-01"}


def test_secret_shaped_account_properties_are_redacted_as_they_are_read(arm: ArmServer) -> None:
    inventory = scan(arm)
    text = json.dumps(dataclasses.asdict(inventory), default=str)
    assert SECRET_KEY not in text and "SharedAccessKey=" not in text
    api = by_id(inventory)[OPEN].document["properties"]["apiProperties"]
    assert api["qnaAzureSearchEndpointKey"] == "<redacted>" and api["statisticsEnabled"] is True


def test_a_denied_accounts_list_is_a_failed_row_for_both_types_never_a_clean_result(arm: ArmServer) -> None:
    arm.deny(f"/subscriptions/{PROD}/providers/Microsoft.CognitiveServices/accounts")
    inventory = scan(arm)
    row = rows(inventory, "ai-accounts")[f"/subscriptions/{PROD}"]
    assert row.error and "access denied" in row.error
    assert row.resource_types == ("azure.ai.account", "azure.ai.deployment")
    assert not inventory.complete
    assert {r.name for r in inventory.of_type("azure.ai.account")} == {"oai-nw-dev", "face-nw-dev"}


def test_a_failed_deployments_list_errors_the_accounts_row(arm: ArmServer) -> None:
    arm.deny(f"{OPEN}/deployments")
    inventory = scan(arm)
    row = rows(inventory, "ai-account-children")[OPEN]
    assert row.error and "deployments list failed" in row.error
    assert "related.deployments" in by_id(inventory)[OPEN].unreadable
    assert not inventory.complete


def test_unreadable_policies_make_custom_filters_error_but_built_ins_are_still_judged(arm: ArmServer) -> None:
    arm.deny(f"{LOCKED}/raiPolicies")
    inventory = scan(arm)
    assert rows(inventory, "ai-account-children")[LOCKED].error
    got = ai_verdicts(inventory)
    rule = "azure.ai.deployment.content_filter"
    assert got[rule, ESTATE.ids["deployment"]["oai-nw-prod-weu/gpt-4o-mini-batch"]] == "ERROR"  # custom nw-strict
    assert got[rule, ESTATE.ids["deployment"]["oai-nw-prod-weu/gpt-4o-support"]] == "PASS"  # Microsoft.DefaultV2


def test_a_deployment_naming_a_policy_the_account_lacks_is_error(arm: ArmServer) -> None:
    arm.remove_resource(f"{OPEN}/raiPolicies/nw-relaxed")
    got = ai_verdicts(scan(arm))
    assert got["azure.ai.deployment.content_filter", ESTATE.ids["deployment"]["ais-nw-prod-eus/phi-4-chat"]] == "ERROR"


def test_unreadable_role_assignments_are_error_not_pass(arm: ArmServer) -> None:
    arm.deny(f"/subscriptions/{PROD}/providers/Microsoft.Authorization/roleAssignments")
    got = ai_verdicts(scan(arm))
    assert got["azure.ai.account.identity_least_privilege", LOCKED] == "ERROR"
    assert got["azure.ai.account.identity_least_privilege", FACE] == "NOT_APPLICABLE"
