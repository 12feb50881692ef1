"""Shell completion as the README documents it: the installed ``auditor`` command, asked the way bash asks."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.catalog import load_catalog

README = Path(__file__).resolve().parents[2] / "README.md"


def _auditor() -> str:
    found = shutil.which("auditor")
    if found is None:
        pytest.fail("the auditor console script is not installed")
    return found


def _complete(words: str, cword: int) -> list[str]:
    env = {**os.environ, "COMP_WORDS": words, "COMP_CWORD": str(cword), "_AUDITOR_COMPLETE": "bash_complete"}
    done = subprocess.run([_auditor()], env=env, capture_output=True, text=True, timeout=60, check=True)
    return [line.split(",", 1)[1] for line in done.stdout.splitlines() if line]


def test_readme_documents_the_scripts_that_work() -> None:
    text = README.read_text(encoding="utf-8")
    shells = re.findall(r"_AUDITOR_COMPLETE=(\w+)_source auditor", text)
    assert {"bash", "zsh", "fish"} <= set(shells)
    for shell in ("bash", "zsh", "fish"):
        env = {**os.environ, "_AUDITOR_COMPLETE": f"{shell}_source"}
        script = subprocess.run([_auditor()], env=env, capture_output=True, text=True, timeout=60, check=True).stdout
        assert f"_AUDITOR_COMPLETE={shell}_complete" in script


def test_bash_script_is_valid_bash() -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash on this machine")
    script = subprocess.run([_auditor()], env={**os.environ, "_AUDITOR_COMPLETE": "bash_source"},
                            capture_output=True, text=True, timeout=60, check=True).stdout
    subprocess.run([bash, "-n"], input=script, text=True, check=True, timeout=60)


def test_commands_and_choices_complete() -> None:
    assert _complete("auditor scan a", 2) == ["all", "aws", "azure"]
    assert _complete("auditor scan aws --fail-on h", 4) == ["high"]


def test_rule_ids_complete_from_the_installed_catalog() -> None:
    catalog = load_catalog()
    expected = sorted(rid for rid in catalog if rid.startswith("aws.s3."))
    assert expected  # the catalog ships S3 rules
    assert _complete("auditor scan aws --rule aws.s3.", 4) == expected
    assert _complete("auditor demo --rule zz", 3) == []


def test_services_complete() -> None:
    got = _complete("auditor scan all --service ", 4)
    assert {"sagemaker", "iam", "kms", "s3", "ml", "apim"} <= set(got)
    assert got == sorted(got)
