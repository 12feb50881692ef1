"""``apply --step N`` and ``apply --rule ID``: run part of a reviewed plan.

A step is named by its number in the plan (``[N]`` in the text rendering, ``#`` in the Markdown one:
its position in run order, from 1) or by its step id (stable across re-plans of the same finding).
Several ``--step`` select any of them, several ``--rule`` any of those rules' steps; given both, a
step must match both (``--rule X --step 3`` applies step 3 only if it fixes rule X): a selection
narrows, it never widens what a reviewer approved. A name that matches no step, or a selection that
leaves nothing, is a ConfigError (exit 3) and nothing is applied. The whole plan is still bound to
its findings file and digest before the selection is taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from auditor.errors import ConfigError
from auditor.remediate.model import Plan, PlanStep


def _by_name(plan: Plan, name: str) -> PlanStep:
    text = name.strip()
    if text.isdigit():
        number = int(text)
        if not 1 <= number <= len(plan.steps):
            raise ConfigError(f"step {number} is not in the plan (its steps are 1 to {len(plan.steps)})",
                              field="--step")
        return plan.steps[number - 1]
    for step in plan.steps:
        if step.id == text:
            return step
    raise ConfigError(f"no step numbered or with the id '{text[:80]}' in the plan", field="--step")


def select_steps(plan: Plan, steps: Sequence[str] = (), rule_ids: Sequence[str] = ()) -> Plan:
    """``plan`` with only the selected steps, in the plan's order; ``plan`` itself when nothing is named."""
    if not steps and not rule_ids:
        return plan
    named = {_by_name(plan, name).id for name in steps}
    rules = set(rule_ids)
    in_plan = {s.finding.rule_id for s in plan.steps}
    for rule_id in sorted(rules - in_plan):
        raise ConfigError(f"no step of the plan fixes rule '{rule_id}' (its rules: {', '.join(sorted(in_plan))})",
                          field="--rule")
    chosen = tuple(s for s in plan.steps if (not steps or s.id in named) and (not rules or s.finding.rule_id in rules))
    if not chosen:
        raise ConfigError("--step and --rule together select no step: a step must match both", field="--step")
    return replace(plan, steps=chosen)


def describe_selection(plan: Plan, selected: Plan) -> str:
    """``steps 2, 5 of 9`` for the console."""
    chosen = {s.id for s in selected.steps}
    numbers = [str(i) for i, s in enumerate(plan.steps, start=1) if s.id in chosen]
    return f"step{'s' if len(numbers) != 1 else ''} {', '.join(numbers)} of {len(plan.steps)}"
