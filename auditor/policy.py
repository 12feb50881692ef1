"""Policies as code: which rules a scan evaluates, how, and on which resources.

A policy is a YAML file (``--policy``), validated against ``schemas/policy.schema.json`` and then
against the rule set before any API call; every problem is a ConfigError naming file, line and field.
The shipped catalog is the base policy's rule set: ``load_policy(None)`` and a policy file run the same
pipeline (``catalog.load_rule_set``), the file only adds rule packs (``rule_dirs``), inline rules
(``custom_rules``) and its selections, parameters, severities and scopes on top.

Scope semantics (which resources each rule looks at, following an endpoint to what it uses, and the
count of what a scope left out) are in :mod:`auditor.policy_scope`.
Regions are AWS region names (botocore's) or Azure locations, by name or display name; a name that
is no known region of the entry's providers is a ConfigError listing the known ones (``auditor.regions``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jsonschema

from auditor.catalog import (
    Plugins,
    RuleSet,
    is_case_file,
    json_schema,
    load_frameworks,
    load_plugins,
    load_rule_set,
    sub_document,
)
from auditor.checks import Check
from auditor.engine import CheckLoader
from auditor.errors import ConfigError
from auditor.model import Finding, Inventory, Rule, Severity, SeverityOverride
from auditor.param_values import value_problem
from auditor.paths import rules_dir
from auditor.policy_scope import ScopeEntry, apply_scope
from auditor.regions import region_problem
from auditor.rule_parts import Framework
from auditor.rulecases import CaseResult, load_cases, run_case
from auditor.scope_model import PolicyScope
from auditor.yamlio import LocatedYaml, brief, load_yaml

SCHEMA = "policy.schema.json"
NOT_SELECTED = "not selected by the policy (rules.include / rules.exclude)"


@dataclass(frozen=True)
class Policy:
    """The rules a scan evaluates and everything needed to evaluate and report them."""

    rules: Mapping[str, Rule]  # selected, with the policy's parameters and severities
    all_rules: Mapping[str, Rule]  # every rule known, selected or not (waivers may name any)
    frameworks: tuple[Framework, ...] = ()
    excluded: Mapping[str, str] = field(default_factory=dict)  # rule id -> why it is not evaluated
    scope: tuple[ScopeEntry, ...] = ()
    checks: Mapping[str, Check] = field(default_factory=dict)  # plugin checks
    source: str = ""  # the policy file; "" for the base policy

    def check_loader(self) -> CheckLoader:
        return RuleSet(self.all_rules, self.frameworks, self.checks).check_loader()

    def apply_scope(self, findings: Iterable[Finding], inventory: Inventory) -> tuple[tuple[Finding, ...],
                                                                                    PolicyScope]:
        """The findings of resources in their rule's scope, and what the scope left out."""
        return apply_scope(self.scope, self.all_rules, findings, inventory)


def base_policy(rules: Mapping[str, Rule]) -> Policy:
    """The policy of a scan given a plain rule map: the shipped frameworks, no scope, nothing excluded."""
    return Policy(rules=dict(rules), all_rules=dict(rules), frameworks=load_frameworks())


def load_policy(path: Path | None = None, *, catalog: Path | None = None, plugins: Plugins | None = None,
                remediators: Collection[str] | None = None) -> Policy:
    """The shipped catalog (+ installed plugins), with the policy file at ``path`` applied when given.
    ``remediators``: the automatic fixes a rule may name (see :func:`auditor.catalog.parse_rule`)."""
    plugins = load_plugins() if plugins is None else plugins
    if path is None:
        rule_set = load_rule_set(plugins=plugins, catalog=catalog, remediators=remediators)
        return Policy(rules=rule_set.rules, all_rules=rule_set.rules, frameworks=rule_set.frameworks,
                      checks=rule_set.checks)
    doc = load_yaml(path)
    if doc.data is None:
        doc = LocatedYaml(doc.file, {}, doc.root)
    _validate(doc)
    data: dict[str, Any] = doc.data
    packs = []
    for i, name in enumerate(data.get("rule_dirs", ())):
        directory = (path.parent / name).resolve()
        if not directory.is_dir():
            raise doc.error(f"no such directory: {directory}", ["rule_dirs", i])
        packs.append(directory)
    inline = [sub_document(doc, ["custom_rules", i], rule) for i, rule in enumerate(data.get("custom_rules", ()))]
    rule_set = load_rule_set(packs, inline=inline, plugins=plugins, catalog=catalog, remediators=remediators)
    return _apply(doc, data, rule_set)


def _apply(doc: LocatedYaml, data: Mapping[str, Any], rule_set: RuleSet) -> Policy:
    rules = dict(rule_set.rules)
    ids = sorted(rules)
    selection = data.get("rules", {})
    include = _globs(doc, selection.get("include", ["*"]), ids, ["rules", "include"])
    exclude = _globs(doc, selection.get("exclude", []), ids, ["rules", "exclude"])
    excluded = {rid: NOT_SELECTED for rid in ids if not _any(rid, include) or _any(rid, exclude)}
    for rid, reason in data.get("disable", {}).items():
        _known(doc, rid, rules, ["disable", rid])
        excluded[rid] = f"disabled by the policy: {reason.strip()}"
    for rid, values in data.get("parameters", {}).items():
        rule = _known(doc, rid, rules, ["parameters", rid])
        for name, value in values.items():
            where: list[str | int] = ["parameters", rid, name]
            if name not in rule.params:
                declared = ", ".join(sorted(rule.params)) or "none"
                raise doc.error(f"rule {rid} has no parameter '{name}' (its parameters: {declared})", where)
            problem = _type_problem(rule.params[name], value)
            if problem is not None:
                raise doc.error(f"parameter '{name}' of rule {rid} {problem[0]}", [*where, *problem[1]])
            if name in rule.param_values:
                problem = value_problem(name, rule.param_values[name], value)
                if problem is not None:
                    raise doc.error(f"rule {rid}: {problem[0]}", [*where, *problem[1]])
        rules[rid] = replace(rule, params={**rule.params, **values})
    for rid, override in data.get("severity", {}).items():
        rule = _known(doc, rid, rules, ["severity", rid])
        rules[rid] = replace(rule, severity=Severity(override["severity"]), severity_override=SeverityOverride(
            rule.severity, override["justification"].strip(), doc.file))
    scope = []
    for i, entry in enumerate(data.get("scope", ())):
        for j, region in enumerate(entry.get("regions", ())):
            unknown = region_problem(region, entry.get("providers", ()))
            if unknown is not None:
                raise doc.error(unknown, ["scope", i, "regions", j])
        scope.append(ScopeEntry(
            index=i,
            rules=_globs(doc, entry.get("rules", ["*"]), ids, ["scope", i, "rules"]),
            providers=tuple(entry.get("providers", ())),
            accounts=tuple(str(a) for a in entry.get("accounts", ())),
            regions=tuple(entry.get("regions", ())),
            tags=dict(entry.get("tags", {})),
        ))
    return Policy(
        rules={rid: rule for rid, rule in rules.items() if rid not in excluded},
        all_rules=rules,
        frameworks=rule_set.frameworks,
        excluded=dict(sorted(excluded.items())),
        scope=tuple(scope),
        checks=rule_set.checks,
        source=doc.file,
    )


def _any(rule_id: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(rule_id, p) for p in patterns)


def _globs(doc: LocatedYaml, patterns: Sequence[str], ids: Sequence[str], where: list[str | int]) -> tuple[str, ...]:
    for j, pattern in enumerate(patterns):
        if not any(fnmatch.fnmatchcase(rid, pattern) for rid in ids):
            raise doc.error(f"'{pattern}' matches no rule id", [*where, j])
    return tuple(patterns)


def _known(doc: LocatedYaml, rule_id: str, rules: Mapping[str, Rule], where: list[str | int]) -> Rule:
    if rule_id not in rules:
        raise doc.error(f"unknown rule id '{rule_id}' (see 'auditor rules list')", where)
    return rules[rule_id]


_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"), (list, "a list"),
    (dict, "a mapping"),
)


def _kind(value: Any) -> type | None:
    return next((t for t, _ in _KINDS if isinstance(value, t)), None)


def _fits(want: type, value: Any) -> bool:
    got = _kind(value)
    return got is want or (want is float and got is int)


def _type_problem(default: Any, value: Any) -> tuple[str, list[str | int]] | None:
    """Why ``value`` cannot replace a parameter whose default is ``default`` (None: it can)."""
    want = _kind(default)
    if want is None:  # a null default takes any value
        return None
    names = dict(_KINDS)
    if not _fits(want, value):
        return f"must be {names[want]} like its default {brief(default)}, found {brief(value)}", []
    if want is list and default:
        item_kinds = {_kind(v) for v in default}
        item = item_kinds.pop() if len(item_kinds) == 1 else None
        for i, v in enumerate(value):
            if item is not None and not _fits(item, v):
                return f"items must each be {names[item]} like its default's, found {brief(v)}", [i]
    return None


def _validate(doc: LocatedYaml) -> None:
    """Schema validation; the error names the offending key itself (an unknown key, a bad rule id)."""
    if not isinstance(doc.data, dict):
        raise doc.error("a policy file is a mapping (rules, disable, parameters, severity, scope, ...)", [])
    validator = jsonschema.Draft202012Validator(json_schema(SCHEMA))
    errors = list(validator.iter_errors(doc.data))
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors)
    path: list[str | int] = list(error.absolute_path)
    message = error.message
    if "propertyNames" in error.absolute_schema_path:
        path.append(str(error.instance))
        message = f"'{error.instance}' is not a rule id (provider.service.resource.check)"
    elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        unexpected = sorted(str(k) for k in error.instance if k not in allowed)
        if unexpected:
            path.append(unexpected[0])
            message = f"unknown key '{unexpected[0]}' (allowed: {', '.join(sorted(allowed))})"
    elif error.validator == "required" and isinstance(error.instance, dict):
        missing = next(k for k in error.validator_value if k not in error.instance)
        path.append(missing)
        message = f"'{missing}' is required"
    elif error.validator == "anyOf" and path and path[0] == "scope":
        message = "a scope entry needs at least one of accounts, regions or tags"
    elif error.validator == "type" and error.instance is None:
        message = f"needs a value ({error.message})"
    elif error.validator == "type" and "accounts" in path and isinstance(error.instance, int):
        message = f"{error.instance} is a number: quote account and subscription ids (YAML drops leading zeros)"
    elif error.validator == "pattern" and error.validator_value == "\\S":
        message = "must be a non-empty text"
    raise doc.error(message, path)


# --- auditor rules test ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleTests:
    results: tuple[CaseResult, ...]
    untested: tuple[str, ...]  # rules of the directory that no case exercises


def run_rule_tests(directory: Path, *, plugins: Plugins | None = None) -> RuleTests:
    """Run the case files under ``directory`` against the shipped catalog plus the rules in ``directory``.

    Case files: ``*.cases.yaml`` anywhere, or any ``*.yaml`` under a ``cases/`` or ``rule_cases/`` folder.
    Every other ``*.yaml`` is a rule file named ``<rule id>.yaml`` (``frameworks/*.yaml``: mappings).
    """
    directory = directory.resolve()
    shipped = directory == rules_dir().resolve()
    rule_set = load_rule_set([] if shipped else [directory], plugins=load_plugins() if plugins is None else plugins)
    case_files = sorted(p for p in directory.rglob("*.yaml") if is_case_file(p.relative_to(directory)))
    if not case_files:
        raise ConfigError("no rule case files here (*.cases.yaml, or YAML files in a cases/ folder)",
                          file=str(directory))
    cases = [case for path in case_files for case in load_cases(path, rule_set.rules)]
    load_check = rule_set.check_loader()
    results = tuple(run_case(case, rule_set.rules, load_check) for case in cases)
    own = {rid for rid, rule in rule_set.rules.items() if Path(rule.source).is_relative_to(directory)}
    return RuleTests(results, tuple(sorted(own - {c.rule_id for c in cases})))


