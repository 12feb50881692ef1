"""Plan parameters (``--param KEY=VALUE``) and the rule selection a plan was made with.

KMS keys are never invented or created: a fix that needs one uses a key the operator names.
``kms_key_id`` serves every fix; ``volume_kms_key_id`` (SageMaker storage volumes),
``capture_kms_key_id`` (SageMaker data capture) and ``bucket_kms_key_id`` (S3 default encryption)
override it for one use. A key ARN applies in its own region only (keys are regional); an alias
(``alias/NAME``) or a bare key id applies in the region of the resource being fixed. Give a key
ARN per region to fix resources in several regions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from auditor.errors import ConfigError
from auditor.providers.aws.session import arn_parts

KMS_KEY_PARAMS: Mapping[str, str] = {
    "kms_key_id": "a KMS key for every fix that needs one",
    "volume_kms_key_id": "the KMS key for SageMaker ML storage volumes (overrides kms_key_id)",
    "capture_kms_key_id": "the KMS key for SageMaker data capture (overrides kms_key_id)",
    "bucket_kms_key_id": "the KMS key for S3 default encryption (overrides kms_key_id)",
}
KNOWN_PARAMS: Mapping[str, str] = dict(KMS_KEY_PARAMS)


@dataclass(frozen=True)
class PlanParams:
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    named_rules: frozenset[str] = frozenset()  # rule ids the operator named with --rule

    def kms_key(self, use: str, region: str) -> tuple[str | None, str]:
        """The key for ``use`` (a KMS_KEY_PARAMS name) in ``region``, and why none when there is none."""
        for name in (use, "kms_key_id"):
            candidates = self.values.get(name, ())
            if not candidates:
                continue
            regional = [k for k in candidates if (parts := arn_parts(k)) is not None and parts[3] == region]
            portable = [k for k in candidates if arn_parts(k) is None]
            chosen = regional or portable
            if len(chosen) == 1:
                return chosen[0], ""
            if len(chosen) > 1:
                return None, f"--param {name} names {len(chosen)} keys usable in {region}: give one"
            return None, f"--param {name} names no key in {region} (a key ARN is usable in its own region only)"
        return None, f"no KMS key given: pass --param {use}=KEY_ARN (or kms_key_id) for {region}"


def parse_params(pairs: Iterable[str], named_rules: Sequence[str] = ()) -> PlanParams:
    """``KEY=VALUE`` strings; ConfigError naming the option for an unknown key or a malformed value."""
    values: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ConfigError(f"expected KEY=VALUE, got '{pair}'", field="--param")
        if key not in KNOWN_PARAMS:
            known = ", ".join(f"{k} ({v})" for k, v in KNOWN_PARAMS.items())
            raise ConfigError(f"unknown parameter '{key}'; known: {known}", field="--param")
        if key in KMS_KEY_PARAMS:
            _check_key_reference(key, value)
        if value not in values.setdefault(key, []):
            values[key].append(value)
    return PlanParams({k: tuple(v) for k, v in sorted(values.items())}, frozenset(named_rules))


def _check_key_reference(key: str, value: str) -> None:
    parts = arn_parts(value)
    if parts is not None:
        if parts[2] != "kms" or not parts[3] or not parts[5].startswith(("key/", "alias/")):
            raise ConfigError(f"'{value}' is not a KMS key or alias ARN", field=f"--param {key}")
        return
    if value.startswith("alias/aws/"):
        raise ConfigError(f"'{value}' is an AWS managed key: name a customer managed key", field=f"--param {key}")
    if not (value.startswith("alias/") or _looks_like_key_id(value)):
        raise ConfigError(f"'{value}' is not a key ARN, alias ARN, alias/NAME or key id", field=f"--param {key}")


def _looks_like_key_id(value: str) -> bool:
    parts = value.split("-")
    hex_digits = set("0123456789abcdefABCDEF")
    uuid_like = [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(set(p) <= hex_digits for p in parts)
    return uuid_like or (value.startswith("mrk-") and len(value) == 36)
