"""Apply's live AWS reads are in the scan's shape: the same redaction, so a rule re-run decides as in the scan."""

from __future__ import annotations

import boto3

from auditor.demo.aws_estate import DemoEstate
from auditor.providers import ProviderOptions
from auditor.providers.aws.collect import AwsOptions, collect_aws
from auditor.providers.aws.live import AwsContext

from .aws_estate import REGION

TOKEN = "tok3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"


def test_a_live_read_redacts_what_the_scan_redacts(aws_estate: DemoEstate) -> None:
    kms = boto3.client("kms", region_name=REGION)
    key = kms.create_key(Description=f"rotation owner, CI token Bearer {TOKEN}")["KeyMetadata"]["Arn"]
    sagemaker = boto3.client("sagemaker", region_name=REGION)  # a config that uses the key, so the scan reads it
    config = sagemaker.describe_endpoint_config(EndpointConfigName=next(iter(aws_estate.endpoint_configs)))
    sagemaker.create_endpoint_config(EndpointConfigName="uses-the-key", KmsKeyId=key,
                                     ProductionVariants=config["ProductionVariants"])

    scanned = {r.id: r for r in collect_aws(AwsOptions(regions=(REGION,))).resources}[key]
    live = AwsContext(ProviderOptions()).read("aws.kms.key", key, account=aws_estate.account_id)
    assert live is not None
    assert scanned.document["KeyMetadata"]["Description"] == "<redacted>"
    assert live.document == scanned.document
