"""aws.sagemaker.endpoint_config.kms_volume_encryption: KmsKeyId set, judged on the variants that have an EBS volume.

SageMaker attaches an EBS storage volume to the instances of an instance-based variant, and KmsKeyId
encrypts it. Instance types with local NVMe instance storage (the rule parameter
``instance_storage_types``: shell-style patterns such as ``ml.m5d.*``, kept with their sources in the
rule file) get no EBS volume: AWS encrypts their local volumes with a hardware module and the API
reference says a KmsKeyId cannot be requested for them. Serverless variants attach no volume at all.

Shadow variants (``ShadowProductionVariants``) run on instances of their own, with the same KmsKeyId: they
are classified and judged as production variants are, named ``shadow:NAME`` in the evidence and messages.

So each variant is classified: EBS-backed, instance storage, or serverless. A config with no
EBS-backed variant is NOT_APPLICABLE, with a message saying why; otherwise it is judged on its
EBS-backed variants alone: PASS when KmsKeyId is set. The evidence names the variants of each class
(the remediator reads it: it plans no key for a config with an instance-storage variant, which
CreateEndpointConfig rejects). A variant with neither an instance type nor a serverless config, or a
config whose variants were not collected, cannot be classified: ERROR, never a guess.

Why a check and not a condition: the condition language tests paths of the document; it cannot
classify each variant against a list parameter of patterns, nor give the FAIL verdict the per-variant
classification the remediator's pure plan needs (a condition's evidence is the values it tested).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from auditor.errors import MissingData
from auditor.model import Inventory, Resource
from auditor.rule_parts import Verdict

PARAM = "instance_storage_types"
EBS = "ebs_variants"
INSTANCE_STORAGE = "instance_storage_variants"
SERVERLESS = "serverless_variants"


def _patterns(params: Mapping[str, Any]) -> tuple[str, ...]:
    value = params.get(PARAM)
    if not isinstance(value, Sequence) or isinstance(value, str) or not all(isinstance(p, str) for p in value):
        raise TypeError(f"rule parameter '{PARAM}' must be a list of instance type patterns, found {value!r}")
    return tuple(p.lower() for p in value)


def has_instance_storage(instance_type: str, patterns: Sequence[str]) -> bool:
    """Whether ``instance_type`` matches one of the (lower-case, shell-style) ``patterns``."""
    lowered = instance_type.lower()
    return any(fnmatchcase(lowered, p) for p in patterns)


def _listing(variants: Mapping[str, str]) -> str:
    return ", ".join(f"{name} ({kind})" for name, kind in variants.items())


def check(resource: Resource, inventory: Inventory, params: Mapping[str, Any]) -> Verdict:
    for part in ("*", "ProductionVariants"):
        if part in resource.unreadable:
            raise MissingData(f"the endpoint config could not be read: {resource.unreadable[part]}")
    patterns = _patterns(params)
    variants = resource.document.get("ProductionVariants")
    if not isinstance(variants, list) or not variants:
        raise MissingData("'ProductionVariants' is missing from the aws.sagemaker.endpoint_config document")
    shadows = resource.document.get("ShadowProductionVariants") or []
    if not isinstance(shadows, list):
        raise MissingData("'ShadowProductionVariants' of the aws.sagemaker.endpoint_config document is not a list")
    ebs: dict[str, str] = {}
    local: dict[str, str] = {}
    serverless: list[str] = []
    labelled = [("", i, v) for i, v in enumerate(variants)] + [("shadow:", i, v) for i, v in enumerate(shadows)]
    for prefix, index, variant in labelled:
        if not isinstance(variant, Mapping):
            raise MissingData(f"{prefix or 'production '}variant {index} is not an object")
        name = prefix + str(variant.get("VariantName") or f"#{index}")
        if variant.get("ServerlessConfig") is not None:
            serverless.append(name)
            continue
        instance_type = variant.get("InstanceType")
        if not isinstance(instance_type, str) or not instance_type:
            raise MissingData(f"variant {name} has neither an InstanceType nor a ServerlessConfig")
        (local if has_instance_storage(instance_type, patterns) else ebs)[name] = instance_type
    key = resource.document.get("KmsKeyId")
    evidence: dict[str, Any] = {"KmsKeyId": key, EBS: ebs, INSTANCE_STORAGE: local, SERVERLESS: serverless}
    local_note = (f"variants {_listing(local)} run on instance types with local NVMe instance storage, which AWS "
                  "encrypts with a hardware module and which cannot take a KmsKeyId") if local else ""
    if not ebs:
        parts = [local_note] if local else []
        if serverless:
            parts.append(f"serverless variants {', '.join(serverless)} attach no storage volume")
        return Verdict(False, f"Endpoint config {resource.name} attaches no EBS storage volume: {'; '.join(parts)}.",
                       evidence, applicable=False)
    passed = isinstance(key, str) and bool(key.strip())
    if passed or not local:
        return Verdict(passed, "", evidence)
    return Verdict(False, f"Judged on its EBS-backed variants {_listing(ebs)}; {local_note}, and the "
                          "CreateEndpointConfig reference says a config with such a variant cannot request one: split "
                          "the variants into configs of one storage kind.", evidence)


CHECK = check
