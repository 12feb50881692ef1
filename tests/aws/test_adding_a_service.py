"""CONTRIBUTING.md's "A type of another AWS service", done for real: a Lambda type and one rule, three files.

The walkthrough copies the checkout, declares ``aws.lambda.function`` (a service the auditor never read) in
``providers/aws/resource_types.py`` with ``paging`` and a per-resource tag call, and adds its rule with cases
under ``rules/aws/``: nothing else. Then, in the copy, ``auditor permissions aws`` prints the new calls,
``auditor rules test`` runs the cases, and ``auditor scan aws`` against moto lists and describes the functions
with the generic regional collector, reads their tags, counts them in a ``lambda`` coverage row and evaluates
the rule on them.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from .conftest import Moto
from .test_adding_a_resource_type import _auditor, _changed, _checkout

RULE = "aws.lambda.function.tracing_active"

DECLARATION = '''
FUNCTION = ResourceType(
    id="aws.lambda.function", coverage="lambda",
    list=("lambda:ListFunctions",), describe=("lambda:GetFunctionConfiguration", "lambda:ListTags"),
    paging=Paging("Functions", "FunctionName", "FunctionArn", "FunctionName", page_size=50,
                  tags=Tags("lambda:ListTags", "Resource", "Tags")),
)
'''

RULE_FILE = f"""id: {RULE}
title: Lambda function traces its invocations with X-Ray
severity: low
resource_type: aws.lambda.function
rationale: Without active tracing a function's calls to a model leave no trace to investigate.
expect:
  path: TracingConfig.Mode
  op: eq
  value: Active
messages:
  pass: Function {{name}} traces its invocations.
  fail: Function {{name}} does not trace its invocations.
remediation:
  guidance: Turn on active tracing.
  manual:
    disruption: none
    disruption_detail: the configuration changes in place; the function keeps serving
    procedure:
      - aws lambda update-function-configuration --function-name {{name}} --tracing-config Mode=Active
anchors:
  - AWS Security Hub Lambda.7
"""

CASES_FILE = f"""rule: {RULE}
cases:
  - name: active
    expect: PASS
    document: {{TracingConfig: {{Mode: Active}}}}
  - name: pass-through
    expect: FAIL
    document: {{TracingConfig: {{Mode: PassThrough}}}}
  - name: not described
    expect: ERROR
    unreadable: {{"*": "403 AccessDenied"}}
"""


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return event\n")
    return buffer.getvalue()


def test_a_type_of_a_new_service_with_one_rule_is_three_files(moto: Moto, tmp_path: Path) -> None:
    copy = _checkout(tmp_path)
    declarations = copy / "auditor" / "providers" / "aws" / "resource_types.py"
    text = declarations.read_text(encoding="utf-8")
    types = "TYPES: tuple[ResourceType, ...] = ("
    imports = "from auditor.providers.declared import Paging, ResourceType,"
    assert text.count(types) == 1 and text.count(imports) == 1
    text = text.replace(imports, "from auditor.providers.declared import Paging, ResourceType, Tags,")
    text = text.replace(types, DECLARATION.lstrip() + "\n" + types + "FUNCTION, ")
    declarations.write_text(text, encoding="utf-8")
    (copy / "rules" / "aws" / f"{RULE}.yaml").write_text(RULE_FILE, encoding="utf-8")
    (copy / "rules" / "aws" / f"{RULE}.cases.yaml").write_text(CASES_FILE, encoding="utf-8")

    assert _changed(copy) == {"auditor/providers/aws/resource_types.py", f"rules/aws/{RULE}.yaml",
                              f"rules/aws/{RULE}.cases.yaml"}

    printed = _auditor(copy, "permissions", "aws")
    assert printed.returncode == 0, printed.stderr
    actions = json.loads(printed.stdout)["Statement"][0]["Action"]
    assert {"lambda:ListFunctions", "lambda:GetFunctionConfiguration", "lambda:ListTags"} <= set(actions)

    cases = _auditor(copy, "rules", "test", str(copy / "rules"))
    assert cases.returncode == 0, cases.stdout + cases.stderr

    session = moto.session()
    role = session.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]
    client = session.client("lambda")
    for name, mode in (("traced-fn", "Active"), ("dark-fn", "PassThrough")):
        client.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handle",
                               Code={"ZipFile": _zip()}, TracingConfig={"Mode": mode}, Tags={"team": "ml"})
    out = tmp_path / "out"
    scan = _auditor(copy, "scan", "aws", "--region", "us-east-1", "--out", str(out), "--format", "json", "--quiet")
    assert scan.returncode == 0, scan.stdout + scan.stderr  # complete; its FAIL is low, below --fail-on high
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    verdicts = {f["resource_id"].rsplit(":", 1)[-1]: f["status"] for f in findings["findings"] if f["rule_id"] == RULE}
    assert verdicts == {"traced-fn": "PASS", "dark-fn": "FAIL"}
    row = next(c for c in findings["coverage"] if c["service"] == "lambda")
    assert row["resource_types"] == ["aws.lambda.function"] and row["resources"] == 2 and not row["error"]
    assert row["scope_id"] == "arn:aws:lambda:us-east-1:123456789012:*"
    functions = [r for r in findings["inventory"] if r["type"] == "aws.lambda.function"]
    assert sorted(r["name"] for r in functions) == ["dark-fn", "traced-fn"]
    assert all(r["tags"] == {"team": "ml"} for r in functions)  # read by the declared per-resource tag call
