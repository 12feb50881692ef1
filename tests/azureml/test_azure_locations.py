"""Azure locations are collected in Resource Manager's canonical spelling, whatever the service returned."""

from __future__ import annotations

from auditor.demo.arm_examples import as_resource, example_body, example_items
from auditor.demo.arm_server import ArmServer

from .conftest import Scan
from .estate import ML, SUB_B


def test_display_name_locations_become_resource_manager_names(scan: Scan, arm: ArmServer) -> None:
    workspace = f"/subscriptions/{SUB_B}/resourceGroups/rg-b/{ML}/ws-display"
    aks, _ = example_items("MachineLearningService/listByWorkspace.json")
    arm.add_resources([
        as_resource(example_body("Workspace/get.json"), workspace, location="North Europe"),
        as_resource(example_body("Compute/get/ComputeInstance.json"), f"{workspace}/computes/ci",
                    location="  UK South "),
        as_resource(aks, f"{workspace}/services/svc"),  # no location of its own: the workspace's
        as_resource(example_body("Workspace/get.json"), f"/subscriptions/{SUB_B}/resourceGroups/rg-b/{ML}/ws-new",
                    location="Atlantis Central 2"),  # not in the table: lowercased, spaces removed
    ])
    inventory = scan(subscriptions=(SUB_B,))
    by_id = inventory.by_id()
    assert by_id[workspace].region == "northeurope"
    assert by_id[workspace].document["location"] == "North Europe"  # the document stays as the service sent it
    assert by_id[f"{workspace}/computes/ci"].region == "uksouth"
    assert by_id[f"{workspace}/services/svc"].region == "northeurope"
    assert by_id[f"/subscriptions/{SUB_B}/resourceGroups/rg-b/{ML}/ws-new"].region == "atlantiscentral2"
    rows = {c.scope_id: c for c in inventory.coverage if c.service == "ml-workspace-children"}
    assert rows[workspace].region == "northeurope"
