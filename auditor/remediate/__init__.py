"""Safe remediation: a pure plan from a findings file, a reviewed apply, a journal, a verified rollback.

``auditor remediate plan FINDINGS.json`` computes, without any cloud call, one step per FAIL finding:
the exact change, the API calls, the permissions, the disruption class and the undo (or a manual
procedure). ``apply PLAN.json`` re-reads every resource, refuses a step whose resource changed since
the scan, applies it, re-reads it and re-runs the rule, writing every change to an append-only
journal before and after it is made. ``rollback JOURNAL`` undoes the journal's changes newest first,
verified the same way. Nothing here deletes a resource, a key or data, except what a failed step itself
created and nothing uses (a new endpoint config: see :mod:`auditor.remediate.apply`).

Remediators are found by convention: each module in a provider's ``remediators`` package
(``auditor/providers/<name>/remediators/``, providers from :func:`auditor.providers.names`) exposes
``REMEDIATOR``, an object satisfying :class:`Remediator`; its ``name`` is the module name, unique
across providers, which a rule's ``remediation.remediator`` names. Listing them imports nothing from
a cloud SDK.
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
    "fix_for_rule",
    "load",
    "write_permissions",
]


class Remediator(Protocol):
    """One automatic fix, for the rules in ``rule_ids``.

    ``plan`` is pure: it never calls a cloud API. ``describe`` is the deterministic part of it:
    the step for a finding and already-resolved inputs (``apply`` re-runs it to check the plan file
    was not edited). ``apply`` re-reads the resource, checks the step's precondition, changes it only
    through ``ctx.change`` (which journals every change before and after), verifies, and returns the
    outcome; it raises :class:`~auditor.remediate.model.StepRefused` or ``StepFailed`` to stop.
    ``calls`` lists every API call ``apply`` and ``rollback`` make (the live reads they repeat included), written
    as the provider's ``resource_types`` writes them; ``permissions``, the actions those calls need, is derived
    from them (the provider's ``resource_types.actions``), never written by hand.
    ``change_problem`` is rollback's check of a journal read back: why a recorded change is not one
    this step makes (another kind, another resource or property, another value set, a value before
    the scan did not see), or None when it is one; rollback undoes nothing a journal says otherwise.

    Optional: ``runs_before``, names of remediators whose automatic steps must not run before this one's
    (the plan moves this one's ahead of them, see :mod:`auditor.remediate.plan`); ``removes_access``.
    """

    name: ClassVar[str]
    provider: ClassVar[str]  # the name of the provider whose remediators/ package holds it
    rule_ids: ClassVar[tuple[str, ...]]
    disruption: ClassVar[Disruption]
    calls: ClassVar[tuple[str, ...]]
    permissions: ClassVar[tuple[str, ...]]

    def plan(self, finding: Finding, params: PlanParams) -> PlanStep: ...

    def describe(self, finding: Finding, inputs: Mapping[str, Any]) -> PlanStep: ...

    def apply(self, step: PlanStep, ctx: StepContext) -> StepResult: ...

    def change_problem(self, step: PlanStep, change: RecordedChange) -> str | None: ...


@cache
def _modules() -> dict[str, str]:
    """Remediator name -> its module's dotted name, over every provider's ``remediators`` package."""
    from auditor.providers import module, names

    found: dict[str, str] = {}
    for provider in names():
        package = importlib.import_module(module(provider, "remediators"))
        for info in pkgutil.iter_modules(package.__path__):
            if info.name.startswith("_"):
                continue
            if info.name in found:
                raise KeyError(f"remediator '{info.name}' exists in {found[info.name]} and in {package.__name__}")
            found[info.name] = f"{package.__name__}.{info.name}"
    return found


def available() -> frozenset[str]:
    """Names of the remediators shipped (module names), without importing them."""
    return frozenset(_modules())


@cache
def load(name: str) -> Remediator:
    """The remediator ``name``; KeyError when there is none."""
    modules = _modules()
    if name not in modules:
        raise KeyError(f"no remediator named '{name}' (available: {', '.join(sorted(modules))})")
    module = importlib.import_module(modules[name])
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


def write_permissions(provider: str) -> tuple[str, ...]:
    """Every action ``auditor remediate apply|rollback`` may perform on ``provider`` (reads it repeats included)."""
    from auditor.providers import module

    # what apply does for every step of the provider: the stale check's reads, removing what a failed step made
    found: set[str] = set(getattr(importlib.import_module(module(provider, "live")), "PERMISSIONS", ()))
    for name in available():
        fix = load(name)
        if fix.provider == provider:
            found.update(fix.permissions)
    return tuple(sorted(found))
