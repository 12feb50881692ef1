"""``auditor scan aws --org --shard K/N`` then ``auditor merge``: the merged shards equal the unsharded org scan.

One moto organisation for the module (the management account and three members, two regions, the role of one
member denied to the caller, as in ``test_aws_org``): the unsharded scan and every shard of N in 1..4 are run
once, through the command line, with IAM enforced; each test compares them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from shard_results import assert_merged_equals_full, doc, merge, run

from auditor.providers.aws.permissions import org_permissions
from auditor.shard import Shard

from .conftest import Moto
from .org_estate import ROLE, Org, organisation
from .seeding import ACCOUNT, Seeder

NS = (1, 2, 3, 4)
REGIONS = ("eu-west-1", "us-east-1")


@dataclass(frozen=True)
class OrgScans:
    org: Org
    denied: str
    root: Path
    full_exit: int
    shard_exits: dict[tuple[int, int], int]

    def shard(self, k: int, n: int) -> Path:
        return self.root / f"shard-{k}-of-{n}"

    def shards(self, n: int) -> list[Path]:
        return [self.shard(k, n) for k in range(1, n + 1)]


@pytest.fixture(scope="module")
def scans(moto_server: Moto, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrgScans]:
    moto_server.reset()
    org = organisation(members=3, endpoints=1, regions=REGIONS)
    denied = org.members[1]
    caller = org_permissions(ROLE)["caller_policy"]
    caller["Statement"].append({"Effect": "Deny", "Action": "sts:AssumeRole",
                                "Resource": f"arn:aws:iam::{denied}:role/{ROLE}"})
    credentials = Seeder(moto_server.session()).user_with_policy("auditor", caller)
    root = tmp_path_factory.mktemp("org-shards")
    scan = ["scan", "aws", "--org", "--role-name", ROLE, *(a for r in REGIONS for a in ("--region", r)),
            "--format", "json", "--quiet"]
    moto_server.enforce_iam()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AWS_ACCESS_KEY_ID", credentials["aws_access_key_id"])
            patch.setenv("AWS_SECRET_ACCESS_KEY", credentials["aws_secret_access_key"])
            full_exit = run([*scan, "--out", str(root / "full")])
            exits = {(k, n): run([*scan, "--shard", f"{k}/{n}", "--out", str(root / f"shard-{k}-of-{n}")])
                     for n in NS for k in range(1, n + 1)}
    finally:
        moto_server.relax_iam()
    yield OrgScans(org, denied, root, full_exit, exits)


def test_the_unsharded_org_scan_reads_every_account_but_the_denied_one(scans: OrgScans) -> None:
    full = doc(scans.root / "full")
    assert scans.full_exit == 2
    failed = [c for c in full["coverage"] if c["error"]]
    assert [(c["account"], c["scope_id"]) for c in failed] == [(scans.denied,
                                                                f"arn:aws:sagemaker:*:{scans.denied}:*")]
    readable = [a for a in (ACCOUNT, *scans.org.members) if a != scans.denied]
    assert sorted(full["scan"]["scopes"]) == sorted([f"aws:{a}:{r}" for a in readable for r in REGIONS]
                                                    + [f"aws:{scans.denied}:*"])
    endpoints = {f["resource_id"] for f in full["findings"]}
    assert all(set(scans.org.endpoints[a]) <= endpoints for a in readable)


@pytest.mark.parametrize("n", NS)
def test_the_shards_own_every_scope_once_and_one_shard_reports_the_denied_account(scans: OrgScans,
                                                                                  n: int) -> None:
    every = doc(scans.root / "full")["scan"]["scopes"]
    owned = [scope for d in scans.shards(n) for scope in doc(d)["scan"]["shard"]["scopes"]]
    assert sorted(owned) == sorted(every)
    exits = [scans.shard_exits[k, n] for k in range(1, n + 1)]
    denied_scope = f"aws:{scans.denied}:*"
    owner = next(k for k in range(1, n + 1) if denied_scope in Shard(k, n).share(every))
    assert exits.count(2) == 1 and exits[owner - 1] == 2, exits  # exit 2 exactly once: the owner's
    for k, directory in enumerate(scans.shards(n), start=1):
        shard = doc(directory)
        errors = [c for c in shard["coverage"] if c["error"]]
        assert [c["account"] for c in errors] == ([scans.denied] if k == owner else []), k
        assert all(f["status"] != "ERROR" for f in shard["findings"] if f["account"] != scans.denied)
        if n > 1:  # every shard listed the same scopes: merge can tell a scope nobody read
            assert sorted(shard["scan"]["shard"]["listed"]) == sorted(every)


@pytest.mark.parametrize("n", NS)
def test_merging_the_shards_equals_the_unsharded_org_scan(scans: OrgScans, tmp_path: Path, n: int) -> None:
    code, merged = merge(scans.shards(n), tmp_path)
    full = doc(scans.root / "full")
    assert code == scans.full_exit == 2
    assert_merged_equals_full(merged, full)  # verdicts, coverage rows (resource counts, errors), scopes, gating
    assert sorted(r["id"] for r in merged["inventory"]) == sorted(r["id"] for r in full["inventory"])
    denied = [f for f in merged["findings"] if f["account"] == scans.denied]
    assert denied and {f["status"] for f in denied} == {"ERROR"}
    assert len(denied) == len({f["rule_id"] for f in denied})  # one ERROR per rule, not one per shard
