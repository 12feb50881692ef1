"""Reading a findings file in pieces: linear time, and memory for the findings, not for the file's text.

``stream_findings`` reads the top-level object with :func:`auditor.jsonstream.read_object`, checking and
converting each finding and inventory entry as it is parsed, then checks the rest of the document (the
envelope) and assembles the ScanResult with the same code as
:func:`~auditor.findings.document.from_document`. It answers only for a file that is a valid findings
document through and through: for anything else (not a regular file, not UTF-8, not JSON, not valid,
an id that is not its rule's and resource's, an impossible date) it answers None, and
``read_findings`` reads the file whole, which words the error exactly as before.

Validity is decided piecewise with the schema's split checks (``schemacheck.stream_checks``): every
finding against the finding schema and against both branches of the root's ``if`` (a baseline
summary requires every finding's baseline mark, its absence forbids them), and the envelope with the
streamed arrays empty; the branch the envelope takes decides which of the two counts.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from auditor.errors import ConfigError
from auditor.findings import document as reader
from auditor.jsonstream import NotStreamable, read_object
from auditor.model import Finding, FindingBaseline, Resource, ScanResult
from auditor.schemacheck import StreamChecks

# Strings of a finding that repeat across findings and the inventory: one copy each (the parser makes a new
# string for every occurrence), as for the keys of its evidence; equal evidence and equal tags of resources
# are one mapping each.
_SHARED_KEYS = ("rule_id", "resource_type", "provider", "account", "region", "resource_id", "resource_name")
_PLAIN = (str, bool, type(None))
_TEXT = json.JSONEncoder(ensure_ascii=False)  # an evidence's JSON text, in its own key order


class _Invalid(Exception):  # noqa: N818 - control flow: the document is not valid, read it whole
    pass


class _Items:
    """One streamed array: each item checked against the item schema and both branches of the root's ``if``."""

    def __init__(self, checks: StreamChecks, key: str, convert: Callable[[dict[str, Any], int], None]) -> None:
        self.check = checks.items[key]
        self.then_check = checks.then_items[key]
        self.else_check = checks.else_items[key]
        self.convert = convert
        self.count = 0
        self.then_holds = True  # every item so far passes the then-branch's item schema
        self.else_holds = True

    def __call__(self, item: Any) -> None:
        if not self.check(item):
            raise _Invalid
        self.then_holds = self.then_holds and self.then_check(item)
        self.else_holds = self.else_holds and self.else_check(item)
        self.convert(item, self.count)
        self.count += 1

    def hold(self, then: bool) -> bool:
        return self.then_holds if then else self.else_holds


def stream_findings(path: Path, source: str) -> ScanResult | None:
    """The ScanResult a valid findings file at ``path`` records, read in pieces; None for anything else."""
    checks = reader.validation().stream
    if checks is None:
        return None
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a pipe cannot be read twice: read it whole, once
            return None
        findings: list[Finding] = []
        marks: list[FindingBaseline | None] = []
        rule_ids: set[str] = set()
        resources: list[Resource] = []
        shared: dict[str, str] = {}
        tagsets: dict[int, dict[str, str]] = {}  # the hash of a resource's tags -> the first such mapping

        evidences: dict[Any, dict[str, Any]] = {}  # evidence met before, by its items or its JSON text

        def evidence(given: dict[str, Any]) -> dict[str, Any]:
            # Thousands of findings record the same evidence: one mapping (read-only) for all, made of shared
            # keys. Items are a key when every value is a string, a boolean or null (then equal items are the
            # same values); else the JSON text is (it tells 1 from 1.0 and true, and 0.0 from -0.0).
            if all(type(v) in _PLAIN for v in given.values()):
                key: Any = tuple(given.items())
            else:
                key = _TEXT.encode(given)
            found = evidences.get(key)
            if found is None:
                found = evidences[key] = {shared.setdefault(k, k): v for k, v in given.items()}
            return found

        def finding(entry: dict[str, Any], index: int) -> None:
            for key in _SHARED_KEYS:
                entry[key] = shared.setdefault(entry[key], entry[key])
            entry["evidence"] = evidence(entry["evidence"])
            rule_ids.add(entry["rule_id"])
            findings.append(reader.finding_from(entry, index, source))
            mark = entry.get("baseline")
            marks.append(reader.baseline_mark(mark) if mark is not None else None)

        def resource(entry: dict[str, Any], index: int) -> None:
            for key in ("id", "type", "provider", "account", "region", "name"):
                entry[key] = shared.setdefault(entry[key], entry[key])
            uses = entry.get("uses")
            if uses is not None:  # the ids of what it uses: the same strings as the resources' own ids
                for ids in uses.values():
                    if ids is not None:
                        ids[:] = [shared.setdefault(i, i) if type(i) is str else i for i in ids]
            tags = entry["tags"]
            digest = hash(tuple(tags.items()))
            seen = tagsets.get(digest)
            if seen is not None and seen == tags:  # a team's resources share one mapping
                entry["tags"] = seen
            else:  # its own (on a hash collision too), made of shared strings
                entry["tags"] = tagsets[digest] = {shared.setdefault(k, k): shared.setdefault(v, v)
                                                   for k, v in tags.items()}
            resources.append(reader.resource_from(entry, copy_tags=False))

        arrays = {"findings": _Items(checks, "findings", finding), "inventory": _Items(checks, "inventory", resource)}
        with path.open("rb") as stream:
            envelope = read_object(stream, arrays)
        if not checks.envelope(envelope):
            return None
        branch = checks.condition(envelope)
        if not all(items.hold(branch) for items in arrays.values()):
            return None
        rules = {rule_id: reader.rule_from(entry, rule_id, source) for rule_id, entry in envelope["rules"].items()}
        if not rule_ids <= rules.keys():
            return None
        if "baseline" in envelope and None in marks:
            return None
        present = [m for m in marks if m is not None] if "baseline" in envelope else []
        return reader.assemble(envelope, rules, tuple(findings), tuple(resources), present, source)
    except (OSError, NotStreamable, _Invalid, ConfigError):
        return None
