"""The region names the auditor knows: Azure's table and botocore's endpoint data."""

from __future__ import annotations

import json

import boto3
import pytest

from auditor.errors import ConfigError
from auditor.regions import AZURE_TABLE, azure_regions, canonical_azure_location, check_aws_regions


def test_the_azure_table_maps_each_display_name_to_resource_managers_name():
    entries = json.loads(AZURE_TABLE.read_text())["regions"]
    names = [e["name"] for e in entries]
    assert len(names) == len(set(names)) == len(azure_regions())
    for entry in entries:
        assert canonical_azure_location(entry["displayName"]) == entry["name"]
        assert canonical_azure_location(entry["name"]) == entry["name"]
        assert entry["source"] in json.loads(AZURE_TABLE.read_text())["sources"]
    clouds = {e["cloud"] for e in entries}
    assert clouds == {"AzureCloud", "AzureChinaCloud", "AzureUSGovernment", "AzureGermanCloud"}
    assert {"westeurope", "usgovvirginia", "usdodeast", "chinanorth3", "eastus2euap", "swedencentral"} <= set(names)


@pytest.mark.parametrize(("location", "name"), [
    ("West Europe", "westeurope"), ("west europe", "westeurope"), (" US DoD East ", "usdodeast"),
    ("Australia Central 2", "australiacentral2"), ("", ""), ("Atlantis North 2", "atlantisnorth2")])
def test_a_location_is_canonical_whatever_its_spelling(location, name):
    assert canonical_azure_location(location) == name


def test_every_region_botocore_offers_in_any_partition_is_a_valid_region():
    session = boto3.session.Session()
    offered = {region for partition in session.get_available_partitions()
               for service in ("sagemaker", "ec2", "kms")
               for region in session.get_available_regions(service, partition_name=partition)}
    assert {"eu-west-1", "us-gov-west-1", "cn-north-1"} <= offered
    check_aws_regions(sorted(offered))


def test_a_region_botocore_does_not_know_is_a_config_error_on_the_region_option():
    with pytest.raises(ConfigError) as e:
        check_aws_regions(["eu-west-1", " westeurope "])
    assert e.value.field == "--region" and "'westeurope'" in str(e.value) and "eu-west-1" in str(e.value)
