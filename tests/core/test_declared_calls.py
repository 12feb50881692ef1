"""The declarations the permissions come from: resource types, remediators' calls, and the meta-test over real runs.

``call_audit`` (installed for every test by ``tests/conftest.py``) fails a test in which the auditor makes a call
it does not declare; the tests here show it does (so it can fail), and that every declaration is one the code
uses: a declared type has a collector and a rule, a plan's calls are its remediator's.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any, ClassVar

import boto3
import call_audit
import pytest
from botocore.stub import Stubber

from auditor.catalog import load_catalog
from auditor.providers import get, names
from auditor.providers.aws import resource_types as aws_types
from auditor.providers.aws.session import call
from auditor.providers.azure import resource_types as azure_types
from auditor.remediate import available, load

DECLARED = {"aws": aws_types, "azure": azure_types}


@pytest.fixture
def undeclared() -> Iterator[list[str]]:
    """What call_audit caught in this test, taken out of its list so the test itself does not fail for it."""
    caught: list[str] = []
    yield caught
    caught.extend(call_audit.UNDECLARED)
    call_audit.UNDECLARED.clear()


_ANSWERS = {"list_notebook_instances": {"NotebookInstances": []}, "list_endpoints": {"Endpoints": []}}


def _stubbed_sagemaker(*methods: str) -> tuple[Any, Stubber]:
    """A real SageMaker client answering ``methods``, in this order, from botocore's Stubber (no network)."""
    client = boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing", endpoint_url="https://sagemaker.invalid")
    stubber = Stubber(client)
    for method in methods:
        stubber.add_response(method, _ANSWERS[method])
    return client, stubber


def test_a_scan_call_no_type_declares_is_caught(undeclared: list[str]) -> None:
    client, stubber = _stubbed_sagemaker("list_endpoints", "list_notebook_instances")
    with stubber:
        call(client, "list_endpoints")  # declared by aws.sagemaker.endpoint
        assert call_audit.UNDECLARED == []
        call(client, "list_notebook_instances")  # through the auditor's own call(): the scan's
    assert call_audit.UNDECLARED == ["the aws scan called sagemaker:ListNotebookInstances, which it does not declare"]


class _Remediator:
    """Looks like a remediator to call_audit: an object of a ``…remediators.…`` module with ``calls``."""

    name: ClassVar[str] = "probe"
    calls: ClassVar[tuple[str, ...]] = ("sagemaker:ListEndpoints",)

    def apply(self, client: Any) -> None:
        call(client, "list_endpoints")
        call(client, "list_notebook_instances")


_Remediator.__module__ = "auditor.providers.aws.remediators.probe"


def test_a_remediator_call_outside_its_declared_calls_is_caught(undeclared: list[str]) -> None:
    client, stubber = _stubbed_sagemaker("list_endpoints", "list_notebook_instances")
    with stubber:
        _Remediator().apply(client)
    assert call_audit.UNDECLARED == ["remediator probe called sagemaker:ListNotebookInstances, which it does not "
                                     "declare"]


def test_calls_from_outside_the_auditor_are_not_checked(undeclared: list[str]) -> None:
    client, stubber = _stubbed_sagemaker("list_notebook_instances")
    with stubber:
        client.list_notebook_instances()  # a test seeding its estate
    assert call_audit.UNDECLARED == []


def test_azure_requests_map_to_the_declared_call_form(undeclared: list[str]) -> None:
    ws = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w"
    assert call_audit.azure_call("get", f"https://arm{ws}/computes?api-version=1") == \
        "GET Microsoft.MachineLearningServices/workspaces/computes"
    assert call_audit.azure_call("PUT", f"https://arm{ws}/onlineEndpoints/e") == \
        "PUT Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
    assert call_audit.azure_call("GET", "https://arm/subscriptions?api-version=1") == \
        "GET Microsoft.Resources/subscriptions"
    assert call_audit.azure_call("GET", "https://arm/metadata/endpoints?api-version=1") is None
    # An id in another spelling is the same type: Resource Manager compares them case-insensitively.
    lower = call_audit.azure_call("GET", f"https://arm{ws.lower()}/computes")
    assert lower == "GET microsoft.machinelearningservices/workspaces/computes"
    scan: dict[str, Any] = {"__name__": "auditor.providers.azure.probe", "sys": sys, "check": call_audit.check}
    exec("def made(call):\n    return check('azure', call, sys._getframe(0))", scan)  # a call of the Azure scan
    assert scan["made"](lower) is None
    assert scan["made"]("GET microsoft.machinelearningservices/workspaces/jobs") is not None


@pytest.mark.parametrize("provider", names())
def test_every_declared_type_has_a_collector_and_a_rule(provider: str) -> None:
    """A declared type nothing collects, or no rule reads, fails here: its calls would widen the policy for nothing."""
    declared = DECLARED[provider]
    ids = [t.id for t in declared.TYPES]
    assert len(ids) == len(set(ids)) and all(i.startswith(f"{provider}.") for i in ids)
    rules_of = {r.resource_type for r in load_catalog().values() if r.provider == provider}
    assert rules_of <= set(ids), "rules of an undeclared type"
    # Every declared type has a rule, but the API Management service: read for the policy its APIs inherit.
    assert set(ids) - rules_of == ({"azure.apim.service"} if provider == "azure" else set())
    for resource_type in declared.TYPES:
        assert resource_type.list or resource_type.describe, resource_type.id
        if resource_type.paging is not None:  # listed and described by one client of the generic collector
            assert resource_type.list and resource_type.describe, resource_type.id
            assert resource_type.list[0].split(":")[0] == resource_type.describe[0].split(":")[0], resource_type.id
        if resource_type.settings is not None:  # read once a region by its first describe call, never listed
            assert resource_type.describe and not resource_type.list and resource_type.paging is None
    # The coverage rows of a scan that could not start name every declared type: each has a collector row.
    from auditor.model import Inventory

    covered: set[str] = set()
    inventory: Inventory
    if provider == "aws":
        from auditor.providers.aws.collect import _not_collected
        from auditor.providers.aws.session import Identity

        inventory = _not_collected(Identity("1", "", "aws"), ("us-east-1",), "e", "e")
    else:
        from auditor.providers.azure.collect import _not_collected as azure_not_collected

        inventory = azure_not_collected(("s",), "e")
    for row in inventory.coverage:
        covered.update(row.resource_types)
    assert covered == set(ids)


@pytest.mark.parametrize("name", sorted(available()))
def test_a_remediators_permissions_are_the_actions_of_its_calls(name: str) -> None:
    fix = load(name)
    assert fix.calls and fix.permissions == DECLARED[fix.provider].actions(fix.calls)


def test_the_printed_policies_are_the_declared_calls_actions() -> None:
    scan = get("aws").permissions("scan")["Statement"][0]["Action"]
    assert scan == list(aws_types.actions((*aws_types.PROVIDER_CALLS, *(c for t in aws_types.TYPES for c in t.calls))))
    role = get("azure").permissions("scan")["Actions"]
    assert role == list(azure_types.actions((*azure_types.PROVIDER_CALLS,
                                             *(c for t in azure_types.TYPES for c in t.calls))))
