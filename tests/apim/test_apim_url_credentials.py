"""Issue 18, item 8: API Management backend URLs with a key in the query string are never published.

A backend called as ``https://fn.azurewebsites.net/api/score?code=KEY`` (an Azure Functions key), one
with ``?api-key=`` over plain HTTP, and one with a password in its user info, served by the Resource
Manager stand-in. ``auditor scan azure`` in every format, ``auditor remediate plan`` and ``auditor
report``, through the CLI in this process: no key reaches any file or the console; each URL is shown
with its scheme, host and path and ``<redacted>`` in place of the credential, and the rules decide on
the real scheme (a redacted URL is no reason to call an https backend unencrypted).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.demo.arm_examples import as_resource, example_items
from auditor.demo.arm_server import ArmServer
from auditor.demo.fake_az import write_fake_az
from auditor.demo.run import applied_environment, demo_azure_environment

from .estate import GW_PROD, SUB_A, SUB_B, build_estate

FUNCTION_KEY = "Zm5LZXlGb3JTY29yaW5nMDEyMzQ1Njc4OQ"
API_KEY = "c2NvcmluZy1hcGkta2V5LXZhbHVlLTk4NzY"
BACKEND_PASSWORD = "B4ckend-Pass-7781"
SERVICE_URL_KEY = "c2VydmljZS11cmwta2V5LWluLXF1ZXJ5"
SECRETS = (FUNCTION_KEY, API_KEY, BACKEND_PASSWORD, SERVICE_URL_KEY)
FORMATS = ("json", "html", "sarif", "junit", "markdown", "csv", "ocsf")
OUTPUT_FILES = ("findings.json", "report.html", "report.sarif", "junit.xml", "summary.md", "findings.csv",
                "findings.ocsf.json")

SHOWN = {
    "fn-https": "https://fraud-fn.azurewebsites.net/api/score?code=<redacted>&api-version=2024-01-01",
    "fn-plain": "http://legacy-fn.example.com/api/score?api-key=<redacted>",
    "basic-in-url": "https://<redacted>@backend.example.com/score",
}


def hostile_estate() -> list[dict[str, Any]]:
    proxy = example_items("ApiManagementListBackends.json")[0]
    backend = {"credentials": None, "proxy": None, "tls": None}
    api = next(d for d in build_estate() if d["id"] == f"{GW_PROD}/apis/fraud-sub")
    return [
        *build_estate(),
        as_resource(proxy, f"{GW_PROD}/backends/fn-https", properties={
            **backend, "url": f"https://fraud-fn.azurewebsites.net/api/score?code={FUNCTION_KEY}&api-version=2024-01-01"}),
        as_resource(proxy, f"{GW_PROD}/backends/fn-plain", properties={
            **backend, "url": f"http://legacy-fn.example.com/api/score?api-key={API_KEY}"}),
        as_resource(proxy, f"{GW_PROD}/backends/basic-in-url", properties={
            **backend, "url": f"https://svc:{BACKEND_PASSWORD}@backend.example.com/score"}),
        as_resource(api, f"{GW_PROD}/apis/fn-api", properties={
            "displayName": "fn-api", "path": "fn", "subscriptionRequired": True,
            "serviceUrl": f"https://fraud-fn.azurewebsites.net/api/score?code={SERVICE_URL_KEY}"}),
    ]


@pytest.fixture
def arm(tmp_path: Path) -> Iterator[ArmServer]:
    with ArmServer(hostile_estate(), page_size=2) as server:
        write_fake_az(tmp_path / "az")
        with applied_environment(demo_azure_environment(server.ca_bundle, str(tmp_path / "az"))):
            yield server


def run_cli(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str]:
    from auditor import cli

    capsys.readouterr()
    try:
        cli.main(args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    else:
        code = 0
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def assert_no_secret(texts: dict[str, str]) -> None:
    for name, text in texts.items():
        for secret in SECRETS:
            assert secret not in text, (name, secret)


def files(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in directory.iterdir() if p.is_file()}


def test_backend_url_credentials_never_reach_evidence_outputs_or_the_plan(
        arm: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    formats = [arg for fmt in FORMATS for arg in ("--format", fmt)]
    code, console = run_cli(capsys, ["scan", "azure", "--credential", "cli", "--arm-endpoint", arm.url,
                                     "--subscription", SUB_A, "--subscription", SUB_B, "--out", str(out), *formats])
    assert code == 2, console  # the estate's malformed and hostile policies are ERRORs by design
    written = files(out)
    assert set(OUTPUT_FILES) <= set(written)
    assert_no_secret({**written, "console": console})

    findings = json.loads(written["findings.json"])["findings"]
    https_url = {f["resource_name"]: f for f in findings if f["rule_id"] == "azure.apim.backend.https_url"}
    for name, shown in SHOWN.items():
        assert https_url[name]["evidence"]["properties.url"] == shown
    # decided on the URL's real scheme, not on a placeholder
    assert {n: https_url[n]["status"] for n in SHOWN} == {"fn-https": "PASS", "fn-plain": "FAIL",
                                                         "basic-in-url": "PASS"}

    plan_file = tmp_path / "plan.json"
    code, plan_console = run_cli(capsys, ["remediate", "plan", str(out / "findings.json"), "--out", str(plan_file)])
    assert code == 0, plan_console
    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    [step] = [s for s in plan["steps"] if s["finding"]["resource_name"] == "fn-plain"]
    assert step["finding"]["evidence"]["properties.url"] == SHOWN["fn-plain"]  # readable, not a bare <redacted>
    assert "redacted" not in plan  # nothing left for the plan's own safety net to catch

    again = tmp_path / "again"
    code, report_console = run_cli(capsys, ["report", str(out / "findings.json"), "--out", str(again), *formats])
    assert code == 2, report_console  # a re-render exits as its scan did
    assert_no_secret({"plan.json": plan_file.read_text(encoding="utf-8"), "plan console": plan_console,
                      "report console": report_console, **{f"report {k}": v for k, v in files(again).items()}})
    assert os.environ.get("REQUESTS_CA_BUNDLE") == arm.ca_bundle  # the scan ran against the stand-in only


def test_a_findings_file_from_before_the_fix_still_cannot_put_a_url_key_in_the_plan(
        arm: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code, console = run_cli(capsys, ["scan", "azure", "--credential", "cli", "--arm-endpoint", arm.url,
                                     "--subscription", SUB_A, "--out", str(out), "--format", "json"])
    assert code == 2, console
    findings_file = out / "findings.json"
    document = json.loads(findings_file.read_text(encoding="utf-8"))
    [leaky] = [f for f in document["findings"]
               if f["rule_id"] == "azure.apim.backend.https_url" and f["resource_name"] == "fn-plain"]
    raw = f"http://legacy-fn.example.com/api/score?api-key={API_KEY}"
    leaky["evidence"]["properties.url"] = raw  # as an auditor without URL redaction wrote it
    findings_file.write_text(json.dumps(document), encoding="utf-8")

    plan_file = tmp_path / "plan.json"
    code, plan_console = run_cli(capsys, ["remediate", "plan", str(findings_file), "--out", str(plan_file)])
    assert code == 0, plan_console
    text = plan_file.read_text(encoding="utf-8")
    assert API_KEY not in text and API_KEY not in plan_console
    plan = json.loads(text)
    [index] = [i for i, s in enumerate(plan["steps"]) if s["finding"]["resource_name"] == "fn-plain"]
    assert plan["redacted"] == [f"$.steps[{index}].finding.evidence.properties.url"]
