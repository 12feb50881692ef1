"""``--shard K/N``: parsing, the partition (every scope in exactly one shard, stable across processes), the
arguments a scan records, and the command line's validation (exit 3 with a clear message)."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from auditor.errors import ConfigError
from auditor.shard import WHOLE, Shard, aws_scope, azure_scope, recorded_arguments

from .conftest import run

SCOPES = [aws_scope(f"{a:012d}", r) for a in range(7) for r in ("eu-west-1", "us-east-1", "ap-south-1")] + [
    azure_scope(f"5d0f3e1a-7c2b-4a9e-9f10-2b6c8d4e0a{i:02d}") for i in range(20)]


@pytest.mark.parametrize(("text", "expected"), [("1/1", Shard(1, 1)), ("2/4", Shard(2, 4)), (" 4 / 4 ", Shard(4, 4))])
def test_k_of_n_parses(text: str, expected: Shard) -> None:
    assert Shard.parse(text) == expected and str(expected) == f"{expected.index}/{expected.total}"


@pytest.mark.parametrize(("text", "says"), [("0/3", "K must be between 1 and N"), ("4/3", "K must be between 1 and N"),
                                            ("1/0", "N must be between"), ("2", "is not K/N"), ("a/b", "is not K/N"),
                                            ("-1/2", "is not K/N")])
def test_anything_else_is_a_config_error_naming_the_option(text: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as caught:
        Shard.parse(text)
    assert caught.value.field == "--shard"


@pytest.mark.parametrize("n", range(1, 9))
def test_every_scope_belongs_to_exactly_one_shard_and_the_shares_are_balanced(n: int) -> None:
    shares = [Shard(k, n).share(SCOPES) for k in range(1, n + 1)]
    owners = {scope: [k for k, share in enumerate(shares, start=1) if scope in share] for scope in SCOPES}
    assert all(len(found) == 1 for found in owners.values())
    assert sorted(s for k in range(1, n + 1) for s in Shard(k, n).select(SCOPES)) == sorted(SCOPES)
    assert max(map(len, shares)) - min(map(len, shares)) <= 1  # a fair share each, whatever the hash does


def test_select_keeps_the_items_order_and_every_item_of_an_owned_key() -> None:
    pairs = [("111111111111", r) for r in ("us-east-1", "eu-west-1", "ap-south-1", "us-west-2")] * 2
    for k in (1, 2, 3):
        chosen = Shard(k, 3).select(pairs, key=lambda p: aws_scope(*p))
        assert list(chosen) == [p for p in pairs if aws_scope(*p) in Shard(k, 3).share(aws_scope(*q) for q in pairs)]
        assert all(chosen.count(p) == 2 for p in chosen)  # a key listed twice is one scope: both items go together


def test_the_partition_is_the_sha256_order_of_the_scope_keys_not_pythons_hash() -> None:
    ordered = sorted(SCOPES, key=lambda scope: int.from_bytes(hashlib.sha256(scope.encode()).digest(), "big"))
    assert len(SCOPES) == 41
    cut = [0, 10, 20, 30, 41]  # 41 scopes into 4 consecutive runs: floor(41 * k / 4)
    for k in range(1, 5):
        assert Shard(k, 4).share(reversed(SCOPES)) == set(ordered[cut[k - 1]:cut[k]])
    # another interpreter (another PYTHONHASHSEED) partitions the same way
    code = ("from auditor.shard import Shard, aws_scope; "
            "keys = [aws_scope('123456789012', r) for r in ('eu-west-1', 'us-east-1', 'ap-south-1', 'sa-east-1')]; "
            "print([sorted(Shard(k, 3).share(keys)) for k in range(1, 4)])")
    answers = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={"PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(answers) == 1
    assert azure_scope("5D0F3E1A-AAAA") == azure_scope("5d0f3e1a-aaaa")  # subscription ids compare case-insensitively
    assert WHOLE.share(["anything"]) == {"anything"} and WHOLE.whole


@pytest.mark.parametrize("n", [2, 4, 7])
def test_a_scope_that_appears_moves_at_most_one_other_scope_per_boundary(n: int) -> None:
    """The shares depend on the listing: a scope that appears between the shards' runs moves few others (a
    round-robin deal of the hash order would move most of them)."""
    def owner_of(keys: list[str]) -> dict[str, int]:
        return {scope: k for k in range(1, n + 1) for scope in Shard(k, n).share(keys)}

    before = owner_of(SCOPES)
    for extra in (aws_scope("999999999999", "eu-north-1"), azure_scope("ffffffff-0000-4000-8000-000000000000")):
        after = owner_of([*SCOPES, extra])
        moved = [scope for scope in SCOPES if before[scope] != after[scope]]
        assert len(moved) <= n - 1, moved


def test_the_recorded_arguments_hide_what_could_be_secret() -> None:
    recorded = recorded_arguments(["aws"], {"regions": ("eu-west-1",), "external_id": "shh",
                                            "arm_endpoint": "https://user:pass@arm.example/", "profile": None})
    assert recorded["providers"] == ["aws"] and recorded["regions"] == ["eu-west-1"] and recorded["profile"] is None
    assert recorded["external_id"].startswith("sha256:") and "shh" not in str(recorded)
    assert recorded["arm_endpoint"] == "https://<redacted>@arm.example/"


@pytest.mark.parametrize("value", ["0/4", "5/4", "x"])
def test_a_bad_shard_on_the_command_line_is_exit_3_before_any_call(value: str, capsys: pytest.CaptureFixture[str],
                                                                   tmp_path: object) -> None:
    assert run(["scan", "aws", "--region", "eu-west-1", "--shard", value, "--out", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert "'--shard'" in err and value in err and "Traceback" not in err


def test_every_scan_command_has_the_shard_option() -> None:
    from auditor.cli_scan import scan

    for name, command in scan.commands.items():
        assert "--shard" in [opt for p in command.params for opt in p.opts], name
