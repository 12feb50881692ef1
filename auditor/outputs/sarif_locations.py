"""Where a SARIF result of report.sarif is: its physical and logical location, from a findings.json finding.

Cloud resources have no file, and GitHub needs a physical location to show an alert: each result points
at a stable pseudo path built from the resource id (``aws/ACCOUNT/REGION/SERVICE/RESOURCE...`` from an
ARN, ``azure/subscriptions/...`` from a Resource Manager id, lower-cased as Azure compares ids), each
segment percent-encoded, line 1; the logical location carries the full id. A planned change (``auditor
scan plan``) points at the program's line, or its entry in the plan file, instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from auditor.identity import resource_key


def location(f: Mapping[str, Any]) -> dict[str, Any]:
    """The one location of finding ``f``'s result: where to show it, and the resource by its full id."""
    return {
        "physicalLocation": _physical(f),
        "logicalLocations": [{
            "name": f["resource_name"] or _leaf(f["resource_id"]),
            "fullyQualifiedName": f["resource_id"],
            "kind": "resource",
            "properties": {"resource_type": f["resource_type"], "provider": f["provider"],
                           "account": f["account"], "region": f["region"],
                           **({"action": f["plan"]["action"], "planned_type": f["plan"]["type"]}
                              if "plan" in f else {})},
        }],
    }


def _physical(f: Mapping[str, Any]) -> dict[str, Any]:
    """Where a result is: for a planned change (``auditor scan plan``) the program's line when the plan input
    gives one (Pulumi's sourcePosition), else the resource's entry in the plan file; for a cloud resource
    a stable URI made from its id (:func:`artifact_uri`)."""
    plan = f.get("plan")
    if plan is None:
        return {"artifactLocation": {"uri": artifact_uri(f)}, "region": {"startLine": 1}}
    where = plan.get("source") or {"file": plan["file"], "line": plan.get("line", 1)}
    return {"artifactLocation": {"uri": quote(str(where["file"]).replace("\\", "/"), safe="/:._-~")},
            "region": {"startLine": int(where["line"])}}


def artifact_uri(f: Mapping[str, Any]) -> str:
    """A stable relative URI for a cloud resource, unique per resource id.

    ARN ``arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`` -> ``PARTITION/ACCOUNT/REGION/SERVICE/RESOURCE``
    (the resource split on ``/``; an empty account or region comes from the finding, or ``global``);
    Resource Manager id -> ``azure/`` + the path of its resource key (lower-cased). Each segment is
    percent-encoded.
    """
    resource_id: str = f["resource_id"]
    segments: list[str]
    parts = resource_id.split(":", 5)
    if f["provider"] == "aws" and len(parts) == 6 and parts[0] == "arn":
        _, partition, service, region, account, resource = parts
        segments = [partition or "aws", account or f["account"], region or f["region"] or "global", service,
                    *resource.split("/")]
    elif f["provider"] == "azure" and resource_id.startswith("/"):
        segments = ["azure", *resource_key("azure", resource_id).strip("/").split("/")]
    else:
        segments = [f["provider"], f["account"], f["region"], *f["resource_type"].split("."), resource_id]
    return "/".join(_segment(s) for s in segments)


@lru_cache(maxsize=4096)  # accounts, regions and services repeat across thousands of results
def _segment(value: str) -> str:
    if value in ("", ".", ".."):  # no empty or dot segment: a consumer could normalise the path
        return "-" if not value else value.replace(".", "%2E")
    return quote(value, safe="")


def _leaf(resource_id: str) -> str:
    return re.split(r"[/:]", resource_id.rstrip("/"))[-1] or resource_id
