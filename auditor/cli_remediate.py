"""``auditor remediate plan|apply|rollback``: the command line of :mod:`auditor.remediate`.

Attached to the main group with ``cli.add_command(remediate)``. Expected errors are raised as
:class:`~auditor.errors.AuditorError` (ConfigError for a bad plan file, journal, parameter or option:
exit code 3, naming file, line and field) and mapped once by ``auditor.cli.main``. Exit codes of
``apply`` and ``rollback``: 0 when every step applied (or already held) and verified, 1 when some
step was refused or failed (the journal says which), 3 for bad input or a missing confirmation.

A reviewer's approval is bound to a plan by its SHA-256: ``plan`` prints it, ``apply`` shows it and,
given ``--plan-sha256``, applies no other file. ``apply`` checks the plan against the findings file
it was computed from and signs its journal with the journal key; ``rollback`` undoes nothing of a
journal that does not verify.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from auditor.errors import ConfigError
from auditor.providers.azure.session import CREDENTIAL_KINDS
from auditor.untrusted import printable


def _provider_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--arm-endpoint", envvar="AUDITOR_ARM_ENDPOINT",
                     help="Resource Manager endpoint (sovereign clouds, Azure Stack, a local test server); also "
                          "AUDITOR_ARM_ENDPOINT.")(f)
    f = click.option("--credential", type=click.Choice(CREDENTIAL_KINDS), default="default", show_default=True,
                     help="How azure-identity authenticates.")(f)
    return click.option("--profile", help="AWS profile from the shared config (default: the standard chain).")(f)


def _confirm(question: str) -> None:
    if not sys.stdin.isatty():
        raise ConfigError("refusing to change resources without a confirmation: there is no terminal to ask on; "
                          "review the plan, then pass --yes", field="--yes")
    if not click.confirm(question, default=False, err=True):
        raise click.Abort()


@click.group("remediate")
def remediate() -> None:
    """Plan, apply and roll back fixes of FAIL findings: reviewed, journaled, verified."""


@remediate.command("plan")
@click.argument("findings_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--rule", "rule_ids", multiple=True, metavar="ID",
              help="Plan only this rule's findings (repeatable). Naming "
                   "azure.ml.online_endpoint.identity_least_privilege makes its access removal applicable.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="A fix input (repeatable): kms_key_id, volume_kms_key_id, capture_kms_key_id, bucket_kms_key_id "
                   "(a key ARN per region, or alias/NAME). No key is ever created.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the plan (JSON).")
@click.option("--format", "output_format", type=click.Choice(("text", "markdown")), default="text", show_default=True,
              help="How the plan is printed: text for a terminal, markdown for a pull-request review (escaped).")
@click.option("--quiet", is_flag=True, help="Do not print the plan.")
@_provider_options
def plan_command(findings_file: Path, rule_ids: tuple[str, ...], params: tuple[str, ...], out: Path,
                 output_format: str, quiet: bool, profile: str | None, credential: str,
                 arm_endpoint: str | None) -> None:
    """Compute a reviewable plan from FINDINGS_FILE: no cloud call at all.

    The plan records the endpoints it would reach (--arm-endpoint, AWS_ENDPOINT_URL): apply elsewhere is refused.
    """
    from auditor.catalog import load_catalog
    from auditor.findings.read import read_findings
    from auditor.remediate.params import parse_params
    from auditor.remediate.plan import build_plan, render_text
    from auditor.remediate.planfile import sha256_of, write_plan
    from auditor.remediate.target import plan_target

    parsed = parse_params(params, rule_ids)
    result = read_findings(findings_file)
    plan = build_plan(result, {"file": str(findings_file), "sha256": sha256_of(findings_file)}, parsed,
                      list(dict.fromkeys(rule_ids)), load_catalog())
    plan = replace(plan, target=plan_target(plan, {"arm_endpoint": arm_endpoint}))
    link = write_plan(plan, out)
    if link is not None:
        click.echo(f"auditor: {out} was a symbolic link to {link}: the link was replaced by the plan file "
                   "(nothing was written through it)", err=True)
    digest = sha256_of(out)
    if not quiet and output_format == "markdown":
        from auditor.remediate.plan_markdown import render_markdown

        click.echo(render_markdown(plan, str(out), digest), nl=False)  # every untrusted value escaped
    elif not quiet:
        click.echo(render_text(plan), nl=False)  # each line escaped by render_text
    _say(f"auditor: wrote {out} ({len(plan.steps)} step(s)); plan SHA-256 {digest}")
    _say(f"auditor: approve that digest; apply exactly this file with: auditor remediate apply {out} "
         f"--plan-sha256 {digest}")


@remediate.command("apply")
@click.argument("plan_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (required without a terminal).")
@click.option("--plan-sha256", "plan_sha256", metavar="HEX",
              help="The plan's SHA-256 the reviewer approved (printed by plan): any other file is refused.")
@click.option("--findings", "findings_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The findings file the plan was computed from (default: the one the plan names).")
@click.option("--max-changes", type=click.IntRange(min=1), default=10, show_default=True,
              help="The most resources this run may change; steps beyond it are refused.")
@click.option("--journal", "journal_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The append-only journal (default: journal.jsonl beside the plan).")
@click.option("--allow-access-removal", is_flag=True,
              help="Apply steps that remove access (role assignments) when the plan named their rule.")
@click.option("--allow-drift", is_flag=True,
              help="Apply steps whose resource changed since the scan (by default they are refused).")
@click.option("--allow-endpoint", "allowed_endpoints", multiple=True, metavar="ENDPOINT",
              help="Apply against this endpoint though the plan was made against another (repeatable; the "
                   "refusal names what to pass).")
@click.option("--step", "step_names", multiple=True, metavar="N",
              help="Apply only this step: its number in the plan (or its step id); repeatable.")
@click.option("--rule", "rule_ids", multiple=True, metavar="ID",
              help="Apply only this rule's steps (repeatable); with --step, a step must match both.")
@_provider_options
def apply_command(plan_file: Path, yes: bool, plan_sha256: str | None, findings_file: Path | None, max_changes: int,
                  journal_file: Path | None, allow_access_removal: bool, allow_drift: bool,
                  allowed_endpoints: tuple[str, ...], step_names: tuple[str, ...], rule_ids: tuple[str, ...],
                  profile: str | None, credential: str, arm_endpoint: str | None) -> None:
    """Carry out a reviewed plan: check it against its scan, re-read, apply, verify, journal every change."""
    from auditor.providers import ProviderOptions
    from auditor.remediate.apply import ApplyOptions, apply_plan
    from auditor.remediate.binding import bind_plan
    from auditor.remediate.journal_key import ENV_KEY, journal_key
    from auditor.remediate.planfile import read_plan
    from auditor.remediate.select import describe_selection, select_steps
    from auditor.remediate.target import check_target

    whole, digest = read_plan(plan_file)
    binding = bind_plan(whole, plan_file, digest, findings_file=findings_file, approved_sha256=plan_sha256)
    plan = select_steps(whole, step_names, rule_ids)
    if any(s.finding.provider == "azure" and s.executable for s in plan.steps):
        from auditor.providers.azure.session import arm_endpoint as check_endpoint

        check_endpoint(arm_endpoint)
    providers = ProviderOptions(values={"profile": profile, "credential": credential, "arm_endpoint": arm_endpoint})
    check_target(plan, plan_file, providers, allowed_endpoints)
    journal = journal_file or plan_file.parent / "journal.jsonl"
    runnable = [s for s in plan.steps if s.executable]
    approval = "the approved digest" if plan_sha256 else "not pinned: pass --plan-sha256 with the approved digest"
    _say(f"auditor: {plan_file}: SHA-256 {digest} ({approval}); computed from {binding.findings_file} "
         f"(SHA-256 {binding.findings_sha256}), scopes {', '.join(binding.scopes) or 'none'}")
    if plan is not whole:
        _say(f"auditor: selected {describe_selection(whole, plan)} (--step/--rule); the others are not applied")
    _say(f"auditor: {len(runnable)} automatic step(s) of {len(plan.steps)}; at most {max_changes} "
         f"resource(s) change; journal {journal}")
    for step in runnable:
        _say(f"  - {step.title} [{step.disruption.value}]")
    if runnable and not yes:
        _confirm("Apply these changes?")
    key = journal_key(create=True)
    if key.created:
        click.echo(f"auditor: created the journal key {key.source} (mode 0600): rolling this journal back needs it; "
                   f"in CI, set {ENV_KEY} from a secret instead", err=True)
    options = ApplyOptions(journal=journal, max_changes=max_changes, allow_access_removal=allow_access_removal,
                           key=key, allow_drift=allow_drift, allowed_endpoints=allowed_endpoints,
                           selected_steps=step_names, selected_rules=rule_ids)
    report = apply_plan(plan, plan_file, digest, options, providers, binding=binding,
                        on_result=lambda step, r: _say(_line(r.outcome.value, r.rule_id, r.resource_id, r.detail),
                                                       out=True))
    counts = ", ".join(f"{n} {k}" for k, n in report.counts().items()) or "nothing to do"
    created = f"; created and kept: {', '.join(report.created_kept)}" if report.created_kept else ""
    _say(f"auditor: {counts}{created}; journal {journal}, run {report.run} (undo this run alone with: auditor "
         f"remediate rollback {journal} --run {report.run}), signed with the journal key {key.id} from {key.source}")
    sys.exit(report.exit_code)


@remediate.command("rollback")
@click.argument("journal_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (required without a terminal).")
@click.option("--run", "only_run", metavar="ID", help="Undo this apply run only (apply prints its id).")
@_provider_options
def rollback_command(journal_file: Path, yes: bool, only_run: str | None, profile: str | None, credential: str,
                     arm_endpoint: str | None) -> None:
    """Undo the changes JOURNAL_FILE records, newest first, each verified; the journal is verified first."""
    from auditor.providers import ProviderOptions
    from auditor.remediate.journal_key import journal_key
    from auditor.remediate.rollback import read_for_rollback, rollback_journal

    verified = read_for_rollback(journal_file)  # the schema first, then the key and the chain
    key = journal_key(create=False)
    pending = verified.pending(only_run)
    for run in verified.unfinished():
        click.echo(f"auditor: {journal_file}: run {run} has no run-finished line: it was interrupted, or the end of "
                   "the journal was cut off (which no chain can show); what the journal holds is undone", err=True)
    if not pending:
        _say(f"auditor: {journal_file}: nothing to undo")
        sys.exit(0)
    if any(c.kind.startswith("azure.") for c in pending):
        from auditor.providers.azure.session import arm_endpoint as check_endpoint

        check_endpoint(arm_endpoint)
    which = f"of run {only_run} " if only_run else ""
    _say(f"auditor: {journal_file} (verified with the journal key {key.id}): {len(pending)} change(s) {which}to "
         "undo, newest first:")
    for change in pending:
        _say(f"  - {change.kind} of {change.resource_id}: {change.after!r} -> {change.before!r}")
    if not yes:
        _confirm("Undo these changes?")
    providers = ProviderOptions(values={"profile": profile, "credential": credential, "arm_endpoint": arm_endpoint})
    report = rollback_journal(journal_file, providers, only_run=only_run, key=key,
                              expected=[c.change for c in pending],
                              on_result=lambda change, r: _say(_line(r.outcome.value, change.kind,
                                                                     r.resource_id, r.detail), out=True))
    counts = ", ".join(f"{n} {k}" for k, n in report.counts().items())
    _say(f"auditor: {counts}")
    if report.kept:
        _say(f"auditor: kept (created by apply, never deleted): {', '.join(report.kept)}")
    sys.exit(report.exit_code)


def _say(text: str, *, out: bool = False) -> None:
    """Print a line on stderr (``out``: stdout) with what services, plans and journals said made harmless:
    control characters, escape sequences and line breaks shown as escapes (``\\x1b``)."""
    click.echo(printable(text), err=not out)


def _line(outcome: str, what: str, resource: str, detail: str) -> str:
    return f"{outcome:<20} {what}  {resource}" + (f": {detail}" if detail else "")
