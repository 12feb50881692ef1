"""Build rule sets: the shipped catalog, rule packs, inline policy rules and plugins, one pipeline.

Every rule, wherever it comes from (a file of the shipped catalog in ``rules/<provider>/``, a rule pack
directory named by a policy, an entry in a policy's ``custom_rules``, a Python plugin of the
``auditor.rules`` entry-point group), goes through ``parse_rule``: validated against the same JSON
Schema, its conditions compiled, its check and parameters resolved. Framework mappings
(``frameworks/*.yaml`` of a pack) are validated against every rule id of the set. Any problem is a
ConfigError naming file, line and field.

Loading a rule file never runs code; only installed plugins (trusted like any installed package) do,
and a plugin that raises while loading is a ConfigError naming it.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path, PurePath
from typing import Any

import jsonschema

from auditor import checks as check_registry
from auditor.checks import Check
from auditor.conditions import ConditionSyntaxError, compile_condition, params_used
from auditor.engine import CheckLoader
from auditor.errors import ConfigError
from auditor.model import Rule, Severity
from auditor.param_values import value_problem
from auditor.paths import rules_dir, schemas_dir
from auditor.rule_parts import (
    PROCEDURE_FIELDS,
    Control,
    Framework,
    FrameworkRef,
    ManualProcedure,
    Remediation,
    ReportWords,
)
from auditor.yamlio import LocatedYaml, field_name, load_yaml

PLUGIN_GROUP = "auditor.rules"
FRAMEWORKS_DIR = "frameworks"
PLAN_DIR = "plan"  # rules/plan/<format>/*.yaml: the plan mappings, not rules
CASES_DIRS = frozenset({"cases", "rule_cases"})
CASES_SUFFIX = ".cases.yaml"

_MESSAGE_FIELDS = frozenset({"name", "region", "account", "type"})
_CHECK_NAME = re.compile(r"[a-z][a-z0-9_]*")


@cache
def json_schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((schemas_dir() / name).read_text(encoding="utf-8"))
    return loaded


def validate(doc: LocatedYaml, schema_name: str) -> None:
    """Raise ConfigError for the first schema violation (the most specific one)."""
    validator = jsonschema.Draft202012Validator(json_schema(schema_name))
    errors = sorted(validator.iter_errors(doc.data), key=lambda e: (len(e.absolute_path), str(e.path)))
    if not errors:
        return
    best = jsonschema.exceptions.best_match(errors)
    path = list(best.absolute_path)
    message = best.message
    if best.validator == "oneOf" and not path:
        message = "a rule needs exactly one of 'expect' (a condition) or 'check' (a named Python check)"
    elif best.validator == "pattern" and path and path[-1] in ("id", "resource_type"):
        message = _dotted_name_problem(str(path[-1]), best.instance, str(best.validator_value))
    raise doc.error(message, path)


def _dotted_name_problem(key: str, value: object, pattern: str) -> str:
    """What a rule id or resource type must look like, in words rather than the schema's regular expression."""
    providers = re.match(r"^\^\(([a-z|]+)\)", pattern)
    prefixes = " or ".join(f"'{p}.'" for p in providers.group(1).split("|")) if providers else "a provider"
    example = "aws.sagemaker.endpoint.tagged" if key == "id" else "aws.sagemaker.endpoint"
    noun = "rule id" if key == "id" else "resource type"
    return (f"{value!r} is not a valid {noun}: a {noun} starts with {prefixes} "
            f"(the providers this auditor knows), then lowercase words (a-z, 0-9, _) joined by dots, e.g. {example}")


@dataclass(frozen=True)
class SubDocument(LocatedYaml):
    """A part of a larger YAML file (a custom rule inside a policy): errors name the full path."""

    prefix: tuple[str | int, ...] = ()

    def line_of(self, path: Sequence[str | int]) -> int | None:
        return super().line_of([*self.prefix, *path])

    def error(self, message: str, path: Sequence[str | int]) -> ConfigError:
        full = [*self.prefix, *path]
        return ConfigError(message, file=self.file, line=self.line_of(path), field=field_name(full) or None)


def sub_document(doc: LocatedYaml, path: Sequence[str | int], data: Any) -> SubDocument:
    return SubDocument(doc.file, data, doc.root, tuple(path))


def _check_placeholders(doc: LocatedYaml, template: str, allowed: Collection[str], path: list[str | int]) -> None:
    """A ConfigError for a placeholder outside ``allowed``, or a brace that opens or closes none."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as e:
        raise doc.error(f"{e} (write a literal brace as {{{{ or }}}})", path) from e
    for name in fields:
        if name not in allowed:
            raise doc.error(f"unknown placeholder '{{{name}}}'; allowed: {sorted(allowed)}", path)


def _check_messages(doc: LocatedYaml, messages: Mapping[str, str]) -> None:
    for key, template in messages.items():
        _check_placeholders(doc, template, _MESSAGE_FIELDS, ["messages", key])


def _manual(doc: LocatedYaml, manual: Mapping[str, Any] | None) -> ManualProcedure | None:
    """The rule's manual procedure (``remediation.manual``), its step templates checked."""
    if manual is None:
        return None
    for i, step in enumerate(manual["procedure"]):
        _check_placeholders(doc, step, PROCEDURE_FIELDS, ["remediation", "manual", "procedure", i])
    return ManualProcedure(manual["disruption"], manual["disruption_detail"].strip(),
                           tuple(step.strip() for step in manual["procedure"]))


def _param_values(doc: LocatedYaml, declared: Mapping[str, list[Any]],
                  params: Mapping[str, Any]) -> dict[str, tuple[Any, ...]]:
    """The rule's enumerated parameters; each must be declared, and its default within its values."""
    for name, allowed in declared.items():
        if name not in params:
            raise doc.error(f"'{name}' is not a parameter of the rule (its parameters: "
                            f"{', '.join(sorted(params)) or 'none'})", ["param_values", name])
        default = params[name]
        if isinstance(default, bool) or not isinstance(default, str | int | float | list):
            raise doc.error(f"parameter '{name}' is {type(default).__name__}: only a string, number or list "
                            "parameter can list its values", ["param_values", name])
        problem = value_problem(name, allowed, default)
        if problem is not None:
            raise doc.error(f"the default of parameter '{name}': {problem[0]}", ["params", name, *problem[1]])
    return {name: tuple(allowed) for name, allowed in declared.items()}


def parse_rule(doc: LocatedYaml, *, extra_checks: Collection[str] = (), named_file: bool = True,
               remediators: Collection[str] | None = None) -> Rule:
    """One rule. ``named_file``: the rule is a file of its own, which must be named ``<id>.yaml``.
    ``remediators``: the automatic fixes this auditor has (the command line passes them: they live above this
    layer); a rule naming another is an error, so no rule claims an automatic fix that does not exist."""
    validate(doc, "rule.schema.json")
    data: dict[str, Any] = doc.data
    expected_name = f"{data['id']}.yaml"
    if named_file and Path(doc.file).name != expected_name:
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
    param_values = _param_values(doc, data.get("param_values") or {}, params)
    check = data.get("check")
    known_checks = check_registry.available() | frozenset(extra_checks)
    if check is not None and check not in known_checks:
        raise doc.error(f"no Python check named '{check}' (available: {sorted(known_checks)})", ["check"])
    _check_messages(doc, data["messages"])
    remediation = data["remediation"]
    remediator = remediation.get("remediator")
    if remediator is not None and remediators is not None and remediator not in remediators:
        raise doc.error(f"no automatic fix named '{remediator}' (available: {', '.join(sorted(remediators))}); "
                        "leave remediator out and write remediation.manual instead", ["remediation", "remediator"])
    return Rule(
        id=data["id"],
        title=data["title"],
        severity=Severity(data["severity"]),
        provider=data["id"].split(".")[0],
        resource_type=data["resource_type"],
        rationale=data["rationale"].strip(),
        remediation=Remediation(remediation["guidance"].strip(), remediation.get("remediator"),
                                _manual(doc, remediation.get("manual"))),
        expect=compiled.get("expect"),
        check=check,
        applies_when=compiled.get("applies_when"),
        params=params,
        param_values=param_values,
        anchors=tuple(data.get("anchors") or ()),
        references=tuple(data.get("references") or ()),
        messages=dict(data["messages"]),
        source=doc.file,
        report=ReportWords.from_json(data["report"]) if "report" in data else None,
    )


def parse_framework(doc: LocatedYaml, rule_ids: Collection[str]) -> Framework:
    validate(doc, "framework.schema.json")
    data = doc.data
    controls = []
    for ci, control in enumerate(data["controls"]):
        for ri, rule_id in enumerate(control["rules"]):
            if rule_id not in rule_ids:
                raise doc.error(f"unknown rule id '{rule_id}'", ["controls", ci, "rules", ri])
        controls.append(Control(control["id"], control["title"], tuple(control["rules"])))
    return Framework(id=data["framework"], title=data["title"], controls=tuple(controls),
                     version=str(data.get("version", "")), informative=bool(data.get("informative", False)),
                     source=str(data.get("source", "")))


# --- rule packs ------------------------------------------------------------------------------------


def is_case_file(relative: PurePath) -> bool:
    """Rule case files: ``<anything>.cases.yaml``, or any YAML file under a ``cases/`` (or ``rule_cases/``) folder."""
    return relative.name.endswith(CASES_SUFFIX) or not CASES_DIRS.isdisjoint(relative.parts[:-1])


@dataclass(frozen=True)
class Pack:
    """The YAML files of one rule directory, read but not yet parsed."""

    rules: tuple[LocatedYaml, ...]
    frameworks: tuple[LocatedYaml, ...]


def pack_files(directory: Path) -> tuple[list[Path], list[Path]]:
    """(rule files, framework files) of a rule directory; see ``read_pack``."""
    if not directory.is_dir():
        raise ConfigError("not a directory of rules", file=str(directory))
    rules: list[Path] = []
    frameworks: list[Path] = []
    for path in sorted(directory.rglob("*.yaml")):
        relative = path.relative_to(directory)
        if is_case_file(relative) or relative.parts[0] == PLAN_DIR:  # plan/: plan mappings (auditor.iac)
            continue
        (frameworks if relative.parts[0] == FRAMEWORKS_DIR else rules).append(path)
    return rules, frameworks


def read_pack(directory: Path) -> Pack:
    """Rules: every ``*.yaml`` under ``directory`` (any depth) except case files, ``frameworks/`` and ``plan/``.

    Frameworks: ``frameworks/*.yaml``. The shipped catalog is a pack like any other.
    """
    rules, frameworks = pack_files(directory)
    return Pack(tuple(load_yaml(p) for p in rules), tuple(load_yaml(p) for p in frameworks))


# --- plugins ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plugins:
    """What the ``auditor.rules`` entry points provided: rule mappings and named checks."""

    rules: tuple[LocatedYaml, ...] = ()
    checks: Mapping[str, Check] = field(default_factory=dict)


def load_plugins(group: str = PLUGIN_GROUP) -> Plugins:
    """Call every entry point of ``group``; each returns rule mappings (one or a list) or a Check.

    A Check is registered under the entry point's name, so rules use it with ``check: <name>``.
    A plugin that raises, or returns anything else, is a ConfigError naming it.
    """
    rules: list[LocatedYaml] = []
    found: dict[str, Check] = {}
    seen: dict[str, str] = {}
    for ep in sorted(entry_points(group=group), key=lambda e: (e.name, e.value)):
        where = f"entry point {group}:{ep.name} ({ep.value})"
        if ep.name in seen:
            raise ConfigError(f"two rule plugins are named '{ep.name}' ({seen[ep.name]} and {ep.value})", file=where)
        seen[ep.name] = ep.value
        try:
            produced = ep.load()()
        except Exception as e:
            raise ConfigError(f"rule plugin failed to load: {type(e).__name__}: {e}", file=where) from e
        if isinstance(produced, Mapping):
            produced = [produced]
        if isinstance(produced, list | tuple) and all(isinstance(m, Mapping) for m in produced):
            rules.extend(LocatedYaml(f"{where}[{i}]", dict(m), None) for i, m in enumerate(produced))
        elif callable(produced):
            if not _CHECK_NAME.fullmatch(ep.name):
                raise ConfigError("a plugin check's entry point name must match [a-z][a-z0-9_]*", file=where)
            if ep.name in check_registry.available():
                raise ConfigError(f"a built-in check is already named '{ep.name}'", file=where)
            found[ep.name] = produced
        else:
            raise ConfigError(f"rule plugin returned {type(produced).__name__}; expected rule mappings or a "
                              "check", file=where)
    return Plugins(tuple(rules), found)


# --- rule sets -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSet:
    """Every rule loaded (frameworks attached), the framework mappings and the plugin checks."""

    rules: Mapping[str, Rule]
    frameworks: tuple[Framework, ...] = ()
    checks: Mapping[str, Check] = field(default_factory=dict)

    def check_loader(self) -> CheckLoader:
        plugin_checks = dict(self.checks)

        def load(name: str) -> Check:
            return plugin_checks[name] if name in plugin_checks else check_registry.load(name)

        return load


@dataclass(frozen=True)
class RuleSource:
    """One rule document and whether it is a file of its own (``<id>.yaml``)."""

    doc: LocatedYaml
    named_file: bool = True


def build_rule_set(sources: Iterable[RuleSource], framework_docs: Iterable[LocatedYaml],
                   plugin_checks: Mapping[str, Check] | None = None,
                   remediators: Collection[str] | None = None) -> RuleSet:
    plugin_checks = plugin_checks or {}
    rules: dict[str, Rule] = {}
    for source in sources:
        rule = parse_rule(source.doc, extra_checks=plugin_checks.keys(), named_file=source.named_file,
                          remediators=remediators)
        if rule.id in rules:
            raise source.doc.error(f"duplicate rule id '{rule.id}' (also defined by {rules[rule.id].source})",
                                   ["id"])
        rules[rule.id] = rule
    frameworks: dict[str, Framework] = {}
    refs: dict[str, list[FrameworkRef]] = {}
    for doc in framework_docs:
        framework = parse_framework(doc, rules.keys())
        if framework.id in frameworks:
            raise doc.error(f"duplicate framework '{framework.id}'", ["framework"])
        frameworks[framework.id] = framework
        for control in framework.controls:
            for rule_id in control.rules:
                refs.setdefault(rule_id, []).append(FrameworkRef(framework.id, control.id, control.title))
    attached = {rid: replace(rule, frameworks=tuple(refs.get(rid, ()))) for rid, rule in sorted(rules.items())}
    return RuleSet(attached, tuple(sorted(frameworks.values(), key=lambda f: f.id)), dict(plugin_checks))


def load_rule_set(packs: Sequence[Path] = (), *, inline: Sequence[LocatedYaml] = (),
                  plugins: Plugins | None = None, catalog: Path | None = None,
                  remediators: Collection[str] | None = None) -> RuleSet:
    """The shipped catalog (or ``catalog``), then ``packs``, ``inline`` rules and ``plugins``: one set."""
    read = [read_pack(catalog or rules_dir()), *(read_pack(p) for p in packs)]
    plugins = plugins or Plugins()
    sources = [RuleSource(doc) for pack in read for doc in pack.rules]
    sources += [RuleSource(doc, named_file=False) for doc in (*inline, *plugins.rules)]
    return build_rule_set(sources, [doc for pack in read for doc in pack.frameworks], plugins.checks, remediators)


def load_catalog(directory: Path | None = None, providers: Sequence[str] = ("aws", "azure")) -> dict[str, Rule]:
    """Every rule of the given providers in the shipped catalog (or ``directory``), frameworks attached."""
    rule_set = load_rule_set(catalog=directory)
    return {rid: rule for rid, rule in rule_set.rules.items() if rule.provider in providers}


def load_frameworks(directory: Path | None = None) -> tuple[Framework, ...]:
    """The framework mappings of the shipped catalog (or ``directory``), checked against its rule files."""
    rules, frameworks = pack_files(directory or rules_dir())
    ids = {p.stem for p in rules}  # rule files are named <id>.yaml
    return tuple(sorted((parse_framework(load_yaml(p), ids) for p in frameworks), key=lambda f: f.id))
