"""The verdicts a seeded AWS estate implies cover the regions where it has no Bedrock invocation logging settings
(an organisation's management account in the org benchmark is such an estate: nothing seeded, every region
unlogged), and the scan reaches exactly them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from auditor.catalog import load_catalog
from auditor.demo import aws_estate as e
from auditor.demo.aws_bedrock_estate import BedrockSpec, LoggingSpec
from auditor.demo.moto_server import aws_environment, running_moto
from auditor.pipeline import ScanInputs, evaluate_inventory
from auditor.providers.aws.collect import AwsOptions, collect_aws

EU, US = "eu-west-1", "us-east-1"
_IMAGE = "{account}.dkr.ecr.{region}.amazonaws.com/unlogged/serving:1.0"
_EMPTY = e.EstateSpec((EU, US), (), (), (), (), (), ())
_EU_LOGGED = e.EstateSpec(
    (EU, US), (e.RoleSpec("unlogged-exec"),), (e.KeySpec("unlogged-key", EU),),
    (e.BucketSpec("unlogged-logs-eu-west-1", EU, sse_kms_key="unlogged-key"),),
    (e.ModelSpec("unlogged-model", US, "unlogged-exec", _IMAGE),),
    (e.ConfigSpec("unlogged-cfg", US, (e.Variant("unlogged-model"),)),),
    (e.EndpointSpec("unlogged-ep", US, "unlogged-cfg"),),
    bedrock=BedrockSpec(logging=(LoggingSpec(EU, "unlogged-logs-eu-west-1"),)))


def _scan(regions: tuple[str, ...]) -> dict[tuple[str, str], str]:
    inventory = collect_aws(AwsOptions(regions=regions))
    assert inventory.complete, [row for row in inventory.coverage if row.error]
    result = evaluate_inventory(ScanInputs(rules=load_catalog(providers=("aws",))), inventory, datetime.now(UTC))
    return {(f.rule_id, f.resource_id): str(f.status) for f in result.findings}


@pytest.fixture(params=[_EMPTY, _EU_LOGGED], ids=["nothing-seeded", "logging-in-one-region"])
def seeded(request: pytest.FixtureRequest) -> Iterator[tuple[e.EstateSpec, dict[tuple[str, str], str], str]]:
    with running_moto() as url:
        estate = e.seed_estate(url, request.param)
        yield request.param, dict(estate.expected), url


def test_unlogged_regions_are_in_the_truth_and_the_scan_agrees(
        seeded: tuple[e.EstateSpec, dict[tuple[str, str], str], str]) -> None:
    spec, expected, url = seeded
    logged = {s.region for s in spec.bedrock.logging} if spec.bedrock else set()
    for region in set(spec.regions) - logged:
        arn = f"arn:aws:bedrock:{region}:123456789012:model-invocation-logging"
        assert expected["aws.bedrock.invocation_logging_enabled", arn] == "FAIL"
        assert expected["aws.bedrock.invocation_logs_encrypted", arn] == "NOT_APPLICABLE"
    with aws_environment(url):
        got = _scan(spec.regions)
    assert got == expected
