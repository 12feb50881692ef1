"""The condition language on planned documents: a value known only after apply is present but of unknown value;
a value the plan cannot tell is never decided (auditor.conditions, auditor.planned)."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.conditions import compile_condition
from auditor.errors import MissingData
from auditor.model import Resource
from auditor.planned import AFTER_APPLY, NotInPlan


def decide(spec: dict[str, Any], document: dict[str, Any]) -> bool:
    resource = Resource(id="aws_x.y", type="aws.x", provider="aws", account="", region="", name="y",
                        document=document)
    return compile_condition(spec).evaluate(resource, {}).passed


@pytest.mark.parametrize("op", ["present", "not_empty"])
def test_presence_of_a_value_known_after_apply(op: str) -> None:
    assert decide({"path": "KmsKeyId", "op": op}, {"KmsKeyId": AFTER_APPLY})
    assert decide({"path": "a.b.KmsKeyId", "op": op}, {"a": {"b": {"KmsKeyId": AFTER_APPLY}}})


@pytest.mark.parametrize("op", ["absent", "empty"])
def test_absence_of_a_value_known_after_apply_is_false(op: str) -> None:
    assert not decide({"path": "KmsKeyId", "op": op}, {"KmsKeyId": AFTER_APPLY})


@pytest.mark.parametrize("spec", [
    {"path": "Enabled", "op": "eq", "value": True},
    {"path": "Enabled", "op": "truthy"},  # truthiness is the value, not its presence
    {"path": "Enabled || 'x'", "op": "eq", "value": "x"},
    {"path": "Enabled", "op": "in", "value": [True, False]},
])
def test_value_operators_answer_known_only_after_apply(spec: dict[str, Any]) -> None:
    with pytest.raises(MissingData, match="known only after apply"):
        decide(spec, {"Enabled": AFTER_APPLY})


def test_a_path_through_an_unknown_block_is_not_guessed_even_by_presence() -> None:
    with pytest.raises(MissingData, match="known only after apply"):
        decide({"path": "VpcConfig.Subnets", "op": "not_empty"}, {"VpcConfig": AFTER_APPLY})


def test_a_filter_reading_an_unknown_field_is_not_guessed() -> None:
    doc = {"Rules": [{"Algorithm": AFTER_APPLY}]}
    with pytest.raises(MissingData, match="known only after apply"):
        decide({"path": "Rules[?Algorithm == 'aws:kms'].Algorithm", "op": "not_empty"}, doc)


def test_an_unknown_the_expression_does_not_read_changes_nothing() -> None:
    doc = {"Variants": [{"Serverless": None, "Count": 2, "VolumeSize": AFTER_APPLY}]}
    assert decide({"path": "Variants[?Serverless == null] | length(@)", "op": "gt", "value": 0}, doc)


def test_a_value_the_plan_cannot_tell_is_never_decided() -> None:
    doc = {"properties": {"connections": NotInPlan("made outside the plan")}}
    for op in ("present", "absent", "not_empty"):
        with pytest.raises(MissingData, match="not decided by this plan: made outside the plan"):
            decide({"path": "properties.connections[?status == 'Approved']", "op": op}, doc)
