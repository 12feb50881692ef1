"""What a scan prints when it ends: a CI log a person can act on without opening the report.

In order: the counts; the scopes that could not be collected and the ERROR findings (each rule and
resource, the first :data:`SHOWN`, then how many more) with what exit 2 means; what the policy's scope
left out; the baseline comparison; what gates the build; the active waivers (what each mutes, those
expiring soon called out), then the expired and the unused ones (with the scanned resources nearest an
unused one's patterns); the history; the files written, and those that were not (with where they went
instead); and last, the exit code and its meaning, which an output or a history failing after the scan
raises to 2 or 3. Every line goes through the :class:`~auditor.console.Console` (text or JSON lines),
each with an ``event`` name a log pipeline can filter on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.console import Console
from auditor.errors import ConfigError
from auditor.model import ScanResult, Status, Waiver
from auditor.waiver_view import EXPIRING_SOON_DAYS, ActiveWaiver, active_waivers, nearest_resources

if TYPE_CHECKING:
    from auditor.outputs import OutputFailure

SHOWN = 20


def summarise(console: Console, result: ScanResult, written: Sequence[Path], *, rerendered: bool = False,
              failed: Sequence[OutputFailure] = (), replaced_links: Sequence[tuple[Path, str]] = (),
              history_error: ConfigError | None = None, stale: Sequence[tuple[Path, str]] = ()) -> int:
    """Print the summary; the exit code (the result's, raised by ``failed`` outputs and ``history_error``)."""
    counts = {s.value: 0 for s in Status}
    for f in result.findings:
        counts[f.status.value] += 1
    parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    console.line(f"{len(result.findings)} findings ({parts or 'none'})", event="counts", by_status=counts)
    _incomplete(console, result)
    if result.policy_scope is not None:
        scope = result.policy_scope
        console.line(scope.sentence(), event="policy_scope", out_of_scope=scope.out_of_scope,
                     findings=scope.findings, by_status=dict(scope.by_status))
    if result.baseline is not None:
        from auditor.baseline import state_counts, summary_line

        console.line(f"against baseline {result.baseline.file}: {summary_line(result.baseline)}", event="baseline",
                     counts=state_counts(result.baseline))
    gating = result.gating()
    if gating:
        which = "new or regressed FAIL" if result.fail_on_new else "FAIL"
        console.line(f"{len(gating)} {which} finding(s) at or above {result.fail_on.value} gate the build",
                     event="gating", gating=len(gating))
    _waivers(console, result)
    if rerendered:  # auditor report: the findings' verdict, not this command's
        console.line(f"re-rendered only (nothing appended to a history); exit {result.exit_code()}, the exit "
                     "code of the scan that wrote these findings", event="rerendered")
    elif history_error is not None:
        console.line(f"run NOT appended to the history: {history_error}", event="history_failed", level="error",
                     error=str(history_error))
    elif result.history is not None:
        console.line(f"run appended to history {result.history.file}", event="history")
    for path in written:
        console.line(f"wrote {path}", event="wrote", path=str(path))
    for path, name in stale:
        console.line(f"left {path} from an earlier run (--format {name} was not asked this time): it does not "
                     "describe this scan", event="stale_output", level="warning", path=str(path), format=name)
    for path, target in replaced_links:
        console.line(f"{path} was a symbolic link to {target}: the link was replaced by the file (nothing was written "
                     "through it)", event="replaced_link", level="warning", path=str(path), target=target)
    for failure in failed:
        instead = f"; written to {failure.rescued} instead" if failure.rescued is not None else ""
        console.line(f"NOT written: {failure.path} (--format {failure.name}) {failure.reason}{instead}",
                     event="output_failed", level="error", path=str(failure.path), format=failure.name,
                     reason=failure.reason, rescued=str(failure.rescued) if failure.rescued is not None else None)
    code, meaning = exit_meaning(result, outputs_failed=len(failed), history_error=history_error)
    console.line(f"exit {code}: {meaning}", event="exit", exit_code=code)
    return code


def exit_meaning(result: ScanResult, *, outputs_failed: int = 0,
                 history_error: ConfigError | None = None) -> tuple[int, str]:
    """The exit code and one sentence saying what it means for this result, and for what failed after it:
    a history that failed makes it 3, an output that was not written 2, so that neither reads as a verdict."""
    code, meaning = _verdict(result)
    if history_error is not None:
        return 3, (f"the history file failed after the scan (see above), so this run is not in it; the findings "
                   f"are written, and their own verdict is exit {code}: {meaning}")
    if outputs_failed:
        return 2, (f"{outputs_failed} asked output(s) were not written (see above), so this run's record is "
                   f"incomplete; the findings' own verdict is exit {code}: {meaning}")
    return code, meaning


def _verdict(result: ScanResult) -> tuple[int, str]:
    code = result.exit_code()
    fail_on = result.fail_on.value
    new = "new or regressed " if result.fail_on_new and result.baseline is not None else ""
    if code == 2:
        failed = sum(1 for c in result.coverage if not c.collected)
        errors = sum(1 for f in result.findings if f.status is Status.ERROR)
        what = ", ".join(part for part in (
            f"{failed} scope(s) not collected" if failed else "",
            f"{errors} verdict(s) ERROR" if errors else "") if part)
        return code, (f"incomplete ({what}): some verdicts are missing, so the absence of a FAIL is not evidence "
                      "of compliance; never read this run as clean")
    if code == 1:
        return code, f"complete; {len(result.gating())} {new}FAIL finding(s) at or above {fail_on} gate the build"
    return code, f"complete; no {new}FAIL at or above {fail_on}"


def _incomplete(console: Console, result: ScanResult) -> None:
    failed = [c for c in result.coverage if not c.collected]
    if failed:
        console.line(f"INCOMPLETE: {len(failed)} scope(s) could not be collected:", event="incomplete",
                     level="warning", scopes=len(failed))
        for c in failed[:10]:
            console.line(f"  - {c.service} {c.account} {c.region}: {c.error}", event="coverage_error",
                         level="warning", provider=c.provider, service=c.service, account=c.account,
                         region=c.region, scope_id=c.scope_id, error=c.error)
        if len(failed) > 10:
            console.line(f"  ... and {len(failed) - 10} more (see the coverage table)", event="coverage_error",
                         level="warning", more=len(failed) - 10)
    errors = [f for f in result.findings if f.status is Status.ERROR]
    if not errors:
        return
    console.line(f"{len(errors)} finding(s) are ERROR: those rules could not be decided, so exit 2 (incomplete):",
                 event="errors", level="warning", errors=len(errors))
    for f in errors[:SHOWN]:
        console.line(f"  - ERROR {f.rule_id} on {f.resource_id}: {f.message}", event="error_finding",
                     level="warning", rule_id=f.rule_id, resource_id=f.resource_id, finding_id=f.id,
                     reason=f.message)
    if len(errors) > SHOWN:
        console.line(f"  ... and {len(errors) - SHOWN} more ERROR finding(s) (see findings.json)",
                     event="error_finding", level="warning", more=len(errors) - SHOWN)


def _waivers(console: Console, result: ScanResult) -> None:
    active = active_waivers(result)
    if active:
        soon = [a for a in active if a.expiring_soon]
        console.line(f"{len(active)} active waiver(s) mute {sum(a.mutes for a in active)} finding(s); {len(soon)} "
                     f"expire(s) within {EXPIRING_SOON_DAYS} days", event="waivers_active", active=len(active),
                     expiring_soon=len(soon))
        for a in active[:SHOWN]:
            w = a.waiver
            when = f"expires {w.expires.isoformat()} (in {a.days_left} days)"
            if a.expiring_soon:
                when = f"EXPIRES WITHIN {EXPIRING_SOON_DAYS} DAYS: {when}"
            console.line(f"  - waiver {_where(w)} ({_waiver_text(w)}) mutes {_mutes(a)}; {when}",
                         event="waiver_active", level="warning" if a.expiring_soon else "info",
                         waiver_number=w.number, line=w.line, mutes=a.mutes, expires=w.expires.isoformat(),
                         days_left=a.days_left, expiring_soon=a.expiring_soon, owner=w.owner)
        if len(active) > SHOWN:
            console.line(f"  ... and {len(active) - SHOWN} more active waiver(s) (see findings.json)",
                         event="waiver_active", more=len(active) - SHOWN)
    for w in sorted(result.expired_waivers, key=lambda w: w.index):
        console.line(f"waiver {_where(w)} ({_waiver_text(w)}) expired on {w.expires.isoformat()}: it mutes nothing; "
                     "renew it with a new reason or fix what it covered", event="waiver_expired", level="warning",
                     waiver_number=w.number, line=w.line, expires=w.expires.isoformat(), owner=w.owner)
    for w in sorted(result.unused_waivers, key=lambda w: w.index):
        nearest = nearest_resources(w, result)
        hint = f"; nearest scanned resources: {', '.join(nearest)}" if nearest else ""
        console.line(f"waiver {_where(w)} ({_waiver_text(w)}) matched no FAIL: remove it, or correct its rules or "
                     f"resources{hint}", event="waiver_unused", level="warning", waiver_number=w.number,
                     line=w.line, owner=w.owner, nearest=list(nearest))


def _where(w: Waiver) -> str:
    """``#2 at line 11``: the entry's number as people count them, and its line in the file when known."""
    return f"#{w.number} at line {w.line}" if w.line else f"#{w.number}"


def _mutes(a: ActiveWaiver) -> str:
    if not a.mutes:
        return "no finding"
    return f"{a.mutes} finding(s) (" + ", ".join(f"{n} {s.value}" for s, n in a.mutes_by_severity.items()) + ")"


def _waiver_text(w: Waiver) -> str:
    rules = ", ".join(w.rules[:3]) + (f" and {len(w.rules) - 3} more" if len(w.rules) > 3 else "")
    return f"{rules}; owner {w.owner}"
