"""Safe remediation: a pure plan from a findings file, a reviewed apply, a journal, a verified rollback.

``auditor remediate plan FINDINGS.json`` computes, without any cloud call, one step per FAIL finding:
the exact change, the API calls, the permissions, the disruption class and the undo (or a manual
procedure). ``apply PLAN.json`` re-reads every resource, refuses a step whose resource changed since
the scan, applies it, re-reads it and re-runs the rule, writing every change to an append-only
journal before and after it is made. ``rollback JOURNAL`` undoes the journal's changes newest first,
verified the same way. Nothing here deletes a resource, a key or data.

Remediators are found by convention: each module in :mod:`auditor.remediate.remediators` exposes
``REMEDIATOR``, an object satisfying :class:`Remediator`; its ``name`` is the module name, which a
rule's ``remediation.remediator`` names. Listing them imports nothing from a cloud SDK.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from auditor.remediate.model import Disruption, Outcome, PlanStep, RecordedChange, StepResult

if TYPE_CHECKING:
    from auditor.model import Finding, Rule
    from auditor.remediate.context import StepContext
    from auditor.remediate.params import PlanParams

__all__ = [
    "Disruption",
    "Outcome",
    "PlanStep",
    "RecordedChange",
    "Remediator",
    "StepResult",
    "available",
    "aws_remediation_policy",
    "aws_write_permissions",
    "azure_remediation_role",
    "azure_write_permissions",
    "fix_for_rule",
    "load",
]


class Remediator(Protocol):
    """One automatic fix, for the rules in ``rule_ids``.

    ``plan`` is pure: it never calls a cloud API. ``describe`` is the deterministic part of it:
    the step for a finding and already-resolved inputs (``apply`` re-runs it to check the plan file
    was not edited). ``apply`` re-reads the resource, checks the step's precondition, changes it only
    through ``ctx.change`` (which journals every change before and after), verifies, and returns the
    outcome; it raises :class:`~auditor.remediate.model.StepRefused` or ``StepFailed`` to stop.
    ``permissions`` lists every action ``apply`` and ``rollback`` need (the reads they repeat included).
    ``change_problem`` is rollback's check of a journal read back: why a recorded change is not one
    this step makes (another kind, another resource or property, another value set, a value before
    the scan did not see), or None when it is one; rollback undoes nothing a journal says otherwise.
    """

    name: ClassVar[str]
    provider: ClassVar[str]  # "aws" | "azure"
    rule_ids: ClassVar[tuple[str, ...]]
    disruption: ClassVar[Disruption]
    permissions: ClassVar[tuple[str, ...]]
    order: ClassVar[int]  # steps run in this order (lower first), then by rule and resource

    def plan(self, finding: Finding, params: PlanParams) -> PlanStep: ...

    def describe(self, finding: Finding, inputs: Mapping[str, Any]) -> PlanStep: ...

    def apply(self, step: PlanStep, ctx: StepContext) -> StepResult: ...

    def change_problem(self, step: PlanStep, change: RecordedChange) -> str | None: ...


def _package() -> Any:
    from auditor.remediate import remediators

    return remediators


@cache
def available() -> frozenset[str]:
    """Names of the remediators shipped (module names), without importing them."""
    return frozenset(m.name for m in pkgutil.iter_modules(_package().__path__) if not m.name.startswith("_"))


@cache
def load(name: str) -> Remediator:
    """The remediator ``name``; KeyError when there is none."""
    if name not in available():
        raise KeyError(f"no remediator named '{name}' (available: {', '.join(sorted(available()))})")
    module = importlib.import_module(f"auditor.remediate.remediators.{name}")
    remediator: Remediator = module.REMEDIATOR
    if remediator.name != name:
        raise KeyError(f"remediator module '{name}' declares the name '{remediator.name}'")
    return remediator


def fix_for_rule(rule: Rule) -> dict[str, Any]:
    """What the report shows per finding: whether an automatic fix exists and its disruption class.

    The rule's ``remediation.remediator`` when it has one; otherwise its manual procedure's estimate of
    the disruption. ``opt_in``: the fix removes access, so it is plan-only until the rule is named at
    plan time and apply is given ``--allow-access-removal``.
    """
    from auditor.remediate.manual import manual_disruption

    remediator = rule.remediation.remediator
    if remediator and remediator in available():
        fix = load(remediator)
        if rule.id in fix.rule_ids:
            return {"automatic": True, "remediator": fix.name, "disruption": fix.disruption.value,
                    "opt_in": bool(getattr(fix, "removes_access", False))}
    return {"automatic": False, "remediator": None, "disruption": manual_disruption(rule.remediation.manual).value,
            "opt_in": False}


def _permissions(provider: str) -> tuple[str, ...]:
    found: set[str] = set()
    for name in available():
        fix = load(name)
        if fix.provider == provider:
            found.update(fix.permissions)
    return tuple(sorted(found))


def aws_write_permissions() -> tuple[str, ...]:
    """Every IAM action ``auditor remediate apply|rollback`` may call on AWS (reads it repeats included)."""
    return _permissions("aws")


def azure_write_permissions() -> tuple[str, ...]:
    """Every Azure action ``auditor remediate apply|rollback`` may perform (reads it repeats included)."""
    return _permissions("azure")


def aws_remediation_policy() -> dict[str, Any]:
    """The IAM policy for the remediation job, separate from the read-only scan policy."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "AuditorRemediation", "Effect": "Allow", "Action": list(aws_write_permissions()), "Resource": "*"}]}


def azure_remediation_role() -> dict[str, Any]:
    """The Azure custom role for the remediation job, separate from the read-only scanner role."""
    return {
        "Name": "auditor remediation",
        "IsCustom": True,
        "Description": "Applies and rolls back reviewed auditor remediation plans: updates Azure ML endpoints and "
                       "workspaces, removes and recreates role assignments. Deletes no resource and lists no key.",
        "Actions": list(azure_write_permissions()),
        "NotActions": [],
        "DataActions": [],
        "NotDataActions": [],
        "AssignableScopes": ["/subscriptions/00000000-0000-0000-0000-000000000000"],
    }
