"""Carry a reviewed plan out: re-read, check, change (journaled before and after), re-read, verify.

Before anything else the plan is bound to its source (:mod:`auditor.remediate.binding`: the approved
digest, the findings file's digest and scopes, every step derivable from a FAIL finding of it); a
plan that is not is a ConfigError and nothing is read or changed. The run's ``run-started`` line
records that binding and the journal key's id, and one ``step-planned`` line per executable step
follows, so rollback can check every change against the step that made it.

Steps run one at a time, in the plan's order. For each executable step the engine checks what the
plan file cannot: its finding lies inside the scan's scopes, the remediator still describes the
step exactly as the file says (an edited plan or another auditor version is refused), the rule is
in the catalog (its condition verifies the fix), access removals were allowed
(``--allow-access-removal``), the resource is still as the scan read it (its fingerprint, see
:mod:`auditor.remediate.drift`; ``--allow-drift`` skips this), and the run's change budget has room.

``--max-changes`` counts attempts: every distinct resource a step reserves or starts to change,
whether the change then succeeds or fails. The first step that would go past the cap is refused
and the run stops there: every later step is refused without a read. A step that fails deletes
what it created and nothing uses (a new endpoint config, see :func:`remove_unused`: the only
deletion the tool makes, journaled as ``resource-removed``; rollback deletes the same way what an
apply run created once it is unused); what it keeps is listed in the report (``created_kept``).

Every change goes through :class:`_Context.change`: read the live value, journal ``change-started``
(with before, after and the undo), write, re-read, journal ``change-applied`` or ``change-failed``.
A step whose after-state already holds is ``already-applied`` and changes nothing, so applying a
plan twice is harmless.

Only ``Exception`` is caught per step (recorded as ``failed``, the run goes on); anything else (a
crash, an interrupt) propagates with the journal durable up to its last line, for rollback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.model import Finding, Inventory, Resource, Rule
from auditor.providers import ProviderOptions
from auditor.remediate import load
from auditor.remediate.binding import PlanBinding, bind_plan, outside_scopes
from auditor.remediate.changes import handler
from auditor.remediate.drift import DriftCheck, trusted_states
from auditor.remediate.journal import Hook, Journal
from auditor.remediate.journal_check import CreatedResource
from auditor.remediate.journal_key import JournalKey, journal_key
from auditor.remediate.model import (
    Mode,
    Outcome,
    Plan,
    PlanStep,
    RemediationError,
    StepFailed,
    StepRefused,
    StepResult,
    same_json,
)
from auditor.remediate.providers import Providers

if TYPE_CHECKING:
    from auditor.remediate import Remediator

DEFAULT_MAX_CHANGES = 10


@dataclass(frozen=True)
class ApplyOptions:
    journal: Path
    max_changes: int = DEFAULT_MAX_CHANGES
    allow_access_removal: bool = False
    hook: Hook | None = None  # called after each journal line reached the disk (tests simulate crashes here)
    findings: Path | None = None  # the plan's findings file, when not where the plan says
    approved_sha256: str | None = None  # --plan-sha256: the digest the reviewer approved
    key: JournalKey | None = None  # default: AUDITOR_JOURNAL_KEY, else the per-user key file (made if missing)
    allow_drift: bool = False  # --allow-drift: apply steps whose resource changed since the scan
    allowed_endpoints: tuple[str, ...] = ()  # --allow-endpoint: apply against these though the plan names others
    selected_steps: tuple[str, ...] = ()  # --step: the steps asked for (numbers or ids), recorded in run-started
    selected_rules: tuple[str, ...] = ()  # --rule: the rules asked for, recorded in run-started


# How remove_unused words a creation it tried and failed to delete (RunReport.cleanup_failed reads it).
DELETION_FAILED = "the deletion failed: "


@dataclass
class RunReport:
    """The outcome of an apply or rollback run, one result per step (or per change undone)."""

    action: str
    journal: Path
    results: list[StepResult] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # rollback: what apply created and is kept -> why
    removed: list[str] = field(default_factory=list)  # rollback: what apply created, now deleted (nothing used it)
    created_kept: list[str] = field(default_factory=list)  # apply: resources this run created and kept
    run: str = ""  # the run's id in the journal (rollback --run ID undoes one apply run)

    @property
    def cleanup_failed(self) -> list[str]:
        """Rollback: what apply created, nothing uses, and this run failed to delete (kept for a reason other than
        being in use): the estate is not back where it was, so the run is not a success."""
        return [resource for resource, why in self.kept.items() if why.startswith(DELETION_FAILED)]

    @property
    def exit_code(self) -> int:
        return 0 if all(r.outcome.ok for r in self.results) and not self.cleanup_failed else 1

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.outcome.value] = out.get(r.outcome.value, 0) + 1
        return dict(sorted(out.items()))


@dataclass
class _Budget:
    """--max-changes: the distinct resources the run attempted to change (reserved or started), failed ones too."""

    limit: int
    attempted: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)  # of those, the ones whose change was applied
    stopped: bool = False

    def check(self, resources: Sequence[str]) -> None:
        wanted = set(resources) - self.attempted
        room = self.limit - len(self.attempted)
        if len(wanted) > room:
            self.stopped = True
            raise StepRefused(f"--max-changes {self.limit} reached: this step changes {len(wanted)} more resource(s), "
                              f"{room} left in this run; apply again (or raise --max-changes) for the rest")
        self.attempted |= wanted

    def refusal(self) -> str | None:
        """Why no further step runs (an earlier step would have gone past the cap: the run stopped there), or None."""
        if self.stopped:
            return (f"not attempted: --max-changes {self.limit} reached ({len(self.attempted)} resource(s) attempted "
                    "in this run, failed attempts included); apply again (or raise --max-changes) for the rest")
        return None


class _Context:
    """The StepContext of one step."""

    def __init__(self, step: PlanStep, journal: Journal, providers: Providers, rules: Mapping[str, Rule],
                 budget: _Budget, drift: DriftCheck) -> None:
        self.step = step
        self.journal = journal
        self._providers = providers
        self.rules = rules
        self.budget = budget
        self.drift = drift
        self.reserved: set[str] = set()
        self.made: list[CreatedResource] = []  # what this step created
        self.applied: list[str] = []  # the resources whose change this step applied

    @property
    def providers(self) -> Providers:
        return self._providers

    def rule(self, rule_id: str) -> Rule:
        return self.rules[rule_id]

    def evaluate(self, rule_id: str, resource: Resource) -> Finding:
        from auditor.engine import evaluate_one

        return evaluate_one(self.rules[rule_id], resource, Inventory(resources=(resource,), coverage=()))

    def reserve(self, resources: Sequence[str]) -> None:
        self.budget.check(resources)
        self.reserved.update(resources)

    def _common(self, kind: str, target: Mapping[str, Any], resource: str) -> dict[str, Any]:
        return {"step": self.step.id, "rule_id": self.step.finding.rule_id,
                "resource_id": self.step.finding.resource_id, "changed_resource": resource, "kind": kind,
                "target": dict(target)}

    def change(self, kind: str, target: Mapping[str, Any], after: Any, resource: str) -> bool:
        h = handler(kind)
        observed = h.read(self._providers, target)
        change_id = self.journal.new_change_id()
        common = self._common(kind, target, resource)
        if h.same(observed.value, after):
            self.journal.record("change-already", change=change_id, **common, before=observed.value, after=after,
                                undo=None)
            return False
        self.budget.check([*self.reserved, resource])
        self.drift.before_change(resource)
        self.journal.record("change-started", change=change_id, **common, before=observed.value, after=after,
                            undo={"kind": kind, "target": dict(target), "value": observed.value})
        try:
            h.write(self._providers, target, after, observed)
        except StepRefused as exc:
            self.journal.record("change-failed", change=change_id, result="refused", detail=str(exc))
            raise
        except Exception as exc:
            self.journal.record("change-failed", change=change_id, result="failed", detail=_reason(exc))
            raise
        live = h.read(self._providers, target)
        if not h.same(live.value, after):
            detail = f"after the write the value is {live.value!r}, not {after!r}"
            self.journal.record("change-failed", change=change_id, result="failed", detail=detail)
            raise StepFailed(detail)
        self.budget.changed.add(resource)
        self.applied.append(resource)
        self.journal.record("change-applied", change=change_id, before=observed.value, after=live.value)
        return True

    def created(self, kind: str, resource: str, detail: Mapping[str, Any]) -> None:
        self.journal.record("resource-created", step=self.step.id, rule_id=self.step.finding.rule_id,
                            resource_id=self.step.finding.resource_id, kind=kind, created=resource,
                            settings=dict(detail), undo=None,
                            note="deleted when this step fails, or on rollback, once nothing uses it")
        self.made.append(CreatedResource(self.journal.run, self.step.id, self.step.finding.rule_id,
                                         self.step.finding.resource_id, self.step.finding.provider, kind, resource))


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, (StepFailed, StepRefused, RemediationError)) else f"{type(exc).__name__}: {exc}"


def _gate(step: PlanStep, options: ApplyOptions, rules: Mapping[str, Rule], scopes: Sequence[str], budget: _Budget,
          drift: DriftCheck) -> tuple[Remediator | None, StepResult]:
    """The remediator to run, or the result that stops the step before any read."""
    finding = step.finding

    def stop(outcome: Outcome, detail: str) -> tuple[None, StepResult]:
        return None, StepResult(step.id, finding.rule_id, finding.resource_id, outcome, detail)

    if step.mode is Mode.MANUAL:
        return stop(Outcome.NOT_APPLICABLE, "manual procedure: see the plan; apply changes nothing")
    if step.mode is Mode.PLAN_ONLY:
        return stop(Outcome.NOT_APPLICABLE, f"plan-only: re-plan with --rule {finding.rule_id} to make it applicable")
    outside = outside_scopes(finding, scopes)
    if outside is not None:
        return stop(Outcome.REFUSED, f"outside the scan's scopes: {outside}; the plan's findings file was not asked "
                                     "to cover it")
    if step.mode is Mode.ACCESS_REMOVAL and not options.allow_access_removal:
        return stop(Outcome.REFUSED, "removes access: apply it with --allow-access-removal")
    try:
        remediator = load(step.remediator or "")
    except KeyError as exc:
        return stop(Outcome.REFUSED, str(exc).strip("'\""))
    if finding.rule_id not in remediator.rule_ids:
        return stop(Outcome.REFUSED, f"remediator {remediator.name} does not fix rule {finding.rule_id}")
    if finding.rule_id not in rules:
        return stop(Outcome.REFUSED, f"rule {finding.rule_id} is not in this auditor's catalog: the fix cannot be "
                                     "verified")
    try:
        expected = remediator.describe(finding.to_finding(), step.inputs)
    except (KeyError, ValueError, TypeError) as exc:
        return stop(Outcome.REFUSED, f"the step's inputs cannot be used: {exc}")
    if not same_json(expected.to_json(), step.to_json()):
        return stop(Outcome.REFUSED, "the step in the plan file differs from what this auditor plans for the same "
                                     "finding and inputs (an edited plan, or another auditor version): re-plan")
    capped = budget.refusal()
    if capped is not None:
        return stop(Outcome.REFUSED, capped)
    try:
        drifted = drift.refusal(finding)
    except StepFailed as exc:
        return stop(Outcome.FAILED, f"re-reading {finding.resource_id} to compare it with the scan: {exc}")
    if drifted is not None:
        return stop(Outcome.REFUSED, drifted)
    return remediator, StepResult(step.id, finding.rule_id, finding.resource_id, Outcome.APPLIED)


def apply_plan(plan: Plan, plan_file: Path, plan_sha256: str, options: ApplyOptions, provider_options: ProviderOptions,
               rules: Mapping[str, Rule] | None = None,
               on_result: Callable[[PlanStep, StepResult], None] | None = None, *,
               binding: PlanBinding | None = None) -> RunReport:
    """Apply every executable step of ``plan``; the report (exit code 0 or 1) and the journal on disk.

    ``binding``: the plan already bound to its source (the CLI binds it before asking for confirmation);
    without it the plan is bound here. ConfigError, before any read or change, for a plan that is not.
    """
    if options.max_changes < 1:
        raise RemediationError("--max-changes must be at least 1")
    if rules is None:
        from auditor.catalog import load_catalog

        rules = load_catalog()
    if binding is None:
        binding = bind_plan(plan, plan_file, plan_sha256, findings_file=options.findings,
                            approved_sha256=options.approved_sha256, catalog=rules)
    from auditor.remediate.target import check_target

    check_target(plan, plan_file, provider_options, options.allowed_endpoints)
    key = options.key or journal_key(create=True)
    providers = Providers(provider_options)
    budget = _Budget(options.max_changes)
    with Journal(options.journal, key, options.hook) as journal:
        drift = DriftCheck((s.finding for s in plan.steps if s.executable), providers, _passes(rules),
                           allowed=options.allow_drift, trusted=trusted_states(journal.earlier, binding.plan_sha256))
        report = RunReport("apply", options.journal, run=journal.run)
        journal.record("run-started", action="apply", key_id=key.id,
                       plan={"file": str(plan_file), "sha256": binding.plan_sha256},
                       findings={"file": str(binding.findings_file), "sha256": binding.findings_sha256},
                       scopes=list(binding.scopes), max_changes=options.max_changes,
                       allow_access_removal=options.allow_access_removal, allow_drift=options.allow_drift,
                       selection={"steps": list(options.selected_steps), "rules": list(options.selected_rules)})
        for step in plan.steps:
            if step.executable:
                journal.record("step-planned", step=step.id, remediator=step.remediator, mode=step.mode.value,
                               finding=step.finding.to_json(), inputs=dict(step.inputs))
        try:
            for step in plan.steps:
                result = _run(step, options, rules, journal, providers, budget, drift, binding.scopes,
                              report.created_kept)
                journal.record("step-result", step=step.id, rule_id=step.finding.rule_id,
                               resource_id=step.finding.resource_id, result=result.outcome.value, detail=result.detail)
                report.results.append(result)
                if on_result is not None:
                    on_result(step, result)
            journal.record("run-finished", counts=report.counts(), changed_resources=sorted(budget.changed),
                           attempted_resources=sorted(budget.attempted), created_kept=list(report.created_kept))
        finally:
            providers.close()
    return report


def _passes(rules: Mapping[str, Rule]) -> Callable[[str, Resource], bool]:
    from auditor.engine import evaluate_one
    from auditor.model import Status

    def passes(rule_id: str, resource: Resource) -> bool:
        rule = rules.get(rule_id)
        return rule is not None and evaluate_one(rule, resource, Inventory(resources=(resource,), coverage=())).status \
            is Status.PASS

    return passes


def _run(step: PlanStep, options: ApplyOptions, rules: Mapping[str, Rule], journal: Journal, providers: Providers,
         budget: _Budget, drift: DriftCheck, scopes: Sequence[str], created_kept: list[str]) -> StepResult:
    remediator, gated = _gate(step, options, rules, scopes, budget, drift)
    if remediator is None:
        return gated
    ctx = _Context(step, journal, providers, rules, budget, drift)
    try:
        result = remediator.apply(step, ctx)
    except StepRefused as exc:
        result = StepResult(step.id, step.finding.rule_id, step.finding.resource_id, Outcome.REFUSED, str(exc))
    except Exception as exc:  # noqa: BLE001 - one failing step must not stop the others; the journal has its changes
        result = StepResult(step.id, step.finding.rule_id, step.finding.resource_id, Outcome.FAILED, _reason(exc))
    if ctx.made and not result.outcome.ok:
        remains = list(remove_unused(journal, providers, ctx.made, "the step failed and nothing uses it"))
        created_kept.extend(remains)
        gone = [c.resource for c in ctx.made if c.resource not in remains]
        note = "; ".join(part for part in (
            f"deleted what it created, which nothing uses: {', '.join(gone)}" if gone else "",
            f"kept what it created: {', '.join(remains)}" if remains else "") if part)
        result = StepResult(result.step_id, result.rule_id, result.resource_id, result.outcome,
                            f"{result.detail} ({note})")
    else:
        created_kept.extend(c.resource for c in ctx.made)
    for resource in dict.fromkeys(ctx.applied):
        if drift.wants_state(resource):
            try:
                state = drift.record_state(resource)
            except StepFailed as exc:
                result = StepResult(result.step_id, result.rule_id, result.resource_id, result.outcome,
                                    f"{result.detail} (re-reading {resource} for the plan's later steps failed: {exc}; "
                                    "they will find it changed since the scan)")
                continue
            if state is not None:
                ctx.journal.record("resource-state", step=step.id, changed_resource=resource,
                                   fingerprint=state.to_json())
    return result


def remove_unused(journal: Journal, providers: Providers, made: Sequence[CreatedResource],
                  because: str) -> dict[str, str]:
    """Delete what this tool created (``made``, as journaled) when nothing uses it, newest first; kept id -> why.

    The only deletion the tool makes: a failed step's own creations, and on rollback what the rolled-back
    apply run created. The provider re-reads each one and deletes it only when nothing uses it (and it is
    what this tool creates); every decision is journaled as ``resource-removed`` (``deleted`` with
    ``because``, or ``kept`` with why), naming the apply run that created it (``created_by``).
    """
    kept: dict[str, str] = {}
    for item in reversed(made):
        why: str | None
        try:
            connection = providers.connection(item.provider)
            remover = getattr(connection, "delete_unused", None)
            why = "its provider deletes nothing" if remover is None else remover(item.kind, item.resource)
        except Exception as exc:  # noqa: BLE001 - a failed clean-up is reported and journaled, never fatal
            why = f"{DELETION_FAILED}{_reason(exc)}"
        journal.record("resource-removed", step=item.step, rule_id=item.rule_id, resource_id=item.resource_id,
                       kind=item.kind, created=item.resource, created_by=item.run,
                       result="deleted" if why is None else "kept", detail=because if why is None else why)
        if why is not None:
            kept[item.resource] = why
    return dict(reversed(kept.items()))
