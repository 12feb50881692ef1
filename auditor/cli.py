"""Command line: parses options, calls library functions, maps errors to exit codes.

Exit codes (product-spec): 0 clean, 1 a FAIL at or above --fail-on, 2 incomplete (wins over 1),
3 usage or configuration error. Expected errors are caught here, once, without a traceback.

Inputs and the output directory are checked before any API call (exit 3). Once a scan has collected, its
findings are always written: an asked output that cannot be rendered or written costs only itself and
makes the exit 2 (the run's record is incomplete), a history that fails after the scan makes it 3; neither
can ever exit 0 or 1.
"""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from auditor import __version__
from auditor.cli_console import console_options
from auditor.cli_filters import rule_filter_options
from auditor.cli_remediate import remediate
from auditor.cli_rules import rules
from auditor.errors import AuditorError, ConfigProblemsError
from auditor.model import ScanResult, Severity
from auditor.outputs import formats as output_formats
from auditor.providers import names as provider_names
from auditor.untrusted import printable

if TYPE_CHECKING:
    from auditor.console import Console
    from auditor.pipeline import Collect, Tracking
    from auditor.providers import CliOption
    from auditor.selection import RuleFilter

SEVERITIES = tuple(s.value for s in Severity)

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _options(options: Sequence[Decorator]) -> Decorator:
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
        *_tracking_options(),
        _owner_tag_option(),
    ]
    return console_options(_options(options)(f))


def _owner_tag_option(default: str | None = "owner") -> Decorator:
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


def _baseline_option() -> Decorator:
    return click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, path_type=Path),
                        help="A previous findings.json: mark every finding new, still failing, regressed, "
                             "newly waived, resolved, unknown or unchanged (matched by finding id).")


def _tracking_options() -> list[Decorator]:
    return [
        _baseline_option(),
        click.option("--fail-on-new", is_flag=True,
                     help="With --baseline: exit 1 only for new or regressed FAILs at or above --fail-on "
                          "(an incomplete scan still exits 2)."),
        click.option("--history", "history_file", type=click.Path(dir_okay=False, path_type=Path),
                     help="SQLite file to append this run to (created when missing); the report draws the "
                          "trend of its last 30 runs."),
    ]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="auditor")
def cli() -> None:
    """Security compliance auditor for ML model-serving endpoints."""


@cli.group()
def scan() -> None:
    """Collect an estate, evaluate the rule catalog, write the reports."""


def _finish(result: ScanResult, out_dir: Path, formats: Sequence[str], console: Console, tracking: Tracking) -> None:
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


def _check_out(out_dir: Path) -> None:
    """--out: created if missing, a directory, writable; exit 3 before any API call otherwise."""
    from auditor.outputs import check_out_dir

    check_out_dir(out_dir)


def _scan(collectors: Mapping[str, Collect], policy_file: Path | None, waivers_file: Path | None, fail_on: str,
          console: Console, tracking: Tracking, rule_filter: RuleFilter, max_waiver_days: int,
          owner_tag: str) -> ScanResult:
    """Validate the policy, the rule filters and the waivers before any API call, collect, then evaluate."""
    from auditor.pipeline import scan

    return scan(collectors, fail_on=Severity(fail_on), waivers_file=waivers_file, policy_file=policy_file,
                rule_filter=rule_filter, max_waiver_days=max_waiver_days, tracking=tracking, console=console,
                owner_tag=owner_tag)


def _tracking(baseline_file: Path | None, fail_on_new: bool, history_file: Path | None) -> Tracking:
    """--baseline, --fail-on-new and --history, read and checked before any API call."""
    from auditor.pipeline import open_tracking

    return open_tracking(baseline_file, fail_on_new, history_file)


def _provider_options(providers: Sequence[str]) -> Decorator:
    """The command-line options of ``providers`` (from the registry), the first provider's first."""
    from auditor.providers import get

    return _options([_click_option(option) for name in providers for option in get(name).cli.options])


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


def _collector(name: str, values: Mapping[str, Any]) -> Collect:
    """Provider ``name``'s collection with its options from the command line (checked now: exit 3 before any call)."""
    from auditor.providers import get

    provider = get(name)
    options = provider.options({option.param: values[option.param] for option in provider.cli.options})
    return lambda progress: provider.collect(options, progress)


def _scan_command(command_name: str, providers: Sequence[str], help_text: str) -> None:
    """``auditor scan COMMAND_NAME``: the providers' options, then the common scan options."""

    def command(out_dir: Path, formats: tuple[str, ...], policy_file: Path | None, waivers_file: Path | None,
                fail_on: str, baseline_file: Path | None, fail_on_new: bool, history_file: Path | None,
                console: Console, rule_filter: RuleFilter, max_waiver_days: int, owner_tag: str,
                **values: Any) -> None:
        tracking = _tracking(baseline_file, fail_on_new, history_file)
        _check_out(out_dir)
        result = _scan({name: _collector(name, values) for name in providers}, policy_file, waivers_file, fail_on,
                       console, tracking, rule_filter, max_waiver_days, owner_tag)
        _finish(result, out_dir, formats, console, tracking)

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


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("audit-out"),
              show_default=True, help="Directory for the outputs.")
@click.option("--format", "formats", type=click.Choice(output_formats.NAMES), multiple=True,
              help=f"Output format (repeatable). Default: {' and '.join(output_formats.DEFAULTS)}.")
@click.option("--fail-on", type=click.Choice(SEVERITIES), default="high", show_default=True)
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML policy file to evaluate the demo estate under (try one before a real scan).")
@click.option("--waivers", "waivers_file", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML waivers file to evaluate the demo estate with (try one before a real scan).")
@click.option("--max-waiver-days", type=click.IntRange(min=1), default=365, show_default=True,
              help="A waiver expiring further out than this needs 'broad: true'.")
@click.option("--serve", is_flag=True,
              help="Do not scan: keep the demo estate up on loopback and print the export lines that point a "
                   "shell's auditor at it (scan, remediate plan/apply/rollback); Ctrl-C or SIGTERM stops it.")
@click.option("--port-file", type=click.Path(dir_okay=False, path_type=Path),
              help="With --serve: write the endpoints and environment as JSON to this file once the estate is up "
                   "(removed when it stops).")
@_options(_tracking_options())
@_owner_tag_option()
@console_options
@rule_filter_options
def demo(out_dir: Path, formats: tuple[str, ...], fail_on: str, policy_file: Path | None, waivers_file: Path | None,
         max_waiver_days: int, serve: bool, port_file: Path | None, baseline_file: Path | None, fail_on_new: bool,
         history_file: Path | None, owner_tag: str, console: Console, rule_filter: RuleFilter) -> None:
    """Scan an embedded demo estate served on loopback (no cloud account, no network), or serve it (--serve)."""
    if serve or port_file is not None:
        _serve_demo(port_file)
    from auditor.demo.run import run_demo

    tracking = _tracking(baseline_file, fail_on_new, history_file)  # before the demo's servers start
    _check_out(out_dir)
    result = run_demo(Severity(fail_on), console, policy_file, tracking, rule_filter, waivers_file, max_waiver_days,
                      owner_tag)
    _finish(result, out_dir, formats, console, tracking)
    # _finish exits; the report location is printed there


def _serve_demo(port_file: Path | None) -> None:
    """``demo --serve``: refuse the scan's options (they would do nothing), serve until a signal, exit 0."""
    from auditor.demo.serve import check_port_file, serve

    context = click.get_current_context()
    if not context.params["serve"]:
        raise click.UsageError("--port-file needs --serve")
    given = sorted(param.opts[0] for param in context.command.params if param.name is not None
                   and param.name not in ("serve", "port_file", "quiet", "verbose", "log_format")
                   and context.get_parameter_source(param.name) is not click.core.ParameterSource.DEFAULT)
    if given:
        raise click.UsageError(f"--serve scans nothing: {', '.join(given)} would have no effect; pass them to the "
                               "commands you run against the served estate")
    if port_file is not None:
        check_port_file(port_file)
    quiet = bool(context.params.get("quiet"))
    serve(port_file, emit=click.echo, say=lambda text: None if quiet else click.echo(text, err=True))
    sys.exit(0)


@cli.command()
@click.argument("findings_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "formats", type=click.Choice(output_formats.NAMES), multiple=True,
              help=f"Output format (repeatable). Default: {' and '.join(output_formats.DEFAULTS)}.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for the outputs (the findings file itself is never written over).")
@_baseline_option()
@_owner_tag_option(default=None)
@console_options
def report(findings_file: Path, formats: tuple[str, ...], out_dir: Path, baseline_file: Path | None,
           owner_tag: str | None, console: Console) -> None:
    """Re-render outputs from a findings file; exit with the exit code of the scan that wrote it.

    A re-rendered report never looks cleaner than its scan (0, 1 or 2 as the scan) and appends nothing to a
    history. Exit 3 when FINDINGS_FILE is not a findings.json (another of the tool's outputs is named) or an
    output would overwrite it. With --baseline, the findings are compared with that earlier findings file
    (replacing any comparison the file holds); the file's own --fail-on-new setting still decides which
    findings gate.
    """
    from auditor.console_summary import summarise
    from auditor.rerender import rerender

    _check_out(out_dir)
    done = rerender(findings_file, list(formats) or list(output_formats.DEFAULTS), out_dir, explicit=bool(formats),
                    baseline_file=baseline_file, owner_tag=owner_tag)
    for path in done.left_out:
        console.line(f"left {path} as it is: it is the input", event="left_out", path=str(path))
    sys.exit(summarise(console, done.result, done.outputs.written, rerendered=True, failed=done.outputs.failed,
                       replaced_links=done.outputs.replaced_links))


@cli.command()
@click.argument("provider", type=click.Choice(provider_names()))
@click.option("--remediate", "for_remediation", is_flag=True,
              help="The write permissions 'auditor remediate apply/rollback' need, separate from the scan's.")
@click.option("--org", is_flag=True, help="aws: the policies of 'scan aws --org' (the member role's and the "
              "caller's) and a CloudFormation StackSet template deploying the member role (needs --role-name).")
@click.option("--role-name", help="aws --org: the member role's name.")
@click.option("--external-id", help="aws --org: the sts:ExternalId the member role's trust policy requires.")
@click.option("--trusted-principal", help="aws --org: the template's default trusted principal (the caller's "
              "account id, or its role's ARN).")
def permissions(provider: str, for_remediation: bool, org: bool, role_name: str | None, external_id: str | None,
                trusted_principal: str | None) -> None:
    """Print the least-privilege IAM policy (aws) or custom role (azure): read-only for the scan by default."""
    from auditor.providers import get

    if org or role_name or external_id or trusted_principal:
        from auditor.providers.aws.options import org_permission_options

        click.echo(json.dumps(org_permission_options(provider, org, for_remediation, role_name, external_id,
                                                     trusted_principal), indent=2))
        return
    click.echo(json.dumps(get(provider).permissions("remediate" if for_remediation else "scan"), indent=2))


cli.add_command(remediate)  # the remediate group lives in its own module (auditor/cli_remediate.py)
cli.add_command(rules)  # and the rules group in auditor/cli_rules.py


@contextmanager
def _scan_gc(*, process: bool) -> Iterator[None]:
    """Collect garbage less often while the command runs: a scan builds a large, long-lived heap.

    With CPython's default thresholds (700, 10, 10) the cyclic collector re-walks that growing heap
    (every document read) again and again while the collectors parse JSON, costing 10-20 % of a
    scan's CPU for almost no garbage (documents hold no cycles). The objects of the imports are frozen
    out of the collector, and the first generation collects every 50,000 allocations instead of 700,
    as mypy does for the same reason. Reference counting still frees everything acyclic at once.

    The thresholds are restored on the way out. ``process``: the command is the whole process, which
    exits next; what is alive is frozen too, so the interpreter's final collection does not walk the
    scan's heap (0.3 s for 1,000 endpoints). Otherwise (``main`` called with arguments, in a process that
    goes on) everything is unfrozen, and the process's collector is as it was.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if process:
            gc.freeze()
        else:
            gc.unfreeze()


def main(argv: Sequence[str] | None = None) -> None:
    """The ``auditor`` command; ``argv`` None: this process's own command line (the console script)."""
    with _scan_gc(process=argv is None):
        _run(argv)


def _run(argv: Sequence[str] | None) -> None:
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="auditor", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("auditor: aborted", err=True)
        sys.exit(3)
    except click.exceptions.ClickException as e:  # usage errors: exit 3, never click's 2
        e.show()
        sys.exit(3)
    except ConfigProblemsError as e:  # every problem of a file, one a line
        click.echo(f"auditor: error: {len(e.problems)} problems:", err=True)
        for line in e.lines():
            click.echo(f"  {printable(line)}", err=True)
        sys.exit(e.exit_code)
    except AuditorError as e:
        click.echo(f"auditor: error: {printable(str(e))}", err=True)  # it may quote a file or a service
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("auditor: interrupted", err=True)
        sys.exit(3)
    sys.exit(0)
