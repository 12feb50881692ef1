"""The scan commands' rule filters: ``--rule``, ``--severity-min`` and ``--service`` (see auditor/selection.py).

One decorator adds the three options and hands the command a single ``rule_filter`` argument, so the
commands' signatures grow by one parameter. Building the command line imports nothing heavier than click.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click
from click.shell_completion import CompletionItem

from auditor.model import Severity


def _complete_rules(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The shipped catalog's rule ids starting with what was typed (read when the shell asks, not at import)."""
    from auditor.catalog import load_catalog

    rules = load_catalog()
    return [CompletionItem(rid, help=rules[rid].title) for rid in sorted(rules) if rid.startswith(incomplete)]


def _complete_services(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The services the shipped catalog's rules examine."""
    from auditor.catalog import load_catalog
    from auditor.selection import service_of

    services = sorted({service_of(rule) for rule in load_catalog().values()})
    return [CompletionItem(name) for name in services if name.startswith(incomplete)]


def rule_filter_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--rule, --severity-min and --service, handed to the command as one ``rule_filter`` (a RuleFilter)."""
    @functools.wraps(f)
    def command(*args: Any, rules: tuple[str, ...], severity_min: str | None, services: tuple[str, ...],
                **kwargs: Any) -> Any:
        from auditor.selection import RuleFilter

        wanted = RuleFilter(rules, Severity(severity_min) if severity_min else None, services)
        return f(*args, rule_filter=wanted, **kwargs)

    options = [
        click.option("--rule", "rules", multiple=True, metavar="ID_OR_GLOB", shell_complete=_complete_rules,
                     help="Evaluate only these rules of the policy (repeatable; ids or globs like 'aws.s3.*')."),
        click.option("--severity-min", type=click.Choice([s.value for s in Severity]),
                     help="Evaluate only the policy's rules of this severity or worse (after its overrides)."),
        click.option("--service", "services", multiple=True, metavar="NAME", shell_complete=_complete_services,
                     help="Evaluate only the policy's rules of this service (repeatable): the second part of "
                          "the resource type: sagemaker, iam, kms, s3, ml, apim, or a custom rule's."),
    ]
    for option in reversed(options):
        command = option(command)
    return command
