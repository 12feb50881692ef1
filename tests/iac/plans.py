"""Plan JSON built from short specifications, in the shapes `terraform show -json` and `pulumi preview --json`
write (Terraform's JSON output format 1.2; Pulumi's preview digest), for the tests of auditor.iac."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # Pulumi's unknown value
STACK = "urn:pulumi:dev::ml-serving::pulumi:pulumi:Stack::ml-serving-dev"
PROVIDER = f"urn:pulumi:dev::ml-serving::pulumi:providers:aws::default_6_66_2::{UNKNOWN}"


def address(spec: Mapping[str, Any]) -> str:
    return f"{spec['type']}.{spec.get('name', 'main')}"


def urn(spec: Mapping[str, Any]) -> str:
    return f"urn:pulumi:dev::ml-serving::{spec['type']}::{spec.get('name', 'main')}"


def terraform_plan(specs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``specs``: {type, name?, after, unknown?, refs?: {attribute path: [names]}, actions?}."""
    names = {s.get("name", "main"): address(s) for s in specs}
    changes, resources = [], []
    for spec in specs:
        actions = spec.get("actions", ["create"])
        provider = "registry.terraform.io/azure/azapi" if spec["type"].startswith("azapi_") else (
            "registry.terraform.io/hashicorp/" + ("azurerm" if spec["type"].startswith("azurerm_") else "aws"))
        changes.append({
            "address": address(spec), "mode": "managed", "type": spec["type"], "name": spec.get("name", "main"),
            "provider_name": provider,
            "change": {"actions": actions, "before": spec.get("before"),
                       "after": None if actions == ["delete"] else spec.get("after", {}),
                       "after_unknown": spec.get("unknown", {}), "before_sensitive": False, "after_sensitive": {}},
        })
        expressions: dict[str, Any] = {}
        for path, targets in spec.get("refs", {}).items():
            refs = [r for t in targets for r in (f"{names[t]}.id", names[t])]
            node = expressions
            *parents, leaf = path.split(".")
            for parent in parents:  # a nested block: a list of one expression object
                node = node.setdefault(parent, [{}])[0]
            node[leaf] = {"references": refs}
        resources.append({"address": address(spec), "mode": "managed", "type": spec["type"],
                          "name": spec.get("name", "main"), "provider_config_key": provider.rsplit("/", 1)[-1],
                          "expressions": expressions, "schema_version": 0})
    return {"format_version": "1.2", "terraform_version": "1.9.8", "resource_changes": changes,
            "configuration": {"root_module": {"resources": resources}}, "applyable": True, "complete": True,
            "errored": False}


def _pulumi_value(value: Any) -> Any:
    if value == "UNKNOWN":
        return UNKNOWN
    if isinstance(value, dict):
        return {k: _pulumi_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_pulumi_value(v) for v in value]
    return value


def pulumi_preview(specs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``specs``: {type, name?, inputs, outputs?, refs?: {input property: [names]}, op?}."""
    urns = {s.get("name", "main"): urn(s) for s in specs}
    steps: list[dict[str, Any]] = [{"op": "same", "urn": STACK, "newState": {
        "urn": STACK, "custom": False, "type": "pulumi:pulumi:Stack", "inputs": {}, "outputs": {}}}]
    for spec in specs:
        inputs = _pulumi_value(spec.get("inputs", {}))
        state = {"urn": urn(spec), "custom": True, "type": spec["type"], "inputs": inputs,
                 "outputs": {**inputs, **_pulumi_value(spec.get("outputs", {}))}, "parent": STACK,
                 "provider": PROVIDER,
                 "propertyDependencies": {k: [urns[n] for n in v] for k, v in spec.get("refs", {}).items()}}
        op = spec.get("op", "create")
        step: dict[str, Any] = {"op": op, "urn": urn(spec), "provider": PROVIDER}
        step["oldState" if op in ("delete", "delete-replaced") else "newState"] = state
        steps.append(step)
    return {"config": {}, "steps": steps, "duration": 1000000000,
            "changeSummary": {"create": len(specs), "same": 1}}


def text(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2)
