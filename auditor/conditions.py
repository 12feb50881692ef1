"""The small condition language rules are written in.

A condition is a mapping, parsed once when the catalog loads:

    {path: KmsKeyId, op: present}
    {path: "ProductionVariants[?ServerlessConfig == null] | length(@)", op: gt, value: 0}
    {path: properties.authMode, op: in, value: {param: allowed_auth_modes}}
    {path: properties.publicNetworkAccess, op: eq, value: Disabled, on_missing: fail}
    {all: [...]}, {any: [...]}, {not: {...}}

``path`` is a JMESPath expression over the resource's own API document; a path that starts with
``related.`` reads what the collector derived instead (``related.fronts``: the model endpoints an
API Management API routes to). Value operators
(eq, in, gte, ...) raise MissingData when the path resolves to nothing: a missing field is
never silently a PASS or a FAIL, unless the rule says ``on_missing: fail`` because the service
documents absence as the non-compliant default (Azure's ``publicNetworkAccess`` is Enabled
when not set). Presence operators (present, absent, truthy, falsy, empty,
not_empty) treat "nothing" as an answer. A path whose first key the collector could not read
raises MissingData naming why.

A planned change (``auditor scan plan``) may hold values known only after apply
(:class:`~auditor.planned.AfterApply`): ``present``, ``absent``, ``empty`` and ``not_empty`` count them as
present; every other operator needs the value itself and raises MissingData "known only after apply".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jmespath
import jmespath.exceptions
from jmespath.parser import ParsedResult

from auditor.errors import MissingData
from auditor.model import Resource
from auditor.planned import (
    AFTER_APPLY_TEXT,
    NotInPlan,
    field_names,
    holds_after_apply,
    lead_chain,
    plan_gap,
    unknown_under,
)
from auditor.rule_parts import Verdict
from auditor.yamlio import brief

_LEADING_KEY = re.compile(r'^\s*(?:"([^"]+)"|([A-Za-z_][A-Za-z0-9_]*))')

PRESENCE_OPS = frozenset({"present", "absent", "truthy", "falsy", "empty", "not_empty"})
VALUE_OPS = frozenset({"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "matches"})
OPERATORS = PRESENCE_OPS | VALUE_OPS
SHAPE_OPS = frozenset({"present", "absent", "empty", "not_empty"})  # decided by a value known only after apply


class ConditionSyntaxError(ValueError):
    """A condition that cannot be compiled; ``field`` is the dotted location inside the rule."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _is_empty(v: Any) -> bool:
    return v is None or (isinstance(v, (str, list, dict)) and len(v) == 0)


def _ordered(op: str) -> Callable[[Any, Any], bool]:
    def compare(actual: Any, expected: Any) -> bool:
        if isinstance(actual, bool) or not isinstance(actual, (int, float)):
            raise TypeError(f"operator '{op}' needs a number, found {type(actual).__name__} {actual!r}")
        if op == "gt":
            return bool(actual > expected)
        if op == "gte":
            return bool(actual >= expected)
        if op == "lt":
            return bool(actual < expected)
        return bool(actual <= expected)

    return compare


def _equal(actual: Any, expected: Any) -> bool:
    """Python's equality, except that a boolean only equals a boolean (``true`` is not ``1``), at any depth."""
    if isinstance(actual, bool) != isinstance(expected, bool):
        return False
    if isinstance(actual, list) and isinstance(expected, list):
        return len(actual) == len(expected) and all(_equal(a, e) for a, e in zip(actual, expected, strict=True))
    if isinstance(actual, dict) and isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(_equal(actual[k], expected[k]) for k in actual)
    return bool(actual == expected)


def _contains(actual: Any, expected: Any) -> bool:
    if not isinstance(actual, (list, str)):
        raise TypeError(f"operator 'contains' needs a list or string, found {type(actual).__name__}")
    return any(_equal(item, expected) for item in actual) if isinstance(actual, list) else expected in actual


def _matches(actual: Any, expected: Any) -> bool:
    if not isinstance(actual, str):
        raise TypeError(f"operator 'matches' needs a string, found {type(actual).__name__}")
    return re.search(str(expected), actual) is not None


def _in(actual: Any, expected: Any) -> bool:
    if not isinstance(expected, (list, tuple)):
        raise TypeError(f"operator 'in' needs a list value, found {type(expected).__name__}")
    return any(_equal(actual, item) for item in expected)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": _equal,
    "ne": lambda a, e: not _equal(a, e),
    "in": _in,
    "not_in": lambda a, e: not _in(a, e),
    "gt": _ordered("gt"),
    "gte": _ordered("gte"),
    "lt": _ordered("lt"),
    "lte": _ordered("lte"),
    "contains": _contains,
    "matches": _matches,
}

_PRESENCE: dict[str, Callable[[Any], bool]] = {
    "present": lambda v: v is not None,
    "absent": lambda v: v is None,
    "truthy": bool,
    "falsy": lambda v: not v,
    "empty": _is_empty,
    "not_empty": lambda v: not _is_empty(v),
}


@dataclass(frozen=True)
class _Test:
    path: str
    op: str
    value: Any
    compiled: ParsedResult
    on_missing: str = "error"  # "error" | "fail"
    fields: tuple[str, ...] | None = None  # the keys of a plain ``a.b.c`` path, read without the interpreter
    related: bool = False  # the path starts with ``related.``
    lead: str | None = None  # the ``unreadable`` key the path starts in (see _leading_key)
    chain: tuple[str, ...] = ()  # the field lookups the path starts with (``a.b`` of ``a.b[?c]``)
    names: frozenset[str] = frozenset()  # every field the path reads (filters included)

    def evaluate(self, resource: Resource, params: Mapping[str, Any]) -> Verdict:
        _check_readable(self.lead, resource)
        root = {"related": resource.related} if self.related else resource.document
        actual = self._search(root)
        evidence = {self.path: actual}
        if self.op not in SHAPE_OPS and holds_after_apply(actual):
            raise MissingData(f"'{self.path}' is {AFTER_APPLY_TEXT}")
        if self.op in _PRESENCE:
            passed = _PRESENCE[self.op](actual)
        else:
            if actual is None and self.on_missing == "fail":
                return Verdict(False, f"{self.path} is not set", evidence)
            if actual is None:
                raise MissingData(f"'{self.path}' is missing from the {resource.type} document")
            expected = _resolve(self.value, params)
            passed = _COMPARE[self.op](actual, expected)
        return Verdict(passed, f"{self.path} {self.op} {_describe(self.value)}", evidence)

    def _search(self, root: Any) -> Any:
        """The path's value. In a planned change (:mod:`auditor.planned`): a plain path whose value is known
        only after apply has that value (present, of unknown value); a path through one, or an expression reading
        one, cannot be answered (MissingData "known only after apply"); a value the plan cannot tell raises
        MissingData saying why."""
        gap, depth = plan_gap(root, self.chain) if self.chain else (None, 0)
        if isinstance(gap, NotInPlan):
            raise MissingData(f"'{self.path}' is not decided by this plan: {gap}")
        if gap is not None:
            if self.fields is not None and depth == len(self.fields):
                return gap
            raise MissingData(f"'{self.path}' is {AFTER_APPLY_TEXT}")
        if self.fields is not None:
            return _walk(root, self.fields)
        if self.names and unknown_under(root, self.names):
            raise MissingData(f"'{self.path}' reads values {AFTER_APPLY_TEXT}")
        try:
            return self.compiled.search(root)
        except jmespath.exceptions.JMESPathError as e:
            if holds_after_apply(root):  # a function given a value the plan does not know yet
                raise MissingData(f"'{self.path}' depends on values {AFTER_APPLY_TEXT}") from e
            raise

    def paths(self) -> tuple[str, ...]:
        return (self.path,)

    def describe(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        path = json.dumps(self.path, ensure_ascii=False) if re.search(r"[\s\"]", self.path) else self.path
        if self.op in _PRESENCE:
            return (f"{path} {self.op}",)
        missing = "FAIL" if self.on_missing == "fail" else "ERROR"
        return (f"{path} {self.op} {_readable(self.value, params)}   (when missing: {missing})",)


@dataclass(frozen=True)
class _Combine:
    kind: str  # "all" | "any"
    parts: tuple[_Test | _Combine | _Not, ...]

    def evaluate(self, resource: Resource, params: Mapping[str, Any]) -> Verdict:
        evidence: dict[str, Any] = {}
        results: list[bool] = []
        for part in self.parts:  # evaluate every part: evidence shows every value that was looked at
            v = part.evaluate(resource, params)
            evidence.update(v.evidence)
            results.append(v.passed)
        passed = all(results) if self.kind == "all" else any(results)
        return Verdict(passed, self.kind, evidence)

    def paths(self) -> tuple[str, ...]:
        return tuple(p for part in self.parts for p in part.paths())

    def describe(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        return (f"{self.kind} of:", *_items(self.parts, params))


@dataclass(frozen=True)
class _Not:
    inner: _Test | _Combine | _Not

    def evaluate(self, resource: Resource, params: Mapping[str, Any]) -> Verdict:
        v = self.inner.evaluate(resource, params)
        return Verdict(not v.passed, f"not ({v.message})", v.evidence)

    def paths(self) -> tuple[str, ...]:
        return self.inner.paths()

    def describe(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        return ("not:", *_items((self.inner,), params))


Node = _Test | _Combine | _Not


def _field_chain(node: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The keys of a JMESPath AST made only of field lookups (``a.b.c``), else None."""
    if node.get("type") == "field":
        return (str(node["value"]),)
    if node.get("type") == "subexpression":
        keys: tuple[str, ...] = ()
        for child in node.get("children", ()):
            part = _field_chain(child)
            if part is None:
                return None
            keys += part
        return keys
    return None


def _walk(root: Any, fields: tuple[str, ...]) -> Any:
    """What JMESPath answers for a field chain: each key looked up in a mapping, None once off the tree."""
    value = root
    for key in fields:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _describe(value: Any) -> str:
    if isinstance(value, Mapping) and "param" in value:
        return f"<param {brief(value['param'])}>"
    return brief(value, limit=200)


def _items(parts: Sequence[Node], params: Mapping[str, Any]) -> tuple[str, ...]:
    """Each part as a list item, its own lines indented under it."""
    lines: list[str] = []
    for part in parts:
        first, *rest = part.describe(params)
        lines += [f"  - {first}", *(f"    {line}" for line in rest)]
    return tuple(lines)


def _readable(value: Any, params: Mapping[str, Any]) -> str:
    """A condition's value as JSON (strings quoted, null, true): ``{param: x}`` names x and its value."""
    if isinstance(value, Mapping) and set(value) == {"param"}:
        name = value["param"]
        current = json.dumps(params[name], ensure_ascii=False) if name in params else "(not set)"
        return f"parameter {name} = {current}"
    return json.dumps(value, ensure_ascii=False)


def _resolve(value: Any, params: Mapping[str, Any]) -> Any:
    if isinstance(value, Mapping) and set(value) == {"param"}:
        name = value["param"]
        if name not in params:
            raise KeyError(f"rule parameter '{name}' is not set")
        return params[name]
    return value


_RELATED_KEY = re.compile(r"^\s*related\.(?:\"([^\"]+)\"|([A-Za-z_][A-Za-z0-9_]*))")


def _reads_related(path: str) -> bool:
    return _RELATED_KEY.match(path) is not None


def _leading_key(path: str) -> str | None:
    """The ``unreadable`` key a path starts in: its first key, or ``related.KEY`` for a related path."""
    related = _RELATED_KEY.match(path)
    m = related or _LEADING_KEY.match(path)
    if not m:
        return None
    key = m.group(1) or m.group(2)
    return f"related.{key}" if related else key


def _check_readable(key: str | None, resource: Resource) -> None:
    if "*" in resource.unreadable:
        raise MissingData(f"{resource.type} could not be read: {resource.unreadable['*']}")
    if key is not None and key in resource.unreadable:
        raise MissingData(f"'{key}' could not be read: {resource.unreadable[key]}")


def compile_condition(spec: Any, field: str = "expect", *, negated: bool = False) -> Node:
    """Turn the YAML form into a condition; raises ConditionSyntaxError naming the field.

    ``field`` starts with the rule key (``expect`` or ``applies_when``); ``negated``: the spec sits under an
    odd number of ``not``, where ``on_missing: fail`` would turn a missing value into a true test, which
    ``expect`` refuses (a PASS on a missing value); in ``applies_when`` it means the rule applies.
    """
    if not isinstance(spec, Mapping):
        raise ConditionSyntaxError("a condition must be a mapping", field)
    keys = set(spec)
    for combinator in ("all", "any"):
        if combinator in keys:
            if keys != {combinator}:
                raise ConditionSyntaxError(f"'{combinator}' cannot be combined with other keys", field)
            parts = spec[combinator]
            if not isinstance(parts, Sequence) or isinstance(parts, str) or not parts:
                raise ConditionSyntaxError(f"'{combinator}' needs a non-empty list", f"{field}.{combinator}")
            return _Combine(
                combinator,
                tuple(compile_condition(p, f"{field}.{combinator}[{i}]", negated=negated) for i, p in enumerate(parts)),
            )
    if "not" in keys:
        if keys != {"not"}:
            raise ConditionSyntaxError("'not' cannot be combined with other keys", field)
        return _Not(compile_condition(spec["not"], f"{field}.not", negated=not negated))
    unknown = keys - {"path", "op", "value", "on_missing"}
    if unknown:
        raise ConditionSyntaxError(f"unknown key(s) {sorted(unknown)}", field)
    path, op = spec.get("path"), spec.get("op")
    if not isinstance(path, str) or not path.strip():
        raise ConditionSyntaxError("'path' must be a JMESPath expression", f"{field}.path")
    if op not in OPERATORS:
        raise ConditionSyntaxError(f"'op' must be one of {sorted(OPERATORS)}", f"{field}.op")
    if op in VALUE_OPS and "value" not in spec:
        raise ConditionSyntaxError(f"operator '{op}' needs a 'value'", f"{field}.value")
    if op in PRESENCE_OPS and "value" in spec:
        raise ConditionSyntaxError(f"operator '{op}' takes no 'value'", f"{field}.value")
    on_missing = spec.get("on_missing", "error")
    if on_missing not in ("error", "fail"):
        raise ConditionSyntaxError("'on_missing' must be 'error' or 'fail'", f"{field}.on_missing")
    if on_missing == "fail" and op in PRESENCE_OPS:
        raise ConditionSyntaxError(f"'on_missing' has no meaning for operator '{op}'", f"{field}.on_missing")
    if on_missing == "fail" and negated and not field.startswith("applies_when"):
        raise ConditionSyntaxError("'on_missing: fail' inside 'not' would make a missing value PASS; state the test "
                                   "without 'not' (ne for eq, not_in for in)", f"{field}.on_missing")
    value = spec.get("value")
    if op == "matches" and isinstance(value, str):
        try:
            re.compile(value)
        except re.error as e:
            raise ConditionSyntaxError(f"bad regular expression: {e}", f"{field}.value") from e
    try:
        compiled = jmespath.compile(path)
    except jmespath.exceptions.JMESPathError as e:
        raise ConditionSyntaxError(f"bad JMESPath expression: {e}", f"{field}.path") from e
    return _Test(path, str(op), value, compiled, on_missing, _field_chain(compiled.parsed), _reads_related(path),
                 _leading_key(path), lead_chain(compiled.parsed), frozenset(field_names(compiled.parsed)))


def params_used(spec: Any) -> set[str]:
    """Names of the rule parameters a condition refers to (for load-time validation)."""
    found: set[str] = set()
    if isinstance(spec, Mapping):
        if set(spec) == {"param"} and isinstance(spec["param"], str):
            found.add(spec["param"])
        for v in spec.values():
            found |= params_used(v)
    elif isinstance(spec, list):
        for v in spec:
            found |= params_used(v)
    return found
