"""How `auditor rules list/show` present a rule."""

from __future__ import annotations

import textwrap
from typing import Any

from auditor.model import Rule


def rule_summary(rule: Rule) -> dict[str, Any]:
    """The rule's published metadata (as in findings.json) plus its parameters and source file."""
    from auditor.outputs.findings_json import rule_document

    return {**rule_document(rule), "params": dict(rule.params), "source": rule.source}


def rule_details(rule: Rule) -> str:
    wrap = textwrap.TextWrapper(width=100, initial_indent="  ", subsequent_indent="  ")
    lines = [
        rule.id,
        f"  {rule.title}",
        f"  severity: {rule.severity.value}    resource: {rule.resource_type}",
        "",
        "Rationale:",
        wrap.fill(rule.rationale),
        "",
        "Decided by:",
        f"  Python check '{rule.check}'" if rule.check else "  condition " + ", ".join(
            rule.expect.paths() if rule.expect else ()),
    ]
    if rule.applies_when is not None:
        lines.append("  applies when " + ", ".join(rule.applies_when.paths()))
    if rule.params:
        lines.append("  parameters: " + ", ".join(f"{k}={v!r}" for k, v in rule.params.items()))
    lines += ["", "Remediation" + (" (automatic fix available)" if rule.remediation.automatic else "") + ":",
              wrap.fill(rule.remediation.guidance)]
    if rule.anchors:
        lines += ["", "Anchors:"] + [f"  - {a}" for a in rule.anchors]
    if rule.frameworks:
        lines += ["", "Frameworks:"] + [f"  - {f.framework} {f.control}: {f.title}" for f in rule.frameworks]
    if rule.references:
        lines += ["", "References:"] + [f"  - {r}" for r in rule.references]
    return "\n".join(lines)
