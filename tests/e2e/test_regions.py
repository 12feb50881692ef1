"""One spelling per region: canonical Azure locations in findings, policies matching them, region names checked."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from .helpers import Run, fake_aws_env, run_auditor


def _policy(tmp_path, text: str):
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


def _demo(tmp_path, *args: str) -> Run:
    out = tmp_path / "out"
    return run_auditor(["demo", "--out", str(out), "--format", "json", "--quiet", *args], out,
                       env=fake_aws_env(None))


@pytest.fixture(scope="module")
def by_display_name(tmp_path_factory) -> Run:
    tmp = tmp_path_factory.mktemp("display")
    return _demo(tmp, "--policy", str(_policy(tmp, "scope:\n  - providers: [azure]\n    regions: [West Europe]\n")))


def test_a_policy_naming_the_display_name_keeps_both_ml_and_apim_findings(by_display_name, tmp_path):
    assert by_display_name.code == 1, by_display_name.stderr
    kept = by_display_name.findings()["findings"]
    azure = Counter(f["rule_id"].split(".")[1] for f in kept if f["provider"] == "azure")
    assert azure["ml"] > 0 and azure["apim"] > 0
    assert {f["region"] for f in kept if f["provider"] == "azure"} == {"westeurope"}
    # the same scope spelled canonically keeps exactly the same findings
    canonical = _demo(tmp_path, "--policy", str(_policy(
        tmp_path, "scope:\n  - providers: [azure]\n    regions: [westeurope]\n")))
    assert canonical.code == 1, canonical.stderr
    assert sorted(f["id"] for f in canonical.findings()["findings"]) == sorted(f["id"] for f in kept)


def test_an_unknown_region_in_a_policy_is_exit_3_with_file_line_field_and_the_known_regions(tmp_path):
    policy = _policy(tmp_path, "scope:\n  - providers: [azure]\n    regions:\n      - westeurope\n      - West Erope\n")
    out = tmp_path / "o"
    # No endpoint and no credentials: had the scan started it would end differently (exit 2).
    r = run_auditor(["scan", "all", "--region", "eu-west-1", "--policy", str(policy), "--out", str(out)], out)
    assert r.code == 3, r.stderr
    assert f"{policy}:5" in r.stderr and "scope[0].regions[1]" in r.stderr and "'West Erope'" in r.stderr
    assert "did you mean westeurope" in r.stderr and "usgovvirginia" in r.stderr and "chinanorth" in r.stderr
    assert "eu-west-1" not in r.stderr.split("known regions:")[1]  # an Azure-only entry lists Azure's
    assert "Traceback" not in r.stderr and not out.exists()


def test_an_unknown_aws_region_in_a_policy_lists_botocores_regions(tmp_path):
    policy = _policy(tmp_path, "scope:\n  - rules: ['aws.*']\n    providers: [aws]\n    regions: [eu-wst-1]\n")
    r = run_auditor(["scan", "aws", "--region", "eu-west-1", "--policy", str(policy), "--out", str(tmp_path / "o")],
                    tmp_path)
    assert r.code == 3, r.stderr
    assert f"{policy}:4" in r.stderr and "scope[0].regions[0]" in r.stderr and "did you mean eu-west-1" in r.stderr
    assert "us-gov-west-1" in r.stderr and "cn-north-1" in r.stderr and "global" in r.stderr


@pytest.mark.parametrize("command", ["aws", "all"])
def test_a_mistyped_region_is_exit_3_at_once_naming_the_known_regions(tmp_path, command):
    out = tmp_path / "o"
    started = time.monotonic()
    r = run_auditor(["scan", command, "--region", "eu-west-1", "--region", "eu-wst-1", "--out", str(out)], out,
                    timeout=60)
    elapsed = time.monotonic() - started
    assert r.code == 3, r.stderr
    assert "--region" in r.stderr and "'eu-wst-1'" in r.stderr and "did you mean eu-west-1" in r.stderr
    assert "ap-southeast-2" in r.stderr and "us-gov-east-1" in r.stderr  # botocore's regions, every partition
    assert "Traceback" not in r.stderr and not out.exists()
    assert elapsed < 10, elapsed  # no retries against an endpoint that does not exist
