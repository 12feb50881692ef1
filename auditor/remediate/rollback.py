"""Undo what a journal recorded, newest first, verified the same way apply verifies.

The journal is verified first, whole (:func:`auditor.remediate.journal_check.verify_journal`: the
keyed chain, then that every change is one its run's planned step makes, with an undo that writes
back exactly the value captured before it); a journal that fails is refused (ConfigError, exit 3)
and nothing is undone. Then every change that may have happened (``change-applied``, or
``change-started`` / ``change-failed`` without proof it did not) and was not undone yet is undone in
reverse order of the journal: the live value is read; if it is already the value before the change
there is nothing to undo (reported ``not-applied`` when apply's change failed or has no result, so a
failed change never reads as ``already-applied``); if it is not the value the change set, someone
changed the resource since and the undo is refused; otherwise the value before the change is
written back and re-read. An undo that grants access (recreating a role assignment) is made only
when the journal proves this tool's change removed exactly that assignment (its ``change-applied``
line). Each undo is journaled before and after, in the same file. Resources apply created (new
endpoint configs) are kept: the auditor never deletes; the report lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from auditor.errors import ConfigError
from auditor.providers import ProviderOptions
from auditor.remediate.apply import RunReport
from auditor.remediate.changes import handler
from auditor.remediate.journal import Hook, Journal, JournalChange, read_lines
from auditor.remediate.journal_check import VerifiedJournal, verify_journal
from auditor.remediate.journal_key import JournalKey, journal_key
from auditor.remediate.model import Outcome, StepFailed, StepRefused, StepResult
from auditor.remediate.providers import Providers


def read_for_rollback(journal_file: Path, key: JournalKey | None = None) -> VerifiedJournal:
    """The verified journal (ConfigError naming the line for one that does not verify, or without a key)."""
    if not journal_file.is_file():
        raise ConfigError("no such journal", file=str(journal_file))
    read_lines(journal_file)  # a malformed or an earlier auditor's journal is named as such, key or no key
    return verify_journal(journal_file, key or journal_key(create=False))


def rollback_journal(journal_file: Path, provider_options: ProviderOptions, hook: Hook | None = None,
                     on_result: Callable[[JournalChange, StepResult], None] | None = None, *,
                     only_run: str | None = None, key: JournalKey | None = None,
                     expected: Sequence[str] | None = None) -> RunReport:
    """Undo the journal's pending changes (of ``only_run`` alone when given).

    ``expected``: the change ids a person confirmed; ConfigError when the journal now says otherwise.
    """
    if not journal_file.is_file():
        raise ConfigError("no such journal", file=str(journal_file))
    key = key or journal_key(create=False)
    providers = Providers(provider_options)
    with Journal(journal_file, key, hook) as journal:  # locked: the journal verified below is the one undone
        verified = read_for_rollback(journal_file, key)
        pending = verified.pending(only_run)
        if expected is not None and [c.change for c in pending] != list(expected):
            raise ConfigError("the journal changed after its changes were listed for confirmation: run rollback "
                              "again", file=str(journal_file))
        report = RunReport("rollback", journal_file, kept=verified.kept(only_run), run=journal.run)
        journal.record("run-started", action="rollback", key_id=key.id, only_run=only_run,
                       changes=[c.change for c in pending])
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
            if change.state == "applied":
                detail = "already at its value before the change: nothing to undo"
                outcome = Outcome.ALREADY_APPLIED
            else:  # the apply failed (or stopped) before the change took: there was nothing to undo
                what = f"failed at apply ({change.detail})" if change.state == "failed" and change.detail else (
                    "failed at apply" if change.state == "failed" else "has no result in the journal")
                detail = f"the change {what} and the value is still the one before it: nothing to undo"
                outcome = Outcome.NOT_APPLICABLE
            journal.record("undo-skipped", **common, detail=detail)
            return done(outcome, detail)
        if h.undo_grants_access and change.state != "applied":
            detail = (f"undoing it would grant access, and the journal does not prove this tool's change took it away "
                      f"(the change {change.state}, no change-applied line): not recreated; if this tool did remove "
                      f"it, recreate it by hand: {change.before!r}")
            journal.record("undo-refused", **common, detail=detail)
            return done(Outcome.REFUSED, detail)
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
