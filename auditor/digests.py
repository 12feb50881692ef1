"""Digests of what decides a scan's verdicts: the catalog, the policy and the waivers (SHA-256, hex).

Computed once per scan in the pipeline (:func:`auditor.pipeline.scan`) and recorded in findings.json, so
that ``auditor merge`` refuses shards evaluated under different rules, policies or waivers. Each is the
SHA-256 of a canonical JSON text (keys sorted, no whitespace, dates as ISO text):

- catalog: the tool's version, every file of the shipped rule catalog (relative path and the SHA-256 of its
  bytes) and the rule plugins installed (entry point names and targets; they are not loaded again);
- policy: the policy file's content as parsed (so comments and layout do not count; null without
  ``--policy``), the files of the rule packs it names, and the command line's rule filters;
- waivers: the waivers file's content as parsed (null without ``--waivers``).

The files were validated already (:func:`auditor.pipeline.prepare_policy` reads them first); what is read
here is their content again, never anything secret.
"""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.catalog import PLUGIN_GROUP
from auditor.paths import rules_dir
from auditor.selection import RuleFilter
from auditor.shard import Digests
from auditor.yamlio import load_yaml


def canonical_digest(value: Any) -> str:
    """SHA-256 (hex) of ``value`` as canonical JSON."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def scan_digests(policy_file: Path | None, waivers_file: Path | None, rule_filter: RuleFilter | None) -> Digests:
    """The digests of a scan's catalog, policy (with its rule filters) and waivers."""
    return Digests(catalog=catalog_digest(), policy=policy_digest(policy_file, rule_filter),
                   waivers=canonical_digest(_content(waivers_file)))


def catalog_digest() -> str:
    plugins = sorted((ep.name, ep.value) for ep in entry_points(group=PLUGIN_GROUP))
    return canonical_digest({"version": __version__, "rules": _files(rules_dir()), "plugins": plugins})


def policy_digest(policy_file: Path | None, rule_filter: RuleFilter | None) -> str:
    content = _content(policy_file)
    packs: dict[str, dict[str, str]] = {}
    if policy_file is not None and isinstance(content, dict):
        for name in content.get("rule_dirs") or ():
            packs[str(name)] = _files((policy_file.parent / str(name)).resolve())
    wanted = rule_filter or RuleFilter()
    filters = {"rules": sorted(wanted.rules), "services": sorted(wanted.services),
               "severity_min": wanted.severity_min.value if wanted.severity_min else None}
    return canonical_digest({"policy": content, "rule_packs": packs, "filters": filters})


def _content(path: Path | None) -> Any:
    """A YAML file's content as parsed (None without a file)."""
    return load_yaml(path).data if path is not None else None


def _files(directory: Path) -> dict[str, str]:
    """Every file under ``directory``: its relative path (POSIX) -> the SHA-256 of its bytes."""
    return {path.relative_to(directory).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(directory.rglob("*")) if path.is_file() and "__pycache__" not in path.parts}
