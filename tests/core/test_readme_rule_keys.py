"""README.md's rule file reference is complete and its parameterised example works as printed.

(a) Every key the rule schema allows, at every level, is a row of the "Rule file keys" table, with its
    required-ness and its enumerated values; every condition key and operator is a row of "Conditions".
    A key added to the schema without a row fails here.
(b) The example rule, its cases and its policy, taken from the README's text, load as a rule pack and
    pass ``auditor rules test`` run as the installed command.
(c) That policy with a parameter outside the rule's ``param_values`` is exit 3 naming the allowed values,
    in the words the README quotes.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.conditions import OPERATORS, PRESENCE_OPS, VALUE_OPS, ConditionSyntaxError, compile_condition
from auditor.paths import schemas_dir
from auditor.policy import load_policy

README = Path(__file__).resolve().parents[2] / "README.md"
AUDITOR = Path(sys.executable).parent / "auditor"
SCHEMA: dict[str, Any] = json.loads((schemas_dir() / "rule.schema.json").read_text(encoding="utf-8"))

CONDITION_KEYS = ("path", "op", "value", "on_missing", "all", "any", "not")
ON_MISSING = ("error", "fail")


def catalog_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Rule catalog\n")
    return text[start:text.index("\n## ", start + 1)]


def subsection(title: str) -> str:
    """The text under a heading of the Rule catalog section, up to the next heading of any level."""
    section = catalog_section()
    start = section.index(f" {title}\n")
    end = re.search(r"\n#{2,4} ", section[start:])
    return section[start:start + end.start()] if end else section[start:]


def table_rows(text: str) -> dict[str, list[str]]:
    """The rows of the Markdown tables in ``text`` whose first cell is one code span: that key -> the cells."""
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if cells and re.fullmatch(r"`[^`]+`", cells[0]):
            rows[cells[0].strip("`")] = cells[1:]
    return rows


# --- (a) the key reference --------------------------------------------------------------------------


@dataclass(frozen=True)
class SchemaKey:
    name: str  # dotted: remediation.manual.disruption
    required: bool
    enum: tuple[Any, ...] = ()


def _resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = SCHEMA
        for part in ref[2:].split("/"):
            target = target[part]
        return _resolve(target)
    return node


def schema_keys(node: Mapping[str, Any], prefix: str = "") -> Iterator[SchemaKey]:
    """Every named property the schema allows, at every level (through arrays, maps and $refs)."""
    node = _resolve(node)
    required = set(node.get("required", ()))
    for name, sub in node.get("properties", {}).items():
        resolved = _resolve(sub)
        yield SchemaKey(f"{prefix}{name}", name in required, tuple(resolved.get("enum", ())))
        yield from schema_keys(resolved, f"{prefix}{name}.")
    for nested in ("items", "additionalProperties"):
        child = node.get(nested)
        if isinstance(child, Mapping):
            yield from schema_keys(child, prefix)


SCHEMA_KEYS = tuple(schema_keys(SCHEMA))
ONE_OF = {name for branch in SCHEMA.get("oneOf", ()) for name in branch.get("required", ())}


def test_the_schema_walk_sees_every_level():
    """The walk itself: top level, nested mappings, a nested mapping's own required keys, enums."""
    names = {k.name for k in SCHEMA_KEYS}
    assert {"id", "messages.not_applicable", "remediation.manual.procedure"} <= names
    by_name = {k.name: k for k in SCHEMA_KEYS}
    assert by_name["remediation.manual.disruption"].required and not by_name["remediation.manual"].required
    assert "info" in by_name["severity"].enum
    assert sorted(ONE_OF) == ["check", "expect"]


def test_every_schema_key_has_a_row_and_every_row_a_schema_key():
    rows = table_rows(subsection("Rule file keys"))
    schema = {k.name for k in SCHEMA_KEYS}
    assert sorted(schema - rows.keys()) == [], "document these rule keys in README.md's 'Rule file keys' table"
    assert sorted(rows.keys() - schema) == [], "README.md documents rule keys the schema does not allow"


@pytest.mark.parametrize("key", SCHEMA_KEYS, ids=lambda k: k.name)
def test_each_row_says_whether_the_key_is_required_and_its_allowed_values(key: SchemaKey):
    required, kind, meaning, allowed = table_rows(subsection("Rule file keys"))[key.name]
    assert kind and meaning, f"{key.name}: the type and meaning columns are empty"
    if key.name in ONE_OF:
        assert required == "`expect` or `check`"
    elif key.required:
        assert required.startswith("yes"), f"{key.name} is required: its row says {required!r}"
    else:
        assert required == "no", f"{key.name} is optional: its row says {required!r}"
    for value in key.enum:
        assert f"`{value}`" in allowed, f"{key.name}: allowed value {value!r} is not in its row"


def test_every_condition_key_and_operator_has_a_row():
    text = subsection("Conditions")
    named = {code for line in text.splitlines() if line.startswith("| `")
             for code in re.findall(r"`([^`]+)`", line.split("|")[1])}  # a row may name several: `eq`, `ne`
    assert sorted(set(CONDITION_KEYS) - named) == [], "document these condition keys in README.md's Conditions"
    assert sorted(OPERATORS - named) == [], "document these operators in README.md's Conditions"
    assert f"`{ON_MISSING[0]}` (default) or `{ON_MISSING[1]}`" in table_rows(text)["on_missing"][1]


def test_the_condition_keys_the_readme_lists_are_those_the_loader_accepts():
    """What the Conditions table calls keys compile; any other key and on_missing value is refused."""
    for op in sorted(OPERATORS):
        spec: dict[str, Any] = {"path": "a", "op": op}
        if op in VALUE_OPS:
            spec["value"] = [1] if op in ("in", "not_in") else 1
            for on_missing in ON_MISSING:
                compile_condition({**spec, "on_missing": on_missing})
        compile_condition(spec)
    for combinator in ("all", "any"):
        compile_condition({combinator: [{"path": "a", "op": "present"}]})
    compile_condition({"not": {"path": "a", "op": "present"}})
    with pytest.raises(ConditionSyntaxError, match="unknown key"):
        compile_condition({"path": "a", "op": "present", "when": 1})
    with pytest.raises(ConditionSyntaxError, match="on_missing"):
        compile_condition({"path": "a", "op": "eq", "value": 1, "on_missing": "pass"})
    assert PRESENCE_OPS | VALUE_OPS == OPERATORS


# --- (b) the parameterised example ------------------------------------------------------------------


def example_files() -> dict[str, str]:
    """The README's example files: the YAML blocks of the section whose first line names a path under audit/."""
    files = {}
    for block in re.findall(r"```yaml\n(.*?)```", catalog_section(), re.S):
        first, _, rest = block.partition("\n")
        if first.startswith("# audit/"):
            files[first[2:].strip()] = rest
    return files


def write_example(root: Path, replace: tuple[str, str] | None = None) -> None:
    for name, text in example_files().items():
        if replace is not None and name == "audit/policy.yaml":
            assert replace[0] in text, f"the README's policy no longer holds {replace[0]!r}"
            text = text.replace(*replace)
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def auditor(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed command, as a reader of the README runs it."""
    return subprocess.run([str(AUDITOR), *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False)


RULE_ID = "azure.acme.compute_cluster.public_ssh_closed"


def test_the_example_is_a_rule_its_cases_and_a_policy():
    files = example_files()
    assert sorted(files) == ["audit/policy.yaml", f"audit/rules/{RULE_ID}.cases.yaml", f"audit/rules/{RULE_ID}.yaml"]


def test_the_example_shows_what_it_is_there_to_show(tmp_path: Path):
    """A parameter with its allowed values, applies_when, on_missing and cases of every status, one with params."""
    write_example(tmp_path)
    rule = load_policy(tmp_path / "audit" / "policy.yaml").rules[RULE_ID]
    assert rule.params and rule.param_values.keys() == rule.params.keys()
    assert rule.applies_when is not None and rule.remediation.manual is not None
    assert "on_missing: fail" in example_files()[f"audit/rules/{RULE_ID}.yaml"]
    cases = yaml.safe_load(example_files()[f"audit/rules/{RULE_ID}.cases.yaml"])["cases"]
    assert {c["expect"] for c in cases} == {"PASS", "FAIL", "NOT_APPLICABLE", "ERROR"}
    assert any("params" in c for c in cases)


def test_the_example_pack_passes_auditor_rules_test(tmp_path: Path):
    write_example(tmp_path)
    run = auditor(["rules", "test", "audit/rules"], tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    cases = yaml.safe_load(example_files()[f"audit/rules/{RULE_ID}.cases.yaml"])["cases"]
    assert run.stdout.count(f"ok    {RULE_ID}: ") == len(cases), run.stdout
    summary = f"{len(cases)} cases, 0 failed"
    assert summary in run.stdout
    assert f"auditor rules test audit/rules        # {summary}: exit 0" in catalog_section(), "README's count is stale"


def test_rules_show_gives_the_policys_value_and_the_allowed_ones(tmp_path: Path):
    write_example(tmp_path)
    run = auditor(["rules", "show", RULE_ID, "--policy", "audit/policy.yaml"], tmp_path)
    assert run.returncode == 0, run.stderr
    assert 'allowed_ssh_access = ["Disabled", "Enabled"]' in run.stdout
    assert "allowed values: each item one of Disabled, Enabled, NotSpecified" in run.stdout
    assert "(when missing: FAIL)" in run.stdout and "Applies when (otherwise NOT_APPLICABLE):" in run.stdout


# --- (c) a value outside param_values -------------------------------------------------------------------


def quoted_error() -> tuple[str, str]:
    """The README's policy value outside param_values and the error it quotes for it."""
    text = " ".join(subsection("A rule of your own, with a parameter").split())
    m = re.search(r"`(allowed_ssh_access: \[[^]]*\])` gives `(.*?)`\.", text)
    assert m is not None, "the README no longer quotes the error for a value outside param_values"
    return m.group(1), m.group(2)


def test_a_policy_value_outside_param_values_is_exit_3_naming_the_allowed_values(tmp_path: Path):
    bad, message = quoted_error()
    write_example(tmp_path, ("allowed_ssh_access: [Disabled, Enabled]", bad))
    run = auditor(["rules", "list", "--policy", "audit/policy.yaml"], tmp_path)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "must be one of: Disabled, Enabled, NotSpecified" in run.stderr
    assert message in " ".join(run.stderr.split()), "README.md quotes another error than the auditor gives"


def test_a_default_outside_param_values_is_exit_3_too(tmp_path: Path):
    write_example(tmp_path)
    rule = tmp_path / "audit" / "rules" / f"{RULE_ID}.yaml"
    rule.write_text(rule.read_text(encoding="utf-8").replace("allowed_ssh_access: [Disabled]\n",
                                                             "allowed_ssh_access: [Disabld]\n", 1), encoding="utf-8")
    run = auditor(["rules", "test", "audit/rules"], tmp_path)
    assert run.returncode == 3, run.stdout + run.stderr
    assert f"rules/{RULE_ID}.yaml:9: field 'params.allowed_ssh_access[0]'" in run.stderr
    assert "must be one of: Disabled, Enabled, NotSpecified); did you mean 'Disabled'?" in run.stderr


def test_an_id_of_another_provider_names_the_allowed_prefixes_not_the_pattern(tmp_path: Path):
    write_example(tmp_path)
    rules = tmp_path / "audit" / "rules"
    for path in rules.iterdir():
        text = path.read_text(encoding="utf-8").replace(RULE_ID, "gcp.acme.vertex.public_ssh_closed")
        path.with_name(path.name.replace(RULE_ID, "gcp.acme.vertex.public_ssh_closed")).write_text(text)
        path.unlink()
    run = auditor(["rules", "test", "audit/rules"], tmp_path)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "'gcp.acme.vertex.public_ssh_closed' is not a valid rule id: a rule id starts with 'aws.' or 'azure.'" \
        in run.stderr
    assert "^(" not in run.stderr and "[a-z0-9_]" not in run.stderr
