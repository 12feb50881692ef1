"""Waivers: governed, expiring exceptions that turn a matching FAIL into MUTED.

Loaded and validated before any API call; a malformed file is a ConfigError naming file, line
and field, never an empty list. A waiver mutes FAIL findings only (never PASS, ERROR or
NOT_APPLICABLE); from its expiry date on (that day included) it mutes nothing.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from auditor.errors import ConfigError, ConfigProblemsError
from auditor.identity import resource_key
from auditor.model import Finding, Status, Waiver
from auditor.yamlio import LocatedYaml, brief, load_yaml

_REQUIRED = ("rules", "resources", "reason", "owner", "expires")
_OPTIONAL = ("broad",)
DEFAULT_MAX_WAIVER_DAYS = 365


def _string_list(doc: LocatedYaml, value: Any, path: list[str | int]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise doc.error("must be a non-empty list of ids or globs", path)
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise doc.error("must be a non-empty string", [*path, i])
    return tuple(value)


def _parse_date(doc: LocatedYaml, value: Any, path: list[str | int]) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise doc.error(f"must be an ISO date (YYYY-MM-DD), found {brief(value)}", path)


def parse_waivers(doc: LocatedYaml, known_rule_ids: Iterable[str] | None = None, *, today: date | None = None,
                  max_days: int = DEFAULT_MAX_WAIVER_DAYS) -> tuple[Waiver, ...]:
    """Every waiver of ``doc``; a ConfigError (a ConfigProblemsError when there are several) naming every problem.

    A broad waiver (a resource pattern matching every resource of its rules, or an expiry more than
    ``max_days`` after ``today``) must say so with ``broad: true``: accepting that much risk is a decision a
    reviewer sees in the file, never an accident of a ``*``.
    """
    limit = (today or date.today(), max_days)
    data = doc.data
    if not isinstance(data, dict) or set(data) != {"waivers"}:
        raise doc.error("the file must be a mapping with one key, 'waivers'", [])
    entries = data["waivers"]
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise doc.error("must be a list of waivers", ["waivers"])
    known = set(known_rule_ids) if known_rule_ids is not None else None
    out: list[Waiver] = []
    problems: list[ConfigError] = []
    for i, entry in enumerate(entries):
        try:
            out.append(_waiver(doc, entry, i, known, problems, limit))
        except ConfigError as exc:
            problems.append(exc)
    if len(problems) == 1:
        raise problems[0]
    if problems:  # in the file's order
        raise ConfigProblemsError(sorted(problems, key=lambda p: p.line if p.line is not None else 0))
    return tuple(out)


def _waiver(doc: LocatedYaml, entry: Any, i: int, known: set[str] | None, problems: list[ConfigError],
            limit: tuple[date, int]) -> Waiver:
    """One waiver. Problems of its keys are added to ``problems`` and the last one raised, so that every
    waiver of the file is checked and every problem reported at once."""
    base: list[str | int] = ["waivers", i]
    if not isinstance(entry, dict):
        raise doc.error("each waiver must be a mapping", base)
    found: list[ConfigError] = []
    unknown = sorted(str(k) for k in set(entry) - set(_REQUIRED) - set(_OPTIONAL))
    explained: set[str] = set()
    for key in unknown:  # a typo first: 'reson' explains why 'reason' is missing
        close = difflib.get_close_matches(key, [k for k in _REQUIRED if k not in entry], n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(_REQUIRED + _OPTIONAL)}"
        explained.update(close)
        found.append(doc.error(f"unknown key '{key}' ({hint})", [*base, key]))
    for key in _REQUIRED:
        if key not in explained and (key not in entry or entry[key] in (None, "")):
            found.append(doc.error(f"'{key}' is required", [*base, key]))
    for key, check in (("rules", _rules_problem), ("resources", _resources_problem),
                       ("reason", _text_problem), ("owner", _text_problem), ("expires", _date_problem)):
        if key in entry and entry[key] not in (None, ""):
            try:
                check(doc, entry[key], [*base, key], known)
            except ConfigError as exc:
                found.append(exc)
    if "broad" in entry and not isinstance(entry["broad"], bool):
        found.append(doc.error(f"must be true or false, found {brief(entry['broad'])}", [*base, "broad"]))
    if not found and entry.get("broad") is not True:
        found.extend(_broad_problems(doc, entry, base, limit))
    if found:
        problems.extend(found[:-1])
        raise found[-1]
    return Waiver(
        rules=_string_list(doc, entry["rules"], [*base, "rules"]),
        resources=_string_list(doc, entry["resources"], [*base, "resources"]),
        reason=entry["reason"].strip(),
        owner=entry["owner"].strip(),
        expires=_parse_date(doc, entry["expires"], [*base, "expires"]),
        index=i,
        source=doc.file,
        line=doc.line_of(base) or 0,
    )


def _broad_problems(doc: LocatedYaml, entry: dict[str, Any], base: list[str | int],
                    limit: tuple[date, int]) -> list[ConfigError]:
    """Why this waiver is broad (it then needs ``broad: true``); empty when it is not."""
    out = []
    resources = [entry["resources"]] if isinstance(entry["resources"], str) else list(entry["resources"])
    for j, pattern in enumerate(resources):
        if set(str(pattern)) <= set("*?:/"):
            out.append(doc.error(f"'{pattern}' waives every resource of its rules: name the resources, or say "
                                 "'broad: true' for a reviewer to see", [*base, "resources", j]))
    today, max_days = limit
    days = (_parse_date(doc, entry["expires"], [*base, "expires"]) - today).days
    if days > max_days:
        out.append(doc.error(f"expires in {days} days, more than {max_days} (--max-waiver-days): choose an earlier "
                             "date, or say 'broad: true' for a reviewer to see", [*base, "expires"]))
    return out


def _rules_problem(doc: LocatedYaml, value: Any, path: list[str | int], known: set[str] | None) -> None:
    rules = _string_list(doc, value, path)
    if known is not None:
        for j, pattern in enumerate(rules):
            if not any(fnmatch.fnmatchcase(rid, pattern) for rid in known):
                raise doc.error(f"'{pattern}' matches no rule id in the catalog", [*path, j])


def _resources_problem(doc: LocatedYaml, value: Any, path: list[str | int], known: set[str] | None) -> None:
    _string_list(doc, value, path)


def _text_problem(doc: LocatedYaml, value: Any, path: list[str | int], known: set[str] | None) -> None:
    if not isinstance(value, str) or not value.strip():
        raise doc.error("must be a non-empty string", path)


def _date_problem(doc: LocatedYaml, value: Any, path: list[str | int], known: set[str] | None) -> None:
    _parse_date(doc, value, path)


def load_waivers(path: Path, known_rule_ids: Iterable[str] | None = None, *, today: date | None = None,
                 max_days: int = DEFAULT_MAX_WAIVER_DAYS) -> tuple[Waiver, ...]:
    return parse_waivers(load_yaml(path), known_rule_ids, today=today, max_days=max_days)


def _matches(waiver: Waiver, finding: Finding) -> bool:
    provider = finding.provider
    rid = resource_key(provider, finding.resource_id)
    # An id equal to the pattern matches as written: a Terraform address's index (``aws_kms_key.k["a"]``,
    # ``module.m[0].x``) would otherwise read as a glob's character class.
    return any(fnmatch.fnmatchcase(finding.rule_id, p) for p in waiver.rules) and any(
        rid == resource_key(provider, p) or fnmatch.fnmatchcase(rid, resource_key(provider, p))
        for p in waiver.resources
    )


@dataclass(frozen=True)
class WaiverOutcome:
    findings: tuple[Finding, ...]
    expired: tuple[Waiver, ...]
    unused: tuple[Waiver, ...]
    active: tuple[Waiver, ...] = ()


def apply_waivers(findings: Sequence[Finding], waivers: Sequence[Waiver], today: date) -> WaiverOutcome:
    active = [w for w in waivers if today < w.expires]
    expired = tuple(w for w in waivers if today >= w.expires)
    used: set[int] = set()
    out: list[Finding] = []
    for f in findings:
        if f.status is Status.FAIL:
            match = next((w for w in active if _matches(w, f)), None)
            if match is not None:
                used.add(match.index)
                f = replace(f, status=Status.MUTED, waiver=match)
        out.append(f)
    unused = tuple(w for w in active if w.index not in used)
    return WaiverOutcome(tuple(out), expired, unused, tuple(active))
