"""The plan file: versioned JSON validated against ``auditor/schemas/plan.schema.json``.

Written with sorted keys and two-space indentation (a reviewer diffs it, a pull request shows it),
after checking that no value in it looks like a secret. Read back strictly: a file that is not JSON,
does not match the schema, or contradicts itself (two steps with one id, an executable step without
a remediator) is a ConfigError naming the file, the line and the JSON path of the field, which the
CLI turns into exit code 3.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from auditor.atomic import utf8, write_atomically
from auditor.errors import ConfigError
from auditor.paths import schemas_dir
from auditor.remediate.journal import check_no_secret
from auditor.remediate.model import Mode, Plan, PlanStep, RemediationError, plain
from auditor.schemacheck import FastValidator
from auditor.secrets import secret_kinds

SCHEMA_VERSION = "1.0"
SCHEMA_FILE = "plan.schema.json"
KIND = "auditor.remediation-plan"
REDACTED = "<redacted>"


def to_document(plan: Plan) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "created": plan.created,
        "tool": {"name": "auditor", "version": plan.tool_version},
        "source": dict(plan.source),
        "selection": dict(plan.selection),
        "summary": plan.summary(),
        **({"target": plain(plan.target)} if plan.target else {}),
        "steps": [step.to_json() for step in plan.steps],
    }


def redact_secrets(value: Any, where: str = "$", found: list[str] | None = None) -> Any:
    """``value`` with every string that looks like a secret replaced; ``found`` collects where."""
    if isinstance(value, str):
        if secret_kinds(value):
            if found is not None:
                found.append(where)
            return REDACTED
        return value
    if isinstance(value, dict):
        return {k: redact_secrets(v, f"{where}.{k}", found) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_secrets(v, f"{where}[{i}]", found) for i, v in enumerate(value)]
    return value


def _holds_secret(value: Any, clean: set[str]) -> bool:
    """Whether a string inside ``value`` (mappings, lists and tuples, as ``check_no_secret`` walks them) looks like
    a secret. ``clean``: strings already found not to, so each distinct string is scanned once."""
    if isinstance(value, str):
        if value in clean:
            return False
        if secret_kinds(value):
            return True
        clean.add(value)
        return False
    if isinstance(value, Mapping):
        return any(_holds_secret(v, clean) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_secret(v, clean) for v in value)
    return False


def render(plan: Plan) -> str:
    """The plan file's text. Findings are secret-free by contract; should a value still look like a
    secret, it is written as ``<redacted>`` (apply then refuses that step: it no longer matches).

    A plan repeats the same strings thousands of times (titles, calls, permissions): each distinct string is
    scanned once, and only a plan holding a secret is walked again to redact it and check the result."""
    document = to_document(plan)
    if _holds_secret(document, set()):
        found: list[str] = []
        document = redact_secrets(document, found=found)
        if found:
            document["redacted"] = found
        check_no_secret({k: v for k, v in document.items() if k != "redacted"})
    error = best_match(_validator().iter_errors(document))
    if error is not None:  # a bug: what we write must be what we read
        raise RemediationError(f"the plan does not match its schema at {_json_path(error.absolute_path)}: "
                               f"{error.message[:200]}")
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_plan(plan: Plan, path: Path) -> str | None:
    """Write the plan file atomically (``auditor.atomic``: a fresh temporary file, never one planted at a
    predictable name, renamed over ``path``); the target of the symbolic link that was at ``path`` and
    that the file replaced (nothing is written through it), or None."""
    data = utf8(render(plan))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_atomically(path, data)
    except OSError as exc:
        raise ConfigError(f"cannot write the plan: {exc.strerror or exc}", file=str(path)) from exc


def sha256_of(path: Path) -> str:
    try:
        with path.open("rb") as stream:  # in blocks: a findings file may be hundreds of megabytes
            return hashlib.file_digest(stream, "sha256").hexdigest()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", file=str(path)) from exc


def read_plan(path: Path) -> tuple[Plan, str]:
    """The plan in ``path`` and the SHA-256 of the file; ConfigError naming file, line and field."""
    source = str(path)
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the plan file: {exc.strerror or exc}", file=source) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc}", file=source) from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON: {exc.msg} (column {exc.colno})", file=source, line=exc.lineno) from exc
    if not isinstance(document, dict):
        raise ConfigError("a plan file is a JSON object", file=source, line=1, field="$")
    if document.get("kind") == KIND and document.get("schema_version") not in (None, SCHEMA_VERSION):
        raise ConfigError(f"schema_version {document.get('schema_version')!r} is not supported (this auditor reads "
                          f"{SCHEMA_VERSION})", file=source, line=line_of(text, ["schema_version"]),
                          field="$.schema_version")
    error = best_match(_validator().iter_errors(document))
    if error is not None:
        where = list(error.absolute_path)
        raise ConfigError(error.message[:240], file=source, line=line_of(text, where), field=_json_path(where))
    steps = tuple(PlanStep.from_json(s) for s in document["steps"])
    seen: set[str] = set()
    for index, step in enumerate(steps):
        where = ["steps", index]
        if step.id in seen:
            raise ConfigError(f"step id {step.id!r} appears twice", file=source, line=line_of(text, [*where, "id"]),
                              field=_json_path([*where, "id"]))
        seen.add(step.id)
        if step.mode in (Mode.AUTOMATIC, Mode.ACCESS_REMOVAL) and not step.remediator:
            raise ConfigError(f"an {step.mode.value} step needs a remediator", file=source,
                              line=line_of(text, [*where, "remediator"]), field=_json_path([*where, "remediator"]))
    skipped = document["summary"].get("skipped")
    plan = Plan(created=document["created"], tool_version=document["tool"]["version"], source=document["source"],
                selection=document["selection"], steps=steps,
                skipped=dict(skipped) if isinstance(skipped, dict) else {}, target=dict(document.get("target", {})))
    return plan, hashlib.sha256(raw).hexdigest()


@cache
def _validator() -> FastValidator:
    """jsonschema's errors for the plan schema, without walking a plan the compiled check proves valid."""
    schema = json.loads((schemas_dir() / SCHEMA_FILE).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return FastValidator(schema)


def _json_path(parts: Iterable[str | int]) -> str:
    path = "$"
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif str(part).isidentifier():
            path += f".{part}"
        else:
            path += "['" + str(part).replace("'", "\\'") + "']"
    return path


def line_of(text: str, path: list[str | int]) -> int | None:
    """The line of the value at ``path`` (JSON read as YAML keeps positions), or None."""
    import yaml

    from auditor.yamlio import LocatedYaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    return LocatedYaml("", None, root).line_of(path)
