"""``auditor scan azure --management-group --shard K/N`` then ``auditor merge``: the merged shards equal the
unsharded scan of the group, least-privilege verdicts included.

One stand-in for the module, the nested groups of ``test_azure_management_groups``::

    tenant-root
    ├── mg-org                  (the group scanned)
    │   ├── mg-prod   SUB_A     (ws-secure: ep-aad, ep-owner, ep-key, ep-none)
    │   └── mg-dev    SUB_B     (ws-b1..3: ep-b)
    │       └── mg-sandbox SUB_C  (no Machine Learning)
    └── mg-other  SUB_X         (outside the group)

ep-aad (SUB_A) holds Owner of SUB_B, and ep-key's identity (P_UA) Owner of mg-dev: neither is in or above the
endpoint's subscription, and for N = 2, 3 and 4 SUB_A and SUB_B belong to different shards, so the shard that
scans ep-aad must still read SUB_B's role assignments for the FAIL to survive. The unsharded scan and every
shard of N in 1..4 are run once, through the command line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from shard_results import assert_merged_equals_full, doc, merge, run

from auditor.demo.arm_model import role_assignment_document
from auditor.demo.arm_server import ArmServer
from auditor.demo.fake_az import write_fake_az
from auditor.demo.run import applied_environment, demo_azure_environment
from auditor.shard import Shard, azure_scope

from .conftest import _CLEARED
from .estate import EP_AAD, EP_KEY, P_UA, SUB_A, SUB_B, SUB_C, build_estate, build_groups, build_subscriptions

MG = "/providers/Microsoft.Management/managementGroups"
RULE = "azure.ml.online_endpoint.identity_least_privilege"
NS = (1, 2, 3, 4)


@dataclass(frozen=True)
class GroupScans:
    root: Path
    full_exit: int
    shard_exits: dict[tuple[int, int], int]
    assignment_reads: dict[tuple[int, int], int]  # role-assignment list requests each shard made

    def shards(self, n: int) -> list[Path]:
        return [self.root / f"shard-{k}-of-{n}" for k in range(1, n + 1)]


def owner(subscription: str, n: int) -> int:
    scopes = [azure_scope(s) for s in (SUB_A, SUB_B, SUB_C)]  # what every shard lists under mg-org
    return next(k for k in range(1, n + 1) if azure_scope(subscription) in Shard(k, n).share(scopes))


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GroupScans]:
    root = tmp_path_factory.mktemp("group-shards")
    write_fake_az(root / "az")
    with ArmServer(build_estate(), subscriptions=build_subscriptions(), page_size=2) as arm, \
            applied_environment({**dict.fromkeys(_CLEARED), **demo_azure_environment(arm.ca_bundle, str(root / "az"))}):
        build_groups(arm.store.groups)
        arm.add_resources([role_assignment_document(f"{MG}/mg-dev", P_UA, "Owner")])
        assert os.environ.get("REQUESTS_CA_BUNDLE") == arm.ca_bundle
        scan = ["scan", "azure", "--credential", "cli", "--arm-endpoint", arm.url, "--management-group", "mg-org",
                "--format", "json", "--quiet"]
        full_exit = run([*scan, "--out", str(root / "full")])
        exits, reads = {}, {}
        for n in NS:
            for k in range(1, n + 1):
                arm.reset_counters()
                exits[k, n] = run([*scan, "--shard", f"{k}/{n}", "--out", str(root / f"shard-{k}-of-{n}")])
                reads[k, n] = sum(count for (_, shape), count in arm.requests.items() if "roleAssignments" in shape)
    yield GroupScans(root, full_exit, exits, reads)


def least_privilege(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["resource_id"]: f for f in document["findings"] if f["rule_id"] == RULE}


def test_the_unsharded_group_scan_fails_both_identities(scans: GroupScans) -> None:
    full = doc(scans.root / "full")
    assert scans.full_exit == 1  # violations, everything read
    assert sorted(full["scan"]["scopes"]) == sorted(f"azure:{s}" for s in (SUB_A, SUB_B, SUB_C))
    found = least_privilege(full)
    assert found[EP_AAD]["status"] == "FAIL" and found[EP_KEY]["status"] == "FAIL"
    assert {owner(SUB_A, n) != owner(SUB_B, n) for n in (3, 4)} == {True}  # the case the shards test (2: together)


@pytest.mark.parametrize("n", NS)
def test_each_shard_reads_its_subscriptions_and_keeps_the_verdicts_of_assignments_elsewhere(
        scans: GroupScans, n: int) -> None:
    every = sorted(doc(scans.root / "full")["scan"]["scopes"])
    owned = sorted(scope for d in scans.shards(n) for scope in doc(d)["scan"]["shard"]["scopes"])
    assert owned == every
    shard_of_a = doc(scans.shards(n)[owner(SUB_A, n) - 1])
    found = least_privilege(shard_of_a)
    assert found[EP_AAD]["status"] == "FAIL", found[EP_AAD]  # Owner of SUB_B, a subscription of another shard
    assert found[EP_AAD]["evidence"]["broad_assignments"] == [f"Owner at subscription scope /subscriptions/{SUB_B}"]
    assert found[EP_KEY]["status"] == "FAIL"
    assert found[EP_KEY]["evidence"]["broad_assignments"] == [f"Owner at management_group scope {MG}/mg-dev"]
    for k, directory in enumerate(scans.shards(n), start=1):
        shard = doc(directory)
        assert {f["account"] for f in shard["findings"]} <= {s for s in (SUB_A, SUB_B) if owner(s, n) == k}
        assert not [c for c in shard["coverage"] if c["error"]], k
        assert scans.shard_exits[k, n] == (1 if shard["findings"] and any(
            f["status"] == "FAIL" for f in shard["findings"]) else 0), k


@pytest.mark.parametrize("n", NS)
def test_merging_the_shards_equals_the_unsharded_group_scan(scans: GroupScans, tmp_path: Path, n: int) -> None:
    code, merged = merge(scans.shards(n), tmp_path)
    full = doc(scans.root / "full")
    assert code == scans.full_exit
    assert_merged_equals_full(merged, full)
    assert sorted(r["id"] for r in merged["inventory"]) == sorted(r["id"] for r in full["inventory"])
    assert least_privilege(merged)[EP_AAD]["evidence"]["broad_assignments"] == \
        least_privilege(full)[EP_AAD]["evidence"]["broad_assignments"]


@pytest.mark.parametrize("n", NS)
def test_a_shard_that_owns_no_subscription_reads_no_role_assignment(scans: GroupScans, n: int) -> None:
    for k in range(1, n + 1):
        owns = [s for s in (SUB_A, SUB_B, SUB_C) if owner(s, n) == k]
        reads = scans.assignment_reads[k, n]
        assert (reads > 0) == bool(owns), (k, owns, reads)  # the pool serves only endpoints the shard scans
