"""azure.ml.online_deployment.no_plaintext_secrets.

The collector never keeps environment variable values: it records, per variable, its name and
the kinds of secret its value looked like (``related.environment_variables``). This check adds
the policy's name patterns. Evidence names variables, never values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from auditor.checks import related
from auditor.model import Inventory, Resource, Verdict


def check(resource: Resource, inventory: Inventory, params: Mapping[str, Any]) -> Verdict:
    variables = related(resource, "environment_variables", "environment variables")
    patterns = [re.compile(p) for p in params["secret_name_patterns"]]
    flagged: dict[str, list[str]] = {}
    for var in variables:
        name = str(var["name"])
        reasons = [f"value looks like {kind}" for kind in var.get("secret_kinds", ())]
        if var.get("has_value", True) and any(p.search(name) for p in patterns):
            reasons.append("name suggests a secret")
        if reasons:
            flagged[name] = reasons
    evidence: dict[str, Any] = {"variables": sorted(str(v["name"]) for v in variables)}
    if flagged:
        evidence["secret_variables"] = flagged
        return Verdict(False, ", ".join(sorted(flagged)) + ".", evidence)
    return Verdict(True, "", evidence)


CHECK = check
