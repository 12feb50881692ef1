"""Region names: one spelling per region, and the names a policy or ``--region`` may use.

Azure services spell a location two ways: Resource Manager's name (``westeurope``) and the display
name some services return instead (API Management: ``West Europe``). Findings carry the canonical
name, set once at collection by ``canonical_azure_location``: the table ``azure_regions.json`` (the
public, China, US Government and Germany clouds, each entry with its source) maps display names to
names; a location not in it is lowercased with its spaces removed, which is how Resource Manager
forms every name in the table from its display name.

AWS region names come from botocore's own endpoint and partition data (never a hand-written list),
so a region botocore knows is valid whatever endpoint the scan is pointed at (moto, a proxy).
Findings of account-wide AWS resources (IAM roles, S3 buckets) carry the region ``global``.
"""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from auditor.errors import ConfigError

AZURE_TABLE = Path(__file__).resolve().parent / "azure_regions.json"
AWS_GLOBAL = "global"  # the region of IAM and S3 findings


def _fold(location: str) -> str:
    return "".join(location.split()).lower()


@functools.cache
def azure_regions() -> Mapping[str, str]:
    """Every Azure region of the table: canonical name -> display name."""
    data = json.loads(AZURE_TABLE.read_text(encoding="utf-8"))
    return {str(r["name"]): str(r["displayName"]) for r in data["regions"]}


@functools.cache
def _azure_spellings() -> Mapping[str, str]:
    """Folded display name or name -> canonical name."""
    spellings: dict[str, str] = {}
    for name, display in azure_regions().items():
        spellings[_fold(display)] = name
        spellings[name] = name
    return spellings


def canonical_azure_location(location: str) -> str:
    """Resource Manager's name for ``location`` (``West Europe`` -> ``westeurope``), whatever the service sent."""
    folded = _fold(location)
    return _azure_spellings().get(folded, folded)


@functools.cache
def aws_regions() -> frozenset[str]:
    """Every region of every partition botocore's endpoint data knows (its ``*-global`` pseudo-regions left out)."""
    from botocore.exceptions import DataNotFoundError
    from botocore.loaders import create_loader

    loader = create_loader()
    names = {str(r) for p in loader.load_data("endpoints")["partitions"] for r in p.get("regions", {})}
    with contextlib.suppress(DataNotFoundError):  # newer botocore's partitions.json can name newer regions
        names.update(str(r) for p in loader.load_data("partitions")["partitions"] for r in p.get("regions", {}))
    return frozenset(n for n in names if not n.endswith("-global"))


def check_aws_regions(regions: Iterable[str]) -> None:
    """``--region`` values: each must be a region botocore knows, checked before any API call."""
    known = aws_regions()
    for region in regions:
        name = region.strip()
        if name and name not in known:
            raise ConfigError(f"unknown AWS region '{name}'{_hint(name, known)}; known regions: "
                              f"{', '.join(sorted(known))}", field="--region")


def region_problem(pattern: str, providers: Sequence[str]) -> str | None:
    """Why a policy's region name or glob names no region of ``providers`` (empty: either); None when it does."""
    aws = "aws" in providers or not providers
    azure = "azure" in providers or not providers
    if aws and _names_aws(pattern):
        return None
    if azure and _names_azure(pattern):
        return None
    known: list[str] = []
    if aws:
        known.append(f"AWS: {', '.join(sorted(aws_regions() | {AWS_GLOBAL}))}")
    if azure:
        known.append(f"Azure: {', '.join(sorted(azure_regions()))} (or their display names, e.g. West Europe)")
    candidates = (aws_regions() | {AWS_GLOBAL} if aws else frozenset()) | (
        frozenset(azure_regions()) if azure else frozenset())
    what = "matches no known region" if _is_glob(pattern) else "is not a known region"
    return f"'{pattern}' {what}{_hint(pattern, candidates)}; known regions: {'; '.join(known)}"


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _names_aws(pattern: str) -> bool:
    known = aws_regions() | {AWS_GLOBAL}
    if _is_glob(pattern):
        return any(fnmatch.fnmatchcase(name, pattern) for name in known)
    return pattern in known


def _names_azure(pattern: str) -> bool:
    canonical = canonical_azure_location(pattern)
    if _is_glob(pattern):
        return any(fnmatch.fnmatchcase(name, canonical) for name in azure_regions())
    return canonical in azure_regions()


def _hint(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(_fold(name), sorted(known), n=3, cutoff=0.75)
    return f" (did you mean {' or '.join(close)}?)" if close else ""
