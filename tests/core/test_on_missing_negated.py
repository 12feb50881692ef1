"""``on_missing: fail`` inside ``not``: a missing value must never become a PASS.

``on_missing: fail`` makes a missing value a false test. Under an odd number of ``not`` that false test
turns true, so a rule whose author meant "not set is the insecure default" passed every resource that
did not set it. The loader refuses it in ``expect``; in ``applies_when`` it only decides applicability
(a missing value then means the rule applies) and stays allowed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.cli import main
from auditor.conditions import ConditionSyntaxError, compile_condition
from auditor.model import Resource

ENABLED_IS_DEFAULT = {"path": "properties.publicNetworkAccess", "op": "eq", "value": "Enabled", "on_missing": "fail"}


def _resource(document: dict[str, object]) -> Resource:
    return Resource(id="r", type="azure.ml.workspace", provider="azure", account="s", region="westeurope",
                    name="ws", document=document)


@pytest.mark.parametrize(("spec", "field"), [
    ({"not": ENABLED_IS_DEFAULT}, "expect.not.on_missing"),
    ({"not": {"all": [{"path": "a", "op": "present"}, ENABLED_IS_DEFAULT]}}, "expect.not.all[1].on_missing"),
    ({"any": [{"path": "a", "op": "present"}, {"not": {"not": {"not": ENABLED_IS_DEFAULT}}}]},
     "expect.any[1].not.not.not.on_missing"),
])
def test_on_missing_fail_under_an_odd_number_of_nots_is_refused_in_expect(spec, field):
    with pytest.raises(ConditionSyntaxError, match="would make a missing value PASS") as e:
        compile_condition(spec, "expect")
    assert e.value.field == field


def test_double_negation_keeps_a_missing_value_false():
    condition = compile_condition({"not": {"not": ENABLED_IS_DEFAULT}}, "expect")
    assert condition.evaluate(_resource({"properties": {}}), {}).passed is False


def test_in_applies_when_a_negated_on_missing_fail_means_the_rule_applies():
    condition = compile_condition({"not": ENABLED_IS_DEFAULT}, "applies_when")
    assert condition.evaluate(_resource({"properties": {}}), {}).passed is True


RULE = """\
id: azure.acme.workspace.public_access_off
title: Workspace disables public network access
severity: high
resource_type: azure.ml.workspace
rationale: Not set means Enabled, which exposes the workspace to the internet.
expect:
  not: {path: properties.publicNetworkAccess, op: eq, value: Enabled, on_missing: fail}
messages: {pass: "{name} is private.", fail: "{name} is public."}
remediation: {guidance: Set publicNetworkAccess to Disabled on the workspace.}
"""
CASES = """\
rule: azure.acme.workspace.public_access_off
cases:
  - {name: not set is the public default, expect: FAIL, document: {properties: {}}}
"""


def test_through_the_cli_the_rule_is_exit_3_naming_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    (tmp_path / "azure.acme.workspace.public_access_off.yaml").write_text(RULE, encoding="utf-8")
    (tmp_path / "azure.acme.workspace.public_access_off.cases.yaml").write_text(CASES, encoding="utf-8")
    with pytest.raises(SystemExit) as e:
        main(["rules", "test", str(tmp_path)])
    err = capsys.readouterr().err
    assert e.value.code == 3, err
    assert "azure.acme.workspace.public_access_off.yaml:7: field 'expect.not.on_missing'" in err
    assert "would make a missing value PASS" in err
