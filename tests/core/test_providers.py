"""The provider registry: one explicit table whose names every interface that lists clouds agrees with."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest

from auditor.providers import get, module, names

# The JSON Schemas stay literal, standalone files (a validator or an editor reads them without the auditor):
# this test keeps their provider names equal to the registry instead.
SCHEMAS = ("findings.schema.json", "plan.schema.json", "policy.schema.json", "rule.schema.json")
_PREFIX = re.compile(r"^\^\(([a-z0-9|]+)\)\\\.")


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}/{index}")


def _provider_mentions(schema: Any) -> list[tuple[str, set[str]]]:
    """Every place a schema names the providers: an enum holding one of them, a pattern ``^(a|b)\\.``."""
    known = set(names())
    found: list[tuple[str, set[str]]] = []
    for path, node in _walk(schema):
        if not isinstance(node, dict):
            continue
        enum = node.get("enum")
        if isinstance(enum, list) and known & set(enum):
            found.append((f"{path}/enum", set(enum)))
        pattern = node.get("pattern")
        match = _PREFIX.match(pattern) if isinstance(pattern, str) else None
        if match:
            found.append((f"{path}/pattern", set(match.group(1).split("|"))))
    return found


def test_the_registry_lists_each_provider_under_its_own_name() -> None:
    assert names() == ("aws", "azure")
    for name in names():
        provider = get(name)
        assert provider.name == name
        assert provider.cli.label and provider.cli.help and provider.cli.options
        assert module(name, "changes") == f"auditor.providers.{name}.changes"
    with pytest.raises(KeyError, match="unknown provider 'gcp'"):
        get("gcp")


@pytest.mark.parametrize("schema", SCHEMAS)
def test_the_schemas_name_exactly_the_registered_providers(schema: str) -> None:
    document = json.loads(resources.files("auditor").joinpath("schemas", schema).read_text(encoding="utf-8"))
    mentions = _provider_mentions(document)
    assert mentions, f"{schema} names no provider: the test would prove nothing"
    for where, found in mentions:
        assert found == set(names()), f"{schema}{where}: {sorted(found)} is not the registry's {list(names())}"


def test_every_schema_place_that_names_providers_is_checked() -> None:
    """The places the test above finds (so a schema restructured out of its reach is noticed)."""
    count = {schema: len(_provider_mentions(json.loads(
        resources.files("auditor").joinpath("schemas", schema).read_text(encoding="utf-8")))) for schema in SCHEMAS}
    assert count == {"findings.schema.json": 1, "plan.schema.json": 2, "policy.schema.json": 2,
                     "rule.schema.json": 2}


def test_identity_rules_are_the_providers() -> None:
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/Scorer"
    assert get("aws").resource_key(arn) == arn
    rid = "/subscriptions/S/resourceGroups/ML/providers/Microsoft.MachineLearningServices/workspaces/WS"
    assert get("azure").resource_key(rid) == get("azure").resource_key(rid.lower()) == rid.lower()


def test_listing_and_loading_the_providers_imports_no_cloud_sdk() -> None:
    code = ("import sys, auditor.providers as p, auditor.remediate as r\n"
            "for n in p.names():\n"
            "    p.get(n).cli\n"
            "r.available()\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'azure', 'moto'))\n"
            "assert not loaded, loaded\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_remediators_and_change_kinds_are_found_through_the_registry() -> None:
    from auditor.remediate import available, load
    from auditor.remediate.changes import handler, known_kind

    by_provider: dict[str, set[str]] = {}
    for name in available():
        fix = load(name)
        by_provider.setdefault(fix.provider, set()).add(name)
        assert type(fix).__module__ == f"{module(fix.provider, 'remediators')}.{name}"
    assert set(by_provider) == set(names())
    assert handler("aws.kms.key.rotation").kind == "aws.kms.key.rotation"
    assert handler("azure.role_assignment").kind == "azure.role_assignment"
    assert not known_kind("gcp.bucket.acl") and not known_kind("aws.no.such.kind")
