"""aws.iam.role.sagemaker_least_privilege: no broad managed policy, no wildcard Allow on '*'.

Reads the role document the IAM collector builds: ``AttachedPolicies`` (each with the default
version's ``Document``) and ``InlinePolicies`` (each with its ``PolicyDocument``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from auditor.errors import MissingData
from auditor.model import Inventory, Resource
from auditor.rule_parts import Verdict

_AWS_MANAGED = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/(?:.*/)?(?P<name>[^/]+)$")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _broad_statements(document: Any, forbidden: set[str]) -> Iterable[str]:
    """Describe each Allow statement that grants a forbidden action (or NotAction) on every resource."""
    if not isinstance(document, Mapping):
        raise MissingData("a policy document is not a JSON object")
    for i, statement in enumerate(_as_list(document.get("Statement"))):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        resources = [str(r) for r in _as_list(statement.get("Resource"))]
        if "*" not in resources:
            continue
        label = statement.get("Sid") or f"statement {i}"
        if "NotAction" in statement:
            yield f"{label} allows NotAction {_as_list(statement['NotAction'])} on *"
            continue
        actions = {str(a).lower() for a in _as_list(statement.get("Action"))}
        hits = sorted(actions & forbidden)
        if hits:
            yield f"{label} allows {hits} on *"


def check(resource: Resource, inventory: Inventory, params: Mapping[str, Any]) -> Verdict:
    for key in ("*", "AttachedPolicies", "InlinePolicies"):
        if key in resource.unreadable:
            raise MissingData(f"{key if key != '*' else 'the role'} could not be read: {resource.unreadable[key]}")
    doc = resource.document
    if "AttachedPolicies" not in doc or "InlinePolicies" not in doc:
        raise MissingData("the role's attached and inline policies were not collected")
    forbidden_names = set(params["forbidden_managed_policies"])
    forbidden_actions = {str(a).lower() for a in params["forbidden_actions"]}
    problems: list[str] = []
    broad_managed: list[str] = []
    for policy in doc["AttachedPolicies"]:
        arn = str(policy.get("PolicyArn", ""))
        m = _AWS_MANAGED.match(arn)
        if m and m.group("name") in forbidden_names:
            broad_managed.append(arn)
            continue
        if "Document" not in policy:
            raise MissingData(f"the document of attached policy {arn} was not collected")
        for s in _broad_statements(policy["Document"], forbidden_actions):
            problems.append(f"attached policy {policy.get('PolicyName', arn)}: {s}")
    for policy in doc["InlinePolicies"]:
        for s in _broad_statements(policy.get("PolicyDocument"), forbidden_actions):
            problems.append(f"inline policy {policy.get('PolicyName')}: {s}")
    evidence: dict[str, Any] = {
        "AttachedPolicies": [p.get("PolicyArn") for p in doc["AttachedPolicies"]],
        "InlinePolicies": [p.get("PolicyName") for p in doc["InlinePolicies"]],
    }
    if broad_managed:
        evidence["broad_managed_policies"] = broad_managed
    if problems:
        evidence["wildcard_statements"] = problems
    if broad_managed or problems:
        parts = ([f"broad managed policies {', '.join(broad_managed)}"] if broad_managed else []) + problems
        return Verdict(False, "; ".join(parts) + ".", evidence)
    return Verdict(True, "", evidence)


CHECK = check
