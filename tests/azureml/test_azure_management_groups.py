"""``--management-group``: every subscription under a group, and role assignments pooled across the group.

The stand-in serves the estate's three subscriptions in a tree of nested management groups::

    tenant-root
    ├── mg-org                  (the group scanned)
    │   ├── mg-prod   SUB_A     (ws-secure: ep-aad, ep-owner, ep-key, ep-none)
    │   └── mg-dev    SUB_B     (ws-b1..3: ep-b)
    │       └── mg-sandbox SUB_C  (no Machine Learning)
    └── mg-other  SUB_X         (outside the group)

ep-key's identity (P_UA) holds only narrow roles in SUB_A: the identity-least-privilege verdicts below move
with the Owner assignments each test adds for it elsewhere.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.catalog import load_catalog
from auditor.demo.arm_model import role_assignment_document
from auditor.demo.arm_server import ArmServer
from auditor.demo.fake_az import write_fake_az
from auditor.demo.run import applied_environment, demo_azure_environment
from auditor.engine import evaluate
from auditor.model import Finding, Inventory, Status
from auditor.providers.azure.role_pool import UNREAD_SCOPES

from .conftest import Scan
from .estate import EP_AAD, EP_B, EP_KEY, EP_OWNER, P_UA, SUB_A, SUB_B, SUB_C, SUB_X, build_groups
from .test_azure_errors import seeded_ids

MG = "/providers/Microsoft.Management/managementGroups"
RULE = "azure.ml.online_endpoint.identity_least_privilege"
ASSIGNMENTS = "/providers/Microsoft.Authorization/roleAssignments"


@pytest.fixture
def tree(arm: ArmServer) -> ArmServer:
    build_groups(arm.store.groups)
    return arm


def least_privilege(inventory: Inventory) -> dict[str, Finding]:
    rules = [r for r in load_catalog(providers=("azure",)).values() if r.id == RULE]
    return {f.resource_id: f for f in evaluate(inventory, rules)}


def pages(n: int) -> int:
    return max(1, math.ceil(n / 2))


def test_every_subscription_under_nested_groups_is_scanned(scan: Scan, tree: ArmServer) -> None:
    tree.reset_counters()
    inventory = scan(management_group="mg-org")

    assert inventory.scopes == tuple(f"azure:{s}" for s in (SUB_A, SUB_B, SUB_C))  # parents before children
    assert {r.id for r in inventory.resources} == seeded_ids("/subscriptions/")  # SUB_X is outside the group
    assert inventory.complete
    scanned = {c.account for c in inventory.coverage if c.scope_id.lower().startswith("/subscriptions/")}
    assert scanned == {SUB_A, SUB_B, SUB_C}
    findings = evaluate(inventory, list(load_catalog(providers=("azure",)).values()))
    assert {f.account for f in findings} == {SUB_A, SUB_B}  # SUB_C holds no Machine Learning
    assert all(f.resource_id.lower().startswith(f"/subscriptions/{f.account}/") for f in findings)

    requests = tree.requests
    assert requests[("GET", f"{MG}/{{}}")] == 1  # the group, with its ancestors
    assert requests[("GET", f"{MG}/{{}}/descendants")] == pages(6)  # 3 groups, 3 subscriptions: nextLink followed
    # each group of the tree once (atScope: at and above it, so tenant-root's come with mg-org's), never a group
    # above mg-org, where the scanner may hold no permission
    assert requests[("GET", f"{MG}/{{}}{ASSIGNMENTS}")] == 4
    assert ("/providers/Microsoft.Management/managementGroups/{}", "2023-04-01") in tree.api_versions


def test_an_owner_on_a_sibling_management_group_fails_the_identity(scan: Scan, tree: ArmServer) -> None:
    before = least_privilege(scan(management_group="mg-org"))
    assert before[EP_KEY].status is Status.PASS

    tree.add_resources([role_assignment_document(f"{MG}/mg-dev", P_UA, "Owner")])  # not above SUB_A
    found = least_privilege(scan(management_group="mg-org"))
    assert found[EP_KEY].status is Status.FAIL
    assert found[EP_KEY].evidence["broad_assignments"] == [f"Owner at management_group scope {MG}/mg-dev"]
    # scanning SUB_A alone, without the group, cannot see an assignment that is neither in nor above it
    assert least_privilege(scan(subscriptions=(SUB_A,)))[EP_KEY].status is Status.PASS
    # ... but every subscription of the estate: SUB_B's list carries what it inherits from mg-dev
    assert least_privilege(scan())[EP_KEY].status is Status.FAIL


def test_an_owner_above_the_subscription_is_inherited_with_or_without_the_group(scan: Scan, tree: ArmServer) -> None:
    tree.add_resources([role_assignment_document(f"{MG}/tenant-root", P_UA, "Owner")])
    tree.deny(f"{MG}/tenant-root")  # the scanner holds nothing above mg-org: inherited assignments still show
    for options in ({"management_group": "mg-org"}, {"subscriptions": (SUB_A,)}):
        finding = least_privilege(scan(**options))[EP_KEY]
        assert finding.status is Status.FAIL, options
        assert finding.evidence["broad_assignments"] == [f"Owner at management_group scope {MG}/tenant-root"]


def test_an_owner_in_a_sibling_subscription_fails_the_identity(scan: Scan, tree: ArmServer) -> None:
    # ep-aad's identity is Owner of SUB_B; --subscription narrows the scan to SUB_A (as a shard does), and the
    # assignments of every subscription of the group are still pooled
    inventory = scan(management_group="mg-org", subscriptions=(SUB_A,))
    assert {r.account for r in inventory.resources} == {SUB_A}
    finding = least_privilege(inventory)[EP_AAD]
    assert finding.status is Status.FAIL and finding.account == SUB_A
    assert finding.evidence["broad_assignments"] == [f"Owner at subscription scope /subscriptions/{SUB_B}"]
    assert least_privilege(inventory)[EP_KEY].status is Status.PASS


def test_an_unreadable_assignment_scope_is_an_error_unless_a_broad_role_is_certain(
        scan: Scan, tree: ArmServer) -> None:
    tree.deny(f"{MG}/mg-sandbox{ASSIGNMENTS}")
    inventory = scan(management_group="mg-org")
    assert inventory.complete  # every resource was read; only the rule's input is incomplete
    found = least_privilege(inventory)
    key = found[EP_KEY]
    assert key.status is Status.ERROR
    assert f"{MG}/mg-sandbox" in key.message and "access denied" in key.message
    endpoint = inventory.by_id()[EP_KEY]
    assert f"{MG}/mg-sandbox" in endpoint.unreadable[UNREAD_SCOPES]
    # a broad assignment found elsewhere is certain: still FAIL
    assert found[EP_OWNER].status is Status.FAIL and found[EP_AAD].status is Status.FAIL
    assert found[EP_B].status is Status.FAIL


def test_an_unreadable_subscription_of_the_group_is_a_failed_row_and_its_assignments_an_error(
        scan: Scan, tree: ArmServer) -> None:
    tree.deny(f"/subscriptions/{SUB_C}")
    inventory = scan(management_group="mg-org")
    failed = [c for c in inventory.coverage if c.error]
    assert {c.scope_id for c in failed} == {f"/subscriptions/{SUB_C}"}  # its ML and API Management rows
    assert all("access denied" in str(c.error) for c in failed)
    assert {r.id for r in inventory.resources} == seeded_ids("/subscriptions/")
    key = least_privilege(inventory)[EP_KEY]
    assert key.status is Status.ERROR and f"/subscriptions/{SUB_C}" in key.message


@pytest.mark.parametrize(("fault", "reason"), [("deny", "access denied"), ("missing", "not found")])
def test_an_unreadable_management_group_is_a_failed_row_never_an_empty_scan(
        scan: Scan, tree: ArmServer, fault: str, reason: str) -> None:
    group = "mg-org" if fault == "deny" else "mg-typo"
    if fault == "deny":
        tree.deny(f"{MG}/mg-org")
    inventory = scan(management_group=group)
    assert inventory.resources == () and not inventory.complete
    [row] = inventory.coverage
    assert row.scope_id == f"{MG}/{group}" and row.error is not None
    assert row.error.startswith(f"cannot read management group {group}: {reason}")
    findings = evaluate(inventory, list(load_catalog(providers=("azure",)).values()))
    assert findings and {f.status for f in findings} == {Status.ERROR}


def test_a_subscription_named_outside_the_group_is_a_failed_row(scan: Scan, tree: ArmServer) -> None:
    inventory = scan(management_group="mg-org", subscriptions=(SUB_B, SUB_X))
    assert {r.account for r in inventory.resources} == {SUB_B}
    [row] = [c for c in inventory.coverage if c.error]
    assert row.account == SUB_X and "not under management group mg-org" in row.error
    assert inventory.scopes == (f"azure:{SUB_B}", f"azure:{SUB_X}")


@pytest.fixture
def cli_env(tree: ArmServer, tmp_path: Path) -> Iterator[ArmServer]:
    write_fake_az(tmp_path / "az")
    with applied_environment(demo_azure_environment(tree.ca_bundle, str(tmp_path / "az"))):
        yield tree


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


def test_the_command_line_scans_a_group_and_exits_2_when_it_cannot_be_read(
        cli_env: ArmServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["scan", "azure", "--credential", "cli", "--arm-endpoint", cli_env.url, "--format", "json"]
    code, console = run_cli(capsys, [*base, "--management-group", "mg-org", "--out", str(tmp_path / "ok")])
    document = json.loads((tmp_path / "ok" / "findings.json").read_text(encoding="utf-8"))
    accounts = {f["account"] for f in document["findings"]}
    assert accounts == {SUB_A, SUB_B}, console
    assert code == 1, console  # violations, nothing unread

    cli_env.deny(f"{MG}/mg-org")
    code, console = run_cli(capsys, [*base, "--management-group", "mg-org", "--out", str(tmp_path / "denied")])
    assert code == 2, console
    document = json.loads((tmp_path / "denied" / "findings.json").read_text(encoding="utf-8"))
    assert document["findings"] and {f["status"] for f in document["findings"]} == {"ERROR"}
    assert f"{MG}/mg-org" in json.dumps(document)


def test_the_ancestors_of_a_subscription_come_from_the_descendants_parents() -> None:
    from auditor.providers.azure.management_groups import GroupTree
    from auditor.providers.azure.scopes import ScanScopes

    tree = GroupTree(group="mg-org", subscriptions=(SUB_A, SUB_C), groups=("mg-org", "mg-dev", "mg-sandbox"),
                     above=("tenant-root",), parents={SUB_A.lower(): "mg-org", SUB_C.lower(): "mg-sandbox",
                                                      "mg-sandbox": "mg-dev", "mg-dev": "mg-org"})
    assert tree.ancestors(SUB_C.upper()) == ("mg-sandbox", "mg-dev", "mg-org", "tenant-root")
    assert tree.ancestors(SUB_A) == ("mg-org", "tenant-root")
    assert tree.ancestors(SUB_X) == ()
    assert tree.scopes() == (f"{MG}/mg-org", f"{MG}/mg-dev", f"{MG}/mg-sandbox")
    # a shard keeps its own subscriptions and every subscription's and group's role assignments
    scopes = ScanScopes((SUB_A, SUB_C), (SUB_A, SUB_C), tree.scopes(), ((SUB_X, "outside"),), tree)
    owned = scopes.owned(lambda s: s == SUB_C)
    assert owned.subscriptions == (SUB_C,) and owned.missing == ()
    assert owned.pooled == (SUB_A, SUB_C) and owned.group_scopes == tree.scopes() and owned.pools_assignments
