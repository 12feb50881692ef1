"""The shipped REST examples, the throwaway TLS material, and the store's seeding rules (no SDK involved)."""

from __future__ import annotations

import ipaddress
import re
from importlib import resources
from pathlib import Path

import pytest
from cryptography import x509

from auditor.demo.arm_examples import as_resource, example_body, example_items, example_paths, load_example, resolve
from auditor.demo.arm_model import BUILTIN_ROLES, parse_path, resource_type_of, role_assignment_document
from auditor.demo.arm_server import ArmServer
from auditor.demo.tls import make_tls_files


def test_every_example_is_listed_with_its_source_and_license() -> None:
    sources = resources.files("auditor.demo").joinpath("arm_fixtures/SOURCES.md").read_text("utf-8")
    assert "MIT License" in sources and "Copyright (c) Microsoft Corporation" in sources
    rows = dict(re.findall(r"^\| `([^`]+)` \| `specification/[^`]+` \| `([0-9a-f]{40})` \|", sources, re.MULTILINE))
    assert set(rows) == set(example_paths())
    assert len(rows) == 42


def test_examples_resolve_by_unique_suffix() -> None:
    assert resolve("ApiManagementListApis.json").endswith("/2024-05-01/examples/ApiManagementListApis.json")
    with pytest.raises(KeyError, match="several"):
        resolve("get.json")
    with pytest.raises(KeyError, match="no example"):
        resolve("Nope.json")
    whole = load_example("Workspace/OnlineEndpoint/get.json")
    assert whole["parameters"]["api-version"] == "2025-12-01"
    body = example_body("Workspace/OnlineEndpoint/get.json")
    body["properties"]["authMode"] = "Key"  # copies: editing one changes nothing shared
    assert example_body("Workspace/OnlineEndpoint/get.json")["properties"]["authMode"] == "AMLToken"
    assert len(example_items("ApiManagementListProducts.json")) == 3
    with pytest.raises(KeyError, match="no body for status 201"):
        example_body("Workspace/get.json", status="201")


def test_as_resource_rehomes_and_edits() -> None:
    resource_id = "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w/" \
                  "serverlessEndpoints/e"
    doc = as_resource(example_body("Workspace/ServerlessEndpoint/get.json"), resource_id, location="eastus",
                      properties={"authMode": "AAD", "endpointState": None})
    assert (doc["id"], doc["name"], doc["location"]) == (resource_id, "e", "eastus")
    assert doc["type"] == "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints"
    assert doc["properties"]["authMode"] == "AAD" and "endpointState" not in doc["properties"]
    assert doc["properties"]["contentSafety"]["contentSafetyStatus"] == "Enabled"


def test_path_parsing() -> None:
    info = parse_path("/subscriptions/S/resourceGroups/R/providers/Microsoft.Web/sites/a/providers/"
                      "Microsoft.Authorization/roleAssignments")
    assert info.is_collection and info.scope() == "/subscriptions/S/resourceGroups/R/providers/Microsoft.Web/sites/a"
    assert info.resource_type == "Microsoft.Authorization/roleAssignments"
    assert info.shape == ("/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Web/sites/{}/providers/"
                          "Microsoft.Authorization/roleAssignments")
    assert resource_type_of("/subscriptions/S/resourceGroups/R") == "Microsoft.Resources/resourceGroups"
    assert not parse_path("/providers/Microsoft.Authorization/roleDefinitions/x").is_collection
    assignment = role_assignment_document("/subscriptions/S/resourceGroups/R", "p", "Owner")
    assert assignment == role_assignment_document("/subscriptions/S/resourceGroups/R/", "p", "Owner")
    assert assignment["properties"]["roleDefinitionId"] == (
        f"/subscriptions/S/providers/Microsoft.Authorization/roleDefinitions/{BUILTIN_ROLES['Owner']}")


def test_seeding_rejects_documents_without_id_name_type() -> None:
    with pytest.raises(ValueError, match="id, name and type"):
        ArmServer([{"id": "/subscriptions/s/resourceGroups/r/providers/A.B/c/d", "name": "d"}])


def test_tls_files(tmp_path: Path) -> None:
    files = make_tls_files(tmp_path)
    ca = x509.load_pem_x509_certificate(files.ca_bundle.read_bytes())
    leaf = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert leaf.issuer == ca.subject
    assert files.key_file.stat().st_mode & 0o077 == 0
    files.server_context()  # the pair loads


def test_server_cleans_up_its_tls_directory() -> None:
    arm = ArmServer([])
    with arm:
        bundle = Path(arm.ca_bundle)
        assert bundle.exists() and arm.url.startswith("https://127.0.0.1:")
    assert not bundle.exists()
