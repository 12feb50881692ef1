"""Hostile YAML in waivers, policy and rule files (issue 18, item 9): refused with a short message naming the
file and line, in bounded time and memory, before anything is collected.

Each command runs as the installed ``auditor`` in a child process whose address space is capped (a billion
laughs must not take the test run down with it when it is not refused), with no endpoint and fake AWS
credentials: had the scan started, it would end otherwise than exit 3.
"""

from __future__ import annotations

import resource
import subprocess
from pathlib import Path

import pytest
from e2e.helpers import AUDITOR, Run, fake_aws_env

from auditor.errors import MAX_MESSAGE
from auditor.yamlio import MAX_BYTES, MAX_DEPTH, MAX_NODES, brief

from .helpers import write

MEMORY_CAP = 3 * 1024**3  # bytes of address space for the child


def run_capped(args: list[str], cwd: Path) -> Run:
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    proc = subprocess.run([str(AUDITOR), *args], capture_output=True, text=True, env=fake_aws_env(None), cwd=cwd,
                          timeout=120, preexec_fn=cap)  # the child caps its own address space
    return Run(proc.returncode, proc.stdout, proc.stderr, cwd)


def laughs(indent: str, levels: int = 9) -> str:
    """A sequence of ``levels`` anchored lists, each of nine aliases of the one before: 9**levels strings."""
    lines = [f"{indent}- &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"{indent}- &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


WAIVERS_BOMB = ("waivers:\n  - rules: ['*']\n    resources: ['*']\n    reason: r\n    owner: o\n    expires:\n"
                + laughs("      "))
POLICY_BOMB = ("parameters:\n  aws.sagemaker.endpoint_config.multi_instance:\n    min_instances:\n"
               + laughs("      "))
RULE_BOMB = ("id: aws.acme.sagemaker.model.tagged\ntitle:\n" + laughs("  ") + "severity: low\n"
             "resource_type: aws.sagemaker.model\nrationale: r\nexpect: {path: ModelName, op: exists}\n"
             "messages: {pass: ok, fail: not ok}\nremediation: {guidance: g}\n")


def scan(tmp_path: Path, *options: str) -> Run:
    return run_capped(["scan", "aws", "--region", "eu-west-1", "--out", str(tmp_path / "o"), *options], tmp_path)


def assert_refused(r: Run, where: str, *words: str) -> None:
    assert r.code == 3, r.stderr[:2000]
    assert "Traceback" not in r.stderr and "MemoryError" not in r.stderr
    assert len(r.stderr) < MAX_MESSAGE + 500, f"{len(r.stderr):,} characters of error"
    assert where in r.stderr, r.stderr
    for word in words:
        assert word in r.stderr, r.stderr


@pytest.mark.parametrize(("option", "text", "line"), [
    ("--waivers", WAIVERS_BOMB, 11),  # the line where the aliases pass the bound
    ("--policy", POLICY_BOMB, 8),
])
def test_an_alias_bomb_in_a_waivers_or_policy_file_is_refused_in_a_line(tmp_path: Path, option: str, text: str,
                                                                         line: int) -> None:
    path = write(tmp_path / "hostile.yaml", text)
    assert len(text.encode()) < 700  # the whole attack: a few hundred bytes
    r = scan(tmp_path, option, str(path))
    assert_refused(r, f"{path}:{line}", "aliases expand to more than 10,000 values")
    assert not (tmp_path / "o").exists()


def test_an_alias_bomb_in_a_rule_pack_is_refused_by_rules_test_and_by_a_policy_naming_it(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    rule = write(pack / "aws.acme.sagemaker.model.tagged.yaml", RULE_BOMB)
    r = run_capped(["rules", "test", str(pack)], tmp_path)
    assert_refused(r, f"{rule}:7", "aliases expand")
    policy = write(tmp_path / "policy.yaml", "rule_dirs: [pack]\n")
    assert_refused(scan(tmp_path, "--policy", str(policy)), f"{rule}:7", "aliases expand")


@pytest.mark.parametrize(("text", "words"), [
    ("waivers: &w\n  - *w\n", ("recursive value",)),
    ("waivers:\n  - rules: ['*']\n    resources: ['*']\n    reason: r\n    owner: o\n    expires: " + "1" * 5000 + "\n",
     ("YAML value error", "4300")),
    ("waivers: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n", (f"nested deeper than {MAX_DEPTH}",)),
    ("waivers: [" + "a," * MAX_NODES + "a]\n", (f"more than {MAX_NODES:,} values",)),
    ("waivers: []\n" + ("# padding\n" * (MAX_BYTES // 10 + 1)), (f"larger than {MAX_BYTES:,} bytes",)),
], ids=["recursive alias", "5000-digit integer", "too deep", "too many values", "too large"])
def test_other_hostile_shapes_are_refused_with_the_file_named(tmp_path: Path, text: str, words: tuple[str]) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(text, encoding="utf-8")
    assert_refused(scan(tmp_path, "--waivers", str(path)), str(path), *words)


def test_a_value_in_a_message_is_quoted_briefly_without_being_walked() -> None:
    endless: list[object] = []
    endless.append(endless)  # a recursive value: repr() would print [[...]], a naive walk never ends
    assert brief(endless) == "[" * 9 + "[...]" + "]" * 9
    huge = [["lol"] * 9] * 9**8  # shared rows: 387 million strings if walked
    assert brief(huge).endswith("...") and len(brief(huge)) == 83
    assert brief("x" * 10**7) == repr("x" * 80)[:80] + "..."
    assert brief(10**5000) == "<an integer of 16610 bits>"
    assert brief({"a": [1, None, True, 2.5]}) == repr({"a": [1, None, True, 2.5]})
