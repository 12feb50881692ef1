"""``auditor rules list|show|test``: the rule catalog on the command line.

Attached to the main group with ``cli.add_command(rules)``; expected errors are raised as
:class:`~auditor.errors.ConfigError` (exit 3) and mapped once by ``auditor.cli.main``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from auditor.errors import ConfigError
from auditor.model import Severity

SEVERITIES = tuple(s.value for s in Severity)


@click.group("rules")
def rules() -> None:
    """The rule catalog."""


@rules.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table",
              show_default=True, help="markdown: a GitHub table (the README's rule catalog is this output).")
@click.option("--provider", type=click.Choice(["aws", "azure"]), help="Only the rules of this cloud.")
@click.option("--severity", type=click.Choice(SEVERITIES),
              help="Only rules of this severity or above (critical > high > medium > low > info), the rules "
                   "a FAIL of which gates a scan run with --fail-on of the same severity.")
def rules_list(fmt: str, provider: str | None, severity: str | None) -> None:
    """List the rules of the shipped catalog with their severity and resource type."""
    from auditor.catalog import load_catalog
    from auditor.rules_view import rule_summary, rules_markdown, rules_table, select

    chosen = select(load_catalog().values(), provider, Severity(severity) if severity else None)
    if fmt == "json":
        click.echo(json.dumps([rule_summary(r) for r in chosen], indent=2))
    elif fmt == "markdown":
        click.echo(rules_markdown(chosen))
    elif chosen:
        click.echo(rules_table(chosen))


@rules.command("show")
@click.argument("rule_id")
def rules_show(rule_id: str) -> None:
    """Show one rule: rationale, its whole condition, parameters, remediation, public anchors and frameworks."""
    from auditor.catalog import load_catalog
    from auditor.rules_view import rule_details

    catalog = load_catalog()
    if rule_id not in catalog:
        raise ConfigError(f"unknown rule id '{rule_id}' (see 'auditor rules list')", field="RULE_ID")
    click.echo(rule_details(catalog[rule_id]))


@rules.command("test")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def rules_test(directory: Path) -> None:
    """Run the rule cases in DIRECTORY against the catalog plus the rules in DIRECTORY.

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
    from auditor.policy import run_rule_tests

    run = run_rule_tests(directory)
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
