"""CONTRIBUTING.md's "Adding a resource type", done for real: a SageMaker type and one rule, three files.

The walkthrough copies the checkout, declares ``aws.sagemaker.notebook_instance`` in
``providers/aws/resource_types.py`` and adds its rule with cases under ``rules/aws/``: nothing else. Then, in
the copy, ``auditor permissions aws`` prints the new calls, ``auditor rules test`` runs the cases, and
``auditor scan aws`` against moto lists and describes the notebook, counts it in the SageMaker coverage row and
evaluates the rule on it, with its tags read by the tagging API.
"""

from __future__ import annotations

import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import Moto

REPO = Path(__file__).resolve().parents[2]
RULE = "aws.sagemaker.notebook_instance.root_access_disabled"

DECLARATION = '''
NOTEBOOK_INSTANCE = ResourceType(
    id="aws.sagemaker.notebook_instance", coverage="sagemaker",
    list=("sagemaker:ListNotebookInstances",), describe=("sagemaker:DescribeNotebookInstance", _TAGS),
    paging=Paging("NotebookInstances", "NotebookInstanceName", "NotebookInstanceArn", "NotebookInstanceName"),
    tag_filter="sagemaker:notebook-instance",
)
'''

RULE_FILE = f"""id: {RULE}
title: SageMaker notebook instance users have no root access
severity: medium
resource_type: aws.sagemaker.notebook_instance
rationale: Root access on a notebook instance lets any of its users change what the instance runs.
expect:
  path: RootAccess
  op: eq
  value: Disabled
messages:
  pass: Notebook instance {{name}} gives its users no root access.
  fail: Notebook instance {{name}} gives its users root access.
remediation:
  guidance: Stop the notebook instance, update it with RootAccess Disabled, and start it.
  manual:
    disruption: breaking-clients
    disruption_detail: the notebook instance is stopped while it is updated, and its users lose it until it starts
    procedure:
      - aws sagemaker stop-notebook-instance --notebook-instance-name {{name}} --region {{region}}
      - aws sagemaker update-notebook-instance --notebook-instance-name {{name}} --root-access Disabled
      - aws sagemaker start-notebook-instance --notebook-instance-name {{name}}
anchors:
  - Security Hub SageMaker.3
"""

CASES_FILE = f"""rule: {RULE}
cases:
  - name: root access disabled
    expect: PASS
    document: {{RootAccess: Disabled}}
  - name: root access enabled
    expect: FAIL
    document: {{RootAccess: Enabled}}
"""


def _checkout(tmp_path: Path) -> Path:
    copy = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("auditor", "rules", "reports"):
        shutil.copytree(REPO / name, copy / name, ignore=ignore)
    shutil.copy(REPO / "pyproject.toml", copy / "pyproject.toml")
    return copy


def _changed(copy: Path) -> set[str]:
    """Files of the copy that differ from the repository or are new there."""
    changed: set[str] = set()
    for path in copy.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            relative = path.relative_to(copy)
            original = REPO / relative
            if not original.is_file() or not filecmp.cmp(path, original, shallow=False):
                changed.add(relative.as_posix())
    return changed


def _auditor(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(copy)}
    return subprocess.run([sys.executable, "-m", "auditor", *args], cwd=copy.parent, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_a_sagemaker_type_with_one_rule_is_three_files(moto: Moto, tmp_path: Path) -> None:
    copy = _checkout(tmp_path)
    declarations = copy / "auditor" / "providers" / "aws" / "resource_types.py"
    text = declarations.read_text(encoding="utf-8")
    found = re.search(r"^TYPES: tuple\[ResourceType, \.\.\.\] = \((.*)\)$", text, re.M)
    assert found is not None, "resource_types.py lost its one-line TYPES tuple"
    types = found.group(0)
    declarations.write_text(text.replace(types, DECLARATION.lstrip() + "\n" + types.replace(
        f"{found.group(1)})", f"{found.group(1)}, NOTEBOOK_INSTANCE)")), encoding="utf-8")
    (copy / "rules" / "aws" / f"{RULE}.yaml").write_text(RULE_FILE, encoding="utf-8")
    (copy / "rules" / "aws" / f"{RULE}.cases.yaml").write_text(CASES_FILE, encoding="utf-8")

    assert _changed(copy) == {"auditor/providers/aws/resource_types.py", f"rules/aws/{RULE}.yaml",
                              f"rules/aws/{RULE}.cases.yaml"}

    printed = _auditor(copy, "permissions", "aws")
    assert printed.returncode == 0, printed.stderr
    actions = json.loads(printed.stdout)["Statement"][0]["Action"]
    assert {"sagemaker:ListNotebookInstances", "sagemaker:DescribeNotebookInstance"} <= set(actions)

    cases = _auditor(copy, "rules", "test", str(copy / "rules"))
    assert cases.returncode == 0, cases.stdout + cases.stderr

    client = moto.session().client("sagemaker")
    for name, root in (("open-nb", "Enabled"), ("locked-nb", "Disabled")):
        client.create_notebook_instance(NotebookInstanceName=name, InstanceType="ml.t3.medium", RootAccess=root,
                                        RoleArn="arn:aws:iam::123456789012:role/Notebooks", Tags=[
                                            {"Key": "team", "Value": "ml"}])
    out = tmp_path / "out"
    scan = _auditor(copy, "scan", "aws", "--region", "us-east-1", "--out", str(out), "--format", "json", "--quiet")
    assert scan.returncode == 0, scan.stdout + scan.stderr  # complete; its FAIL is medium, below --fail-on high
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    verdicts = {f["resource_id"].rsplit("/", 1)[-1]: f["status"] for f in findings["findings"] if f["rule_id"] == RULE}
    assert verdicts == {"open-nb": "FAIL", "locked-nb": "PASS"}
    row = next(c for c in findings["coverage"] if c["service"] == "sagemaker")
    assert "aws.sagemaker.notebook_instance" in row["resource_types"] and row["resources"] == 2 and not row["error"]
    notebooks = [r for r in findings["inventory"] if r["type"] == "aws.sagemaker.notebook_instance"]
    assert sorted(r["name"] for r in notebooks) == ["locked-nb", "open-nb"]
    assert all(r["tags"] == {"team": "ml"} for r in notebooks)  # read by the tagging API, as for the other types
