"""``auditor rules list|show|test``: the rule catalog on the command line.

Attached to the main group with ``cli.add_command(rules)``; expected errors are raised as
:class:`~auditor.errors.ConfigError` (exit 3) and mapped once by ``auditor.cli.main``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from auditor.errors import ConfigError
from auditor.model import Rule, Severity
from auditor.providers import names as provider_names

SEVERITIES = tuple(s.value for s in Severity)


@click.group("rules")
def rules() -> None:
    """The rule catalog."""


def _policy_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--policy", "policy_file", type=click.Path(dir_okay=False, path_type=Path),
                        help="A policy file: its custom rules and rule packs, parameters and severity "
                             "overrides, as a scan with --policy sees them.")(f)


@rules.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table",
              show_default=True, help="markdown: a GitHub table (the README's rule catalog is this output).")
@click.option("--provider", type=click.Choice(provider_names()), help="Only the rules of this cloud.")
@click.option("--severity", type=click.Choice(SEVERITIES),
              help="Only rules of this severity or above (critical > high > medium > low > info), the rules "
                   "a FAIL of which gates a scan run with --fail-on of the same severity.")
@_policy_option
def rules_list(fmt: str, provider: str | None, severity: str | None, policy_file: Path | None) -> None:
    """List the rules with their severity and resource type: the shipped catalog, or with --policy the rules a
    scan under that policy evaluates (its custom rules and packs, parameters and severity overrides)."""
    from auditor.rules_view import rule_summary, rules_markdown, rules_table, select

    catalog, excluded = _rules_of(policy_file)
    chosen = select(catalog.values(), provider, Severity(severity) if severity else None)
    excluded = {k: v for k, v in excluded.items() if provider is None or k.startswith(f"{provider}.")}
    if excluded:
        click.echo(f"auditor: {len(excluded)} rule(s) not evaluated under {policy_file} (see 'auditor rules show ID "
                   f"--policy {policy_file}'): {', '.join(sorted(excluded)[:5])}"
                   + (f" and {len(excluded) - 5} more" if len(excluded) > 5 else ""), err=True)
    if fmt == "json":
        click.echo(json.dumps([rule_summary(r) for r in chosen], indent=2))
    elif fmt == "markdown":
        click.echo(rules_markdown(chosen))
    elif chosen:
        click.echo(rules_table(chosen))


@rules.command("show")
@click.argument("rule_id")
@_policy_option
def rules_show(rule_id: str, policy_file: Path | None) -> None:
    """Show one rule: rationale, its whole condition, parameters, remediation, public anchors and frameworks;
    with --policy as a scan under that policy evaluates it (a custom rule or a pack's, its parameters and
    severity), or why the policy leaves it out."""
    from auditor.rules_view import rule_details

    if policy_file is None:
        from auditor.catalog import load_catalog

        catalog, known, excluded = load_catalog(), {}, {}
    else:
        from auditor.policy import load_policy
        from auditor.remediate import available

        policy = load_policy(policy_file, remediators=available())
        catalog, known, excluded = dict(policy.rules), dict(policy.all_rules), dict(policy.excluded)
    if rule_id in catalog:
        click.echo(rule_details(catalog[rule_id]))
    elif rule_id in known:
        click.echo(rule_details(known[rule_id]))
        click.echo(f"\nNot evaluated under {policy_file}: {excluded.get(rule_id, 'not selected')}")
    else:
        raise ConfigError(f"unknown rule id '{rule_id}' (see 'auditor rules list"
                          + (f" --policy {policy_file}" if policy_file else "") + "')", field="RULE_ID")


def _rules_of(policy_file: Path | None) -> tuple[dict[str, Rule], dict[str, str]]:
    """The rules a scan evaluates (under ``policy_file``, when given) and those it leaves out, with why."""
    if policy_file is None:
        from auditor.catalog import load_catalog

        return dict(load_catalog()), {}
    from auditor.policy import load_policy
    from auditor.remediate import available

    policy = load_policy(policy_file, remediators=available())
    return dict(policy.rules), dict(policy.excluded)


@rules.command("test")
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
def rules_test(directory: Path | None) -> None:
    """Run the rule cases in DIRECTORY against the catalog plus the rules in DIRECTORY; without DIRECTORY,
    the shipped catalog's own cases (each rule's <id>.cases.yaml beside it).

    \b
    A rule pack, like the shipped catalog:
      DIRECTORY/**/<rule id>.yaml      a rule, in the catalog's format
      DIRECTORY/**/<name>.cases.yaml   its cases, next to it (or any YAML file in a cases/ folder)
      DIRECTORY/frameworks/*.yaml      optional framework mappings
    A case file names its rule and lists cases, each a resource document and the status it must get:
      rule: aws.acme.sagemaker.endpoint.tagged
      cases:
        - name: tagged endpoint passes
          expect: PASS          # PASS, FAIL, ERROR or NOT_APPLICABLE
          document: {EndpointName: e1, Tags: [...]}
          tags: {env: prod}     # optional: related, unreadable, inventory, id, region, account

    Prints every case with ok or FAIL. Exit 0 when every case holds, 1 when one does not, 3 when a file is
    malformed or there is no case file.
    """
    from auditor.paths import rules_dir
    from auditor.policy import run_rule_tests

    run = run_rule_tests(directory or rules_dir())
    failed = 0
    for r in run.results:
        click.echo(f"{'ok  ' if r.ok else 'FAIL'}  {r.case.rule_id}: {r.case.name}")
        if not r.ok:
            failed += 1
            click.echo(f"      {r.case.file}:{r.case.line}: expected {r.case.expect.value}, got "
                       f"{r.finding.status.value}: {r.finding.message}")
    for rule_id in run.untested:
        click.echo(f"auditor: note: rule {rule_id} has no case", err=True)
    click.echo(f"{len(run.results)} case{'s' if len(run.results) != 1 else ''}, {failed} failed")
    sys.exit(1 if failed else 0)
