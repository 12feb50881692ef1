"""Acceptance: a scan under a policy that sets parameters, overrides a severity, scopes by tag and mutes
with a waiver gives exactly the statuses, severities and framework summary the policy implies."""

from __future__ import annotations

from datetime import UTC, datetime

import jsonschema
import pytest

from auditor.catalog import Plugins
from auditor.findings.document import from_document, schema
from auditor.model import Severity, Status
from auditor.outputs.findings_json import to_document
from auditor.outputs.html import render
from auditor.pipeline import evaluate_inventory, from_policy
from auditor.policy import load_policy

from .helpers import endpoint, inventory, workspace, write

AUTH = "azure.ml.online_endpoint.auth_mode"
PUBLIC = "azure.ml.online_endpoint.public_network_access_disabled"
IDENTITY = "azure.ml.online_endpoint.identity_least_privilege"
WS_PUBLIC = "azure.ml.workspace.public_network_access_disabled"
WS_LINK = "azure.ml.workspace.private_link"
TAGGED = "azure.acme.ml.online_endpoint.owner_tagged"

POLICY = """\
version: 1
rules:
  include: ["azure.ml.online_endpoint.*", "azure.ml.workspace.p*", "azure.acme.*"]
parameters:
  azure.ml.online_endpoint.auth_mode:
    allowed_auth_modes: [AADToken]        # AMLToken, allowed by default, now fails
severity:
  azure.ml.online_endpoint.public_network_access_disabled:
    severity: critical
    justification: Scoring endpoints hold customer data (SEC-9)
scope:
  - rules: ["azure.ml.online_endpoint.*", "azure.acme.*"]
    tags: {env: prod}                      # dev endpoints are someone else's problem
rule_dirs: [pack]
"""

WAIVERS = f"""\
waivers:
  - rules: [{AUTH}]
    resources: ["*/onlineendpoints/ep-*"]   # Azure ids compare case-insensitively
    reason: Partner clients move to Entra tokens in Q3 (SEC-142)
    owner: ml-platform@example.com
    expires: 2099-12-31
    broad: true   # a waiver for longer than a year: said so
  - rules: [{PUBLIC}]
    resources: ["*/onlineEndpoints/dev-*"]
    reason: Dev endpoints are public on purpose
    owner: ml-platform@example.com
    expires: 2099-12-31
    broad: true   # a waiver for longer than a year: said so
"""

PACK_FRAMEWORK = f"""\
framework: acme-baseline
title: "ACME model-serving baseline <img src=x onerror=alert(1)>"
version: "2"
controls:
  - {{id: NET-1, title: Workspaces are private, rules: [{WS_PUBLIC}, {WS_LINK}]}}
  - {{id: NET-2, title: Scoring endpoints are private, rules: [{PUBLIC}]}}
  - {{id: AUTH-1, title: Endpoints use Entra tokens, rules: [{AUTH}]}}
  - {{id: IAM-1, title: Endpoint identities are least privilege, rules: [{IDENTITY}]}}
  - {{id: OWN-1, title: Endpoints name an owner, rules: [{TAGGED}]}}
  - {{id: KEY-1, title: Workspaces use customer-managed keys, rules: [azure.ml.workspace.cmk_encryption]}}
  - {{id: GAP-1, title: Model artifacts are signed, rules: []}}
"""

TAGGED_RULE = f"""\
id: {TAGGED}
title: Online endpoint names its owning team in a tag
severity: low
resource_type: azure.ml.online_endpoint
rationale: An endpoint without an owner has no one to answer for its findings.
expect: {{path: "tags.owner", op: present}}
messages: {{pass: "Endpoint {{name}} names its owner.", fail: "Endpoint {{name}} names no owner."}}
remediation: {{guidance: Add an owner tag to the endpoint.}}
"""


@pytest.fixture
def result(tmp_path):
    write(tmp_path / "pack" / f"{TAGGED}.yaml", TAGGED_RULE)
    write(tmp_path / "pack" / "frameworks" / "acme-baseline.yaml", PACK_FRAMEWORK)
    policy = load_policy(write(tmp_path / "policy.yaml", POLICY), plugins=Plugins())
    inputs = from_policy(policy, write(tmp_path / "waivers.yaml", WAIVERS), Severity.HIGH)
    inv = inventory(
        workspace(),
        endpoint("ep-a", auth="AADToken", public="Enabled", env="prod"),   # PASS auth, FAIL public (critical)
        endpoint("ep-b", auth="AMLToken", public="Disabled", env="prod"),  # FAIL auth by parameter -> MUTED
        endpoint("ep-c", auth="Key", public="Disabled", env="prod"),       # FAIL auth -> MUTED
        endpoint("dev-1", auth="Key", public="Enabled", env="dev"),        # out of scope: no finding at all
    )
    started = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
    return evaluate_inventory(inputs, inv, started, today=datetime(2026, 6, 1, tzinfo=UTC))


def _verdicts(result):
    return {(f.rule_id, f.resource_id.rsplit("/", 1)[-1]): (f.status, f.severity) for f in result.findings}


def test_statuses_and_severities_are_exactly_what_the_policy_implies(result):
    assert _verdicts(result) == {
        (AUTH, "ep-a"): (Status.PASS, Severity.HIGH),
        (AUTH, "ep-b"): (Status.MUTED, Severity.HIGH),
        (AUTH, "ep-c"): (Status.MUTED, Severity.HIGH),
        (PUBLIC, "ep-a"): (Status.FAIL, Severity.CRITICAL),
        (PUBLIC, "ep-b"): (Status.PASS, Severity.CRITICAL),
        (PUBLIC, "ep-c"): (Status.PASS, Severity.CRITICAL),
        (IDENTITY, "ep-a"): (Status.NOT_APPLICABLE, Severity.HIGH),
        (IDENTITY, "ep-b"): (Status.NOT_APPLICABLE, Severity.HIGH),
        (IDENTITY, "ep-c"): (Status.NOT_APPLICABLE, Severity.HIGH),
        (TAGGED, "ep-a"): (Status.FAIL, Severity.LOW),
        (TAGGED, "ep-b"): (Status.FAIL, Severity.LOW),
        (TAGGED, "ep-c"): (Status.FAIL, Severity.LOW),
        (WS_PUBLIC, "ws"): (Status.PASS, Severity.HIGH),
        (WS_LINK, "ws"): (Status.PASS, Severity.MEDIUM),
    }
    muted = next(f for f in result.findings if f.status is Status.MUTED)
    assert muted.waiver is not None and muted.waiver.owner == "ml-platform@example.com"
    assert [w.index for w in result.unused_waivers] == [1], "dev-1 is out of scope: its waiver matched nothing"
    assert [f.rule_id for f in result.gating()] == [PUBLIC]
    assert result.exit_code() == 1


def test_the_override_keeps_its_justification_and_the_parameter_is_applied(result):
    override = result.rules[PUBLIC].severity_override
    assert override is not None and override.original is Severity.MEDIUM
    assert override.justification == "Scoring endpoints hold customer data (SEC-9)"
    assert result.rules[AUTH].params["allowed_auth_modes"] == ["AADToken"]
    assert "azure.ml.workspace.cmk_encryption" not in result.rules
    assert result.excluded_rules["azure.ml.workspace.cmk_encryption"].startswith("not selected by the policy")


def _summary(doc, framework):
    fw = next(f for f in doc["frameworks"] if f["id"] == framework)
    return fw, {c["id"]: (c["status"], c["waived"]) for c in fw["controls"]}


def test_the_framework_summary_follows_from_the_findings(result):
    doc = to_document(result)
    fw, controls = _summary(doc, "acme-baseline")
    assert controls == {
        "NET-1": ("passed", False),
        "NET-2": ("failed", False),
        "AUTH-1": ("failed", True),  # failures accepted by a waiver are not a pass
        "IAM-1": ("passed", False),  # every endpoint NOT_APPLICABLE (no managed identity)
        "OWN-1": ("failed", False),
        "KEY-1": ("not_evaluated", False),  # left out by the policy
        "GAP-1": ("not_covered", False),
    }
    assert fw["counts"] == {"passed": 2, "failed": 3, "waived": 1, "not_evaluated": 1, "not_covered": 1,
                            "total": 7}
    key = next(c for c in fw["controls"] if c["id"] == "KEY-1")["rules"][0]
    assert key["state"] == "excluded" and "not selected" in key["reason"]
    _, mcsb = _summary(doc, "mcsb")
    assert mcsb["NS-2"] == ("failed", False) and mcsb["IM-1"] == ("failed", True)
    # PA-7 also maps azure.ai.account.identity_least_privilege, which this policy leaves out (the online endpoint
    # identity rule's NOT_APPLICABLE-only pass is IAM-1's above)
    assert mcsb["PA-7"] == ("not_evaluated", False) and mcsb["IM-3"] == ("not_covered", False)
    assert mcsb["DP-5"] == ("not_evaluated", False)
    assert {f["id"] for f in doc["frameworks"]} >= {"mcsb", "nist-800-53", "eu-ai-act", "iso-42001"}
    assert "aws-fsbp" not in {f["id"] for f in doc["frameworks"]}, "no AWS rule was scanned"


def test_findings_json_validates_and_round_trips_with_the_summary(result):
    doc = to_document(result)
    jsonschema.validate(doc, schema())
    again = to_document(from_document(doc, "findings.json"))
    assert again == doc
    assert again["rules"][PUBLIC]["severity_override"]["original"] == "medium"


def test_the_report_shows_the_frameworks_section(result):
    page = render(result)
    assert 'id="frameworks"' in page and 'href="#frameworks"' in page
    assert "ACME model-serving baseline &lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img src=x" not in page, "framework files are data: escaped like everything else"
    assert "failed (waived)" in page and "not covered" in page and "Informative mapping" in page
