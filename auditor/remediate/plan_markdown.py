"""A plan as Markdown for a pull-request review: ``auditor remediate plan --format markdown``.

The reviewer sees the digest to approve and the command that applies exactly this file, a table of
every step in run order (its number is what ``apply --step N`` selects), then each step in full:
the finding, the changes with their values before and after, the API calls and permissions, the
precondition, the verification, the undo, or the manual procedure.

Everything in a plan that came from a findings file (resource ids and names, messages, evidence
values, titles and procedures that quote them) is untrusted: it goes through the escaping of
:mod:`auditor.outputs.markdown_escape`, which the scan summary uses. Identifiers and values are code spans
(rendered literally: no markup, no HTML, no link, no mention); prose is escaped character by
character; no value can end a table row, start a heading or a list, or put a clickable link in the
pull request.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from auditor.outputs.markdown_escape import code, escape_text
from auditor.remediate.model import Plan, PlanStep


def _value(value: Any) -> str:
    """A before or after value: its JSON text as a code span."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _ident(value: Any) -> str:
    return code(value, None, in_table=False)


def _cell(value: Any) -> str:
    return code(value, None)


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def render_markdown(plan: Plan, plan_file: str, digest: str) -> str:
    """The plan written to ``plan_file`` (whose SHA-256 is ``digest``) as Markdown."""
    summary = plan.summary()
    modes = ", ".join(f"{n} {m}" for m, n in summary["by_mode"].items() if n) or "no steps"
    source = plan.source
    lines = [
        "## auditor: remediation plan",
        "",
        f"Plan {_ident(plan_file)}, computed from {_ident(source.get('file', ''))} (scan of "
        f"{_ident(source.get('scan_started', ''))}): {escape_text(modes)}.",
        "",
        f"Plan SHA-256: {_ident(digest)}. Approve that digest; apply exactly this file with "
        f"{_ident(f'auditor remediate apply {plan_file} --plan-sha256 {digest}')} (one step: add "
        f"{_ident('--step N')}; one rule's steps: {_ident('--rule ID')}).",
    ]
    skipped = [f"{n} {why.replace('_', ' ')}" for why, n in plan.skipped.items() if n]
    if skipped:
        lines += ["", f"Findings without a step: {escape_text(', '.join(skipped))}."]
    if not plan.steps:
        return "\n".join([*lines, "", "Nothing to do: no FAIL finding was selected."]) + "\n"
    lines += ["", _row(("#", "severity", "rule", "resource", "mode", "disruption", "what it does")),
              _row(("---",) * 7)]
    for number, step in enumerate(plan.steps, start=1):
        f = step.finding
        lines.append(_row((str(number), escape_text(f.severity), _cell(f.rule_id), _cell(f.resource_id),
                           escape_text(step.mode.value), escape_text(step.disruption.value),
                           escape_text(step.title))))
    for number, step in enumerate(plan.steps, start=1):
        lines += ["", *_step(number, step)]
    return "\n".join(lines) + "\n"


def _step(number: int, step: PlanStep) -> list[str]:
    f = step.finding
    lines = [
        f"### {number}. {escape_text(step.title)}",
        "",
        f"- **Finding**: {_ident(f.rule_id)} ({escape_text(f.severity)}) on {_ident(f.resource_id)}: "
        f"{escape_text(f.message)}",
        f"- **Mode**: {escape_text(step.mode.value)}; step id {_ident(step.id)}",
        f"- **Disruption**: {escape_text(step.disruption.value)}: {escape_text(step.disruption_detail)}",
    ]
    if step.permissions:
        lines.append(f"- **Permissions**: {', '.join(_ident(p) for p in step.permissions)}")
    if step.precondition:
        lines.append(f"- **Precondition**: {escape_text(step.precondition)}")
    if step.verification:
        lines.append(f"- **Verification**: {escape_text(step.verification)}")
    if step.undo:
        lines.append(f"- **Undo**: {escape_text(step.undo.get('description', ''))}")
    for note in step.notes:
        lines.append(f"- **Note**: {escape_text(note)}")
    if step.changes:
        lines += ["", _row(("resource", "field", "before", "after")), _row(("---",) * 4)]
        lines += [_row((_cell(c.get("resource")), _cell(c.get("field")),
                        f"{_cell(_value(c.get('before')))} ({escape_text(c.get('before_source'))})",
                        _cell(_value(c.get("after"))))) for c in step.changes]
    if step.api_calls:
        lines += ["", "API calls, in order:", ""]
        lines += [f"{i}. {_call(call)}" for i, call in enumerate(step.api_calls, start=1)]
    if step.manual_procedure:
        lines += ["", "Procedure:", ""]
        lines += [f"{i}. {escape_text(text)}" for i, text in enumerate(step.manual_procedure, start=1)]
    return lines


def _call(call: Mapping[str, Any]) -> str:
    text = _ident(call.get("call", ""))
    if call.get("target"):
        text += f" on {_ident(call['target'])}"
    if call.get("params"):
        text += f" with {_ident(_value(call['params']))}"
    if call.get("note"):
        text += f": {escape_text(call['note'])}"
    return text
