from __future__ import annotations

import pytest

from auditor.conditions import ConditionSyntaxError, compile_condition
from auditor.errors import MissingData
from auditor.model import Resource


def res(document, unreadable=None):
    return Resource(id="r", type="aws.t", provider="aws", account="1", region="r", name="n",
                    document=document, unreadable=unreadable or {})


@pytest.mark.parametrize(
    ("spec", "doc", "passed"),
    [
        ({"path": "a", "op": "eq", "value": 1}, {"a": 1}, True),
        ({"path": "a", "op": "eq", "value": 1}, {"a": 2}, False),
        ({"path": "a", "op": "ne", "value": 1}, {"a": 2}, True),
        ({"path": "a", "op": "in", "value": [1, 2]}, {"a": 2}, True),
        ({"path": "a", "op": "not_in", "value": [1, 2]}, {"a": 2}, False),
        ({"path": "a", "op": "present"}, {"a": False}, True),
        ({"path": "a", "op": "absent"}, {}, True),
        ({"path": "a", "op": "truthy"}, {"a": []}, False),
        ({"path": "a", "op": "falsy"}, {}, True),
        ({"path": "a", "op": "empty"}, {"a": ""}, True),
        ({"path": "a", "op": "not_empty"}, {"a": [0]}, True),
        ({"path": "a", "op": "gte", "value": 2}, {"a": 2}, True),
        ({"path": "a", "op": "lt", "value": 2}, {"a": 2}, False),
        ({"path": "a", "op": "contains", "value": "x"}, {"a": ["x", "y"]}, True),
        ({"path": "a", "op": "matches", "value": "^https://"}, {"a": "http://x"}, False),
        ({"all": [{"path": "a", "op": "truthy"}, {"path": "b", "op": "truthy"}]}, {"a": 1, "b": 0}, False),
        ({"any": [{"path": "a", "op": "truthy"}, {"path": "b", "op": "truthy"}]}, {"a": 1, "b": 0}, True),
        ({"not": {"path": "a", "op": "truthy"}}, {"a": 0}, True),
        ({"path": "length(xs[?v > `1`])", "op": "eq", "value": 1}, {"xs": [{"v": 1}, {"v": 2}]}, True),
    ],
)
def test_operators(spec, doc, passed):
    assert compile_condition(spec).evaluate(res(doc), {}).passed is passed


def test_evidence_records_every_value_looked_at():
    cond = compile_condition({"all": [{"path": "a", "op": "truthy"}, {"path": "b.c", "op": "eq", "value": 3}]})
    v = cond.evaluate(res({"a": 0, "b": {"c": 3}}), {})
    assert v.evidence == {"a": 0, "b.c": 3}


def test_value_operator_on_missing_path_is_missing_data_not_a_verdict():
    with pytest.raises(MissingData, match=r"'a\.b' is missing"):
        compile_condition({"path": "a.b", "op": "eq", "value": 1}).evaluate(res({}), {})


def test_on_missing_fail_makes_absence_a_fail_with_evidence():
    cond = compile_condition({"path": "p.access", "op": "eq", "value": "Disabled", "on_missing": "fail"})
    v = cond.evaluate(res({}), {})
    assert v.passed is False and v.evidence == {"p.access": None}
    assert cond.evaluate(res({"p": {"access": "Disabled"}}), {}).passed
    with pytest.raises(MissingData):  # unreadable is still ERROR: absence is not the same as unknown
        cond.evaluate(res({}, {"p": "AuthorizationFailed"}), {})


def test_related_paths_read_what_the_collector_derived():
    r = Resource(id="r", type="azure.apim.api", provider="azure", account="1", region="r", name="n",
                 document={"related": "not this"}, related={"fronts": [{"name": "scorer"}]})
    assert compile_condition({"path": "related.fronts", "op": "not_empty"}).evaluate(r, {}).passed
    assert compile_condition({"path": "related.fronts[0].name", "op": "eq", "value": "scorer"}).evaluate(r, {}).passed
    unread = Resource(id="r", type="t", provider="azure", account="1", region="r", name="n", document={},
                      unreadable={"related.fronts": "policy XML could not be parsed"})
    with pytest.raises(MissingData, match="policy XML"):
        compile_condition({"path": "related.fronts", "op": "not_empty"}).evaluate(unread, {})


def test_unreadable_key_is_missing_data_with_the_reason():
    cond = compile_condition({"path": "Key.Sub", "op": "absent"})
    with pytest.raises(MissingData, match="AccessDenied"):
        cond.evaluate(res({}, {"Key": "AccessDenied"}), {})
    with pytest.raises(MissingData, match="Throttled"):
        cond.evaluate(res({}, {"*": "Throttled"}), {})
    # another key being unreadable does not block this one
    assert cond.evaluate(res({}, {"Other": "AccessDenied"}), {}).passed


def test_type_mismatch_raises_instead_of_returning_false():
    with pytest.raises(TypeError):
        compile_condition({"path": "a", "op": "gte", "value": 2}).evaluate(res({"a": "3"}), {})
    with pytest.raises(TypeError):
        compile_condition({"path": "a", "op": "gte", "value": 2}).evaluate(res({"a": True}), {})


def test_params_are_resolved():
    cond = compile_condition({"path": "m", "op": "in", "value": {"param": "allowed"}})
    assert cond.evaluate(res({"m": "AADToken"}), {"allowed": ["AADToken"]}).passed
    assert not cond.evaluate(res({"m": "Key"}), {"allowed": ["AADToken"]}).passed


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"path": "a", "op": "nope"}, "expect.op"),
        ({"path": "a[", "op": "present"}, "expect.path"),
        ({"path": "a", "op": "eq"}, "expect.value"),
        ({"path": "a", "op": "present", "value": 1}, "expect.value"),
        ({"all": []}, "expect.all"),
        ({"all": [{"path": "a", "op": "bad"}]}, "expect.all[0].op"),
        ({"path": "a", "op": "matches", "value": "("}, "expect.value"),
        ({"path": "a", "op": "eq", "value": 1, "extra": 2}, "expect"),
        ("not a mapping", "expect"),
        ({"path": "a", "op": "eq", "value": 1, "on_missing": "pass"}, "expect.on_missing"),
        ({"path": "a", "op": "present", "on_missing": "fail"}, "expect.on_missing"),
    ],
)
def test_syntax_errors_name_the_field(spec, field):
    with pytest.raises(ConditionSyntaxError) as e:
        compile_condition(spec)
    assert e.value.field == field


@pytest.mark.parametrize("path", ["a", "a.b", "a.b.c", '"x-y".b', "a.\"b.c\"", "related.fronts.id"])
@pytest.mark.parametrize("doc", [
    {}, {"a": None}, {"a": 1}, {"a": "text"}, {"a": [1, {"b": 2}]}, {"a": {"b": None}}, {"a": {"b": {"c": False}}},
    {"a": {"b": {"c": [0]}, "b.c": "dotted"}}, {"x-y": {"b": "dashed"}}, {"a": {"b": {"c": {"d": 1}}}},
])
def test_plain_field_paths_answer_exactly_what_jmespath_answers(path, doc):
    import jmespath

    condition = compile_condition({"path": path, "op": "present"})
    assert condition.fields is not None, "a plain field chain takes the fast path"
    resource = Resource(id="r", type="aws.t", provider="aws", account="1", region="r", name="n",
                        document=doc, related=doc)
    root = {"related": doc} if path.startswith("related.") else doc
    expected = jmespath.search(path, root)
    assert condition.evaluate(resource, {}).evidence == {path: expected}


@pytest.mark.parametrize("path", ["a[0]", "a[].b", "length(a)", "a || b", "a.b[?c]", "@", "a.*"])
def test_other_paths_go_through_the_jmespath_interpreter(path):
    assert compile_condition({"path": path, "op": "present"}).fields is None
