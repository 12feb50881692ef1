"""How `auditor rules list/show` present a rule.

Anchors: a rule's ``anchors`` hold the public controls it corresponds to (an Azure Policy definition id,
a Security Hub control, an AWS Config rule, a Prowler or Checkov check, a Microsoft notice) and, in the
shipped catalog, internal authoring notes written ``seeds: ...`` that name no public control. The rules
commands show only the public ones.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterable, Sequence
from typing import Any

from auditor.model import Rule, Severity
from auditor.param_values import allowed_text
from auditor.rule_parts import ManualProcedure

INTERNAL_ANCHOR = re.compile(r"^\s*seeds\s*:", re.IGNORECASE)

MARKDOWN_HEADER = ("| rule | severity | resource | PASS when | public anchors | auto-fix |\n"
                   "|---|---|---|---|---|---|")


def public_anchors(rule: Rule) -> tuple[str, ...]:
    """The anchors that name a public control (every anchor but the internal ``seeds:`` notes)."""
    return tuple(a for a in rule.anchors if not INTERNAL_ANCHOR.match(a))


def select(rules: Iterable[Rule], provider: str | None, severity: Severity | None) -> list[Rule]:
    """The rules of ``provider`` (None: every provider) at ``severity`` or above (None: every severity)."""
    return [r for r in rules if (provider is None or r.provider == provider)
            and (severity is None or r.severity.rank >= severity.rank)]


def rule_summary(rule: Rule) -> dict[str, Any]:
    """The rule's published metadata (as in findings.json, public anchors only), its parameters and source."""
    from auditor.outputs.findings_sections import rule_document

    manual = rule.remediation.manual
    return {**rule_document(rule), "anchors": list(public_anchors(rule)), "params": dict(rule.params),
            "param_values": {name: list(values) for name, values in rule.param_values.items()},
            "manual": {"disruption": manual.disruption, "disruption_detail": manual.disruption_detail,
                       "procedure": list(manual.steps)} if manual else None,
            "source": rule.source}


def rules_table(rules: Sequence[Rule]) -> str:
    if not rules:
        return ""
    width = max(len(r.id) for r in rules)
    lines = []
    for r in rules:
        fix = "auto-fix" if r.remediation.automatic else ""
        lines.append(f"{r.id:<{width}}  {r.severity.value:<8}  {r.resource_type:<32}  {fix}".rstrip())
    return "\n".join(lines)


def _cell(text: str) -> str:
    """Rule metadata as one GitHub table cell: one line, no cell break, no HTML."""
    text = " ".join(text.split())
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|")):
        text = text.replace(raw, escaped)
    return text


def rules_markdown(rules: Sequence[Rule]) -> str:
    """A GitHub-flavoured Markdown table: id, severity, resource type, title, public anchors, auto-fix."""
    rows = [MARKDOWN_HEADER]
    for r in rules:
        anchors = "; ".join(_cell(a) for a in public_anchors(r)) or "—"
        rows.append(f"| `{r.id}` | {r.severity.value} | `{r.resource_type}` | {_cell(r.title)} | {anchors} | "
                    f"{'yes' if r.remediation.automatic else 'no'} |")
    return "\n".join(rows)


def _parameters(rule: Rule) -> list[str]:
    lines = ["", "Parameters (a policy file's `parameters` may change them):"]
    for name, value in rule.params.items():
        lines.append(f"  {name} = {json.dumps(value, ensure_ascii=False)}")
        if name in rule.param_values:
            each = "each item one of" if isinstance(value, list) else "one of"
            lines.append(f"    allowed values: {each} {allowed_text(rule.param_values[name])}")
    return lines


def _manual(manual: ManualProcedure | None) -> list[str]:
    """The manual procedure as a plan gives it ({name}, {id}, {region}, {account}: the finding's)."""
    if manual is None:
        return []
    steps = textwrap.TextWrapper(width=100, initial_indent="  ", subsequent_indent="     ")
    lines = ["", f"Manual procedure (disruption {manual.disruption}: {manual.disruption_detail}):"]
    for i, step in enumerate(manual.steps, 1):
        steps.initial_indent = f"  {i}. "
        lines.append(steps.fill(step))
    return lines


def rule_details(rule: Rule) -> str:
    wrap = textwrap.TextWrapper(width=100, initial_indent="  ", subsequent_indent="  ")
    lines = [
        rule.id,
        f"  {rule.title}",
        f"  severity: {rule.severity.value}    resource: {rule.resource_type}",
    ]
    if rule.severity_override is not None:
        override = rule.severity_override
        lines.append(f"  severity set by {override.policy} (was {override.original.value}): {override.justification}")
    lines += [
        "",
        "Rationale:",
        wrap.fill(rule.rationale),
    ]
    if rule.applies_when is not None:
        lines += ["", "Applies when (otherwise NOT_APPLICABLE):"]
        lines += [f"  {line}" for line in rule.applies_when.describe(rule.params)]
    lines += ["", "PASS when:"]
    if rule.check:
        lines.append(f"  the Python check '{rule.check}' passes")
    elif rule.expect is not None:
        lines += [f"  {line}" for line in rule.expect.describe(rule.params)]
    if rule.params:
        lines += _parameters(rule)
    lines += ["", "Remediation" + (" (automatic fix available)" if rule.remediation.automatic else "") + ":",
              wrap.fill(rule.remediation.guidance)]
    lines += _manual(rule.remediation.manual)
    anchors = public_anchors(rule)
    lines += ["", "Anchors (public controls):"] + ([f"  - {a}" for a in anchors] or ["  (no public anchor)"])
    if rule.frameworks:
        lines += ["", "Frameworks:"] + [f"  - {f.framework} {f.control}: {f.title}" for f in rule.frameworks]
    if rule.references:
        lines += ["", "References:"] + [f"  - {r}" for r in rule.references]
    return "\n".join(lines)
