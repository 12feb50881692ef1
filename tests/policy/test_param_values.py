"""Enumerated parameters: a rule lists the values a parameter may take (``param_values``), and a policy
value outside them is a configuration error (exit 3) naming file, line, field and the allowed values,
not a nightly FAIL on every resource."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.catalog import Plugins, load_catalog, pack_files
from auditor.cli import main
from auditor.errors import ConfigError
from auditor.model import Severity, Status
from auditor.paths import rules_dir
from auditor.pipeline import evaluate_inventory, from_policy
from auditor.policy import load_policy
from auditor.providers.azure.roles import scope_level
from auditor.yamlio import load_yaml

from .helpers import endpoint, inventory, workspace, write

AUTH = "azure.ml.online_endpoint.auth_mode"
TYPO = f"""\
version: 1
parameters:
  {AUTH}:
    allowed_auth_modes: [AADTokn]
"""


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``auditor ARGS`` through ``auditor.cli.main``, in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = capsys.readouterr()
    return (exit_.value.code if isinstance(exit_.value.code, int) else 1), out, err


def test_a_misspelt_auth_mode_is_exit_3_naming_file_line_field_and_the_allowed_values(tmp_path, capsys):
    policy = write(tmp_path / "policy.yaml", TYPO)
    out_dir = tmp_path / "out"
    code, _, err = run_cli(capsys, "demo", "--policy", str(policy), "--out", str(out_dir), "--quiet")
    assert code == 3, err
    assert f"{policy}:4" in err
    assert f"field 'parameters.{AUTH}.allowed_auth_modes[0]'" in err
    assert "'AADTokn' is not an allowed value" in err and "AADToken, AMLToken, Key" in err
    assert "did you mean 'AADToken'?" in err
    assert "Traceback" not in err
    assert not out_dir.exists(), "rejected before anything ran or was written"


@pytest.mark.parametrize(
    ("rid", "params", "line", "field", "allowed"),
    [
        (AUTH, "    allowed_auth_modes:\n      - AADToken\n      - aadtoken\n", 5, "allowed_auth_modes[1]",
         "AADToken, AMLToken, Key"),
        ("azure.ml.workspace.managed_network_isolation", "    allowed_isolation_modes: [AllowOnlyApproved]\n", 3,
         "allowed_isolation_modes[0]", "AllowOnlyApprovedOutbound, AllowInternetOutbound, Disabled"),
        ("azure.ml.online_endpoint.identity_least_privilege",
         "    forbidden_scope_levels: [subscription, resourceGroup]\n", 3, "forbidden_scope_levels[1]",
         "root, management_group, subscription, resource_group, resource"),
        ("azure.ml.serverless_endpoint.auth_mode", "    allowed_auth_modes: [Entra]\n", 3, "allowed_auth_modes[0]",
         "AAD, Key, KeyAndAAD"),
    ],
    ids=["case differs", "isolation mode", "scope level", "serverless auth mode"],
)
def test_every_enumerated_shipped_parameter_rejects_a_value_outside_its_set(tmp_path, rid, params, line, field,
                                                                            allowed):
    path = write(tmp_path / "policy.yaml", f"parameters:\n  {rid}:\n{params}")
    with pytest.raises(ConfigError) as e:
        load_policy(path, plugins=Plugins())
    assert (e.value.file, e.value.line, e.value.field) == (str(path), line, f"parameters.{rid}.{field}"), str(e.value)
    assert f"must be one of: {allowed}" in str(e.value)


def test_values_inside_the_set_are_accepted_and_decide_the_verdict(tmp_path):
    path = write(tmp_path / "policy.yaml", f"parameters:\n  {AUTH}:\n    allowed_auth_modes: [AADToken, Key]\n")
    policy = load_policy(path, plugins=Plugins())
    assert policy.rules[AUTH].params["allowed_auth_modes"] == ["AADToken", "Key"]
    inv = inventory(workspace(), endpoint("ep-key", auth="Key", public="Disabled", env="prod"),
                    endpoint("ep-aml", auth="AMLToken", public="Disabled", env="prod"))
    result = evaluate_inventory(from_policy(policy, None, Severity.HIGH), inv, datetime(2026, 6, 1, tzinfo=UTC))
    status = {f.resource_name: f.status for f in result.findings if f.rule_id == AUTH}
    assert status == {"ep-key": Status.PASS, "ep-aml": Status.FAIL}


CUSTOM = """\
custom_rules:
  - id: azure.acme.ml.online_endpoint.public_access
    title: Endpoints take the platform team's network mode
    severity: medium
    resource_type: azure.ml.online_endpoint
    rationale: The platform team decides which network mode endpoints run in.
    params: {mode: Disabled, modes: [Disabled]}
    param_values:
      mode: [Disabled, Enabled]
      modes: [Disabled, Enabled]
    expect: {path: properties.publicNetworkAccess, op: eq, value: {param: mode}}
    messages: {pass: "{name} ok", fail: "{name} not ok"}
    remediation: {guidance: Set the endpoint's network mode.}
"""


def test_a_custom_rule_in_a_policy_declares_its_values_and_the_same_policy_is_held_to_them(tmp_path):
    rid = "azure.acme.ml.online_endpoint.public_access"
    ok = load_policy(write(tmp_path / "ok.yaml", CUSTOM + f"parameters:\n  {rid}: {{mode: Enabled}}\n"),
                     plugins=Plugins())
    assert ok.rules[rid].params["mode"] == "Enabled"
    assert ok.rules[rid].param_values == {"mode": ("Disabled", "Enabled"), "modes": ("Disabled", "Enabled")}
    path = write(tmp_path / "bad.yaml", CUSTOM + f"parameters:\n  {rid}:\n    mode: disabled\n")
    with pytest.raises(ConfigError) as e:
        load_policy(path, plugins=Plugins())
    assert (e.value.line, e.value.field) == (16, f"parameters.{rid}.mode")
    assert "'disabled' is not an allowed value of parameter 'mode' (mode must be one of: Disabled, Enabled)" in str(
        e.value)
    assert "did you mean 'Disabled'?" in str(e.value)


@pytest.mark.parametrize(
    ("edit", "line", "field", "message"),
    [
        (lambda t: t.replace("      modes: [Disabled, Enabled]\n", "      other: [Disabled]\n"), 10,
         "custom_rules[0].param_values.other", "'other' is not a parameter of the rule (its parameters: mode, modes)"),
        (lambda t: t.replace("modes: [Disabled]}", "modes: [Closed]}"), 7, "custom_rules[0].params.modes[0]",
         "the default of parameter 'modes': 'Closed' is not an allowed value"),
        (lambda t: t.replace("params: {mode: Disabled,", "params: {mode: true,"), 9,
         "custom_rules[0].param_values.mode", "only a string, number or list parameter can list its values"),
        (lambda t: t.replace("      mode: [Disabled, Enabled]\n", "      mode: []\n"), 9,
         "custom_rules[0].param_values.mode", "should be non-empty"),
        (lambda t: t.replace("      mode: [Disabled, Enabled]\n", "      mode: [Disabled, Disabled]\n"), 9,
         "custom_rules[0].param_values.mode", "non-unique"),
    ],
    ids=["undeclared parameter", "default outside its values", "boolean parameter", "empty set", "repeated value"],
)
def test_a_malformed_param_values_declaration_is_rejected_with_line_and_field(tmp_path, edit, line, field, message):
    path = write(tmp_path / "policy.yaml", edit(CUSTOM))
    with pytest.raises(ConfigError) as e:
        load_policy(path, plugins=Plugins())
    assert (e.value.file, e.value.line, e.value.field) == (str(path), line, field), str(e.value)
    assert message in str(e.value)


def test_a_number_parameter_may_be_enumerated_too(tmp_path):
    rule = CUSTOM.replace("params: {mode: Disabled,", "params: {mode: 2,").replace(
        "      mode: [Disabled, Enabled]\n", "      mode: [1, 2, 3]\n")
    rid = "azure.acme.ml.online_endpoint.public_access"
    assert load_policy(write(tmp_path / "ok.yaml", rule + f"parameters:\n  {rid}: {{mode: 3}}\n"),
                       plugins=Plugins()).rules[rid].params["mode"] == 3
    allowed = r"4 is not an allowed value of parameter 'mode' \(mode must be one of: 1, 2, 3\)"
    with pytest.raises(ConfigError, match=allowed):
        load_policy(write(tmp_path / "bad.yaml", rule + f"parameters:\n  {rid}: {{mode: 4}}\n"), plugins=Plugins())


# --- the shipped catalog declares what its enumerated parameters may be -------------------------------


def _compared_params(condition: Any) -> Iterator[str]:
    """Parameters a condition compares a document value with by equality or membership."""
    if isinstance(condition, Mapping):
        value = condition.get("value")
        if condition.get("op") in {"eq", "ne", "in", "not_in"} and isinstance(value, Mapping) and "param" in value:
            yield value["param"]
        for v in condition.values():
            yield from _compared_params(v)
    elif isinstance(condition, list):
        for v in condition:
            yield from _compared_params(v)


def test_every_shipped_parameter_compared_with_a_service_value_is_enumerated():
    files, _ = pack_files(rules_dir())  # the rule files: neither frameworks nor cases
    compared = {(load_yaml(p).data["id"], name) for p in files
                for key in ("expect", "applies_when") for name in _compared_params(load_yaml(p).data.get(key))}
    catalog = load_catalog()
    assert compared, "the catalog compares some parameter with a service value"
    assert {(rid, name) for rid, name in compared if name not in catalog[rid].param_values} == set()


def test_the_scope_levels_a_policy_may_forbid_are_exactly_those_the_collector_classifies():
    rule = load_catalog()["azure.ml.online_endpoint.identity_least_privilege"]
    scopes = ["/", "/providers/Microsoft.Management/managementGroups/mg", "/subscriptions/s",
              "/subscriptions/s/resourceGroups/rg", "/subscriptions/s/resourceGroups/rg/providers/P/t/n"]
    assert set(rule.param_values["forbidden_scope_levels"]) == {scope_level(s) for s in scopes}


def test_the_cli_rejects_the_typo_before_a_scan_touches_the_cloud(tmp_path, capsys, monkeypatch):
    # No endpoint answers on port 9: had the scan started, it would end differently (exit 2).
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_EC2_METADATA_DISABLED": "true",
                       "AWS_MAX_ATTEMPTS": "1"}.items():
        monkeypatch.setenv(key, value)
    policy = write(tmp_path / "policy.yaml", textwrap.dedent(TYPO))
    code, _, err = run_cli(capsys, "scan", "aws", "--region", "eu-west-1", "--policy", str(policy),
                           "--out", str(tmp_path / "o"), "--quiet")
    assert code == 3, err
    assert f"{policy}:4" in err and "allowed_auth_modes[0]" in err and "AADToken, AMLToken, Key" in err
    assert not Path(tmp_path / "o").exists()
