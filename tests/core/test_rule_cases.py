"""Every catalog rule has its cases beside it (``rules/<provider>/<id>.cases.yaml``): PASS, FAIL and
NOT_APPLICABLE/ERROR cases, every one of which holds."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest

from auditor.catalog import CASES_SUFFIX, load_catalog, pack_files
from auditor.cli import main
from auditor.model import Rule, Status
from auditor.paths import rules_dir
from auditor.rulecases import RuleCase, load_cases, run_case
from auditor.yamlio import load_yaml

# Rules that by definition never pass (product-spec: "never PASS: v1 web services must migrate").
NEVER_PASS = {"azure.ml.legacy_service.retired"}
CATALOG = load_catalog()


def catalog_cases(directory: Path, rules: Mapping[str, Rule]) -> list[RuleCase]:
    return [c for p in sorted(directory.rglob(f"*{CASES_SUFFIX}")) for c in load_cases(p, rules)]


ALL_CASES = catalog_cases(rules_dir(), CATALOG)


def case_problems(directory: Path, rules: Mapping[str, Rule]) -> list[str]:
    """Why the catalog in ``directory`` is not fully tested: a rule file without ``<id>.cases.yaml`` beside it,
    a case file of another rule, a case file with no rule beside it, a rule lacking a kind of case."""
    problems = []
    rule_files, _ = pack_files(directory)
    for path in rule_files:
        cases = path.with_name(f"{path.stem}{CASES_SUFFIX}")
        if not cases.exists():
            problems.append(f"{path.stem}: no {cases.name} beside {path.name}")
        elif load_yaml(cases).data.get("rule") != path.stem:
            problems.append(f"{cases}: its cases are not those of {path.stem}")
    stray = set(directory.rglob(f"*{CASES_SUFFIX}")) - {p.with_name(f"{p.stem}{CASES_SUFFIX}") for p in rule_files}
    problems += [f"{p.relative_to(directory)}: no rule file beside it" for p in sorted(stray)]
    cases = catalog_cases(directory, rules)
    for rule_id, rule in sorted(rules.items()):
        statuses = {c.expect for c in cases if c.rule_id == rule_id}
        never = rule_id in NEVER_PASS
        wanted = {"a FAIL case": Status.FAIL in statuses,
                  "a PASS case": never or Status.PASS in statuses,
                  "no PASS case (the rule never passes)": not never or Status.PASS not in statuses,
                  "a NOT_APPLICABLE or ERROR case": bool(statuses & {Status.NOT_APPLICABLE, Status.ERROR}),
                  "a NOT_APPLICABLE case (it has applies_when)":
                      rule.applies_when is None or Status.NOT_APPLICABLE in statuses}
        problems += [f"{rule_id}: needs {what}" for what, ok in wanted.items() if not ok]
    return problems


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: f"{c.rule_id}:{c.name}")
def test_case(case):
    result = run_case(case, CATALOG)
    assert result.finding.status is case.expect, (
        f"{case.file}:{case.line}: expected {case.expect}, got {result.finding.status}: {result.finding.message}"
    )
    assert result.finding.message.strip()
    if result.finding.status is Status.ERROR:
        assert result.finding.evidence.get("error"), "an ERROR must carry its reason"


def test_every_rule_has_its_cases_beside_it_with_pass_fail_and_na_or_error():
    assert case_problems(rules_dir(), CATALOG) == []
    assert {c.rule_id for c in ALL_CASES} == set(CATALOG)


def test_a_rule_without_cases_or_without_a_kind_of_case_is_caught(tmp_path: Path):
    copy = tmp_path / "rules"
    shutil.copytree(rules_dir(), copy)
    (copy / "aws" / f"aws.sagemaker.model.vpc{CASES_SUFFIX}").unlink()
    cases = copy / "azure" / f"azure.ml.online_endpoint.auth_mode{CASES_SUFFIX}"
    text = cases.read_text(encoding="utf-8")
    assert text.count("expect: FAIL") == 1
    cases.write_text(text.replace("expect: FAIL", "expect: PASS"), encoding="utf-8")
    retired = copy / "azure" / f"azure.ml.legacy_service.retired{CASES_SUFFIX}"
    retired.write_text(retired.read_text(encoding="utf-8").replace("expect: FAIL", "expect: PASS", 1), encoding="utf-8")
    shutil.move(copy / "aws" / f"aws.kms.key.rotation_enabled{CASES_SUFFIX}",
                copy / "azure" / f"aws.kms.key.rotation_enabled{CASES_SUFFIX}")
    assert case_problems(copy, load_catalog(copy)) == [
        f"aws.kms.key.rotation_enabled: no aws.kms.key.rotation_enabled{CASES_SUFFIX} beside "
        "aws.kms.key.rotation_enabled.yaml",
        f"aws.sagemaker.model.vpc: no aws.sagemaker.model.vpc{CASES_SUFFIX} beside aws.sagemaker.model.vpc.yaml",
        f"azure/aws.kms.key.rotation_enabled{CASES_SUFFIX}: no rule file beside it",
        "aws.sagemaker.model.vpc: needs a FAIL case",
        "aws.sagemaker.model.vpc: needs a PASS case",
        "aws.sagemaker.model.vpc: needs a NOT_APPLICABLE or ERROR case",
        "azure.ml.legacy_service.retired: needs no PASS case (the rule never passes)",
        "azure.ml.online_endpoint.auth_mode: needs a FAIL case",
    ]


def test_rules_test_without_a_directory_runs_the_shipped_catalogs_cases(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exit_:
        main(["rules", "test"])
    out, err = capsys.readouterr()
    assert exit_.value.code == 0, out
    assert out.splitlines()[-1] == f"{len(ALL_CASES)} cases, 0 failed"
    assert "has no case" not in err


def test_the_readme_case_file_example_is_a_case_file_whose_cases_hold(tmp_path: Path):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    example = next(block for block in readme.split("```yaml\n")[1:] if block.startswith("rule: "))
    path = tmp_path / f"example{CASES_SUFFIX}"
    path.write_text(example[:example.index("```")], encoding="utf-8")
    results = [run_case(case, CATALOG) for case in load_cases(path, CATALOG)]
    assert {r.case.expect for r in results} == {Status.PASS, Status.FAIL, Status.ERROR}
    assert all(r.ok for r in results)
