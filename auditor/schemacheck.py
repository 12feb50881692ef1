"""A fast yes/no check of a JSON document against one of the tool's JSON Schemas, exactly as jsonschema decides.

jsonschema needs about a minute for a findings.json of 100,000 findings: it builds an error iterator
and an evolved validator for every node it visits, even when nothing is wrong. ``compile_check`` turns
a schema into Python source (one function per array's items, ``if``, ``not`` and ``anyOf``; the rest
inlined) that only answers "valid?", and ``error_finder`` gives jsonschema's own validator, which skips
the array items that the check proves valid, for the error message when a document is not valid. A
valid document costs one pass of plain Python; an invalid one the same pass plus jsonschema on the
items that are wrong, and the message (``best_match`` over the same errors in the same order) is the
one jsonschema alone gives.

Exactness, which the callers rely on:

- Only the Draft 2020-12 keywords in ``KEYWORDS`` are compiled (:mod:`auditor.schemacode` generates the
  source); a schema using any other raises
  :class:`UnsupportedSchemaError` (callers then use jsonschema alone). Annotations are ignored, as by jsonschema.
- A check answers for JSON's own types as ``json.loads`` builds them (``dict``, ``list``, ``str``,
  ``int``, ``float``, ``bool``, ``None``). Where a type-dependent keyword meets any other type (a
  subclass, a tuple, a Decimal) the check gives up and answers False: "not proven valid", never
  "invalid" (callers then ask jsonschema). Otherwise every keyword is decided as jsonschema decides it
  (``const``, ``enum`` and ``uniqueItems`` call jsonschema's own equality for anything but strings),
  so ``if`` takes the same branch and ``not`` has the same outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
from jsonschema import _keywords
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

from auditor.schemacode import ANNOTATIONS, KEYWORDS, Check, Compiler, UnsupportedSchemaError, resolve

__all__ = ["KEYWORDS", "Check", "FastValidator", "StreamChecks", "UnsupportedSchemaError", "compile_check",
           "error_finder", "stream_checks"]

# jsonschema's own "items" keyword and validator extension (untyped in its stubs)
_KEYWORD_ITEMS: Callable[..., Any] = _keywords.items
_EXTEND: Callable[..., Any] = jsonschema.validators.extend


def compile_check(schema: Mapping[str, Any], pointer: str = "") -> Check:
    """The check of the subschema at JSON pointer ``pointer`` (default: the whole schema).

    ``check(instance)`` is True exactly when jsonschema's Draft 2020-12 validator finds no error, for
    instances of JSON's own types; False otherwise (invalid, or holding a type it does not model).
    Raises :class:`UnsupportedSchemaError` for a schema outside the supported subset.
    """
    return Compiler(schema).checks([resolve(schema, pointer)])[0]


def error_finder(schema: Mapping[str, Any]) -> Validator:
    """jsonschema's Draft 2020-12 validator for ``schema`` that does not descend into the array items
    ``compile_check`` proves valid: they have no error to give, so ``iter_errors`` yields the same
    errors, in the same order, as the plain validator. Raises :class:`UnsupportedSchemaError` like ``compile_check``."""
    Compiler(schema).checks([schema])  # every keyword is supported, or UnsupportedSchemaError now
    checks: dict[int, tuple[Any, Check]] = {}  # id(items schema) -> (that schema, kept alive; its check)

    def items(validator: Any, items: Any, instance: Any, parent: Mapping[str, Any]) -> Iterator[ValidationError]:
        if not isinstance(items, dict) or "prefixItems" in parent or not validator.is_type(instance, "array"):
            yield from _KEYWORD_ITEMS(validator, items, instance, parent)
            return
        entry = checks.get(id(items))
        if entry is None:
            entry = checks[id(items)] = (items, Compiler(schema).checks([items])[0])
        check = entry[1]
        for index, item in enumerate(instance):
            if not check(item):
                yield from validator.descend(instance=item, schema=items, path=index)

    extended = _EXTEND(jsonschema.Draft202012Validator, validators={"items": items})
    validator: Validator = extended(schema)
    return validator


@dataclass(frozen=True)
class StreamChecks:
    """The checks of a document read in pieces: the envelope (the document with each streamed array
    replaced by ``[]``), each streamed array's items, and the items' share of the root's ``if``.

    The document is valid exactly when ``envelope(envelope document)`` holds and every item of array
    ``k`` passes ``items[k]`` and, as ``condition(envelope document)`` holds or not, ``then_items[k]``
    or ``else_items[k]`` (see :func:`stream_checks` for why).
    """

    envelope: Check
    condition: Check
    items: Mapping[str, Check]
    then_items: Mapping[str, Check]
    else_items: Mapping[str, Check]


def stream_checks(schema: Mapping[str, Any], keys: tuple[str, ...]) -> StreamChecks | None:
    """The checks for reading a document whose top-level arrays under ``keys`` are streamed, or None when
    the schema's shape does not allow splitting it exactly (callers then check the whole document).

    The split is exact when (checked here): the root uses only ``type``, ``required``, ``properties``,
    boolean ``additionalProperties`` and ``if``/``then``/``else``; each streamed key's property is
    ``{"type": "array", "items": S}``; the ``if`` looks at no streamed value (only ``required``,
    ``type`` and ``properties`` of other keys); ``then`` and ``else`` reach a streamed key only as
    ``properties: {k: {"items": T}}``. ``properties`` checks each key on its own, ``required`` and
    ``additionalProperties`` look at names only, so every constraint on an item is ``S`` or the
    chosen branch's ``T``, and every other constraint sees the same values in the envelope, where an
    empty array satisfies ``{"type": "array", "items": ...}``.
    """
    branch_keys = ANNOTATIONS | {"type", "required", "properties"}
    if not set(schema) <= branch_keys | {"additionalProperties", "if", "then", "else"}:
        return None
    if not isinstance(schema.get("additionalProperties", True), bool):
        return None
    properties = schema.get("properties", {})
    condition = schema.get("if", True)
    if isinstance(condition, dict):
        if not set(condition) <= branch_keys or set(condition.get("properties", {})) & set(keys):
            return None
    elif not isinstance(condition, bool):
        return None
    item_schemas: dict[str, list[Any]] = {}
    for key in keys:
        sub = properties.get(key)
        if not isinstance(sub, dict) or not set(sub) <= ANNOTATIONS | {"type", "items"} or sub.get("type") != "array":
            return None
        item_schemas[key] = [sub.get("items", True)]
        for branch in (schema.get("then", True), schema.get("else", True)):
            if isinstance(branch, dict):
                if not set(branch) <= branch_keys:
                    return None
                part = branch.get("properties", {}).get(key, True)
                if isinstance(part, dict) and not set(part) <= ANNOTATIONS | {"items"}:
                    return None
                item_schemas[key].append(part.get("items", True) if isinstance(part, dict) else part)
            elif isinstance(branch, bool):
                item_schemas[key].append(True)
            else:
                return None
    compiler = Compiler(schema)
    flat = [schema, condition, *(s for key in keys for s in item_schemas[key])]
    compiled = iter(compiler.checks(flat))
    envelope, condition_check = next(compiled), next(compiled)
    per_key = {key: (next(compiled), next(compiled), next(compiled)) for key in keys}
    return StreamChecks(envelope, condition_check, {k: c[0] for k, c in per_key.items()},
                        {k: c[1] for k, c in per_key.items()}, {k: c[2] for k, c in per_key.items()})


class FastValidator:
    """``iter_errors`` and ``is_valid`` as jsonschema's Draft 2020-12 validator for ``schema`` gives them, without
    walking a document that the compiled check proves valid (and, for one that is not, only its invalid
    array items). A schema the check does not cover is left to jsonschema alone."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        try:
            self.check: Check = compile_check(schema)
            self._errors = error_finder(schema)
        except UnsupportedSchemaError:
            self.check = _not_proven
            self._errors = jsonschema.Draft202012Validator(schema)

    def iter_errors(self, instance: Any) -> Iterator[ValidationError]:
        if self.check(instance):
            return iter(())
        return self._errors.iter_errors(instance)

    def is_valid(self, instance: Any) -> bool:
        return self.check(instance) or self._errors.is_valid(instance)


def _not_proven(instance: Any) -> bool:
    return False
