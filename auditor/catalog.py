"""Load the rule catalog (rules/<provider>/*.yaml) and the framework mappings (rules/frameworks/).

Rules are data: loading one never runs code from the rules directory. Every file is validated
against a JSON Schema, its conditions are compiled, its check and parameters resolved, and any
problem is a ConfigError naming file, line and field.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from auditor import checks
from auditor.conditions import ConditionSyntaxError, compile_condition, params_used
from auditor.errors import ConfigError
from auditor.model import FrameworkRef, Remediation, Rule, Severity
from auditor.paths import rules_dir, schemas_dir
from auditor.yamlio import LocatedYaml, load_yaml

_MESSAGE_FIELDS = frozenset({"name", "region", "account", "type"})


@cache
def _schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((schemas_dir() / name).read_text(encoding="utf-8"))
    return loaded


def validate(doc: LocatedYaml, schema_name: str) -> None:
    """Raise ConfigError for the first schema violation (the most specific one)."""
    validator = jsonschema.Draft202012Validator(_schema(schema_name))
    errors = sorted(validator.iter_errors(doc.data), key=lambda e: (len(e.absolute_path), str(e.path)))
    if not errors:
        return
    best = jsonschema.exceptions.best_match(errors)
    path = list(best.absolute_path)
    message = best.message
    if best.validator == "oneOf" and not path:
        message = "a rule needs exactly one of 'expect' (a condition) or 'check' (a named Python check)"
    raise doc.error(message, path)


def _check_messages(doc: LocatedYaml, messages: Mapping[str, str]) -> None:
    for key, template in messages.items():
        for _, field_name, _, _ in string.Formatter().parse(template):
            if field_name is not None and field_name not in _MESSAGE_FIELDS:
                raise doc.error(
                    f"unknown placeholder '{{{field_name}}}'; allowed: {sorted(_MESSAGE_FIELDS)}",
                    ["messages", key],
                )


def parse_rule(doc: LocatedYaml) -> Rule:
    validate(doc, "rule.schema.json")
    data: dict[str, Any] = doc.data
    expected_name = f"{data['id']}.yaml"
    if Path(doc.file).name != expected_name:
        raise doc.error(f"rule id and file name differ: the file must be named {expected_name}", ["id"])
    if not data["resource_type"].startswith(data["id"].split(".")[0] + "."):
        raise doc.error("resource_type belongs to another provider than the rule id", ["resource_type"])
    compiled = {}
    for key in ("expect", "applies_when"):
        if key in data:
            try:
                compiled[key] = compile_condition(data[key], key)
            except ConditionSyntaxError as e:
                raise doc.error(str(e), e.field.replace("[", ".").replace("]", "").split(".")) from e
    params: dict[str, Any] = dict(data.get("params") or {})
    for key in ("expect", "applies_when"):
        for name in sorted(params_used(data.get(key)) - set(params)):
            raise doc.error(f"condition uses parameter '{name}' that the rule does not declare", [key])
    check = data.get("check")
    if check is not None and check not in checks.available():
        raise doc.error(f"no Python check named '{check}' (available: {sorted(checks.available())})", ["check"])
    _check_messages(doc, data["messages"])
    remediation = data["remediation"]
    return Rule(
        id=data["id"],
        title=data["title"],
        severity=Severity(data["severity"]),
        provider=data["id"].split(".")[0],
        resource_type=data["resource_type"],
        rationale=data["rationale"].strip(),
        remediation=Remediation(remediation["guidance"].strip(), remediation.get("remediator")),
        expect=compiled.get("expect"),
        check=check,
        applies_when=compiled.get("applies_when"),
        params=params,
        anchors=tuple(data.get("anchors") or ()),
        references=tuple(data.get("references") or ()),
        messages=dict(data["messages"]),
        source=doc.file,
    )


def _load_frameworks(directory: Path, rule_ids: set[str]) -> dict[str, list[FrameworkRef]]:
    refs: dict[str, list[FrameworkRef]] = {}
    if not directory.is_dir():
        return refs
    for path in sorted(directory.glob("*.yaml")):
        doc = load_yaml(path)
        validate(doc, "framework.schema.json")
        framework = doc.data["framework"]
        for ci, control in enumerate(doc.data["controls"]):
            for ri, rule_id in enumerate(control["rules"]):
                if rule_id not in rule_ids:
                    raise doc.error(f"unknown rule id '{rule_id}'", ["controls", ci, "rules", ri])
                refs.setdefault(rule_id, []).append(FrameworkRef(framework, control["id"], control["title"]))
    return refs


def load_catalog(directory: Path | None = None, providers: Sequence[str] = ("aws", "azure")) -> dict[str, Rule]:
    """Every rule of the given providers, keyed by id, with framework mappings attached."""
    base = directory or rules_dir()
    rules: dict[str, Rule] = {}
    for provider in providers:
        for path in sorted((base / provider).glob("*.yaml")):
            rule = parse_rule(load_yaml(path))
            if rule.id in rules:
                raise ConfigError(f"duplicate rule id '{rule.id}'", file=str(path), field="id")
            rules[rule.id] = rule
    all_ids = {p.stem for prov in ("aws", "azure") for p in (base / prov).glob("*.yaml")}
    frameworks = _load_frameworks(base / "frameworks", all_ids)
    return {rid: replace(rule, frameworks=tuple(frameworks.get(rid, ()))) for rid, rule in sorted(rules.items())}
