"""Undo what a journal recorded, newest first, verified the same way apply verifies.

Every change that may have happened (``change-applied``, or ``change-started`` / ``change-failed``
without proof it did not) and was not undone yet is undone in reverse order of the journal:
the live value is read; if it is already the value before the change there is nothing to undo;
if it is not the value the change set, someone changed the resource since and the undo is refused;
otherwise the value before the change is written back and re-read. Each undo is journaled before
and after, in the same file. Resources apply created (new endpoint configs) are kept: the auditor
never deletes; the report lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from auditor.remediate.apply import RunReport
from auditor.remediate.changes import handler
from auditor.remediate.journal import Hook, Journal, JournalChange, changes, created, read_records
from auditor.remediate.model import Outcome, StepFailed, StepRefused, StepResult
from auditor.remediate.providers import ProviderOptions, Providers


def pending_undos(journal_file: Path) -> list[JournalChange]:
    """The changes a rollback of ``journal_file`` would undo, newest first (ConfigError for a bad journal)."""
    return [c for c in reversed(changes(read_records(journal_file))) if c.may_have_changed]


def rollback_journal(journal_file: Path, provider_options: ProviderOptions, hook: Hook | None = None,
                     on_result: Callable[[JournalChange, StepResult], None] | None = None) -> RunReport:
    records = read_records(journal_file)
    pending = [c for c in reversed(changes(records)) if c.may_have_changed]
    report = RunReport("rollback", journal_file, kept=[str(r["created"]) for r in created(records)])
    providers = Providers(provider_options)
    with Journal(journal_file, hook) as journal:
        journal.record("run-started", action="rollback", changes=[c.change for c in pending])
        try:
            for change in pending:
                result = _undo(change, journal, providers)
                report.results.append(result)
                if on_result is not None:
                    on_result(change, result)
            journal.record("run-finished", counts=report.counts(), kept=report.kept)
        finally:
            providers.close()
    return report


def _undo(change: JournalChange, journal: Journal, providers: Providers) -> StepResult:
    def done(outcome: Outcome, detail: str) -> StepResult:
        return StepResult(change.change, change.rule_id, change.resource_id, outcome, detail)

    common = {"change": change.change, "step": change.step, "rule_id": change.rule_id,
              "resource_id": change.resource_id, "kind": change.kind, "target": dict(change.target)}
    try:
        h = handler(change.kind)
    except KeyError as exc:
        journal.record("undo-refused", **common, detail=str(exc))
        return done(Outcome.REFUSED, f"{exc}: this auditor cannot undo it")
    try:
        observed = h.read(providers, change.target)
        if h.same(observed.value, change.before):
            detail = "already at its value before the change: nothing to undo"
            journal.record("undo-skipped", **common, detail=detail)
            return done(Outcome.ALREADY_APPLIED, detail)
        if not h.same(observed.value, change.after):
            detail = (f"changed since the apply: the value is {observed.value!r}, the change had set {change.after!r}; "
                      "undo refused")
            journal.record("undo-refused", **common, detail=detail)
            return done(Outcome.REFUSED, detail)
        journal.record("undo-started", **common, before=observed.value, after=change.before)
        h.write(providers, change.target, change.before, observed)
        live = h.read(providers, change.target)
    except StepRefused as exc:
        journal.record("undo-failed", **common, result="refused", detail=str(exc))
        return done(Outcome.REFUSED, str(exc))
    except Exception as exc:  # noqa: BLE001 - the other undos still run; the journal says which failed
        detail = str(exc) if isinstance(exc, StepFailed) else f"{type(exc).__name__}: {exc}"
        journal.record("undo-failed", **common, result="failed", detail=detail)
        return done(Outcome.FAILED, detail)
    if not h.same(live.value, change.before):
        detail = f"after the undo the value is {live.value!r}, not {change.before!r}"
        journal.record("undo-failed", **common, result="verification-failed", detail=detail)
        return done(Outcome.VERIFICATION_FAILED, detail)
    journal.record("undo-applied", **common, before=change.after, after=live.value)
    return done(Outcome.APPLIED, f"restored {change.kind} of {change.resource_id} to {change.before!r}; re-read")
