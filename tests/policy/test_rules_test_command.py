"""`auditor rules test DIR`: a rule author's cases run like unit tests (the installed console script)."""

from __future__ import annotations

from e2e.helpers import run_auditor

from .helpers import rule_yaml, write

RULE = "aws.acme.sagemaker.model.owner_tagged"

CASES = f"""\
rule: {RULE}
cases:
  - name: a model with an owner passes
    expect: PASS
    document: {{ModelName: m1, Owner: team-a}}
  - name: a model without an owner fails
    expect: FAIL
    document: {{ModelName: m2}}
  - name: an unreadable model is not decided
    expect: ERROR
    document: {{}}
    unreadable: {{"*": AccessDenied}}
"""

WRONG = """\
  - name: the author expected the wrong thing
    expect: PASS
    document: {ModelName: m3}
"""


def _pack(tmp_path, cases: str, *, folder: bool = False):
    write(tmp_path / "pack" / f"{RULE}.yaml", rule_yaml(RULE, "aws.sagemaker.model", "{path: Owner, op: present}"))
    where = tmp_path / "pack" / ("cases/owner.yaml" if folder else f"{RULE}.cases.yaml")
    write(where, cases)
    return tmp_path / "pack"


def test_every_case_holds_exit_0(tmp_path):
    r = run_auditor(["rules", "test", str(_pack(tmp_path, CASES))], tmp_path)
    assert r.code == 0, r.stdout + r.stderr
    assert r.stdout.count("ok  ") == 3 and "FAIL" not in r.stdout
    assert "3 cases, 0 failed" in r.stdout


def test_a_failing_case_is_shown_with_its_place_and_exit_1(tmp_path):
    pack = _pack(tmp_path, CASES + WRONG, folder=True)
    r = run_auditor(["rules", "test", str(pack)], tmp_path)
    assert r.code == 1, r.stdout + r.stderr
    assert "FAIL  aws.acme.sagemaker.model.owner_tagged: the author expected the wrong thing" in r.stdout
    assert f"{pack / 'cases' / 'owner.yaml'}:13: expected PASS, got FAIL" in r.stdout
    assert "4 cases, 1 failed" in r.stdout


def test_a_malformed_case_file_is_exit_3_with_file_and_line(tmp_path):
    pack = _pack(tmp_path, CASES.replace("expect: FAIL", "expect: BROKEN"))
    r = run_auditor(["rules", "test", str(pack)], tmp_path)
    assert r.code == 3
    assert f"{pack / (RULE + '.cases.yaml')}:7" in r.stderr and "cases[1].expect" in r.stderr
    assert "Traceback" not in r.stderr


def test_no_case_file_is_exit_3(tmp_path):
    write(tmp_path / "pack" / f"{RULE}.yaml", rule_yaml(RULE, "aws.sagemaker.model", "{path: Owner, op: present}"))
    r = run_auditor(["rules", "test", str(tmp_path / "pack")], tmp_path)
    assert r.code == 3 and "no rule case files" in r.stderr
