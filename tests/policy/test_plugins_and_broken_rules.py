"""Crash isolation: a broken custom rule or plugin check gives ERROR findings, never a crashed scan;
a plugin that cannot load is a configuration error naming it. Plugins come from the standard
``auditor.rules`` entry-point group."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

import pytest

from auditor.catalog import Plugins, load_plugins
from auditor.errors import ConfigError
from auditor.model import Severity, Status
from auditor.pipeline import evaluate_inventory, from_policy
from auditor.policy import load_policy
from auditor.rule_parts import Verdict
from auditor.yamlio import LocatedYaml

from .helpers import endpoint, inventory, rule_mapping, rule_yaml, workspace, write

STARTED = datetime(2026, 6, 1, tzinfo=UTC)
ONLY = "rules:\n  include: [{ids}]\n"


def _scan(policy):
    inv = inventory(workspace(), endpoint("ep-a", auth="Key", public="Enabled", env="prod"))
    return evaluate_inventory(from_policy(policy, None, Severity.HIGH), inv, STARTED)


def test_a_custom_rule_that_raises_at_evaluation_is_error_and_the_scan_completes(tmp_path):
    broken = rule_yaml("azure.acme.ml.online_endpoint.auth_rank", "azure.ml.online_endpoint",
                       "{path: properties.authMode, op: gt, value: 1}")  # a string compared to a number
    text = ONLY.format(ids="azure.acme.*, azure.ml.online_endpoint.auth_mode") + "custom_rules:\n" + textwrap.indent(
        broken, "    ").replace("    id:", "  - id:", 1)
    result = _scan(load_policy(write(tmp_path / "policy.yaml", text), plugins=Plugins()))
    by_rule = {f.rule_id: f for f in result.findings}
    error = by_rule["azure.acme.ml.online_endpoint.auth_rank"]
    assert error.status is Status.ERROR and "TypeError" in error.message
    assert by_rule["azure.ml.online_endpoint.auth_mode"].status is Status.FAIL, "the other rules still ran"
    assert result.exit_code() == 2, "an undecided rule makes the scan incomplete"


def _boom(resource, inventory, params):
    raise RuntimeError(f"plugin bug on {resource.name}")


def test_a_plugin_check_that_raises_is_error_and_the_scan_completes(tmp_path):
    mapping = rule_mapping("azure.acme.ml.online_endpoint.boom", "azure.ml.online_endpoint", check="acme_boom")
    plugins = Plugins(rules=(LocatedYaml("entry point auditor.rules:acme", mapping, None),),
                      checks={"acme_boom": _boom})
    text = ONLY.format(ids="azure.acme.*, azure.ml.workspace.private_link")
    result = _scan(load_policy(write(tmp_path / "policy.yaml", text), plugins=plugins))
    statuses = {f.rule_id: (f.status, f.message) for f in result.findings}
    status, message = statuses["azure.acme.ml.online_endpoint.boom"]
    assert status is Status.ERROR and "RuntimeError: plugin bug on ep-a" in message
    assert statuses["azure.ml.workspace.private_link"][0] is Status.PASS
    assert result.exit_code() == 2


def _install(tmp_path, monkeypatch, module: str, code: str, entry_points: str) -> None:
    """A throwaway distribution on sys.path: a module and a dist-info with its entry points."""
    write(tmp_path / f"{module}.py", code)
    info = tmp_path / f"{module}-1.0.dist-info"
    write(info / "METADATA", f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    write(info / "entry_points.txt", entry_points)
    monkeypatch.syspath_prepend(str(tmp_path))


PLUGIN = '''\
from auditor.model import Verdict

def rules():
    base = {
        "title": "A rule an installed plugin provides", "severity": "medium",
        "rationale": "The plugin's authors require it of every endpoint.",
        "messages": {"pass": "{name} passes.", "fail": "{name} fails."},
        "remediation": {"guidance": "Follow the plugin's guidance."},
    }
    return [
        {**base, "id": "azure.plug.ml.online_endpoint.private", "resource_type": "azure.ml.online_endpoint",
         "expect": {"path": "properties.publicNetworkAccess", "op": "eq", "value": "Disabled"}},
        {**base, "id": "azure.plug.ml.online_endpoint.named", "resource_type": "azure.ml.online_endpoint",
         "check": "plug_named", "params": {"prefix": "ep-"}},
    ]

def named_check():
    def check(resource, inventory, params):
        return Verdict(resource.name.startswith(params["prefix"]), "name checked", {"name": resource.name})
    return check
'''


def test_an_entry_point_plugin_adds_rules_and_checks(tmp_path, monkeypatch):
    _install(tmp_path, monkeypatch, "plug_rules", PLUGIN,
             "[auditor.rules]\nplug = plug_rules:rules\nplug_named = plug_rules:named_check\n")
    plugins = load_plugins()
    assert set(plugins.checks) == {"plug_named"} and len(plugins.rules) == 2
    policy = load_policy(write(tmp_path / "policy.yaml", ONLY.format(ids="azure.plug.*")), plugins=plugins)
    result = _scan(policy)
    assert {(f.rule_id, f.status) for f in result.findings} == {
        ("azure.plug.ml.online_endpoint.private", Status.FAIL),
        ("azure.plug.ml.online_endpoint.named", Status.PASS),
    }
    assert policy.all_rules["azure.plug.ml.online_endpoint.private"].source.startswith("entry point auditor.rules:plug")
    assert isinstance(policy.checks["plug_named"](workspace(), inventory(), {"prefix": "w"}), Verdict)


def test_a_plugin_that_raises_at_load_is_a_config_error_naming_it(tmp_path, monkeypatch):
    _install(tmp_path, monkeypatch, "plug_broken", "def rules():\n    raise ImportError('acme sdk missing')\n",
             "[auditor.rules]\nbroken = plug_broken:rules\n")
    with pytest.raises(ConfigError) as e:
        load_plugins()
    assert "auditor.rules:broken (plug_broken:rules)" in str(e.value)
    assert "ImportError: acme sdk missing" in str(e.value)


def test_a_plugin_returning_nonsense_or_a_bad_rule_is_a_config_error(tmp_path, monkeypatch):
    _install(tmp_path, monkeypatch, "plug_odd", "def rules():\n    return 42\n",
             "[auditor.rules]\nodd = plug_odd:rules\n")
    with pytest.raises(ConfigError, match="returned int; expected rule mappings or a check"):
        load_plugins()
    plugins = Plugins(rules=(LocatedYaml("entry point auditor.rules:bad", {"id": "azure.odd.x.y"}, None),))
    with pytest.raises(ConfigError) as e:
        load_policy(None, plugins=plugins)
    assert e.value.file == "entry point auditor.rules:bad" and "required property" in str(e.value)
