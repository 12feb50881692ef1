"""Python source for the compiled schema check of :mod:`auditor.schemacheck`: one function per schema asked
for, per array's items, per recursive ``$ref`` and per ``if``/``not``/``anyOf`` subschema too large to
inline; everything else inline, as plain comparisons on the value's exact type.

Each generated function returns True exactly when jsonschema's Draft 2020-12 validator finds no error in a
value of JSON's own types, False when it finds one, and raises ``_Unsure`` when a type-dependent keyword
meets another type (``Compiler.checks`` turns that into False: not proven valid).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from jsonschema import _utils

Check = Callable[[Any], bool]

DRAFT = "https://json-schema.org/draft/2020-12/schema"
ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples",
                         "deprecated", "readOnly", "writeOnly"})
_OBJECT_KEYWORDS = frozenset({"required", "properties", "additionalProperties"})
_ARRAY_KEYWORDS = frozenset({"items", "minItems", "maxItems", "uniqueItems"})
_STRING_KEYWORDS = frozenset({"minLength", "maxLength", "pattern"})
_NUMBER_KEYWORDS = frozenset({"minimum", "maximum"})
_TYPED = _OBJECT_KEYWORDS | _ARRAY_KEYWORDS | _STRING_KEYWORDS | _NUMBER_KEYWORDS | {"type"}
KEYWORDS = ANNOTATIONS | _TYPED | {"const", "enum", "$ref", "allOf", "anyOf", "not", "if", "then", "else"}

# The Python type of each JSON type jsonschema knows; "number" is also an int.
_PYTHON: dict[str, tuple[type, ...]] = {"object": (dict,), "array": (list,), "string": (str,), "integer": (int,),
                                        "number": (int, float), "boolean": (bool,), "null": (type(None),)}
_JSON_TYPES = frozenset({dict, list, str, int, float, bool, type(None)})


class UnsupportedSchemaError(ValueError):
    """The schema uses something the compiled check does not decide exactly."""


class _Unsure(Exception):  # noqa: N818 - control flow: the instance holds a type the check does not model
    pass


def resolve(root: Any, pointer: str) -> Any:
    """The subschema of ``root`` at JSON pointer ``pointer`` ("" is the root)."""
    node = root
    for raw in pointer.split("/")[1:] if pointer else ():
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise UnsupportedSchemaError(f"cannot resolve #{pointer}")
    return node


# --- generating the check ---------------------------------------------------------------------------------


def _mismatch(instance: Any) -> bool:
    """False: ``instance`` is not of the type the schema asks for; unless its type is not one of JSON's."""
    if type(instance) in _JSON_TYPES:
        return False
    raise _Unsure


def _equal_any(instance: Any, members: tuple[Any, ...]) -> bool:
    return any(_utils.equal(each, instance) for each in members)


def _other_than_strings(instance: Any, members: tuple[str, ...]) -> bool:
    """``_equal_any`` for an instance that is not a ``str`` and members that all are: jsonschema's ``equal``
    compares a string with ``==``, which is False for every other JSON type."""
    return False if type(instance) in _JSON_TYPES else _equal_any(instance, members)


def _vacuous(instance: Any) -> bool:
    """Object keywords on a value that is not an object: they hold, if it is one of JSON's types."""
    if type(instance) in _JSON_TYPES:
        return True
    raise _Unsure


class Compiler:
    """Python source for a set of schemas of one root: a function per schema asked for, per array's
    items, per ``if`` / ``not`` / ``anyOf`` subschema and per recursive ``$ref``; everything else inline.
    """

    def __init__(self, root: Mapping[str, Any]) -> None:
        if not isinstance(root, Mapping) or root.get("$schema", DRAFT) != DRAFT:
            raise UnsupportedSchemaError(f"only {DRAFT} is supported")
        self.root = root
        self.constants: list[Any] = []
        self.functions: list[str] = []
        self._names = 0
        self._refs: dict[str, str] = {}  # pointer -> function (recursive references only)
        self._inlining: list[str] = []

    def checks(self, schemas: list[Any]) -> list[Check]:
        names = [self._function(s) for s in schemas]
        namespace: dict[str, Any] = {"K": self.constants, "_Unsure": _Unsure, "_JSON": _JSON_TYPES,
                                     "_equal_any": _equal_any, "NoneType": type(None),
                                     "_mismatch": _mismatch, "_uniq": _utils.uniq,
                                     "_other_than_strings": _other_than_strings, "_vacuous": _vacuous}
        source = "\n".join(self.functions)
        try:
            exec(compile(source, "<schemacheck>", "exec"), namespace)  # noqa: S102 - source generated above
        except (SyntaxError, RecursionError, MemoryError) as exc:  # e.g. too deeply nested: jsonschema alone
            raise UnsupportedSchemaError(f"cannot compile the check: {exc}") from exc
        return [_guarded(namespace[name]) for name in names]

    def _const(self, value: Any) -> str:
        if type(value) is int:
            return repr(value)
        self.constants.append(value)
        return f"K[{len(self.constants) - 1}]"

    def _name(self) -> str:
        self._names += 1
        return f"f{self._names}"

    def _function(self, schema: Any) -> str:
        name = self._name()
        self._define(name, schema)
        return name

    def _define(self, name: str, schema: Any) -> None:
        body = self._block(schema, "v", 1)
        self.functions.append(f"def {name}(v):\n" + "".join(body) + "    return True\n")

    def _block(self, schema: Any, v: str, depth: int) -> list[str]:
        """Statements that ``return False`` when the value in variable ``v`` fails ``schema``."""
        pad = "    " * depth
        if schema is True:
            return []
        if schema is False:
            return [f"{pad}return False\n"]
        if not isinstance(schema, dict):
            raise UnsupportedSchemaError(f"a schema is an object or a boolean, not {type(schema).__name__}")
        unknown = set(schema) - KEYWORDS
        if unknown:
            raise UnsupportedSchemaError(f"keyword(s) {', '.join(sorted(unknown))} not supported")
        if "$id" in schema and schema is not self.root:
            raise UnsupportedSchemaError("$id below the root is not supported")
        out: list[str] = []
        t = f"t{depth}_{v}"
        known: type | None = None  # the value's type, once the type keyword has settled it
        if "type" in schema:  # a value of another type fails, unless its type is not JSON's (then: unsure)
            allowed, integral = _type_names(schema["type"])
            if len(allowed) == 1 and not integral:
                known = next(iter(allowed))
                test = f"type({v}) is not {_python_name(known)}"
            else:
                out.append(f"{pad}{t} = type({v})\n")
                test = f"{t} not in {self._const(frozenset(allowed))}"
                if integral:
                    test = f"{test} and not ({t} is float and {v}.is_integer())"
            out.append(f"{pad}if {test}:\n{pad}    return _mismatch({v})\n")
        elif _TYPED & schema.keys():
            out.append(f"{pad}{t} = type({v})\n{pad}if {t} not in _JSON:\n{pad}    raise _Unsure\n")
        out += self._typed(schema, v, t, known, depth)
        if "const" in schema:
            out += self._equals(v, (schema["const"],), depth)
        if "enum" in schema:
            if not isinstance(schema["enum"], list):
                raise UnsupportedSchemaError("enum is not an array")
            out += self._equals(v, tuple(schema["enum"]), depth)
        if "$ref" in schema:
            out += self._ref(schema["$ref"], v, depth)
        for sub in schema.get("allOf", ()):
            out += self._block(sub, v, depth)
        if "anyOf" in schema:
            tests = " or ".join(self._test(s, v) for s in schema["anyOf"])
            out.append(f"{pad}if not ({tests or 'False'}):\n{pad}    return False\n")
        if "not" in schema:
            out.append(f"{pad}if {self._test(schema['not'], v)}:\n{pad}    return False\n")
        if "if" in schema:  # then/else without if are ignored, as jsonschema ignores them
            then = self._block(schema.get("then", True), v, depth + 1) or [f"{pad}    pass\n"]
            otherwise = self._block(schema.get("else", True), v, depth + 1) or [f"{pad}    pass\n"]
            out.append(f"{pad}if {self._test(schema['if'], v)}:\n")
            out += then
            out.append(f"{pad}else:\n")
            out += otherwise
        return out

    def _test(self, schema: Any, v: str) -> str:
        """A Python expression, True exactly when the value of expression ``v`` passes ``schema`` (and raising
        ``_Unsure`` where the schema's function would): inline for small schemas, else a function call."""
        inline = self._expression(schema, v)
        return inline if inline is not None else f"{self._function(schema)}({v})"

    def _expression(self, schema: Any, v: str) -> str | None:
        """``_test`` inline, for ``type`` (one), ``const``/``enum`` (of strings, or of true, false and null),
        ``required`` and ``properties`` (whose subschemas are tests); None for anything else."""
        if isinstance(schema, bool):
            return repr(schema)
        if not isinstance(schema, dict) or not set(schema) - {"$id"} <= ANNOTATIONS | {
                "type", "const", "enum", "required", "properties"}:
            return None
        parts = []
        if "type" in schema:
            allowed, integral = _type_names(schema["type"])
            if len(allowed) != 1 or integral:
                return None
            parts.append(f"(type({v}) is {_python_name(next(iter(allowed)))} or _mismatch({v}))")
        for members in ([schema["const"]] if "const" in schema else None, schema.get("enum")):
            if members is None:
                continue
            if not isinstance(members, list) or not members:
                return None
            if all(type(m) is str for m in members):
                parts.append(f"({v} in {self._const(frozenset(members))} if type({v}) is str "
                             f"else _other_than_strings({v}, {self._const(tuple(members))}))")
            elif all(m is True or m is False or m is None for m in members):  # equal to a JSON value: `is`
                same = " or ".join(f"{v} is {m!r}" for m in members)
                parts.append(f"(({same}) if type({v}) in _JSON else _equal_any({v}, {self._const(tuple(members))}))")
            else:
                return None
        if "required" in schema or "properties" in schema:
            required = schema.get("required", [])
            properties = schema.get("properties", {})
            if not isinstance(required, list) or not all(isinstance(r, str) for r in required) or not isinstance(
                    properties, dict):
                return None
            tests = [f"{name!r} in {v}" for name in required]
            for name, sub in properties.items():
                test = self._test(sub, f"{v}[{name!r}]")
                if test != "True":
                    tests.append(test if name in required else f"({name!r} not in {v} or {test})")
            parts.append(f"(({' and '.join(tests) or 'True'}) if type({v}) is dict else _vacuous({v}))")
        return " and ".join(parts) or "True"

    def _typed(self, schema: Mapping[str, Any], v: str, t: str, known: type | None, depth: int) -> list[str]:
        out: list[str] = []
        groups = (((dict,), _OBJECT_KEYWORDS, self._object), ((list,), _ARRAY_KEYWORDS, self._array),
                  ((str,), _STRING_KEYWORDS, self._string), ((int, float), _NUMBER_KEYWORDS, self._number))
        for kinds, keywords, emit in groups:
            if not keywords & schema.keys():
                continue
            if known is not None:  # the type keyword let only this type through
                if known in kinds:
                    out += emit(schema, v, depth)
                continue
            body = emit(schema, v, depth + 1)
            if body:
                test = " or ".join(f"{t} is {_python_name(k)}" for k in kinds)
                out.append(f"{'    ' * depth}if {test}:\n")
                out += body
        return out

    def _object(self, schema: Mapping[str, Any], v: str, depth: int) -> list[str]:
        pad = "    " * depth
        out: list[str] = []
        required = schema.get("required", [])
        properties = schema.get("properties", {})
        additional = schema.get("additionalProperties", True)
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise UnsupportedSchemaError("required is not an array of strings")
        if not isinstance(properties, dict):
            raise UnsupportedSchemaError("properties is not an object")
        if 0 < len(required) <= 4:
            missing = " or ".join(f"{name!r} not in {v}" for name in required)
            out.append(f"{pad}if {missing}:\n{pad}    return False\n")
        elif required:
            out.append(f"{pad}if not {v}.keys() >= {self._const(frozenset(required))}:\n{pad}    return False\n")
        if additional is False:
            out.append(f"{pad}if not {v}.keys() <= {self._const(frozenset(properties))}:\n{pad}    return False\n")
        for index, (name, sub) in enumerate(properties.items()):
            x = f"{v}_{index}"
            body = self._block(sub, x, depth + 1 if name not in required else depth)
            if not body:
                continue
            if name in required:
                out.append(f"{pad}{x} = {v}[{name!r}]\n")
                out += body
            else:
                out.append(f"{pad}if {name!r} in {v}:\n{pad}    {x} = {v}[{name!r}]\n")
                out += body
        if not isinstance(additional, bool):
            x = f"{v}_x"
            body = self._block(additional, x, depth + 2)
            if body:
                names = self._const(frozenset(properties))
                out.append(f"{pad}for k_{v}, {x} in {v}.items():\n{pad}    if k_{v} not in {names}:\n")
                out += body
        return out

    def _array(self, schema: Mapping[str, Any], v: str, depth: int) -> list[str]:
        pad = "    " * depth
        out: list[str] = []
        if "minItems" in schema:
            out.append(f"{pad}if len({v}) < {self._const(schema['minItems'])}:\n{pad}    return False\n")
        if "maxItems" in schema:
            out.append(f"{pad}if len({v}) > {self._const(schema['maxItems'])}:\n{pad}    return False\n")
        if schema.get("uniqueItems", False):
            out.append(f"{pad}if not _uniq({v}):\n{pad}    return False\n")
        items = schema.get("items", True)
        if items is False:
            out.append(f"{pad}if {v}:\n{pad}    return False\n")
        elif items is not True:
            each = self._function(items)
            out.append(f"{pad}for x_{v} in {v}:\n{pad}    if not {each}(x_{v}):\n{pad}        return False\n")
        return out

    def _string(self, schema: Mapping[str, Any], v: str, depth: int) -> list[str]:
        pad = "    " * depth
        out: list[str] = []
        if "minLength" in schema:
            out.append(f"{pad}if len({v}) < {self._const(schema['minLength'])}:\n{pad}    return False\n")
        if "maxLength" in schema:
            out.append(f"{pad}if len({v}) > {self._const(schema['maxLength'])}:\n{pad}    return False\n")
        if "pattern" in schema:
            search = self._const(re.compile(schema["pattern"]).search)
            out.append(f"{pad}if {search}({v}) is None:\n{pad}    return False\n")
        return out

    def _number(self, schema: Mapping[str, Any], v: str, depth: int) -> list[str]:
        pad = "    " * depth
        out: list[str] = []
        if "minimum" in schema:
            out.append(f"{pad}if {v} < {self._const(schema['minimum'])}:\n{pad}    return False\n")
        if "maximum" in schema:
            out.append(f"{pad}if {v} > {self._const(schema['maximum'])}:\n{pad}    return False\n")
        return out

    def _equals(self, v: str, members: tuple[Any, ...], depth: int) -> list[str]:
        """``v`` equals one of ``members`` as jsonschema's ``equal`` decides (``const`` is one member)."""
        pad = "    " * depth
        if not members or not all(type(m) is str for m in members):
            return [f"{pad}if not _equal_any({v}, {self._const(members)}):\n{pad}    return False\n"]
        strings = self._const(frozenset(members))  # a str equals a str member exactly when ==
        return [f"{pad}if type({v}) is str:\n{pad}    if {v} not in {strings}:\n{pad}        return False\n",
                f"{pad}elif not _other_than_strings({v}, {self._const(members)}):\n{pad}    return False\n"]

    def _ref(self, ref: Any, v: str, depth: int) -> list[str]:
        if not isinstance(ref, str) or not ref.startswith("#") or (len(ref) > 1 and ref[1] != "/"):
            raise UnsupportedSchemaError(f"$ref {ref!r}: only JSON pointers inside the schema are supported")
        pointer = ref[1:]
        if pointer in self._inlining:  # recursive: a function, defined once
            name = self._refs.get(pointer)
            if name is None:
                name = self._refs[pointer] = self._name()
                self._define(name, resolve(self.root, pointer))
            pad = "    " * depth
            return [f"{pad}if not {name}({v}):\n{pad}    return False\n"]
        self._inlining.append(pointer)
        try:
            return self._block(resolve(self.root, pointer), v, depth)
        finally:
            self._inlining.pop()


def _type_names(types: Any) -> tuple[frozenset[type], bool]:
    """The Python types a ``type`` keyword allows, and whether it also allows integral floats: jsonschema's
    "integer" (Draft 6 on) is an int or a float such as 1.0; "number" is an int or any float."""
    names = [types] if isinstance(types, str) else types
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n in _PYTHON for n in names):
        raise UnsupportedSchemaError(f"type {types!r}")
    allowed = frozenset(p for n in names for p in _PYTHON[n])
    return allowed, "integer" in names and "number" not in names


def _python_name(kind: type) -> str:
    """How generated source names a JSON type's Python type (None's type is a namespace entry)."""
    return "NoneType" if kind is type(None) else kind.__name__


def _guarded(compiled: Check) -> Check:
    def check(instance: Any) -> bool:
        try:
            return bool(compiled(instance))
        except (_Unsure, RecursionError):
            return False

    return check
