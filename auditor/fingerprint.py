"""A resource's fingerprint: its whole state as a scan read it, as digests, never the document.

findings.json carries one per finding (``resource_fingerprint``), the plan copies it into each step,
and ``auditor remediate apply`` computes it again from its own live read (the provider's ``live``
module builds resources exactly as the collectors do: the same documents, redacted the same way) and
refuses a step whose resource changed since the scan, naming the top-level keys that changed.

Definition (both sides compute it from a :class:`~auditor.model.Resource`, never from raw SDK output):

* ``keys``: for each top-level key of the (redacted) document, the first 16 hex digits of the
  SHA-256 of its value as canonical JSON (sorted keys, no spaces; values JSON lacks, such as
  timestamps, as their text); plus ``tags`` (the resource's tags) when the document has no ``tags``
  key of its own (AWS keeps tags beside the Describe document, Azure inside it). A secret the scan
  redacted is hashed as its redaction, so a rotated secret is not a change this can see.
* ``unread``: the top-level keys the scan could not read (``Resource.unreadable``); neither side
  compares them.
* ``etag``: Azure's ``etag`` when the service gives one (kept out of ``keys``). When both sides have
  one, equal ETags mean unchanged whatever the digests say, and a changed ETag is a change even when
  no kept key differs (a change the redaction hides).
* ``sha256``: the SHA-256 of all of the above, a single value to compare and to show.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class Resource(Protocol):
    """What a fingerprint is computed from: a :class:`auditor.model.Resource` (this module is below the model,
    which holds fingerprints, so it names only the fields it reads)."""

    @property
    def provider(self) -> str: ...

    @property
    def document(self) -> Mapping[str, Any]: ...

    @property
    def tags(self) -> Mapping[str, str]: ...

    @property
    def unreadable(self) -> Mapping[str, str]: ...

_KEY_DIGITS = 16
TAGS = "tags"


@dataclass(frozen=True, slots=True)
class Fingerprint:
    sha256: str
    keys: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    unread: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sha256": self.sha256, "keys": dict(self.keys)}
        if self.etag is not None:
            out["etag"] = self.etag
        if self.unread:
            out["unread"] = list(self.unread)
        return out

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Fingerprint:
        etag = doc.get("etag")
        return cls(sha256=str(doc["sha256"]), keys={str(k): str(v) for k, v in dict(doc["keys"]).items()},
                   etag=str(etag) if etag is not None else None, unread=tuple(str(k) for k in doc.get("unread", ())))

    def changed_since(self, scanned: Fingerprint) -> tuple[str, ...] | None:
        """None when this (live) fingerprint shows the state ``scanned`` showed; else the top-level keys that
        differ (sorted; empty when only the ETag tells: a change in what the scan does not keep)."""
        if self.etag is not None and scanned.etag is not None and self.etag == scanned.etag:
            return None
        ignored = set(self.unread) | set(scanned.unread)
        changed = tuple(sorted(k for k in set(self.keys) | set(scanned.keys)
                               if k not in ignored and self.keys.get(k) != scanned.keys.get(k)))
        if changed or (self.etag is not None and scanned.etag is not None):
            return changed
        return None


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False).encode(
        "utf-8", "surrogatepass")


def fingerprint(resource: Resource) -> Fingerprint:
    """The fingerprint of ``resource`` as built by a collector or a live read (see the module's definition)."""
    document = resource.document
    unread = tuple(sorted(k for k in resource.unreadable if "." not in k))
    etag_value = document.get("etag") if resource.provider == "azure" else None
    etag = str(etag_value) if isinstance(etag_value, str) and etag_value else None
    keys = {str(k): hashlib.sha256(_canonical(v)).hexdigest()[:_KEY_DIGITS]
            for k, v in document.items() if not (etag is not None and k == "etag")}
    if TAGS not in keys:
        keys[TAGS] = hashlib.sha256(_canonical(dict(resource.tags))).hexdigest()[:_KEY_DIGITS]
    keys = {k: v for k, v in keys.items() if k not in unread}
    whole = hashlib.sha256(_canonical({"keys": keys, "etag": etag, "unread": list(unread)})).hexdigest()
    return Fingerprint(sha256=whole, keys=dict(sorted(keys.items())), etag=etag, unread=unread)
