"""Command-line rule filters (``--rule``, ``--severity-min``, ``--service``): they narrow the policy.

The policy (the shipped catalog, or a ``--policy`` file) selects the rules a scan evaluates; the
filters keep only those of its rules that match every filter given, exactly as a policy file whose
``rules.include`` listed the same rules would: the other rules are left out of the scan with the
reason the report shows. A filter never adds a rule the policy left out, and it applies to the rule as
the policy made it (a ``severity`` override counts for ``--severity-min``).

A rule's service is the second part of its resource type (``aws.sagemaker.endpoint`` -> ``sagemaker``;
``azure.ml.online_endpoint`` -> ``ml``; ``azure.apim.api`` -> ``apim``), so a custom rule on a
SageMaker model belongs to ``sagemaker`` whatever its id.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, replace

from auditor.errors import ConfigError
from auditor.model import Rule, Severity
from auditor.policy import Policy


@dataclass(frozen=True)
class RuleFilter:
    """What the command line asked for; empty fields filter nothing."""

    rules: tuple[str, ...] = ()  # rule ids or globs (``--rule``, repeatable)
    severity_min: Severity | None = None  # ``--severity-min``
    services: tuple[str, ...] = ()  # ``--service``, repeatable


def service_of(rule: Rule) -> str:
    """The service a rule examines: the second part of its resource type."""
    parts = rule.resource_type.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def narrow(policy: Policy, wanted: RuleFilter) -> Policy:
    """``policy`` with only the rules ``wanted`` keeps; an unknown rule, glob or service is a ConfigError."""
    ids = sorted(policy.all_rules)
    for pattern in wanted.rules:
        if not any(fnmatch.fnmatchcase(rid, pattern) for rid in ids):
            raise ConfigError(f"'{pattern}' matches no rule id; known rule ids: {', '.join(ids)}", field="--rule")
    services = sorted({service_of(rule) for rule in policy.all_rules.values()})
    for service in wanted.services:
        if service not in services:
            raise ConfigError(f"unknown service '{service}'; known services: {', '.join(services)}",
                              field="--service")
    rules: dict[str, Rule] = {}
    excluded = dict(policy.excluded)
    for rid, rule in policy.rules.items():
        reason = _left_out(rule, wanted)
        if reason is None:
            rules[rid] = rule
        else:
            excluded[rid] = reason
    return replace(policy, rules=rules, excluded=dict(sorted(excluded.items())))


def _left_out(rule: Rule, wanted: RuleFilter) -> str | None:
    """Why the command line leaves ``rule`` out, naming every filter it fails (None: it keeps it)."""
    failed: list[str] = []
    if wanted.rules and not any(fnmatch.fnmatchcase(rule.id, p) for p in wanted.rules):
        failed.append(" ".join(f"--rule {p}" for p in wanted.rules))
    if wanted.severity_min is not None and rule.severity.rank < wanted.severity_min.rank:
        failed.append(f"--severity-min {wanted.severity_min.value}")
    if wanted.services and service_of(rule) not in wanted.services:
        failed.append(" ".join(f"--service {s}" for s in wanted.services))
    return f"not selected on the command line ({'; '.join(failed)})" if failed else None
