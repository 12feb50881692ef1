"""azure.ml.legacy_service.retired: a v1 web service is never compliant (SDK v1 support ended 2026-06-30)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.errors import MissingData
from auditor.model import Inventory, Resource
from auditor.rule_parts import Verdict


def check(resource: Resource, inventory: Inventory, params: Mapping[str, Any]) -> Verdict:
    if "*" in resource.unreadable:
        raise MissingData(f"the web service could not be read: {resource.unreadable['*']}")
    properties = resource.document.get("properties") or {}
    compute = properties.get("computeType", "unknown")
    return Verdict(False, f"It runs on {compute}; migrate it to a managed online endpoint.",
                   {"properties.computeType": compute})


CHECK = check
