"""Builders for the policy tests: policy files, rule mappings and Azure ML resources by hand."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from auditor.model import CoverageRow, Inventory, Resource

SUB = "00000000-0000-0000-0000-00000000c0de"
WS = f"/subscriptions/{SUB}/resourceGroups/ml/providers/Microsoft.MachineLearningServices/workspaces/ws"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def rule_yaml(rule_id: str, resource_type: str, expect: str, *, check: str | None = None,
              severity: str = "medium") -> str:
    """A rule file in the catalog's format; ``expect`` is a flow-style condition (or None with ``check``)."""
    decided = f"check: {check}" if check else f"expect: {expect}"
    return textwrap.dedent(f"""\
        id: {rule_id}
        title: A custom rule written by a platform team
        severity: {severity}
        resource_type: {resource_type}
        rationale: The platform team requires this of every resource.
        {decided}
        messages: {{pass: "{{name}} complies.", fail: "{{name}} does not comply."}}
        remediation: {{guidance: Make the resource comply with the team's rule.}}
        """)


def rule_mapping(rule_id: str, resource_type: str, **decided: Any) -> dict[str, Any]:
    return {
        "id": rule_id, "title": "A rule a plugin provides", "severity": "high", "resource_type": resource_type,
        "rationale": "The plugin's authors require it.",
        "messages": {"pass": "{name} passes.", "fail": "{name} fails."},
        "remediation": {"guidance": "Follow the plugin's guidance."}, **decided,
    }


def endpoint(name: str, *, auth: str, public: str, env: str) -> Resource:
    rid = f"{WS}/onlineEndpoints/{name}"
    return Resource(id=rid, type="azure.ml.online_endpoint", provider="azure", account=SUB, region="westeurope",
                    name=name, document={"id": rid, "name": name, "properties": {"authMode": auth,
                                                                              "publicNetworkAccess": public}},
                    tags={"env": env})


def workspace() -> Resource:
    approved = {"name": "pe", "properties": {"privateLinkServiceConnectionState": {"status": "Approved"}}}
    return Resource(id=WS, type="azure.ml.workspace", provider="azure", account=SUB, region="westeurope",
                    name="ws", document={"id": WS, "properties": {"publicNetworkAccess": "Disabled",
                                                                  "privateEndpointConnections": [approved]}},
                    tags={"env": "prod"})


def inventory(*resources: Resource) -> Inventory:
    coverage = CoverageRow("azure", SUB, "*", "machinelearningservices", f"/subscriptions/{SUB}",
                           ("azure.ml.workspace", "azure.ml.online_endpoint"), len(resources))
    return Inventory(resources=resources, coverage=(coverage,), scopes=(f"azure:{SUB}",))
