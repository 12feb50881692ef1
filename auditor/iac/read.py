"""Reading a planned change: the JSON of ``terraform show -json PLANFILE`` or of ``pulumi preview --json``.

The format is told from the content: a top-level ``format_version`` (Terraform's JSON output format, major
version 1) or ``steps`` (Pulumi's preview digest). Each planned resource becomes a :class:`Planned`: its
address (Terraform) or URN (Pulumi), its type as the tool names it, the action, the planned values with
every value known only after apply replaced by :data:`~auditor.planned.AFTER_APPLY`, what each
attribute references (Terraform ``configuration`` expressions' ``references``; Pulumi
``propertyDependencies``), and where the entry is: the plan file and its line, and for Pulumi the program's
``sourcePosition`` when the engine recorded one.

Anything else, and any entry of the wrong shape, is a :class:`~auditor.errors.ConfigError` naming the file
and the JSON path (exit 3).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from auditor.errors import ConfigError
from auditor.planned import AFTER_APPLY, PULUMI_UNKNOWN

Format = Literal["terraform", "pulumi"]
EXPECTED = ("the JSON of `terraform show -json PLANFILE` (an object with format_version and resource_changes) "
            "or of `pulumi preview --json` (an object with steps)")

_TERRAFORM_ACTIONS = {("create",): "create", ("update",): "update", ("delete", "create"): "replace",
                      ("create", "delete"): "replace", ("delete",): "delete", ("no-op",): "no-op",
                      ("read",): "read", ("forget",): "delete"}
_PULUMI_OPS = {"create": "create", "update": "update", "replace": "replace", "create-replacement": "replace",
               "same": "no-op", "delete": "delete", "delete-replaced": "delete", "discard": "delete",
               "discard-replaced": "delete", "remove-pending-replace": "delete", "read": "read",
               "read-replacement": "read", "refresh": "read", "import": "import", "import-replacement": "import"}
_PULUMI_SECRET = "4dabf18193072939515e22adb298388d"  # noqa: S105 - the signature key marking a secret in Pulumi's JSON
_INDEX = re.compile(r"\[[^\]]*\]$")
_SOURCE_POSITION = re.compile(r"^project:///(?P<file>[^#]+)#(?P<line>\d+)(?:,\d+)?$")


@dataclass(frozen=True, slots=True)
class Planned:
    """One planned resource of a plan file."""

    address: str  # Terraform address / Pulumi URN: the findings' resource id
    source_type: str  # aws_sagemaker_model / aws:sagemaker/model:Model
    name: str  # Terraform: the resource name with its index; Pulumi: the URN's name
    action: str  # create, update, replace, delete, no-op, read, import
    values: Mapping[str, Any]
    references: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # attribute path -> addresses
    file: str = ""
    line: int = 0  # of the entry in the plan file (0: not found)
    source_file: str = ""  # Pulumi's sourcePosition: the program's file and line
    source_line: int = 0
    provider: str = ""  # the provider configuration (Terraform's provider_config_key, Pulumi's provider URN)


@dataclass(frozen=True, slots=True)
class Plan:
    file: str
    format: Format
    tool_version: str
    changes: tuple[Planned, ...]


def read_plan(path: Path) -> Plan:
    """The plan in ``path``; ConfigError naming the file (and line or JSON path) when it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read the plan: {e}", file=str(path)) from e
    return parse_plan(text, str(path))


def parse_plan(text: str, file: str) -> Plan:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"not JSON ({e.msg}): expected {EXPECTED}", file=file, line=e.lineno) from e
    if isinstance(data, dict) and "format_version" in data:
        return _terraform(data, text, file)
    if isinstance(data, dict) and "steps" in data:
        return _pulumi(data, text, file)
    raise ConfigError(f"not a plan this auditor reads: expected {EXPECTED}", file=file)


def _bad(file: str, where: str, what: str) -> ConfigError:
    return ConfigError(f"malformed plan: {what}", file=file, field=where)


def _lines(text: str, section: str, key: str, values: list[str]) -> Iterator[int]:
    """The line of each ``"key": value`` after ``"section"``, in order (0 when not found)."""
    cursor = text.find(f'"{section}"')
    line, counted = 1, 0
    for value in values:
        found = re.compile(rf'"{key}"\s*:\s*{re.escape(json.dumps(value))}').search(text, max(cursor, 0))
        if cursor < 0 or found is None:
            yield 0
            continue
        line += text.count("\n", counted, found.start())
        counted = cursor = found.start()
        yield line


# -- Terraform -----------------------------------------------------------------------------------------------

def _terraform(data: dict[str, Any], text: str, file: str) -> Plan:
    version = data.get("format_version")
    if not isinstance(version, str) or version.split(".")[0] != "1":
        raise _bad(file, "format_version", f"Terraform JSON format version {version!r}; this auditor reads 1.x")
    changes = data.get("resource_changes", [])
    if not isinstance(changes, list):
        raise _bad(file, "resource_changes", "must be a list")
    references = _terraform_references(data.get("configuration"), file)
    providers = _terraform_providers(data.get("configuration"))
    out: list[Planned] = []
    for i, rc in enumerate(changes):
        where = f"resource_changes[{i}]"
        if not isinstance(rc, dict):
            raise _bad(file, where, "must be an object")
        for key in ("address", "type", "name"):
            if not isinstance(rc.get(key), str) or not rc[key]:
                raise _bad(file, f"{where}.{key}", "must be a non-empty string")
        if rc.get("mode", "managed") != "managed":
            continue  # data sources are read, not planned
        change = rc.get("change")
        if not isinstance(change, dict):
            raise _bad(file, f"{where}.change", "must be an object")
        actions = change.get("actions")
        if not isinstance(actions, list) or tuple(actions) not in _TERRAFORM_ACTIONS:
            raise _bad(file, f"{where}.change.actions", f"unknown actions {actions!r}")
        after = change.get("after")
        if after is not None and not isinstance(after, dict):
            raise _bad(file, f"{where}.change.after", "must be an object or null")
        unknown = change.get("after_unknown", {})
        values = _with_unknown(after or {}, unknown if isinstance(unknown, dict) else {})
        index = rc.get("index")
        name = rc["name"] + (f"[{json.dumps(index)}]" if index is not None else "")
        out.append(Planned(address=rc["address"], source_type=rc["type"], name=name,
                           action=_TERRAFORM_ACTIONS[tuple(actions)], values=values,
                           references=references.get(_INDEX.sub("", rc["address"]), {}), file=file,
                           provider=providers.get(_INDEX.sub("", rc["address"]), "")))
    lines = _lines(text, "resource_changes", "address", [p.address for p in out])
    return Plan(file, "terraform", str(data.get("terraform_version", "")),
                tuple(_at(p, line) for p, line in zip(out, lines, strict=True)))


def _at(planned: Planned, line: int) -> Planned:
    return Planned(planned.address, planned.source_type, planned.name, planned.action, planned.values,
                   planned.references, planned.file, line, planned.source_file, planned.source_line,
                   planned.provider)


def _with_unknown(after: Any, unknown: Any) -> Any:
    """``after`` with every leaf ``after_unknown`` marks ``true`` replaced by AFTER_APPLY."""
    if unknown is True:
        return AFTER_APPLY
    if isinstance(unknown, dict) and isinstance(after, dict | None):
        base = dict(after or {})
        for key, mark in unknown.items():
            base[key] = _with_unknown(base.get(key), mark)
        return base
    if isinstance(unknown, list) and isinstance(after, list | None):
        size = max(len(after or []), len(unknown))
        items = [*(after or []), *[None] * (size - len(after or []))]
        marks = [*unknown, *[False] * (size - len(unknown))]
        return [_with_unknown(a, u) for a, u in zip(items, marks, strict=True)]
    return after


def _terraform_references(configuration: Any, file: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """Per resource address (without index): each attribute path's referenced resource addresses."""
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    if isinstance(configuration, dict):
        _module_references(configuration.get("root_module"), "", out, file, "configuration.root_module")
    return out


def _terraform_providers(configuration: Any) -> dict[str, str]:
    """Per resource address (without index): its provider configuration (``aws``, ``aws.replica``)."""
    out: dict[str, str] = {}
    modules: list[tuple[Any, str]] = [(configuration.get("root_module"), "")] if isinstance(configuration, dict) \
        else []
    while modules:
        module, prefix = modules.pop()
        if not isinstance(module, dict):
            continue
        for resource in module.get("resources") or []:
            if isinstance(resource, dict) and isinstance(resource.get("address"), str):
                out[prefix + resource["address"]] = str(resource.get("provider_config_key", ""))
        calls = module.get("module_calls") or {}
        if isinstance(calls, dict):
            modules.extend((call.get("module"), f"{prefix}module.{name}.") for name, call in calls.items()
                           if isinstance(call, dict))
    return out


def _module_references(module: Any, prefix: str, out: dict[str, dict[str, tuple[str, ...]]], file: str,
                       where: str) -> None:
    if not isinstance(module, dict):
        return
    for i, resource in enumerate(module.get("resources") or []):
        if not isinstance(resource, dict) or not isinstance(resource.get("address"), str):
            raise _bad(file, f"{where}.resources[{i}].address", "must be a string")
        refs: dict[str, tuple[str, ...]] = {}
        _expression_refs(resource.get("expressions"), "", prefix, refs)
        out[prefix + resource["address"]] = refs
    calls = module.get("module_calls") or {}
    if isinstance(calls, dict):
        for name, call in calls.items():
            if isinstance(call, dict):
                _module_references(call.get("module"), f"{prefix}module.{name}.", out, file,
                                   f"{where}.module_calls.{name}.module")


def _expression_refs(expressions: Any, path: str, prefix: str, refs: dict[str, tuple[str, ...]]) -> None:
    if isinstance(expressions, list):  # a nested block: a list of expression objects
        for block in expressions:
            _expression_refs(block, path, prefix, refs)
        return
    if not isinstance(expressions, dict):
        return
    for key, expression in expressions.items():
        attr = f"{path}.{key}" if path else key
        if isinstance(expression, dict) and isinstance(expression.get("references"), list):
            targets = [_resource_of(str(r)) for r in expression["references"]]
            found = tuple(dict.fromkeys(prefix + t for t in targets if t))
            if found:
                refs[attr] = tuple(dict.fromkeys((*refs.get(attr, ()), *found)))
        elif isinstance(expression, list | dict):
            _expression_refs(expression, attr, prefix, refs)


def _resource_of(reference: str) -> str:
    """``aws_kms_key.capture.arn`` -> ``aws_kms_key.capture``; variables, locals, data sources: empty."""
    parts = _INDEX.sub("", reference.split("[", 1)[0]).split(".")
    if parts[0] in ("var", "local", "each", "count", "path", "terraform", "self", "data", "module") or len(parts) < 2:
        return ""
    return f"{parts[0]}.{parts[1]}"


# -- Pulumi --------------------------------------------------------------------------------------------------

def _pulumi(data: dict[str, Any], text: str, file: str) -> Plan:
    steps = data["steps"]
    if not isinstance(steps, list):
        raise _bad(file, "steps", "must be a list")
    by_urn: dict[str, Planned] = {}
    for i, step in enumerate(steps):
        where = f"steps[{i}]"
        if not isinstance(step, dict):
            raise _bad(file, where, "must be an object")
        op, urn = step.get("op"), step.get("urn")
        if op not in _PULUMI_OPS:
            raise _bad(file, f"{where}.op", f"unknown operation {op!r}")
        if not isinstance(urn, str) or not urn.startswith("urn:pulumi:"):
            raise _bad(file, f"{where}.urn", "must be a Pulumi URN (urn:pulumi:...)")
        state = step.get("newState") or step.get("oldState")
        if not isinstance(state, dict):
            raise _bad(file, f"{where}.newState", "must be an object")
        if not isinstance(state.get("type"), str):
            raise _bad(file, f"{where}.newState.type", "must be a string")
        if state.get("custom") is False:
            continue  # a component resource: its children are the planned resources
        action = _PULUMI_OPS[str(op)]
        previous = by_urn.get(urn)
        if previous is not None and (previous.action == "replace" or action == "delete"):
            continue  # a replacement's create-replacement, replace and delete-replaced steps: judged once
        by_urn[urn] = _pulumi_resource(urn, action, state, file, where, str(state.get("provider") or
                                                                           step.get("provider") or ""))
    planned = list(by_urn.values())
    lines = _lines(text, "steps", "urn", [p.address for p in planned])
    return Plan(file, "pulumi", "", tuple(_at(p, line) for p, line in zip(planned, lines, strict=True)))


def _pulumi_resource(urn: str, action: str, state: Mapping[str, Any], file: str, where: str,
                     provider: str) -> Planned:
    inputs, outputs = state.get("inputs") or {}, state.get("outputs") or {}
    if not isinstance(inputs, dict) or not isinstance(outputs, dict):
        raise _bad(file, f"{where}.newState.inputs", "inputs and outputs must be objects")
    values = {**{k: v for k, v in outputs.items() if k not in inputs}, **inputs}
    deps = state.get("propertyDependencies") or {}
    references = {str(k): tuple(str(u) for u in v) for k, v in deps.items() if isinstance(v, list)} \
        if isinstance(deps, dict) else {}
    position = _SOURCE_POSITION.match(str(state.get("sourcePosition", "")))
    return Planned(address=urn, source_type=str(state["type"]), name=urn.rsplit("::", 1)[-1], action=action,
                   values=_pulumi_values(values), references=references, file=file,
                   source_file=position["file"] if position else "",
                   source_line=int(position["line"]) if position else 0, provider=provider)


def _pulumi_values(value: Any) -> Any:
    """Pulumi's JSON values as plain ones: unknowns as AFTER_APPLY, secrets as their plaintext (a secret
    whose plaintext the preview does not show is not known to the plan either)."""
    if value == PULUMI_UNKNOWN:
        return AFTER_APPLY
    if isinstance(value, dict):
        if _PULUMI_SECRET in value:
            plain = value.get("plaintext")
            if isinstance(plain, str):
                try:
                    return _pulumi_values(json.loads(plain))
                except json.JSONDecodeError:
                    return plain
            return AFTER_APPLY
        return {str(k): _pulumi_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_pulumi_values(v) for v in value]
    return value
