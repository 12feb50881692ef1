"""Condition equality does not convert: a boolean is never a number, as ``param_values`` already holds.

Python's ``True == 1`` let ``{op: eq, value: true}`` pass a document holding ``1`` (and ``in: [false]``
pass ``0``), though the same operators never equate the string ``"1"`` with ``1``.
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor.conditions import compile_condition
from auditor.model import Resource


def _passes(spec: dict[str, Any], value: Any) -> bool:
    resource = Resource(id="r", type="aws.t", provider="aws", account="1", region="r", name="n",
                        document={"a": value})
    return compile_condition(spec).evaluate(resource, {}).passed


@pytest.mark.parametrize(("spec", "value", "passed"), [
    ({"path": "a", "op": "eq", "value": True}, 1, False),
    ({"path": "a", "op": "eq", "value": 1}, True, False),
    ({"path": "a", "op": "eq", "value": False}, 0, False),
    ({"path": "a", "op": "ne", "value": True}, 1, True),
    ({"path": "a", "op": "in", "value": [False]}, 0, False),
    ({"path": "a", "op": "not_in", "value": [1, 2]}, True, True),
    ({"path": "a", "op": "contains", "value": True}, [1], False),
    ({"path": "a", "op": "eq", "value": [True]}, [1], False),
    ({"path": "a", "op": "eq", "value": {"on": True}}, {"on": 1}, False),
    # what stays equal
    ({"path": "a", "op": "eq", "value": True}, True, True),
    ({"path": "a", "op": "eq", "value": 2}, 2.0, True),
    ({"path": "a", "op": "in", "value": [1, 2]}, 2, True),
    ({"path": "a", "op": "contains", "value": "x"}, ["x"], True),
    ({"path": "a", "op": "contains", "value": "x"}, "axb", True),
    ({"path": "a", "op": "eq", "value": {"on": [True, 1]}}, {"on": [True, 1]}, True),
])
def test_a_boolean_never_equals_a_number(spec: dict[str, Any], value: Any, passed: bool):
    assert _passes(spec, value) is passed
