"""Resources of the same name are told apart in the build-gate table, summary.md and JUnit testcase names.

Two Azure deployments are both called ``main`` (under different endpoints, workspaces and subscriptions) and
two AWS endpoint configs are both called ``main`` (in different regions and accounts); each output is parsed
as its consumer would read it and must show four different names, each still saying ``main``.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from datetime import timedelta
from html.parser import HTMLParser

from markdown_it import MarkdownIt

from auditor.model import Finding, ScanResult, Status
from auditor.outputs import html, junit, markdown
from auditor.outputs.names import display_name

from .builders import AUTH_MODE, FINISHED, KMS, STARTED, finding, make_result

SUB_A = "11111111-1111-1111-1111-111111111111"
SUB_B = "22222222-2222-2222-2222-222222222222"


def _deployment(subscription: str, workspace: str, endpoint: str) -> Finding:
    rid = (f"/subscriptions/{subscription}/resourceGroups/rg/providers/Microsoft.MachineLearningServices"
           f"/workspaces/{workspace}/onlineEndpoints/{endpoint}/deployments/main")
    return dataclasses.replace(finding(AUTH_MODE, rid, Status.FAIL, name="main"), account=subscription)


def _endpoint_config(region: str, account: str) -> Finding:
    arn = f"arn:aws:sagemaker:{region}:{account}:endpoint-config/main"
    return dataclasses.replace(finding(KMS, arn, Status.FAIL, name="main"), account=account, region=region)


SAME_NAMES = (
    _deployment(SUB_A, "ws-prod", "fraud"),
    _deployment(SUB_A, "ws-prod", "churn"),  # another endpoint
    _deployment(SUB_A, "ws-test", "fraud"),  # another workspace
    _deployment(SUB_B, "ws-prod", "fraud"),  # another subscription
    _endpoint_config("eu-west-1", "111111111111"),
    _endpoint_config("us-east-1", "111111111111"),  # another region
    _endpoint_config("eu-west-1", "222222222222"),  # another account
)
EXPECTED = {
    f"main (onlineEndpoints/fraud, workspaces/ws-prod; resource group rg, subscription {SUB_A})",
    f"main (onlineEndpoints/churn, workspaces/ws-prod; resource group rg, subscription {SUB_A})",
    f"main (onlineEndpoints/fraud, workspaces/ws-test; resource group rg, subscription {SUB_A})",
    f"main (onlineEndpoints/fraud, workspaces/ws-prod; resource group rg, subscription {SUB_B})",
    "main (eu-west-1, account 111111111111)",
    "main (us-east-1, account 111111111111)",
    "main (eu-west-1, account 222222222222)",
}


def _result() -> ScanResult:
    return make_result(findings=SAME_NAMES)


class _GateTable(HTMLParser):
    """The text of each resource name (``span.res-name``) in the build-gate table's rows."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.names: list[str] = []
        self._in_row = False
        self._name: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "tr":
            self._in_row = "gating-row" in classes
        elif tag == "span" and self._in_row and "res-name" in classes:
            self._name = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._name is not None:
            self.names.append("".join(self._name))
            self._name = None
        elif tag == "tr":
            self._in_row = False

    def handle_data(self, data: str) -> None:
        if self._name is not None:
            self._name.append(data)


def test_the_build_gate_table_tells_same_named_resources_apart() -> None:
    names = _GateTable(html.render(_result())).names
    assert sorted(names) == sorted(EXPECTED)


def test_summary_md_tells_same_named_resources_apart() -> None:
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown.render(_result()))
    cells: list[str] = []
    in_cell = False
    for token in tokens:
        if token.type in ("td_open", "th_open"):
            in_cell = True
        elif token.type in ("td_close", "th_close"):
            in_cell = False
        elif token.type == "inline" and in_cell:
            cells.append("".join(c.content for c in token.children or () if c.type == "code_inline"))
    assert sorted(c for c in cells if c.startswith("main")) == sorted(EXPECTED)


def _testcase_names(result: ScanResult) -> list[str]:
    root = ET.fromstring(junit.render(result).encode("utf-8"))
    return [case.get("name", "") for suite in root.findall("testsuite") if suite.get("name") in (AUTH_MODE, KMS)
            for case in suite.findall("testcase")]


def test_junit_testcase_names_tell_same_named_resources_apart_and_stay_the_same_across_runs() -> None:
    names = _testcase_names(_result())
    assert sorted(names) == sorted(EXPECTED)
    later = make_result(findings=tuple(reversed(SAME_NAMES)), started_at=STARTED + timedelta(days=1),
                        finished_at=FINISHED + timedelta(days=1))
    assert sorted(_testcase_names(later)) == sorted(names)


def test_a_name_that_is_not_the_ids_last_segment_is_kept_beside_it() -> None:
    rid = f"/subscriptions/{SUB_A}/resourceGroups/rg/providers/Microsoft.ApiManagement/service/apim/apis/a1"
    assert display_name("azure", SUB_A, "westeurope", rid, "Partner API") == (
        f"Partner API [a1] (service/apim; resource group rg, subscription {SUB_A})")


def test_an_id_that_is_not_an_arm_resource_id_is_shown_whole() -> None:
    assert display_name("azure", SUB_A, "westeurope", f"/subscriptions/{SUB_A}", "") == f"/subscriptions/{SUB_A}"
    assert display_name("aws", "111111111111", "", "arn:aws:s3:::bucket", "") == "bucket (account 111111111111)"
