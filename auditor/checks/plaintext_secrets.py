"""no_plaintext_secrets of Azure ML deployments and SageMaker models: no environment variable looks like a secret.

The collectors never keep environment variable values: they record, per variable, its name, whether it has
a value and the kinds of secret the value looked like (``related.environment_variables``; SageMaker adds the
container it belongs to). This check adds the rule's name patterns (``secret_name_patterns``). Evidence
names variables (with their container, where there are several), never values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from auditor.checks import related
from auditor.model import Inventory, Resource
from auditor.rule_parts import Verdict


def judge(variables: Sequence[Mapping[str, Any]], params: Mapping[str, Any],
          evidence: Mapping[str, Any] | None = None) -> Verdict:
    """The verdict on ``variables`` (entries of ``related.environment_variables``)."""
    patterns = [re.compile(p) for p in params["secret_name_patterns"]]
    flagged: dict[str, list[str]] = {}
    names: list[str] = []
    for var in variables:
        name = str(var["name"])
        label = f"{var['container']}: {name}" if var.get("container") else name
        names.append(label)
        reasons = [f"value looks like {kind}" for kind in var.get("secret_kinds", ())]
        if var.get("has_value", True) and any(p.search(name) for p in patterns):
            reasons.append("name suggests a secret")
        if reasons:
            flagged[label] = reasons
    found: dict[str, Any] = {**(evidence or {}), "variables": sorted(names)}
    if flagged:
        found["secret_variables"] = flagged
        return Verdict(False, ", ".join(sorted(flagged)) + ".", found)
    return Verdict(True, "", found)


def check(resource: Resource, inventory: Inventory, params: Mapping[str, Any]) -> Verdict:
    return judge(related(resource, "environment_variables", "environment variables"), params)


CHECK = check
