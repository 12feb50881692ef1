"""The scan's fingerprint of a resource equals the one apply computes from its live read, on both clouds.

Apply refuses a step whose resource's fingerprint changed since the scan: that is only sound when
an unchanged resource gives the same fingerprint read either way (collector vs ``live.read``).
"""

from __future__ import annotations

from auditor.demo.ai_estate import build_ai_estate, northwind_ai_spec
from auditor.demo.arm_server import ArmServer
from auditor.demo.aws_estate import DemoEstate
from auditor.fingerprint import fingerprint
from auditor.providers import ProviderOptions
from auditor.providers.aws.collect import AwsOptions, collect_aws
from auditor.providers.aws.live import AwsContext
from auditor.providers.azure.collect import AzureOptions, collect_azure
from auditor.providers.azure.live import AzureContext
from auditor.remediate import available, load

from .aws_estate import REGION
from .azure_estate import SUB
from .conftest import FixedCredential


def _fixed_types(provider: str) -> set[str]:
    """The resource types of the rules some remediator of ``provider`` fixes (the ones apply re-reads)."""
    from auditor.catalog import load_catalog

    catalog = load_catalog()
    return {catalog[r].resource_type for name in available() if load(name).provider == provider
            for r in load(name).rule_ids if r in catalog}


def test_aws_scan_and_live_read_fingerprint_alike(aws_estate: DemoEstate) -> None:
    types = _fixed_types("aws")
    scanned = [r for r in collect_aws(AwsOptions(regions=(REGION,))).resources if r.type in types]
    assert {r.type for r in scanned} == types
    live = AwsContext(ProviderOptions())
    for resource in scanned:
        read = live.read(resource.type, resource.id, account=resource.account, region=resource.region)
        assert read is not None, resource.id
        assert fingerprint(read) == fingerprint(resource), resource.id


def test_azure_scan_and_live_read_fingerprint_alike(arm: ArmServer) -> None:
    types = _fixed_types("azure")
    arm.add_resources(build_ai_estate(northwind_ai_spec(SUB, SUB)).documents)  # the AI accounts' fixes
    inventory = collect_azure(AzureOptions(subscriptions=(SUB,), arm_endpoint=arm.url), credential=FixedCredential())
    scanned = [r for r in inventory.resources if r.type in types]
    assert {r.type for r in scanned} == types
    live = AzureContext(ProviderOptions(values={"arm_endpoint": arm.url}, overrides={"azure": FixedCredential()}))
    try:
        for resource in scanned:
            read = live.read(resource.type, resource.id, account=resource.account, region=resource.region)
            assert read is not None, resource.id
            assert fingerprint(read) == fingerprint(resource), resource.id
    finally:
        live.close()
