"""``auditor remediate plan|apply|rollback``: the command line of :mod:`auditor.remediate`.

Attached to the main group with ``cli.add_command(remediate)``. Expected errors are raised as
:class:`~auditor.errors.AuditorError` (ConfigError for a bad plan file, journal, parameter or option:
exit code 3, naming file, line and field) and mapped once by ``auditor.cli.main``. Exit codes of
``apply`` and ``rollback``: 0 when every step applied (or already held) and verified, 1 when some
step was refused or failed (the journal says which), 3 for bad input or a missing confirmation.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from auditor.collectors.azure_session import CREDENTIAL_KINDS
from auditor.errors import ConfigError


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
@click.option("--quiet", is_flag=True, help="Do not print the plan.")
@_provider_options
def plan_command(findings_file: Path, rule_ids: tuple[str, ...], params: tuple[str, ...], out: Path, quiet: bool,
                 profile: str | None, credential: str, arm_endpoint: str | None) -> None:
    """Compute a reviewable plan from FINDINGS_FILE: no cloud call at all.

    The provider options are accepted for symmetry with apply and rollback; plan uses none of them.
    """
    from auditor.catalog import load_catalog
    from auditor.outputs.findings_read import read_findings
    from auditor.remediate.params import parse_params
    from auditor.remediate.plan import build_plan, render_text
    from auditor.remediate.planfile import sha256_of, write_plan

    parsed = parse_params(params, rule_ids)
    result = read_findings(findings_file)
    plan = build_plan(result, {"file": str(findings_file), "sha256": sha256_of(findings_file)}, parsed,
                      list(dict.fromkeys(rule_ids)), load_catalog())
    link = write_plan(plan, out)
    if link is not None:
        click.echo(f"auditor: {out} was a symbolic link to {link}: the link was replaced by the plan file "
                   "(nothing was written through it)", err=True)
    if not quiet:
        click.echo(render_text(plan), nl=False)
    click.echo(f"auditor: wrote {out} ({len(plan.steps)} step(s))", err=True)


@remediate.command("apply")
@click.argument("plan_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (required without a terminal).")
@click.option("--max-changes", type=click.IntRange(min=1), default=10, show_default=True,
              help="The most resources this run may change; steps beyond it are refused.")
@click.option("--journal", "journal_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The append-only journal (default: journal.jsonl beside the plan).")
@click.option("--allow-access-removal", is_flag=True,
              help="Apply steps that remove access (role assignments) when the plan named their rule.")
@_provider_options
def apply_command(plan_file: Path, yes: bool, max_changes: int, journal_file: Path | None, allow_access_removal: bool,
                  profile: str | None, credential: str, arm_endpoint: str | None) -> None:
    """Carry out a reviewed plan: re-read, apply, verify, journal every change."""
    from auditor.remediate.apply import ApplyOptions, apply_plan
    from auditor.remediate.planfile import read_plan
    from auditor.remediate.providers import ProviderOptions

    plan, digest = read_plan(plan_file)
    if any(s.finding.provider == "azure" and s.executable for s in plan.steps):
        from auditor.collectors.azure_session import arm_endpoint as check_endpoint

        check_endpoint(arm_endpoint)
    journal = journal_file or plan_file.parent / "journal.jsonl"
    runnable = [s for s in plan.steps if s.executable]
    click.echo(f"auditor: {plan_file}: {len(runnable)} automatic step(s) of {len(plan.steps)}; at most {max_changes} "
               f"resource(s) change; journal {journal}", err=True)
    for step in runnable:
        click.echo(f"  - {step.title} [{step.disruption.value}]", err=True)
    if runnable and not yes:
        _confirm("Apply these changes?")
    options = ApplyOptions(journal=journal, max_changes=max_changes, allow_access_removal=allow_access_removal)
    providers = ProviderOptions(profile=profile, credential=credential, arm_endpoint=arm_endpoint)
    report = apply_plan(plan, plan_file, digest, options, providers,
                        on_result=lambda step, r: click.echo(_line(r.outcome.value, r.rule_id, r.resource_id,
                                                                   r.detail)))
    counts = ", ".join(f"{n} {k}" for k, n in report.counts().items()) or "nothing to do"
    click.echo(f"auditor: {counts}; journal {journal}", err=True)
    sys.exit(report.exit_code)


@remediate.command("rollback")
@click.argument("journal_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (required without a terminal).")
@_provider_options
def rollback_command(journal_file: Path, yes: bool, profile: str | None, credential: str,
                     arm_endpoint: str | None) -> None:
    """Undo the changes JOURNAL_FILE records, newest first, each verified."""
    from auditor.remediate.providers import ProviderOptions
    from auditor.remediate.rollback import pending_undos, rollback_journal

    pending = pending_undos(journal_file)
    if not pending:
        click.echo(f"auditor: {journal_file}: nothing to undo", err=True)
        sys.exit(0)
    if any(c.kind.startswith("azure.") for c in pending):
        from auditor.collectors.azure_session import arm_endpoint as check_endpoint

        check_endpoint(arm_endpoint)
    click.echo(f"auditor: {journal_file}: {len(pending)} change(s) to undo, newest first:", err=True)
    for change in pending:
        click.echo(f"  - {change.kind} of {change.resource_id}: {change.after!r} -> {change.before!r}", err=True)
    if not yes:
        _confirm("Undo these changes?")
    providers = ProviderOptions(profile=profile, credential=credential, arm_endpoint=arm_endpoint)
    report = rollback_journal(journal_file, providers,
                              on_result=lambda change, r: click.echo(_line(r.outcome.value, change.kind,
                                                                           r.resource_id, r.detail)))
    counts = ", ".join(f"{n} {k}" for k, n in report.counts().items())
    click.echo(f"auditor: {counts}", err=True)
    if report.kept:
        click.echo(f"auditor: kept (created by apply, never deleted): {', '.join(report.kept)}", err=True)
    sys.exit(report.exit_code)


def _line(outcome: str, what: str, resource: str, detail: str) -> str:
    return f"{outcome:<20} {what}  {resource}" + (f": {detail}" if detail else "")
