"""KMS keys referenced by SageMaker endpoint configs (volume key and data capture key).

A reference may be a key id, a key ARN, an alias name or an alias ARN. Each distinct reference
is resolved once with DescribeKey in the key's region (from its ARN, else the config's region);
keys are deduplicated by key ARN, and a customer-managed key's rotation status is read once, as
are each key's tags (ListResourceTags).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from auditor.model import Resource
from auditor.providers.aws import resource_types as declared
from auditor.providers.aws.session import AwsCallError, AwsClients, Failure, arn_parts, call, pages
from auditor.providers.declared import ids
from auditor.providers.pool import TaskPool
from auditor.redaction import redact_document, redact_tags

KEY = declared.KEY.id
RESOURCE_TYPES: tuple[str, ...] = ids(declared.TYPES, "kms")

RefKey = tuple[str, str, str, str]  # (region, "key" | "alias", account or "", key id or alias name)


@dataclass
class _Ref:
    region: str
    key_id: str  # what DescribeKey is called with: the first spelling seen
    is_key_arn: bool
    spellings: set[str] = field(default_factory=set)
    configs: set[str] = field(default_factory=set)
    arn: str | None = None
    missing: bool = False
    failure: Failure | None = None


@dataclass
class _Key:
    arn: str
    metadata: dict[str, Any] | None = None
    rotation: dict[str, Any] | None = None
    rotation_failure: Failure | None = None
    tags: dict[str, str] | None = None
    tags_failure: Failure | None = None
    failure: Failure | None = None  # DescribeKey of a key given by ARN failed


def key_document(metadata: Mapping[str, Any], rotation: Mapping[str, Any] | None) -> dict[str, Any]:
    """A key's document: DescribeKey's ``KeyMetadata`` and, for a customer managed key whose rotation status
    was read, GetKeyRotationStatus's answer as ``KeyRotationStatus`` (not yet redacted)."""
    document: dict[str, Any] = {"KeyMetadata": metadata}
    if metadata.get("KeyManager") == "CUSTOMER" and rotation is not None:
        document["KeyRotationStatus"] = rotation
    return document


def reference_key(reference: str, config_region: str, account: str) -> tuple[RefKey, bool]:
    """Canonical form of a key reference, so spellings of one key/alias resolve once."""
    parts = arn_parts(reference)
    if parts is not None:
        region, owner, resource = parts[3], parts[4], parts[5]
        kind, _, rest = resource.partition("/")
        owner = "" if owner == account else owner
        if kind == "alias":
            return (region, "alias", owner, f"alias/{rest}"), False
        return (region, "key", owner, rest), True
    if reference.startswith("alias/"):
        return (config_region, "alias", "", reference), False
    return (config_region, "key", "", reference), False


class KmsCollector:
    def __init__(self, clients: AwsClients, pool: TaskPool, account: str) -> None:
        self._clients = clients
        self._pool = pool
        self._account = account
        self._lock = threading.Lock()
        self._refs: dict[RefKey, _Ref] = {}
        self._keys: dict[str, _Key] = {}
        self._by_config: dict[str, list[RefKey]] = {}

    def request_key(self, reference: str, config_region: str, config_arn: str) -> None:
        canonical, is_key_arn = reference_key(reference, config_region, self._account)
        with self._lock:
            refs = self._by_config.setdefault(config_arn, [])
            if canonical not in refs:
                refs.append(canonical)
            ref = self._refs.get(canonical)
            new = ref is None
            if ref is None:
                ref = _Ref(region=canonical[0], key_id=reference, is_key_arn=is_key_arn)
                self._refs[canonical] = ref
            ref.spellings.add(reference)
            ref.configs.add(config_arn)
        if new:
            self._pool.submit(("kms", ref.region), partial(self._describe, ref))

    def _describe(self, ref: _Ref) -> None:
        try:
            client = self._clients.get("kms", ref.region)
            metadata = call(client, "describe_key", KeyId=ref.key_id)["KeyMetadata"]
        except AwsCallError as exc:
            if exc.failure.kind == "not_found":
                ref.missing = True
                return
            ref.failure = exc.failure
            if ref.is_key_arn:  # the key ARN is known: record an unreadable key
                with self._lock:
                    self._keys.setdefault(ref.key_id, _Key(arn=ref.key_id, failure=exc.failure))
                ref.arn = ref.key_id
            return
        arn = str(metadata["Arn"])
        ref.arn = arn
        with self._lock:
            key = self._keys.get(arn)
            new = key is None or key.metadata is None
            if key is None:
                key = self._keys[arn] = _Key(arn=arn)
            if new:
                key.metadata, key.failure = metadata, None
        if new:
            lane = ("kms", _region_of(arn, ref.region))
            self._pool.submit(lane, partial(self._tags, key))
            if metadata.get("KeyManager") == "CUSTOMER":
                self._pool.submit(lane, partial(self._rotation, key))

    def _rotation(self, key: _Key) -> None:
        try:
            client = self._clients.get("kms", _region_of(key.arn, "us-east-1"))
            key.rotation = call(client, "get_key_rotation_status", KeyId=key.arn)
        except AwsCallError as exc:
            key.rotation_failure = exc.failure

    def _tags(self, key: _Key) -> None:
        tags: dict[str, str] = {}
        try:
            client = self._clients.get("kms", _region_of(key.arn, "us-east-1"))
            for page in pages(client, "list_resource_tags", KeyId=key.arn):
                tags.update({str(t["TagKey"]): str(t.get("TagValue", "")) for t in page.get("Tags", [])})
        except AwsCallError as exc:
            key.tags_failure = exc.failure
            return
        key.tags = tags

    # --- results (after the pool has drained) --------------------------------------------------

    def link(self, config_arn: str) -> tuple[list[str | None], str | None]:
        """A config's ``related.kms_keys``: resolved key ARNs (null for a key that no longer
        exists), and the reason when some reference could not be resolved."""
        arns: list[str | None] = []
        reasons: list[str] = []
        for canonical in self._by_config.get(config_arn, []):
            ref = self._refs[canonical]
            if ref.arn is not None:
                if ref.arn not in arns:
                    arns.append(ref.arn)
            elif ref.missing:
                arns.append(None)
            elif ref.failure:
                reasons.append(f"{ref.key_id}: {ref.failure.reason}")
        return arns, ("; ".join(reasons) or None)

    def regions(self) -> set[str]:
        return ({ref.region for ref in self._refs.values()} | {_region_of(k, "") for k in self._keys}) - {""}

    def failures(self) -> dict[str, str]:
        """Per region, why some referenced key could not be resolved to a key ARN."""
        out: dict[str, list[str]] = {}
        for ref in self._refs.values():
            if ref.failure and not ref.is_key_arn:
                used = sorted(ref.configs)
                out.setdefault(ref.region, []).append(
                    f"DescribeKey of '{ref.key_id}' (referenced by {used[0]}"
                    f"{f' and {len(used) - 1} more' if len(used) > 1 else ''}) failed: {ref.failure.reason}")
        return {region: "not collected: " + "; ".join(sorted(msgs)) for region, msgs in out.items()}

    def resources(self) -> list[Resource]:
        spellings: dict[str, set[str]] = {}
        configs: dict[str, set[str]] = {}
        for ref in self._refs.values():
            if ref.arn:
                spellings.setdefault(ref.arn, set()).update(ref.spellings)
                configs.setdefault(ref.arn, set()).update(ref.configs)
        return [self._resource(key, sorted(spellings.get(key.arn, ())), sorted(configs.get(key.arn, ())))
                for key in self._keys.values()]

    def _resource(self, key: _Key, references: list[str], referenced_by: list[str]) -> Resource:
        parts = arn_parts(key.arn)
        related = {"referenced_by": referenced_by, "references": references}
        region = parts[3] if parts else "unknown"
        if key.metadata is None:
            reason = key.failure.reason if key.failure else "not described"
            return Resource(id=key.arn, type=KEY, provider="aws",
                            account=parts[4] if parts else self._account, region=region,
                            name=key.arn.rsplit("/", 1)[-1], document={}, related=related,
                            unreadable={"*": reason})
        document = key_document(key.metadata, key.rotation)
        unreadable: dict[str, str] = {}
        if key.metadata.get("KeyManager") == "CUSTOMER" and key.rotation is None:
            failure = key.rotation_failure
            unreadable["KeyRotationStatus"] = failure.reason if failure else "not read"
        if key.tags_failure:
            unreadable["tags"] = key.tags_failure.reason
        aliases = [r.split(":", 5)[-1] if r.startswith("arn:") else r for r in references]
        name = next((a for a in aliases if a.startswith("alias/")), str(key.metadata.get("KeyId", key.arn)))
        return Resource(id=key.arn, type=KEY, provider="aws",
                        account=str(key.metadata.get("AWSAccountId", parts[4] if parts else self._account)),
                        region=region, name=name, document=redact_document(document), related=related,
                        unreadable=unreadable, tags=redact_tags(key.tags or {}))


def _region_of(arn: str, default: str) -> str:
    parts = arn_parts(arn)
    return parts[3] if parts and parts[3] else default
