"""What rollback may undo: a journal read back, verified line by line before anything acts on it.

A journal is untrusted input. :func:`verify_journal` first checks the keyed chain
(:func:`auditor.remediate.journal.verify_chain`: every line signed with the journal key and where it
was written), then what the lines say, which holds even against someone who has the key:

* every line belongs to the run whose lines it sits among, after that run's ``run-started``;
* an apply run's ``step-planned`` lines are steps this auditor derives from their finding and inputs
  (same step id and mode), of findings inside the scopes the run was bound to;
* every ``change-started`` names a step its run planned, its finding's rule and resource, an undo
  that writes back exactly the ``before`` it captured, and a change that step makes: the kind,
  resource, property and value the step's remediator would set (``Remediator.change_problem``);
* a ``change-applied`` captured the same ``before`` and ``after`` as its ``change-started``;
* ``undo-*`` lines belong to a rollback run that named their change.

Anything else is a ConfigError (exit 3) naming the line, and nothing in the journal is undone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import ConfigError
from auditor.model import Rule
from auditor.remediate.binding import outside_scopes
from auditor.remediate.journal import UNDO_EVENTS, JournalChange, verify_chain
from auditor.remediate.journal_key import JournalKey
from auditor.remediate.model import PlanStep, RecordedChange, StepFinding, same_json


@dataclass
class JournalRun:
    """One apply or rollback run of a journal."""

    run: str
    action: str
    line: int
    scopes: tuple[str, ...] = ()
    steps: dict[str, PlanStep] = field(default_factory=dict)
    declared: frozenset[str] = frozenset()  # rollback: the changes it set out to undo
    finished: bool = False


@dataclass(frozen=True)
class VerifiedJournal:
    path: Path
    runs: Mapping[str, JournalRun]
    changes: tuple[JournalChange, ...]  # oldest first
    created: tuple[tuple[str, str], ...]  # (run, resource) apply created

    def apply_runs(self) -> list[str]:
        return [r.run for r in self.runs.values() if r.action == "apply"]

    def pending(self, only_run: str | None = None) -> list[JournalChange]:
        """The changes a rollback undoes, newest first (of ``only_run`` alone when given)."""
        if only_run is not None and only_run not in self.apply_runs():
            runs = ", ".join(self.apply_runs()) or "none"
            raise ConfigError(f"no apply run '{only_run}' in this journal (its apply runs: {runs})",
                              file=str(self.path), field="--run")
        return [c for c in reversed(self.changes) if c.may_have_changed and only_run in (None, c.run)]

    def kept(self, only_run: str | None = None) -> list[str]:
        return [resource for run, resource in self.created if only_run in (None, run)]

    def unfinished(self) -> list[str]:
        """Runs without a ``run-finished`` line: they crashed, or the journal's end was cut off."""
        return [r.run for r in self.runs.values() if not r.finished]


class _Refused(Exception):  # noqa: N818 - internal: becomes a ConfigError naming the line
    def __init__(self, message: str, field: str = "$.event") -> None:
        super().__init__(message)
        self.field = field


def verify_journal(path: Path, key: JournalKey) -> VerifiedJournal:
    """The journal's runs and changes, every line verified (see the module); ConfigError naming the line."""
    chain = verify_chain(path, key)
    reader = _Reader()
    for number, record in chain.lines:
        try:
            reader.read(number, record)
        except _Refused as exc:
            raise ConfigError(f"{exc}; nothing in this journal is acted on", file=str(path), line=number,
                              field=exc.field) from None
    return VerifiedJournal(path, dict(reader.runs), tuple(sorted(reader.changes.values(), key=lambda c: c.seq)),
                           tuple(reader.created))


class _Reader:
    def __init__(self) -> None:
        self.runs: dict[str, JournalRun] = {}
        self.changes: dict[str, JournalChange] = {}
        self.created: list[tuple[str, str]] = []
        self.current: str | None = None
        self._catalog: dict[str, Rule] | None = None

    def catalog(self) -> dict[str, Rule]:
        if self._catalog is None:
            from auditor.catalog import load_catalog

            self._catalog = load_catalog()
        return self._catalog

    def read(self, number: int, record: Mapping[str, Any]) -> None:
        event, run = str(record["event"]), str(record["run"])
        if event == "torn-line":  # written by the next run as it opens the file, before its run-started
            return
        if event == "run-started":
            if run in self.runs:
                raise _Refused(f"run {run} starts a second time", "$.run")
            self.runs[run] = JournalRun(run, str(record["action"]), number, tuple(record.get("scopes") or ()),
                                        declared=frozenset(record.get("changes") or ()))
            self.current = run
            return
        info = self.runs.get(run)
        if info is None or run != self.current or info.finished:
            raise _Refused(f"a {event} line of run {run} outside that run's lines", "$.run")
        if event == "run-finished":
            info.finished = True
        elif event == "step-planned":
            self._planned(info, record)
        elif event in ("change-started", "change-already"):
            self._started(info, number, record)
        elif event in ("change-applied", "change-failed"):
            self._outcome(info, record)
        elif event in UNDO_EVENTS:
            self._undo(info, record)
        elif event == "resource-created":
            self._apply_only(info, event)
            if str(record.get("step", "")) not in info.steps:
                raise _Refused(f"resource-created names step {record.get('step')!r}, which run {run} did not plan",
                               "$.step")
            self.created.append((run, str(record["created"])))
        elif event == "resource-removed":
            self._apply_only(info, event)
            created = (run, str(record["created"]))
            if created not in self.created:
                raise _Refused(f"resource-removed names {record.get('created')!r}, which run {run} did not create",
                               "$.created")
            if record.get("result") == "deleted":
                self.created.remove(created)
        elif event == "step-result":
            self._apply_only(info, event)

    @staticmethod
    def _apply_only(info: JournalRun, event: str) -> None:
        if info.action != "apply":
            raise _Refused(f"a {event} line in {info.action} run {info.run}")

    def _planned(self, info: JournalRun, record: Mapping[str, Any]) -> None:
        from auditor.remediate import load

        self._apply_only(info, "step-planned")
        step_id = str(record["step"])
        if step_id in info.steps:
            raise _Refused(f"step {step_id} is planned twice in run {info.run}", "$.step")
        try:
            finding = StepFinding.from_json(record["finding"])
            remediator = load(str(record["remediator"]))
        except (KeyError, TypeError) as exc:
            raise _Refused(f"step {step_id} cannot be re-derived: {exc}", "$.finding") from None
        rule = self.catalog().get(finding.rule_id)
        if finding.rule_id not in remediator.rule_ids or rule is None or rule.remediation.remediator != remediator.name:
            raise _Refused(f"remediator {remediator.name} does not fix rule {finding.rule_id}", "$.remediator")
        try:
            step = remediator.describe(finding.to_finding(), dict(record["inputs"]))
        except (KeyError, ValueError, TypeError) as exc:
            raise _Refused(f"step {step_id} cannot be re-derived from its inputs: {exc}", "$.inputs") from None
        if step.id != step_id or step.mode.value != record["mode"] or not step.executable:
            raise _Refused(f"step {step_id} is not the step this auditor plans for its finding and inputs "
                           f"(that is step {step.id}, {step.mode.value})", "$.step")
        outside = outside_scopes(step.finding, info.scopes)
        if outside is not None:
            raise _Refused(f"step {step_id} is outside the scopes its run was bound to: {outside}", "$.finding")
        info.steps[step_id] = step

    def _started(self, info: JournalRun, number: int, record: Mapping[str, Any]) -> None:
        event, change_id = str(record["event"]), str(record["change"])
        self._apply_only(info, event)
        if not change_id.startswith(f"{info.run}-") or change_id in self.changes:
            raise _Refused(f"change id {change_id} is not a new change of run {info.run}", "$.change")
        step = info.steps.get(str(record["step"]))
        if step is None:
            raise _Refused(f"{event} names step {record['step']!r}, which run {info.run} did not plan", "$.step")
        if record["rule_id"] != step.finding.rule_id or record["resource_id"] != step.finding.resource_id:
            raise _Refused(f"{event} names {record['rule_id']} on {record['resource_id']}, but step {step.id} fixes "
                           f"{step.finding.rule_id} on {step.finding.resource_id}", "$.resource_id")
        kind, target, before, after = str(record["kind"]), record["target"], record["before"], record["after"]
        if event == "change-started":
            undo = {"kind": kind, "target": target, "value": before}
            if not same_json(record["undo"], undo):
                raise _Refused("the undo does not write back exactly the value before the change it records", "$.undo")
            problem = _change_problem(step, RecordedChange(kind, target, before, after))
            if problem is not None:
                raise _Refused(f"step {step.id} ({step.finding.rule_id} on {step.finding.resource_id}) makes no such "
                               f"change: {problem}", "$.target")
        self.changes[change_id] = JournalChange(
            change=change_id, seq=number, kind=kind, target=target, before=before, after=after, step=step.id,
            rule_id=step.finding.rule_id, resource_id=step.finding.resource_id,
            state="already" if event == "change-already" else "started", run=info.run)

    def _outcome(self, info: JournalRun, record: Mapping[str, Any]) -> None:
        from auditor.remediate.changes import handler

        event, change = str(record["event"]), self.changes.get(str(record["change"]))
        if change is None or change.run != info.run or change.state != "started":
            raise _Refused(f"{event} for change {record['change']}, which its run did not start (or already ended)",
                           "$.change")
        if event == "change-applied":
            if (not same_json(record.get("before"), change.before)
                    or not handler(change.kind).same(record.get("after"), change.after)):
                raise _Refused(f"change-applied records another before or after than change-started of "
                               f"{change.change}", "$.before")
            change.state = "applied"
        else:
            change.state = "failed"
        change.detail = str(record.get("detail", ""))

    def _undo(self, info: JournalRun, record: Mapping[str, Any]) -> None:
        event, change_id = str(record["event"]), str(record["change"])
        change = self.changes.get(change_id)
        if info.action != "rollback" or change is None or change_id not in info.declared:
            raise _Refused(f"{event} for change {change_id}, which this rollback run did not set out to undo",
                           "$.change")
        if change.kind != record["kind"] or not same_json(change.target, record["target"]):
            raise _Refused(f"{event} names another kind or target than change {change_id}", "$.target")
        if event in ("undo-applied", "undo-skipped"):
            change.undone = True


def _change_problem(step: PlanStep, change: RecordedChange) -> str | None:
    from auditor.remediate import load

    try:
        return load(step.remediator or "").change_problem(step, change)
    except KeyError as exc:  # an unknown change kind
        return str(exc).strip("'\"")
