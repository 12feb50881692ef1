"""Rule cases: a resource document and the status a rule must give it, like a unit test for policy.

A case file (YAML) holds ``rule: <id>`` and ``cases: [{name, expect, document, related?,
unreadable?, inventory?, params?}]``; ``inventory`` lists other resources a Python check may look
up, ``params`` overrides rule parameters for that case.
The shipped catalog's cases live beside its rules, ``rules/<provider>/<id>.cases.yaml``, and ship with
them: ``auditor rules test`` runs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from auditor import checks as check_registry
from auditor.engine import CheckLoader, evaluate_one
from auditor.model import CoverageRow, Finding, Inventory, Resource, Rule, Status
from auditor.yamlio import LocatedYaml, load_yaml

_STATUSES = {s.value for s in Status} - {Status.MUTED.value}


@dataclass(frozen=True)
class RuleCase:
    rule_id: str
    name: str
    expect: Status
    resource: Resource
    inventory: Inventory
    file: str
    line: int | None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseResult:
    case: RuleCase
    finding: Finding

    @property
    def ok(self) -> bool:
        return self.finding.status is self.case.expect


def _resource(spec: Mapping[str, Any], resource_type: str, provider: str, default_name: str) -> Resource:
    name = str(spec.get("name", default_name))
    return Resource(
        id=str(spec.get("id", f"{provider}:test:{resource_type}:{name}")),
        type=str(spec.get("type", resource_type)),
        provider=provider,
        account=str(spec.get("account", "123456789012")),
        region=str(spec.get("region", "eu-west-1")),
        name=name,
        document=dict(spec.get("document") or {}),
        related=dict(spec.get("related") or {}),
        tags=dict(spec.get("tags") or {}),
        unreadable=dict(spec.get("unreadable") or {}),
    )


def parse_cases(doc: LocatedYaml, rules: Mapping[str, Rule]) -> list[RuleCase]:
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("rule"), str):
        raise doc.error("a case file needs 'rule: <rule id>'", ["rule"])
    rule_id = data["rule"]
    if rule_id not in rules:
        raise doc.error(f"unknown rule id '{rule_id}'", ["rule"])
    rule = rules[rule_id]
    cases = data.get("cases")
    if not isinstance(cases, list) or not cases:
        raise doc.error("'cases' must be a non-empty list", ["cases"])
    out = []
    for i, case in enumerate(cases):
        if not isinstance(case, dict):
            raise doc.error("each case must be a mapping", ["cases", i])
        if case.get("expect") not in _STATUSES:
            raise doc.error(f"'expect' must be one of {sorted(_STATUSES)}", ["cases", i, "expect"])
        if not isinstance(case.get("name"), str):
            raise doc.error("'name' is required", ["cases", i, "name"])
        params = case.get("params") or {}
        if not isinstance(params, dict) or set(params) - set(rule.params):
            raise doc.error(f"'params' may only set the rule's parameters {sorted(rule.params)}",
                            ["cases", i, "params"])
        resource = _resource(case, rule.resource_type, rule.provider, f"case-{i}")
        others = tuple(_resource(o, str(o.get("type", "")), rule.provider, f"other-{j}")
                       for j, o in enumerate(case.get("inventory") or []))
        coverage = CoverageRow(rule.provider, resource.account, resource.region, "test", "test",
                               (rule.resource_type,), 1)
        out.append(RuleCase(rule_id, case["name"], Status(case["expect"]), resource,
                            Inventory((resource, *others), (coverage,)), doc.file,
                            doc.line_of(["cases", i]), dict(params)))
    return out


def load_cases(path: Path, rules: Mapping[str, Rule]) -> list[RuleCase]:
    return parse_cases(load_yaml(path), rules)


def run_case(case: RuleCase, rules: Mapping[str, Rule], load_check: CheckLoader = check_registry.load) -> CaseResult:
    """Evaluate one case; ``load_check`` resolves checks (plugins add theirs through a policy's rule set)."""
    rule = rules[case.rule_id]
    if case.params:
        rule = replace(rule, params={**rule.params, **case.params})
    return CaseResult(case, evaluate_one(rule, case.resource, case.inventory, load_check))
