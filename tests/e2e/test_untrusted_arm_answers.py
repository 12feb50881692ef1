"""`auditor scan azure` against a hostile Resource Manager: what an answer says is untrusted input.

A second stand-in on another port plays the foreign host: it records every request and every bearer
token that reaches it. The scans run the installed ``auditor`` with ``--credential cli`` (the fake ``az``)
and trust both stand-ins' CAs, so only the auditor's own refusal can keep the token from the second one.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.demo.apim_estate import build_gateway
from auditor.demo.arm_server import ArmServer
from auditor.demo.azure_estate import AzureDemoEstate
from auditor.demo.azure_northwind import ACCOUNT_KEY, DEV, PROD, SAS_SIGNATURE, SAS_URL, seed_azure_demo

from .helpers import Run, run_auditor
from .test_scan_azure import azure_env

ALL_FORMATS = ("json", "html", "sarif", "junit", "markdown", "csv", "ocsf")
AUTHZ = "Microsoft.Authorization"
IDENTITY = "azure.ml.online_endpoint.identity_least_privilege"


@pytest.fixture
def arm() -> Iterator[ArmServer]:
    with ArmServer([], page_size=1) as server:  # one item a page: every list of two or more has a nextLink
        yield server


@pytest.fixture
def foreign() -> Iterator[ArmServer]:
    """The other host: an empty stand-in that counts requests and tokens (it trusts any bearer token)."""
    with ArmServer([], page_size=1) as server:
        yield server


@pytest.fixture
def estate(arm: ArmServer) -> AzureDemoEstate:
    estate = seed_azure_demo(arm)
    arm.add_resources(build_gateway(PROD, list(estate.documents), "eu-west-1", {"env": "prod"}))
    return estate


def scan(arm: ArmServer, foreign: ArmServer, tmp_path: Path, *extra: str) -> Run:
    """``auditor scan azure`` of ``arm``, trusting both stand-ins' CAs (one bundle holding both)."""
    env = azure_env(arm, tmp_path / "az")
    bundle = tmp_path / "both-cas.pem"
    bundle.write_text(Path(arm.ca_bundle).read_text() + Path(foreign.ca_bundle).read_text())
    env["REQUESTS_CA_BUNDLE"] = str(bundle)
    out = tmp_path / "out"
    return run_auditor(["scan", "azure", "--credential", "cli", "--arm-endpoint", arm.url, "--out", str(out),
                        *extra], out, env=env)


def outputs(run: Run) -> dict[str, str]:
    texts = {"stdout": run.stdout, "stderr": run.stderr}
    texts.update({p.name: p.read_text(encoding="utf-8") for p in run.out.iterdir() if p.is_file()})
    return texts


def test_the_foreign_stand_in_is_trusted_and_answers_with_the_token(arm: ArmServer, foreign: ArmServer,
                                                                    tmp_path: Path) -> None:
    """The premise of the tests below: a request that reached the foreign host would carry the token."""
    from azure.core.credentials import AccessToken
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    class Token:
        def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
            return AccessToken("the-scan-token", int(time.time()) + 3600)

    bundle = tmp_path / "both-cas.pem"
    bundle.write_text(Path(arm.ca_bundle).read_text() + Path(foreign.ca_bundle).read_text())
    client = SubscriptionClient(Token(), base_url=foreign.url, connection_verify=str(bundle))
    assert list(client.subscriptions.list()) == []
    assert foreign.tokens == Counter({"the-scan-token": 1})


@pytest.mark.parametrize(("prefix", "failed_services"), [
    (f"/subscriptions/{PROD}", {"ml-workspaces", "ml-workspace-children", "apim-service-children"}),  # all lists
    (f"/subscriptions/{PROD}/providers/{AUTHZ}", set()),  # role assignments only
    (f"/subscriptions/{PROD}/resourceGroups/rg-nw-gateway-prod/providers/Microsoft.ApiManagement",
     {"apim-service-children"}),  # the gateway's APIs, backends and products
], ids=["subscription", "role-assignments", "api-management"])
def test_a_next_link_to_another_host_gets_no_token_and_is_a_failed_read(
        arm: ArmServer, foreign: ArmServer, estate: AzureDemoEstate, tmp_path: Path, prefix: str,
        failed_services: set[str]) -> None:
    arm.point_links_at(foreign.url, prefix)
    r = scan(arm, foreign, tmp_path, "--subscription", PROD, "--subscription", DEV)

    assert foreign.requests == Counter() and foreign.tokens == Counter()  # nothing was sent there, no token
    assert r.code == 2, r.stderr  # incomplete: never a silently shorter (or foreign) inventory
    doc = r.findings()
    assert doc["scan"]["complete"] is False
    where = f"https://127.0.0.1:{foreign.server_port}"
    refused = f"nextLink points at {where}, outside the endpoint {arm.url}"
    errors = [f for f in doc["findings"] if f["status"] == "ERROR"]
    # PROD's role assignments are pooled for DEV's identities too: when they could not be read, a DEV identity with
    # nothing broad is not known to be least-privilege (ERROR naming the refused read); nothing else of DEV is.
    pooled_unread = "Microsoft.ApiManagement" not in prefix
    assert errors and all(f["account"] == PROD or PROD in f["resource_id"]
                          or (pooled_unread and f["rule_id"] == IDENTITY) for f in errors)
    assert any(refused in f["message"] and "not followed (no token sent)" in f["message"] for f in errors)
    failed = [c for c in doc["coverage"] if c["status"] != "collected"]
    assert {c["service"] for c in failed} == failed_services
    assert all(c["account"] == PROD and refused in c["error"] for c in failed)
    if not failed_services:  # only role assignments could not be read: that rule is ERROR, and no other
        assert {f["rule_id"] for f in errors} == {IDENTITY}
        assert all(refused in f["message"] for f in errors)
    assert refused in r.stderr
    dev = {k: ("ERROR" if pooled_unread and k[0] == IDENTITY and v == "PASS" else v)
           for k, v in estate.expected.items() if k[1].startswith(f"/subscriptions/{DEV}/")}
    assert {(f["rule_id"], f["resource_id"]): f["status"] for f in doc["findings"]
            if f["resource_id"].startswith(f"/subscriptions/{DEV}/")} == dev


def test_the_sdk_pager_of_the_subscription_list_is_held_to_the_endpoint(
        arm: ArmServer, foreign: ArmServer, estate: AzureDemoEstate, tmp_path: Path) -> None:
    """The subscription list is paged by azure-mgmt-resource itself: the pipeline refuses the foreign host."""
    arm.point_links_at(foreign.url, "/subscriptions")
    r = scan(arm, foreign, tmp_path)  # no --subscription: every subscription the credential can list

    assert foreign.requests == Counter() and foreign.tokens == Counter()
    assert r.code == 2, r.stderr
    [row] = r.findings()["coverage"]
    assert row["status"] != "collected" and row["scope_id"] == "/subscriptions"
    assert row["error"].startswith("cannot list subscriptions: error: list subscriptions returned UntrustedUrl")
    assert f"points at https://127.0.0.1:{foreign.server_port}, outside the endpoint {arm.url}" in row["error"]


def _secret_message() -> str:
    connection = (f"DefaultEndpointsProtocol=https;AccountName=nwmlartifactsprod;AccountKey={ACCOUNT_KEY};"
                  "EndpointSuffix=core.windows.net")
    return f"The workspace storage {connection} was rejected; the model at {SAS_URL} is not readable."


def test_secrets_quoted_in_a_service_error_reach_no_output(arm: ArmServer, foreign: ArmServer,
                                                          estate: AzureDemoEstate, tmp_path: Path) -> None:
    arm.fail(f"/subscriptions/{PROD}", status=400, code="InvalidStorageConfiguration", times=None,
             message=_secret_message())
    formats = [arg for name in ALL_FORMATS for arg in ("--format", name)]
    r = scan(arm, foreign, tmp_path, "--subscription", PROD, *formats)

    assert r.code == 2, r.stderr
    texts = outputs(r)
    assert {"findings.json", "report.html", "summary.md", "findings.csv", "findings.ocsf.json", "junit.xml",
            "report.sarif"} <= set(texts), sorted(texts)
    for name, text in texts.items():
        for secret in (ACCOUNT_KEY, SAS_SIGNATURE, SAS_URL.split("?", 1)[1]):
            assert secret not in text, (name, secret[:12])
    failed = [c for c in r.findings()["coverage"] if c["status"] != "collected"]
    assert failed and all("InvalidStorageConfiguration: The workspace storage <redacted> was rejected; the model "
                          "at <redacted> is not readable." in c["error"] for c in failed), failed[0]["error"]
    assert "<redacted> was rejected" in r.stderr  # the rest of the reason is kept


HOSTILE = ("Denied.\x1b]0;auditor: all clear\x07\x1b[2J\x1b[H\r\nauditor: exit 0: complete; no FAIL at or above "
           "high\x1b[8m\x9b2J\u202e")


def test_escape_sequences_in_a_service_error_never_reach_the_console(
        arm: ArmServer, foreign: ArmServer, estate: AzureDemoEstate, tmp_path: Path) -> None:
    arm.fail(f"/subscriptions/{PROD}", status=400, code="BadRequest", times=None, message=HOSTILE)
    r = scan(arm, foreign, tmp_path / "text", "--subscription", PROD)

    assert r.code == 2
    for control in ("\x1b", "\x07", "\x9b", "\r", "\u202e"):
        assert control not in r.stderr and control not in r.stdout, repr(control)
    lines = r.stderr.splitlines()
    assert not any(line.startswith("auditor: exit 0") for line in lines), lines
    assert lines[-1].startswith("auditor: exit 2: incomplete")
    assert "Denied.\\x1b]0;auditor: all clear\\x07\\x1b[2J\\x1b[H auditor: exit 0" in r.stderr  # shown, inert
    stored = [c["error"] for c in r.findings()["coverage"] if c["status"] != "collected"]
    assert stored and all("\\x1b[2J" in e and "\x1b" not in e for e in stored)

    logged = scan(arm, foreign, tmp_path / "json", "--subscription", PROD, "--log-format", "json")
    for control in ("\x1b", "\x07", "\x9b", "\r", "\u202e"):
        assert control not in logged.stderr, repr(control)
    records = [json.loads(line) for line in logged.stderr.splitlines()]
    assert records[-1]["event"] == "exit" and records[-1]["exit_code"] == 2
    assert any("\\x1b[2J" in record["message"] for record in records)
