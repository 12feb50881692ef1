"""``auditor scan aws|azure|...|all|plan``: collect an estate (or read a plan), evaluate, write the reports.

Attached to the main group with ``cli.add_command(scan)``; expected errors are raised as
:class:`~auditor.errors.AuditorError` and mapped once by ``auditor.cli.main``. One command per provider of the
registry and ``scan all`` are made from the providers' declared options; ``scan plan`` judges planned changes.

The options every command that ends in a scan result shares (``--baseline``, ``--fail-on-new``, ``--history``,
``--owner-tag``), the early checks of the output directory and of the tracking files, and ``finish_run`` (history,
outputs, summary, exit code) are here too: ``auditor demo`` and ``auditor merge`` end as a scan does, and
``auditor report`` re-renders with the same options.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from auditor.cli_console import console_options
from auditor.cli_filters import rule_filter_options
from auditor.errors import ConfigError
from auditor.model import ScanResult, Severity
from auditor.outputs import formats as output_formats

if TYPE_CHECKING:
    from auditor.console import Console
    from auditor.pipeline import Collect, Tracking
    from auditor.providers import CliOption
    from auditor.selection import RuleFilter
    from auditor.shard import Shard


SEVERITIES = tuple(s.value for s in Severity)

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def combined(options: Sequence[Decorator]) -> Decorator:
    """One decorator applying ``options`` in order (the first is the first in --help)."""
    def apply(f: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            f = option(f)
        return f

    return apply


def _common_scan_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options: list[Decorator] = [
        click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                     default=Path("audit-out"), show_default=True, help="Directory for the outputs."),
        click.option("--format", "formats", type=click.Choice(output_formats.NAMES), multiple=True,
                     help=f"Output format (repeatable). Default: {' and '.join(output_formats.DEFAULTS)}."),
        click.option("--policy", "policy_file", type=click.Path(dir_okay=False, path_type=Path),
                     help="YAML policy file: rule selection, parameters, severity overrides, scopes, custom rules."),
        click.option("--waivers", "waivers_file", type=click.Path(dir_okay=False, path_type=Path),
                     help="YAML waivers file (rules, resources, reason, owner, expires; broad: true for a waiver "
                          "of every resource of a rule or one expiring after --max-waiver-days)."),
        click.option("--max-waiver-days", type=click.IntRange(min=1), default=365, show_default=True,
                     help="A waiver expiring further out than this needs 'broad: true'."),
        click.option("--fail-on", type=click.Choice(SEVERITIES), default="high", show_default=True,
                     help="Lowest severity of a FAIL that makes the exit code 1."),
        *tracking_options(),
        owner_tag_option(),
        click.option("--shard", callback=_shard_value, metavar="K/N",
                     help="Read only shard K of N: a stable share of the scopes (AWS account and region, Azure "
                          "subscription); 'auditor merge' joins the N shards' findings into one result."),
    ]
    return console_options(combined(options)(f))


def owner_tag_option(default: str | None = "owner") -> Decorator:
    """--owner-tag: the tag each finding's owner is read from (auditor.owners)."""
    def checked(context: click.Context, param: click.Parameter, value: str | None) -> str | None:
        from auditor.owners import check_tag_name

        return None if value is None else check_tag_name(value)

    return click.option("--owner-tag", "owner_tag", default=default, show_default=default is not None,
                        callback=checked, metavar="NAME",
                        help="Tag naming a resource's owner, shown with its findings; matched case-insensitively "
                             "(Owner, OWNER and owner are one tag, as in Azure). No such tag: unowned; tags that "
                             "could not be read: unknown." + ("" if default else
                             " Re-reads the owners by this tag from the file's inventory (default: as recorded)."))


def _shard_value(context: click.Context, parameter: click.Parameter, value: str | None) -> Shard:
    """--shard K/N (1 <= K <= N; exit 3 otherwise); none given: the whole scan (1/1)."""
    from auditor.shard import WHOLE, Shard

    return WHOLE if value is None else Shard.parse(value)


def baseline_option() -> Decorator:
    return click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, path_type=Path),
                        help="A previous findings.json: mark every finding new, still failing, regressed, "
                             "newly waived, resolved, unknown or unchanged (matched by finding id).")


def tracking_options() -> list[Decorator]:
    return [
        baseline_option(),
        click.option("--fail-on-new", is_flag=True,
                     help="With --baseline: exit 1 only for new or regressed FAILs at or above --fail-on "
                          "(an incomplete scan still exits 2)."),
        click.option("--history", "history_file", type=click.Path(dir_okay=False, path_type=Path),
                     help="SQLite file to append this run to (created when missing); the report draws the "
                          "trend of its last 30 runs."),
    ]


@click.group("scan")
def scan() -> None:
    """Collect an estate, evaluate the rule catalog, write the reports."""


def finish_run(result: ScanResult, out_dir: Path, formats: Sequence[str], console: Console, tracking: Tracking) -> None:
    """Record the run in the history, write the outputs, summarise, exit: a history failing now is reported
    after the findings are written (exit 3), an output failing costs only itself (exit 2)."""
    from auditor.console_summary import summarise
    from auditor.pipeline import finish

    asked = list(formats) or list(output_formats.DEFAULTS)
    done = finish(result, tracking, asked, out_dir)
    sys.exit(summarise(console, done.result, done.outputs.written, failed=done.outputs.failed,
                       replaced_links=done.outputs.replaced_links, history_error=done.history_error,
                       stale=_older_outputs(out_dir, asked)))


def _older_outputs(out_dir: Path, asked: Sequence[str]) -> list[tuple[Path, str]]:
    """The outputs of formats not asked this time that an earlier run left in ``out_dir`` (they are stale)."""
    return [(out_dir / f.filename, f.name) for f in output_formats.FORMATS
            if f.name not in asked and (out_dir / f.filename).is_file()]


def check_out(out_dir: Path) -> None:
    """--out: created if missing, a directory, writable; exit 3 before any API call otherwise."""
    from auditor.outputs import check_out_dir

    check_out_dir(out_dir)


def _scan(collectors: Mapping[str, Collect], policy_file: Path | None, waivers_file: Path | None, fail_on: str,
          console: Console, tracking: Tracking, rule_filter: RuleFilter, max_waiver_days: int,
          owner_tag: str, shard: Shard | None = None, arguments: Mapping[str, Any] | None = None) -> ScanResult:
    """Validate the policy, the rule filters and the waivers before any API call, collect, then evaluate."""
    from auditor.pipeline import scan
    from auditor.shard import WHOLE

    return scan(collectors, fail_on=Severity(fail_on), waivers_file=waivers_file, policy_file=policy_file,
                rule_filter=rule_filter, max_waiver_days=max_waiver_days, tracking=tracking, console=console,
                owner_tag=owner_tag, shard=shard or WHOLE, arguments=arguments)


def read_tracking(baseline_file: Path | None, fail_on_new: bool, history_file: Path | None) -> Tracking:
    """--baseline, --fail-on-new and --history, read and checked before any API call."""
    from auditor.pipeline import open_tracking

    return open_tracking(baseline_file, fail_on_new, history_file)


def _provider_options(providers: Sequence[str]) -> Decorator:
    """The command-line options of ``providers`` (from the registry), the first provider's first."""
    from auditor.providers import get

    return combined([_click_option(option) for name in providers for option in get(name).cli.options])


def _click_option(option: CliOption) -> Decorator:
    kwargs: dict[str, Any] = {"help": option.help}
    if option.multiple:
        kwargs["multiple"] = True
    if option.choices is not None:
        kwargs["type"] = click.Choice(option.choices)
    if option.default is not None:
        kwargs.update(default=option.default, show_default=True)
    if option.envvar is not None:
        kwargs["envvar"] = option.envvar
    if option.flag:
        kwargs["is_flag"] = True
    return click.option(*option.flags, option.param, **kwargs)


def _collector(name: str, values: Mapping[str, Any], shard: Shard) -> Collect:
    """Provider ``name``'s collection with its options from the command line (checked now: exit 3 before any call)."""
    from auditor.providers import get

    provider = get(name)
    options = provider.options({**{option.param: values[option.param] for option in provider.cli.options},
                                "shard": shard})
    return lambda progress: provider.collect(options, progress)


def _scan_command(command_name: str, providers: Sequence[str], help_text: str) -> None:
    """``auditor scan COMMAND_NAME``: the providers' options, then the common scan options."""

    def command(out_dir: Path, formats: tuple[str, ...], policy_file: Path | None, waivers_file: Path | None,
                fail_on: str, baseline_file: Path | None, fail_on_new: bool, history_file: Path | None,
                console: Console, rule_filter: RuleFilter, max_waiver_days: int, owner_tag: str, shard: Shard,
                **values: Any) -> None:
        from auditor.shard import recorded_arguments

        tracking = read_tracking(baseline_file, fail_on_new, history_file)
        check_out(out_dir)
        arguments = recorded_arguments(providers, values)  # recorded before the shard's scopes are decided
        result = _scan({name: _collector(name, values, shard) for name in providers}, policy_file, waivers_file,
                       fail_on, console, tracking, rule_filter, max_waiver_days, owner_tag, shard, arguments)
        finish_run(result, out_dir, formats, console, tracking)

    command.__doc__ = help_text
    scan.command(command_name)(_provider_options(providers)(_common_scan_options(rule_filter_options(command))))


def _scan_commands() -> None:
    """``scan NAME`` for every provider of the registry, and ``scan all`` for all of them into one report."""
    from auditor.providers import get, names

    for name in names():
        _scan_command(name, (name,), get(name).cli.help)
    labels = [get(name).cli.label for name in names()]
    _scan_command("all", names(), f"Scan {', '.join(labels[:-1])} and {labels[-1]} into one report."
                  if len(labels) > 1 else f"Scan {labels[0]} into one report.")


_scan_commands()


@scan.command("plan")
@click.argument("plan_files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@_common_scan_options
@rule_filter_options
def scan_plan(plan_files: tuple[Path, ...], out_dir: Path, formats: tuple[str, ...], policy_file: Path | None,
              waivers_file: Path | None, fail_on: str, baseline_file: Path | None, fail_on_new: bool,
              history_file: Path | None, console: Console, rule_filter: RuleFilter, max_waiver_days: int,
              owner_tag: str, shard: Shard) -> None:
    """Judge planned changes before they are applied: the JSON of `terraform show -json PLANFILE` or of
    `pulumi preview --json`, with the same rules, waivers, outputs and exit codes as a scan."""
    from auditor.iac.collect import plan_collector

    if shard.total != 1:
        raise ConfigError("a plan scan reads files, not cloud scopes: scan each plan in its own job instead",
                          field="--shard")
    tracking = read_tracking(baseline_file, fail_on_new, history_file)
    check_out(out_dir)
    collect = plan_collector(plan_files)  # every file read and checked first: exit 3 names file and field
    result = _scan({"plan": collect}, policy_file, waivers_file, fail_on, console, tracking, rule_filter,
                   max_waiver_days, owner_tag)
    finish_run(result, out_dir, formats, console, tracking)
