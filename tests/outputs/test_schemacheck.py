"""The compiled schema check decides exactly as jsonschema does, and the error finder words errors as it does.

Differential tests: every instance is judged by ``jsonschema.Draft202012Validator`` and by
:mod:`auditor.schemacheck`; the verdicts must be equal (for JSON's own types), and for an invalid
instance ``best_match`` over the error finder's errors must be jsonschema's own best match. The
instances are a zoo of tricky values against a schema using every supported keyword, and hundreds
of mutations of real findings and plan documents against the shipped schemas.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from jsonschema.exceptions import best_match

from auditor.catalog import load_catalog
from auditor.engine import evaluate
from auditor.findings.document import schema as findings_schema
from auditor.model import Inventory, Resource, Status
from auditor.outputs.findings_json import to_document
from auditor.paths import schemas_dir
from auditor.remediate import planfile
from auditor.remediate.params import parse_params
from auditor.remediate.plan import build_plan
from auditor.schemacheck import (
    FastValidator,
    StreamChecks,
    UnsupportedSchemaError,
    compile_check,
    error_finder,
    stream_checks,
)

from .large import large_result

ZOO_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["kind", "items"],
    "properties": {
        "kind": {"enum": ["a", "b", 3, None, True]},
        "label": {"const": "x"},
        "flag": {"const": True},
        "zero": {"const": 0},
        "count": {"type": "integer", "minimum": 1, "maximum": 5},
        "ratio": {"type": "number", "minimum": 0.5},
        "name": {"type": ["string", "null"], "minLength": 2, "maxLength": 4, "pattern": "^[a-z]+$"},
        "items": {"type": "array", "minItems": 1, "maxItems": 3, "uniqueItems": True,
                  "items": {"$ref": "#/$defs/item"}},
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        "either": {"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 10}]},
        "never": {"not": {}},
        "tree": {"$ref": "#/$defs/tree"},
        "untyped": {"properties": {"a": {"type": "string"}}, "required": ["a"], "items": {"type": "string"},
                    "minLength": 1, "minimum": 2},
    },
    "if": {"properties": {"kind": {"const": "a"}}, "required": ["kind"]},
    "then": {"required": ["label"]},
    "else": {"properties": {"label": False}},
    "allOf": [{"if": {"required": ["count"]}, "then": {"properties": {"ratio": {"maximum": 2}}}}],
    "$defs": {
        "item": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}},
                 "additionalProperties": {"type": "boolean"}},
        "tree": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/tree"}},
                                                  "leaf": {"type": "boolean"}}, "additionalProperties": False},
    },
}

ZOO_BASE: dict[str, Any] = {"kind": "a", "label": "x", "items": [{"id": 1}]}

TRICKY: list[Any] = [None, True, False, 0, 1, 3, -1, 10, 1.0, 0.5, 2.5, 3.0, float("nan"), float("inf"), "", "a", "b",
                     "x", "ab", "abcde", "AB", "ab\n", "3", [], [1], [{"id": 1}, {"id": 1}], [{"id": 1}, {"id": 2}],
                     {}, {"a": "s"}, {"a": 1}, {"id": True}, {"children": [{"leaf": True}, {"children": [{}]}]},
                     {"children": [{"leaf": 1}]}]


class StrLike(str):
    pass


def zoo_instances() -> Iterator[dict[str, Any]]:
    keys = [*ZOO_SCHEMA["properties"], "extra"]
    for key in keys:
        for value in TRICKY:
            yield {**ZOO_BASE, key: value}
        without = dict(ZOO_BASE)
        without.pop(key, None)
        yield without
    yield {**ZOO_BASE, "kind": "b"}
    yield {**ZOO_BASE, "kind": "b", "label": "x"}
    yield {**ZOO_BASE, "count": 2, "ratio": 3}
    yield {**ZOO_BASE, "count": 2, "ratio": 1.5}
    yield {**ZOO_BASE, "items": [{"id": 1, "flag": True}, {"id": 2, "flag": "no"}]}


def same_verdicts(schema: dict[str, Any], instances: Iterator[Any]) -> int:
    """Assert the compiled check, the error finder and the fast validator agree with jsonschema on every instance
    (verdict, and the best match's message, path and keyword); return how many instances."""
    reference = jsonschema.Draft202012Validator(schema)
    check = compile_check(schema)
    finder = error_finder(schema)
    fast = FastValidator(schema)
    count = 0
    for instance in instances:
        errors = list(reference.iter_errors(instance))
        shown = json.dumps(instance, default=repr)[:300]
        assert check(instance) is (not errors), shown
        want, got = best_match(errors), best_match(finder.iter_errors(instance))
        assert (None if want is None else (want.message, list(want.absolute_path), want.validator)) == (
            None if got is None else (got.message, list(got.absolute_path), got.validator)), shown
        if count % 7 == 0:  # the fast validator is the check and the finder together
            fast_error = best_match(fast.iter_errors(instance))
            assert (None if want is None else want.message) == (None if fast_error is None else fast_error.message)
            assert fast.is_valid(instance) is (not errors)
        count += 1
    return count


def test_every_keyword_is_decided_as_jsonschema_decides_it() -> None:
    assert same_verdicts(ZOO_SCHEMA, zoo_instances()) > 400


def test_other_types_are_never_proven_valid_wrongly() -> None:
    """A subclass, a tuple or an ordered dict is not JSON's own type: where a keyword depends on the type, the check
    gives up (False: not proven valid); it never says valid where jsonschema would not, and the fast validator
    leaves such a verdict to jsonschema."""
    check = compile_check(ZOO_SCHEMA)
    fast = FastValidator(ZOO_SCHEMA)
    reference = jsonschema.Draft202012Validator(ZOO_SCHEMA)
    odd = [collections.OrderedDict(ZOO_BASE), {**ZOO_BASE, "kind": StrLike("a")}, {**ZOO_BASE, "items": ({"id": 1},)},
           {**ZOO_BASE, "name": StrLike("ab")}, {**ZOO_BASE, "tags": collections.OrderedDict(a="b")}]
    assert check(odd[0]) is False and reference.is_valid(odd[0])  # an OrderedDict is an object: jsonschema decides
    for instance in odd:
        assert not check(instance) or reference.is_valid(instance)
        assert fast.is_valid(instance) is reference.is_valid(instance)
        assert [e.message for e in fast.iter_errors(instance)] == [e.message for e in reference.iter_errors(instance)]


@pytest.mark.parametrize("schema", [{"type": "object", "patternProperties": {"^a": {}}},
                                    {"items": {"$ref": "https://example.com/other.json"}},
                                    {"properties": {"a": {"format": "date"}}},
                                    {"$schema": "http://json-schema.org/draft-07/schema#"}])
def test_a_keyword_outside_the_subset_is_refused_and_left_to_jsonschema(schema: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedSchemaError):
        compile_check(schema)
    fast = FastValidator(schema)
    assert fast.check({"a": 1}) is False  # nothing is proven valid: jsonschema decides everything
    assert fast.is_valid({}) is jsonschema.Draft202012Validator(schema).is_valid({})


# --- the shipped schemas, against mutations of real documents ------------------------------------------

REPLACEMENTS: list[Any] = [None, True, 0, -1, 1.5, "", "x", "MUTED", "FAIL", "0" * 32, [], {}, ["x"], {"x": 1}]


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nodes(item, (*path, index))


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def mutations(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """For every node: three replacements (rotating through REPLACEMENTS), removal, an extra key, a
    duplicated or emptied array."""
    for n, path in enumerate(_nodes(doc)):
        node = _at(doc, path)
        for k in range(3):
            if path:
                changed = copy.deepcopy(doc)
                _at(changed, path[:-1])[path[-1]] = REPLACEMENTS[(n * 3 + k) % len(REPLACEMENTS)]
                yield changed
        if path and isinstance(_at(doc, path[:-1]), dict):
            changed = copy.deepcopy(doc)
            del _at(changed, path[:-1])[path[-1]]
            yield changed
        if isinstance(node, dict):
            changed = copy.deepcopy(doc)
            _at(changed, path)["unexpected"] = "x"
            yield changed
        if isinstance(node, list) and node:
            changed = copy.deepcopy(doc)
            _at(changed, path).append(copy.deepcopy(node[0]))
            yield changed
            changed = copy.deepcopy(doc)
            _at(changed, path).clear()
            yield changed


def small_findings_document(baseline: bool) -> dict[str, Any]:
    """Every section of a findings document, each as small as it gets: a MUTED and a FAIL finding and their rules,
    one resource, one coverage row, one run of history."""
    result = large_result(16, baseline=baseline)
    keep = tuple(next(f for f in result.findings if f.status is s) for s in (Status.MUTED, Status.FAIL))
    small = dataclasses.replace(result, findings=keep, resources=result.resources[:1], coverage=result.coverage[:1],
                                rules={f.rule_id: result.rules[f.rule_id] for f in keep},
                                history=result.history and dataclasses.replace(result.history,
                                                                               runs=result.history.runs[-1:]))
    doc: dict[str, Any] = json.loads(json.dumps(to_document(small)))
    return doc


@pytest.mark.parametrize("baseline", [True, False])
def test_findings_schema_verdicts_on_mutated_documents(baseline: bool) -> None:
    doc = small_findings_document(baseline)
    assert same_verdicts(findings_schema(), iter([doc, *mutations(doc)])) > 400


def plan_document() -> dict[str, Any]:
    """The plan of a KMS key without rotation and an Azure endpoint on keys: automatic steps with changes,
    calls and undo, and the manual steps of the builders' findings."""
    key_arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    endpoint_id = ("/subscriptions/eeeeeeee-5555-4555-8555-555555555555/resourceGroups/rg/providers/"
                   "Microsoft.MachineLearningServices/workspaces/ws/onlineEndpoints/ep")
    key = Resource(id=key_arn, type="aws.kms.key", provider="aws", account="123456789012", region="eu-west-1",
                   name="legacy", document={"KeyMetadata": {"KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT",
                                                            "Origin": "AWS_KMS", "Arn": key_arn,
                                                            "KeyState": "Enabled"},
                                            "KeyRotationStatus": {"KeyRotationEnabled": False}})
    endpoint = Resource(id=endpoint_id, type="azure.ml.online_endpoint", provider="azure",
                        account="eeeeeeee-5555-4555-8555-555555555555", region="westeurope", name="ep",
                        document={"id": endpoint_id, "identity": {"type": "None"},
                                  "properties": {"authMode": "Key", "publicNetworkAccess": "Disabled"}})
    catalog = load_catalog()
    scanned = large_result(8, baseline=False)
    findings = (*evaluate(Inventory(resources=(key, endpoint), coverage=()), catalog.values()), *scanned.findings)
    result = dataclasses.replace(scanned, findings=findings, rules={**scanned.rules, **catalog})
    plan = build_plan(result, {"file": "findings.json", "sha256": "0" * 64}, parse_params((), ()), [], catalog,
                      created=scanned.finished_at)
    return json.loads(json.dumps(planfile.to_document(plan)))


def test_plan_schema_verdicts_on_mutated_documents() -> None:
    schema = json.loads((schemas_dir() / "plan.schema.json").read_text(encoding="utf-8"))
    doc = plan_document()
    assert jsonschema.Draft202012Validator(schema).is_valid(doc)
    assert same_verdicts(schema, iter([doc, *mutations(doc)])) > 300


# --- the split check of a streamed document ------------------------------------------------------------


def piecewise(checks: StreamChecks | None, doc: dict[str, Any], keys: tuple[str, ...]) -> bool:
    assert checks is not None
    envelope = {k: ([] if k in keys and isinstance(v, list) else v) for k, v in doc.items()}
    branch = checks.condition(envelope)
    items_ok = all((checks.items[k](item) and (checks.then_items[k] if branch else checks.else_items[k])(item))
                   for k in keys if isinstance(doc.get(k), list) for item in doc[k])
    return checks.envelope(envelope) and items_ok


@pytest.mark.parametrize("baseline", [True, False])
def test_the_split_check_decides_as_the_whole_check(baseline: bool) -> None:
    schema = findings_schema()
    doc = small_findings_document(baseline)
    reference = jsonschema.Draft202012Validator(schema)
    checks = stream_checks(schema, ("findings", "inventory"))
    for instance in [doc, *mutations(doc)]:
        assert piecewise(checks, instance, ("findings", "inventory")) is reference.is_valid(instance)


def test_a_mark_without_a_baseline_summary_or_a_summary_without_marks_is_invalid_when_split() -> None:
    schema = findings_schema()
    with_marks = small_findings_document(True)
    without = small_findings_document(False)
    no_summary = {k: v for k, v in with_marks.items() if k != "baseline"}
    no_summary["scan"] = without["scan"]
    unmarked = copy.deepcopy(with_marks)
    del unmarked["findings"][1]["baseline"]
    checks = stream_checks(schema, ("findings", "inventory"))
    for doc in (no_summary, unmarked):
        assert not jsonschema.Draft202012Validator(schema).is_valid(doc)
        assert piecewise(checks, doc, ("findings", "inventory")) is False


@pytest.mark.parametrize("schema", [
    {"type": "object", "allOf": [{"properties": {"a": {"maxItems": 1}}}], "properties": {"a": {"type": "array"}}},
    {"type": "object", "properties": {"a": {"type": "array", "items": {}, "maxItems": 3}}},
    {"type": "object", "if": {"properties": {"a": {"maxItems": 0}}}, "properties": {"a": {"type": "array"}}},
    {"type": "object", "then": {"properties": {"a": {"maxItems": 1}}}, "if": True,
     "properties": {"a": {"type": "array"}}},
    {"type": "object", "additionalProperties": {"type": "array"}, "properties": {"a": {"type": "array"}}},
])
def test_schemas_that_cannot_be_split_exactly_are_read_whole(schema: dict[str, Any]) -> None:
    assert stream_checks(schema, ("a",)) is None
