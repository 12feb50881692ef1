"""Plan mappings: how a planned resource's attributes become the document its cloud's API returns.

The mappings are data, ``rules/plan/<format>/*.yaml`` (validated by ``auditor/schemas/plan-mapping.schema.json``),
one entry per covered resource type::

    format: terraform                       # or pulumi
    mappings:
      - source: aws_sagemaker_model         # the tool's type (Pulumi: aws:sagemaker/model:Model)
        match: {attribute: type, pattern: "^Microsoft"}   # optional: only when an attribute matches
        resource_type: aws.sagemaker.model  # the catalog's type: its rules judge the document
        name: name                          # the attribute naming the resource (else the plan's name)
        region: region                      # optional: the attribute holding its region or location
        decode_json: [body]                 # optional: attributes holding JSON text (azapi's jsonencode)
        document:                           # the API document, key by key (a field specification each)
          EnableNetworkIsolation: {from: enable_network_isolation}
        related:                            # optional: ids of the planned resources an attribute references
          kms_keys: [kms_key_arn]
        when_created: {...}                 # optional: document keys the plan leaves unset, on a created
        when_existing: {...}                #   resource (the service's defaults) and on one that exists
        related_outside: {key: why}         # optional: related keys the plan cannot tell (rules: ERROR)
        derive:                             # optional: related keys the collector derives from the document,
          environment_variables: container_environment  # by the same function (auditor.iac.derive)

An entry with ``part_of: {reference: ATTR}`` maps a resource that is part of another planned resource's
document (``aws_s3_bucket_public_access_block`` of its bucket): its document's keys are merged into that of
the resource of the entry's ``resource_type`` that ATTR references (or names), and it is not judged itself.
An entry with ``account_wide: {related: KEY}`` maps an account's setting (``aws_s3_account_public_access_block``):
its document becomes ``related.KEY`` of every judged resource of the entry's ``resource_type`` planned through
the same provider configuration, as the collector reads the account's setting for each (auditor.iac.account_wide).

A field specification takes its value ``from`` an attribute path (dots; a Terraform block, a list of one,
is stepped into), is a constant ``value``, an ``object`` of fields read from the same attributes, or
``outside: WHY`` (decided by resources outside the plan: the rules reading it answer ERROR saying why);
then ``each`` (a list, each item mapped by the fields given), ``block`` (an object, or a block of one,
mapped by the fields given), ``map`` (a value's replacement,
keyed by its JSON text: ``"true"``, ``"Key"``), ``default`` (when the attribute is not set) and
``unknown_as`` (when it is known only after apply: the value the provider documents it takes; without it
the value stays "known after apply" and the rules' value operators answer ERROR). A value that ends up
null is left out of the document, as the API leaves out what is not set. ``via: {reference: ATTR, path:
KEY}`` takes ``KEY`` of the mapped document of the planned resource ``ATTR`` references (an endpoint's
data capture is its config's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from auditor.catalog import PLAN_DIR, validate
from auditor.errors import ConfigError
from auditor.iac.derive import DERIVATIONS
from auditor.iac.read import Format
from auditor.paths import rules_dir
from auditor.planned import AFTER_APPLY, AfterApply, NotInPlan
from auditor.yamlio import load_yaml

SCHEMA = "plan-mapping.schema.json"


@dataclass(frozen=True, slots=True)
class TypeMapping:
    """One entry of a mapping file: a tool's resource type (maybe narrowed by ``match``) -> a catalog type."""

    format: Format
    source: str
    resource_type: str
    document: Mapping[str, Any]  # key -> field specification, as validated
    name: str = "name"
    region: str = ""
    decode_json: tuple[str, ...] = ()
    related: Mapping[str, tuple[str, ...]] | None = None
    match_attribute: str = ""
    match_pattern: re.Pattern[str] | None = None
    file: str = ""
    when_created: Mapping[str, Any] | None = None  # document keys the plan leaves unset: on a created resource
    when_existing: Mapping[str, Any] | None = None  # ... and on one that exists before the plan
    part_of: str = ""  # a part of another planned resource's document (an S3 bucket's encryption): the attribute
    related_outside: Mapping[str, str] | None = None  # related keys the plan cannot tell: key -> why
    derive: Mapping[str, str] | None = None  # related key -> the name of its derivation (auditor.iac.derive)
    account_wide: str = ""  # an account's setting: its document is this related key of the type's resources

    @property
    def provider(self) -> str:
        return self.resource_type.split(".", 1)[0]

    def matches(self, values: Mapping[str, Any]) -> bool:
        if self.match_pattern is None:
            return True
        value = read_path(values, self.match_attribute)
        return isinstance(value, str) and not isinstance(value, AfterApply) and \
            self.match_pattern.search(value) is not None


@dataclass(frozen=True)
class Mappings:
    by_source: Mapping[tuple[str, str], tuple[TypeMapping, ...]]  # (format, source type) -> entries

    def find(self, fmt: Format, source: str, values: Mapping[str, Any]) -> TypeMapping | None:
        return next((m for m in self.by_source.get((fmt, source), ()) if m.matches(values)), None)

    def resource_types(self) -> set[str]:
        return {m.resource_type for entries in self.by_source.values() for m in entries}


def mapping_files(directory: Path | None = None) -> list[Path]:
    """The mapping files of ``rules/plan/`` (or ``directory``), sorted."""
    root = directory if directory is not None else rules_dir() / PLAN_DIR
    return sorted(root.rglob("*.yaml"))


@cache
def shipped_mappings() -> Mappings:
    return load_mappings(mapping_files())


def load_mappings(files: Iterable[Path]) -> Mappings:
    """Every mapping of ``files``, validated; ConfigError names the file, line and field of a problem."""
    by_source: dict[tuple[str, str], list[TypeMapping]] = {}
    for path in files:
        doc = load_yaml(path)
        validate(doc, SCHEMA)
        fmt: Format = doc.data["format"]
        for i, entry in enumerate(doc.data["mappings"]):
            match = entry.get("match") or {}
            try:
                pattern = re.compile(match["pattern"]) if match else None
            except re.error as e:
                raise doc.error(f"bad regular expression: {e}", ["mappings", i, "match", "pattern"]) from e
            for key, derivation in (entry.get("derive") or {}).items():
                if derivation not in DERIVATIONS:
                    raise doc.error(f"unknown derivation '{derivation}' (known: {', '.join(sorted(DERIVATIONS))})",
                                    ["mappings", i, "derive", key])
            mapping = TypeMapping(
                format=fmt, source=entry["source"], resource_type=entry["resource_type"],
                document=entry["document"], name=entry.get("name", "name"), region=entry.get("region", ""),
                decode_json=tuple(entry.get("decode_json", ())),
                related={k: tuple(v) for k, v in (entry.get("related") or {}).items()},
                match_attribute=match.get("attribute", ""), match_pattern=pattern, file=str(path),
                when_created=entry.get("when_created"), when_existing=entry.get("when_existing"),
                part_of=(entry.get("part_of") or {}).get("reference", ""),
                related_outside=entry.get("related_outside"), derive=entry.get("derive"),
                account_wide=(entry.get("account_wide") or {}).get("related", ""))
            entries = by_source.setdefault((fmt, mapping.source), [])
            if any(e.match_pattern is None for e in entries):
                raise doc.error(f"'{mapping.source}' is mapped already, without 'match'",
                                ["mappings", i, "source"])
            entries.append(mapping)
    return Mappings({k: tuple(v) for k, v in by_source.items()})


# -- the interpreter -----------------------------------------------------------------------------------------

Lookup = Callable[[str, str], Any]  # (reference attribute, document path) -> that value of the referenced resource


def read_path(values: Any, path: str) -> Any:
    """The value at a dotted attribute path; a list of one (a Terraform block) is stepped into."""
    value = values
    for key in path.split("."):
        if isinstance(value, list):
            value = value[0] if len(value) == 1 else None
        if isinstance(value, AfterApply):
            return AFTER_APPLY  # inside a value known only after apply: known only after apply
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def decode(values: Mapping[str, Any], attributes: tuple[str, ...], where: str) -> Mapping[str, Any]:
    """``values`` with the JSON text of ``attributes`` parsed (azapi's ``jsonencode`` bodies)."""
    if not attributes:
        return values
    out = dict(values)
    for attribute in attributes:
        text = out.get(attribute)
        if isinstance(text, str) and not isinstance(text, AfterApply):
            try:
                out[attribute] = json.loads(text)
            except json.JSONDecodeError as e:
                raise ConfigError(f"'{attribute}' is not JSON text: {e.msg}", field=where) from e
    return out


def build(fields: Mapping[str, Any], values: Any, via: Lookup) -> dict[str, Any]:
    """The document ``fields`` describe, read from ``values``; keys whose value is null are left out."""
    out: dict[str, Any] = {}
    for key, spec in fields.items():
        value = _field(spec, values, via)
        if value is not None:
            out[key] = value
    return out


def _field(spec: Mapping[str, Any], values: Any, via: Lookup) -> Any:
    if "value" in spec:
        return spec["value"]
    if "object" in spec:
        return build(spec["object"], values, via) or None
    if "outside" in spec:
        return NotInPlan(spec["outside"])
    if "via" in spec:
        return via(spec["via"]["reference"], spec["via"]["path"])
    value = read_path(values, spec["from"])
    if isinstance(value, AfterApply):
        return spec.get("unknown_as", AFTER_APPLY)
    if value is None or value == [] or value == "":  # Terraform's state writes an unset string as ""
        value = spec.get("default")
        if value is None:
            return None
    if "each" in spec:
        if not isinstance(value, list):
            return AFTER_APPLY if isinstance(value, AfterApply) else None
        return [AFTER_APPLY if isinstance(v, AfterApply) else build(spec["each"], v, via) for v in value]
    if "block" in spec:
        if isinstance(value, list):
            value = value[0] if len(value) == 1 else None
        return build(spec["block"], value, via) if isinstance(value, Mapping) else None
    if "map" in spec:
        text = json.dumps(value, sort_keys=True)
        return spec["map"].get(text, value)
    return value
